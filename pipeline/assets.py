"""Asset factories: one observable source asset per source, one asset per model and output."""

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import dagster as dg
import yaml

from ops.registry import Guard
from pipeline.build import MODEL_PARTITION, Builder, code_version, materialize_too
from pipeline.dagster_names import job_name, sensor_name
from pipeline.event_log import few_transactions
from pipeline.graph import run_groups
from pipeline.guards import failed_detail, figure, why_unmeasured
from pipeline.manifest import PartitionResult, Row, read_manifest, update_manifest
from pipeline.placing import note_placing
from pipeline.progress import logs_in_the_run, reported_over
from pipeline.provenance import (
    DATA_VERSION_TAG,
    Observations,
    files_key,
    files_version_now,
    observed_version,
    partition_event,
    provenance_tags,
    weights_key,
    weights_version,
)
from pipeline.resources import RemasterResource
from pipeline.signals import stop_if_signalled
from pipeline.spec import Source, Spec, Target, not_a_file
from pipeline.words import counted, some

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
SOURCE_TAG = "remaster/source"  # the source whose partitions a run of remaster build names
PENDING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
           dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
STUCK_AFTER = timedelta(hours=24)  # a run still pending this long after it was made is taken for dead


def partitions_def(source_name: str) -> dg.DynamicPartitionsDefinition:
    """One partition per file (or pair folder), added and removed as files come and go."""
    return dg.DynamicPartitionsDefinition(name=source_name)


class Synced(NamedTuple):
    """What ``sync_source_partitions`` made of a source's partitions."""

    keys: list[str]  # the partitions of the files there now, in the instance's order
    held: dict[str, str]  # a deleted file's partition kept -> the run yet to finish that names it (``held_by_runs``)


def sync_source_partitions(instance: dg.DagsterInstance, builder: Builder, source: str) -> Synced:
    """Make ``source``'s partitions the files in its folder now, as far as no run yet to finish names one gone; its
    keys come in the instance's order, which a run's partition range follows. A source with no files (an unmounted
    share, whose mount point is an empty folder) keeps the partitions it had, and gives none."""
    found = builder.partitions(source)
    if not found:
        return Synced([], {})
    known = instance.get_dynamic_partitions(source)
    known_set = set(known)
    added = [key for key in found if key not in known_set]
    if added:
        instance.add_dynamic_partitions(source, added)
    gone = known_set.difference(found)
    held = held_by_runs(builder.spec, source, instance.get_runs(filters=pending_runs()), gone) if gone else {}
    for key in sorted(gone.difference(held)):
        instance.delete_dynamic_partition(source, key)
    return Synced([key for key in known if key in found] + added, held)


def pending_runs() -> dg.RunsFilter:
    """The runs yet to finish. Not one a crash left marked as started: Dagster's run monitoring checks no run's
    process under the default launcher (``remaster ui``'s, ``dagster dev``'s), and fails one only past a maximum
    runtime set in the instance (README, Crashed), so a run still pending a day after it was made is taken for dead.
    A killed ``remaster build``'s runs are ended sooner (``killed_builds``)."""
    return dg.RunsFilter(statuses=PENDING, created_after=datetime.now(timezone.utc) - STUCK_AFTER)


def held_by_runs(spec: Spec, source: str, pending: Iterable[dg.DagsterRun], gone: set[str]) -> dict[str, str]:
    """Those partitions of ``gone`` (files of ``source`` deleted) that Dagster cannot drop yet -> the short id (as the
    UI shows it) of a run of ``pending`` (``pending_runs``) over ``source`` (``names_source``) that names it as its
    partition or the first or last of its range.
    Dagster looks the range's ends up as the run starts, and one dropped failed every step of the run, for every
    texture; kept until the run ends, it is told not built (its file is gone) and the rest of the range is built.
    The next sync after the run drops it. The caller reads the run list once, however many partitions are gone;
    whose source a run is over is asked only of a run that names one of them (a sensor asks at every tick)."""
    held: dict[str, str] = {}
    for run in pending:
        named = [key for key in (run.tags.get(tag) for tag in (PARTITION_TAG, RANGE_START_TAG, RANGE_END_TAG))
                 if key in gone]
        if named and names_source(spec, source, run):
            for key in named:
                held.setdefault(key, run.run_id[:8])
    return held


def names_source(spec: Spec, source: str, run: dg.DagsterRun) -> bool:
    """Whether ``run``'s partition tags are keys of ``source``: two sources may each have a file of one name, and a
    run over one kept the other's deleted partition until it ended. A ``remaster build`` run names its source in a
    tag, a UI or sensor run by its assets, a nightly run by its job (``build_<source>``). One that says none of it
    (a job launched from Python) is taken to name it: kept, a partition costs a line in the UI until the run ends;
    dropped, it failed every step of the run."""
    if SOURCE_TAG in run.tags:
        return run.tags[SOURCE_TAG] == source
    if run.asset_selection:
        names = [key.to_user_string() for key in run.asset_selection]
        return any(spec.source_of(name).name == source for name in names if name in spec.assets)
    nightly = {job_name(group): group for group in run_groups(spec)}
    return nightly.get(run.job_name, source) == source


def said_held(source: str, held: dict[str, str]) -> str:
    """Why the partitions ``held`` (``held_by_runs``) of deleted files are still listed, naming the runs to look at:
    a run a crash left started holds them for a day, and "a run yet to finish" left the artist to guess which."""
    one, runs = len(held) == 1, sorted(set(held.values()))
    them = "it" if one else "them"
    return (f"{some(sorted(held))} of {source} deleted: {'its partition is' if one else 'their partitions are'} kept "
            f"while {'run' if len(runs) == 1 else 'runs'} {some(runs)}, yet to finish, "
            f"{'names' if len(runs) == 1 else 'name'} {them} (Dagster looks a run's partitions up as it starts), and "
            f"dropped by the first tick, build or Observe after {'it ends' if len(runs) == 1 else 'they end'}; a run a "
            f"crash left started keeps {them} for a day: terminate it in the UI (Runs, Terminate, with Force "
            "termination)")


def source_asset(spec: Spec, source: Source) -> dg.SourceAsset:
    @dg.observable_source_asset(
        name=source.name,
        partitions_def=partitions_def(source.name),
        group_name="sources",
        description=f"{source.kind} under {source.describe()}",
    )
    def observe(context: dg.AssetExecutionContext, remaster: RemasterResource) -> dg.DataVersionsByPartition:
        with logs_in_the_run(context.log):  # it adds and drops partitions, as a tick does: the instance is this spec's
            builder = remaster.builder(spec, building=True)
        before = context.instance.get_dynamic_partitions(source.name)
        synced = sync_source_partitions(context.instance, builder, source.name)
        now = synced.keys or before  # no files (a share away): kept
        say_synced(context.log, spec, source.name, before, now, synced.held)
        registered = set(now)
        versions = {
            key: dg.DataVersion(observed_version(builder, source.name, roles))
            for key, roles in builder.partitions(source.name).items()
            if key in registered
        }
        builder.index.save()
        say_skipped(context.log, builder, source.name)
        return dg.DataVersionsByPartition(versions)

    return observe


def source_files_asset(spec: Spec, source: Source) -> dg.SourceAsset:
    """One data version for all the files of a source: a model trained from it is called stale in the UI
    when any of them changes, where Dagster looks at the partitions of a source of fewer than 100 only."""

    @dg.observable_source_asset(
        key=files_key(source.name),
        group_name="sources",
        description=f"all the {source.kind} under {source.describe()}, as one version: what models train from",
    )
    def observe(context: dg.AssetExecutionContext, remaster: RemasterResource) -> dg.DataVersion:
        builder = remaster.builder(spec)
        version = files_version_now(builder, source.name)
        builder.index.save()
        say_skipped(context.log, builder, source.name)
        return dg.DataVersion(version or "unreadable")

    return observe


def say_synced(run_log: logging.Logger, spec: Spec, source: str, before: Sequence[str], now: Sequence[str],
               held: dict[str, str]) -> None:
    """Say in the observation's log which partitions it added, dropped and kept for a run (``held``): "Observe" in
    the UI is how an artist who never runs the CLI has a new texture show up as a partition to materialize, and one
    deleted go."""
    had, has = set(before), set(now)
    if added := [key for key in now if key not in had]:
        run_log.info(f"added {counted(len(added), 'partition')} of {source} for new files: {some(added)}")
    if dropped := [key for key in before if key not in has and key not in held]:
        said = f"dropped {counted(len(dropped), 'partition')} of {source} with no file now: {some(dropped)}"
        if any(spec.source_of(name).name == source for name in spec.assets):
            said += (f"; what was built from {'it' if len(dropped) == 1 else 'them'} is deleted by the next remaster "
                     f"build, nightly run or {sensor_name(source)} tick")
        run_log.info(said)
    if held:
        run_log.info(said_held(source, held))


def say_skipped(run_log: logging.Logger, builder: Builder, source: str) -> None:
    """Warn in a run's or tick's log, which the UI shows, of what the scan of ``source`` could not make partitions
    of: a root that is missing or empty (an unmounted share) made an observation that succeeded and observed
    nothing, without a word, where ``remaster build`` says it and exits 1."""
    for message in builder.skipped([source]):
        run_log.warning(message)


def weights_asset(spec: Spec, target: Target, role: str) -> dg.SourceAsset:
    """The weights file that ``target`` names by path as ``role``, as one data version (its hash), an input of
    ``target``: its cache key holds the file's hash, so once a new file in its place is observed the UI calls
    every partition of it stale, as ``remaster status`` does. A file not there just now is observed as
    ``unreadable``, with a warning: what uses it is called stale, and a build of it fails keeping what it made."""
    path = spec.resolve(target.params.file_params()[role])

    @dg.observable_source_asset(
        key=weights_key(target.name, role),
        group_name="sources",
        description=f"{path}: the weights file of {target.name}.{role}",
    )
    def observe(context: dg.AssetExecutionContext, remaster: RemasterResource) -> dg.DataVersion:
        builder = remaster.builder(spec)
        version = weights_version(builder, target, role)
        builder.index.save()
        if version is None:
            context.log.warning(f"{path}: the file given as {target.name}.{role} {not_a_file(path) or 'cannot be read'}; "
                                "any outputs made with it are kept until a build can read it")
        return dg.DataVersion(version or "unreadable")

    return observe


def target_asset(spec: Spec, target: Target) -> dg.AssetsDefinition:
    """A model (unpartitioned, trained from its whole source) or an output asset (per partition)."""
    partitioned = target.section == "assets"
    deps: list[str | dg.AssetKey] = [target.upstream, *([target.model] if target.model else [])]
    if not partitioned:
        deps.append(files_key(target.upstream))
    deps += [weights_key(target.name, role) for role in target.params.file_params()]
    guards = target.guards()

    # dagster_type=dg.Nothing as Dagster's docs give it: dg.Nothing is type(None), which asset's annotation
    # (DagsterType | None) leaves out, though Dagster resolves it to its Nothing type
    @dg.asset(  # type: ignore[call-overload]
        name=target.name,
        partitions_def=partitions_def(spec.source_of(target.name).name) if partitioned else None,
        deps=deps,
        code_version=code_version(target),
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        dagster_type=dg.Nothing,
        check_specs=[dg.AssetCheckSpec(g.name, asset=target.name, description=g.description) for g in guards],
        group_name=target.section,
        kinds={"pytorch"} if target.section == "models" else {"png", "gltf"} if target.op.name == "material"
        else {target.params.output_suffix().lstrip(".")},
        description=describe(target),
    )
    def materialize(
        context: dg.AssetExecutionContext, remaster: RemasterResource
    ) -> Iterator[dg.Output | dg.AssetMaterialization | dg.AssetCheckResult]:
        if partitioned and not (context.has_partition_key or context.has_partition_key_range):  # dagster job execute
            raise dg.Failure(f"{target.name} is built per file of {spec.source_of(target.name).name}, and this run names "
                             "no file: launch it for some of its partitions (Materialize in the UI picks them; on the "
                             "command line, dagster job backfill), or run remaster build")
        for message in spec.unread_warnings(target.name):  # remaster validate says it; a UI user sees this log
            context.log.warning(message)
        if said := loaded_otherwise(context.instance, context.run, spec, target):
            context.log.warning(said)
        keys = list(context.partition_keys) if partitioned else [MODEL_PARTITION]
        results: list[PartitionResult] = []
        with contextlib.ExitStack() as stack:
            stack.enter_context(logs_in_the_run(context.log))  # first: the builder's warning of a cache gone shows
            builder = remaster.builder(spec, building=True)
            stack.enter_context(builder.store.in_use())  # in use until the manifest lists its entries for gc
            note = note_placing(spec.build_dir, (path for key in keys for path in builder.outputs_of(target, key).values()))
            try:
                for key in reported_over(target.name, keys):
                    stop_if_signalled()
                    results.append(builder.build(target, key, run_id=context.run.run_id))
                    with contextlib.suppress(OSError):  # alive, for a judge on another machine, which goes by age
                        os.utime(note)
            finally:
                update_manifest(spec.build_dir, [r.to_json() for r in results])
                note.unlink(missing_ok=True)  # what it placed is listed now
                builder.index.save()  # after: a cache disk too full for it loses re-hashing, not the step's rows
        for message in built_from_out_of_date(builder, target, [r.partition for r in results if r.status != "failed"]):
            context.log.warning(message)
        with few_transactions(context.instance):  # thousands of partitions' events: seconds, not minutes
            yield from _record(context, spec, target, builder, results)

    return materialize


def loaded_otherwise(instance: dg.DagsterInstance, run: dg.DagsterRun, spec: Spec, target: Target) -> str | None:
    """That the UI launched ``run`` from the definitions of an earlier spec: a run loads the spec on disk and builds
    ``target`` as it says now, while the UI, until its definitions are reloaded, goes on showing the settings it
    loaded and calls what the run made stale ("has a new code version"), without a word of why."""
    snapshot = instance.get_job_snapshot(run.job_snapshot_id) if run.job_snapshot_id else None
    shown = {op.name: op.description for op in snapshot.node_defs_snapshot.op_def_snaps} if snapshot else {}
    if target.name not in shown or shown[target.name] == describe(target):
        return None
    return (f"{spec.path} has changed since the UI loaded it: this run built {target.name} as the file says now "
            f"({describe(target)}), where the UI shows {shown[target.name]}; reload the definitions (Deployment > "
            "Reload in the UI, or restart dagster dev) so that the UI shows what the spec says")


def built_from_out_of_date(builder: Builder, target: Target, keys: list[str]) -> list[str]:
    """A warning for each asset or model before ``target`` whose outputs its partitions ``keys`` were built from
    are out of date: the UI materializes what is selected and no more, so a run of an asset alone built it from
    what its upstream asset held, stale or not, without a word, where ``remaster build`` builds that asset first."""
    if not keys:
        return []

    warnings = []
    chain = builder.spec.assets_before(target)
    for depth, upstream in enumerate(chain):
        between = [asset.name for asset in reversed(chain[:depth])]
        through = f" (through {', '.join(between)})" if between else ""
        for why, stale in _out_of_date(builder, upstream, keys).items():
            warnings.append(f"{target.name} was built from {upstream.name}'s outputs{through} for {some(stale)}, which "
                            f"are out of date ({why}): {materialize_too(target, upstream.name, *between)}")
    return warnings + _models_out_of_date(builder, target, keys, chain)


def _out_of_date(builder: Builder, upstream: Target, keys: list[str]) -> dict[str, list[str]]:
    """Why ``upstream``'s outputs are out of date -> the partitions of ``keys`` they are so for: an output deleted
    with its cache entry is told apart from a texture or a setting changed. Not where only what it reads is out of
    date (an asset or model before it, which its own warning names): its outputs are as they were built."""
    stale: dict[str, list[str]] = {}
    for key in keys:
        if builder.is_out_of_date(upstream, key) and not builder.reads_out_of_date(upstream, key):
            stale.setdefault(builder.out_of_date_why(upstream, key), []).append(key)
    return stale


def _models_out_of_date(builder: Builder, target: Target, keys: list[str], chain: list[Target]) -> list[str]:
    """A warning for each model out of date that ``target`` or an asset before it (``chain``) was made with: a
    DDS export of a super-resolved texture, run alone after the model's reference textures changed, read an
    output current for the old weights, so that only the model tells. A model two assets on the chain use is
    named once, by the one furthest up, whose fix (materialize the model and every asset after it) covers both."""
    warnings = []
    named: set[str] = set()
    for depth, user in reversed(list(enumerate([target, *chain]))):
        model = builder.spec.models.get(user.model) if user.model else None
        if model is None or model.name in named or not builder.is_out_of_date(model, MODEL_PARTITION):
            continue
        named.add(model.name)
        between = [asset.name for asset in reversed(chain[:depth])]
        through = f" (through {', '.join(between[1:])})" if between[1:] else ""
        made = (f"{target.name} was built from {user.name}'s outputs{through} for {some(keys)}, made with model "
                if depth else f"{target.name} was built with model ")
        why = builder.out_of_date_why(model, MODEL_PARTITION)
        warnings.append(f"{made}{model.name}, which is out of date ({why}): "
                        f"{materialize_too(target, model.name, *between)}")
    return warnings


def _record(
    context: dg.AssetExecutionContext, spec: Spec, target: Target, builder: Builder, results: list[PartitionResult]
) -> Iterator[dg.Output | dg.AssetMaterialization | dg.AssetCheckResult]:
    """A step's events: its output, each partition's materialization with its figures and inputs, its checks;
    then its failure, where a partition failed. Partitions whose texture is gone (``Builder.gone``) do not fail
    the step where others were built: a texture deleted after a run over a range of them was launched failed
    every later step of the run, for every texture."""
    failed = [r for r in results if r.status == "failed"]
    gone = [r for r in failed if builder.gone(target, r.partition)]
    if len(gone) < len(failed) or len(gone) == len(results):
        gone = []  # the step fails: they are said with the other failures
    observed = Observations(context.instance, [r.partition for r in results])
    observed.catch_up(builder, (r for r in results if r.status != "failed"))
    events = {r.partition: partition_event(target, r, provenance_tags(observed, builder, target, r))
              for r in results if r.status != "failed"}
    if len(failed) == len(gone):
        # Lets downstream assets in this run go ahead. Dagster records it for every partition
        # of the range: a range's own events below, with each partition's figures, come after
        # it and so are the latest. Its data version is the last of those, the one Dagster
        # compares it with when a later step reads this asset.
        metadata, tags = events[next(r.partition for r in reversed(results) if r.status != "failed")]
        version = dg.DataVersion(tags[DATA_VERSION_TAG])
        own = len(results) == 1
        yield dg.Output(None, data_version=version, metadata=metadata if own else None,
                        tags={k: v for k, v in tags.items() if k != DATA_VERSION_TAG} if own else None)
    errors = _each_error_once(failed)
    for partition, error in errors:
        (context.log.warning if gone else context.log.error)(f"{partition or target.name}: {error}")
    for result in results:
        if result.status != "failed" and (failed or len(events) > 1):
            metadata, tags = events[result.partition]
            yield dg.AssetMaterialization(context.asset_key, partition=result.partition or None, metadata=metadata, tags=tags)
    for result in gone:  # the output above recorded them too: their latest event says they were not built
        yield dg.AssetMaterialization(context.asset_key, partition=result.partition,
                                      metadata={"not built": str(result.error)})
    yield from _check_results(spec, target)
    if failed and not gone:
        raise dg.Failure(
            description=f"{len(failed)} of {counted(len(results), 'partition')} of {target.name} failed:\n"
            + "\n".join(f"- {error}" for _, error in errors),
            metadata={"failed": [r.partition for r in failed]},
        )


def _each_error_once(failed: list[PartitionResult]) -> list[tuple[str, str]]:
    """Each distinct error of ``failed`` once, with the first partition that failed with it and how many more did:
    a source whose folder is away fails every partition with one message, which a run of 300 partitions logged
    300 times, and its failure listed 300 times again. The failure's metadata names every partition."""
    alike: dict[str, list[str]] = {}  # error -> the partitions it failed
    for result in failed:
        alike.setdefault(str(result.error), []).append(result.partition)
    return [(partitions[0], error + (f" (and the same for {counted(more, 'more partition')})"
                                     if (more := len(partitions) - 1) else ""))
            for error, partitions in alike.items()]


def describe(target: Target) -> str:
    """What the UI says an asset is: its op, upstream and the settings its spec entry gives."""
    given = target.params.model_dump(mode="json", exclude_unset=True)
    settings = yaml.safe_dump(given, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1 << 20).strip()
    return f"{target.op.name} from {target.upstream}" + (f", `{settings}`" if given else "")  # code, not markdown


def _check_results(spec: Spec, target: Target) -> Iterator[dg.AssetCheckResult]:
    """One result per guard over every partition's latest figures (the manifest's), not only this run's,
    so a run over other partitions does not show a failing guard as passed: the worst figure decides."""
    guards = target.guards()
    if not guards:  # the manifest (thousands of rows) is read for the figures only
        return
    rows = [r for r in read_manifest(spec.build_dir) if r["asset"] == target.name and r["status"] != "failed"]
    for guard in guards:
        figures = {str(r["partition"]): value for r in rows if (value := figure(r, guard)) is not None}
        if not rows:
            continue  # every partition failed: the step fails, and a check with nothing measured is no pass
        unmeasured: dict[str, list[str]] = {}  # why -> partitions
        for r in rows:
            if str(r["partition"]) not in figures:
                unmeasured.setdefault(why_unmeasured(r, guard), []).append(str(r["partition"]))
        not_measured = {"not measured": "; ".join(f"{', '.join(keys) or 'the model'}, {why}" for why, keys in
                                                  unmeasured.items()) + f": build --force {target.name} measures it"
                        } if unmeasured else {}
        if not figures:  # Dagster fails a step that declares a check and yields no result for it
            yield dg.AssetCheckResult(asset_key=target.name, check_name=guard.name, passed=True, metadata=not_measured)
            continue
        failing = sorted(key for key, value in figures.items() if not guard.passes(value))
        worst = (max if guard.direction == "below" else min)(figures.values())
        yield dg.AssetCheckResult(
            asset_key=target.name,
            check_name=guard.name,
            passed=not failing,
            severity=dg.AssetCheckSeverity.ERROR if guard.blocking else dg.AssetCheckSeverity.WARN,
            metadata={
                guard.metadata_key: worst,
                "limit": guard.limit,
                **({"failing partitions": ", ".join(failing) or "none"} if target.section == "assets" else {}),
                **_details(rows, guard, failing),
                **not_measured,  # outputs an older remaster made, which the worst figure does not cover
            },
        )


def _details(rows: list[Row], guard: Guard, failing: list[str]) -> dict[str, str]:
    """What the failing partitions' rows say failed (which files), each after its partition's name."""
    if guard.detail_key is None:
        return {}
    said = [(str(r["partition"]), failed_detail(r, guard)) for r in rows if str(r["partition"]) in failing]
    text = "; ".join(f"{partition}: {detail}" if partition else detail for partition, detail in said if detail)
    return {guard.detail_key: text} if text else {}
