"""What the CLI does, without the CLI: sync partitions, build through Dagster, collect garbage.

Builds run in process through ``dagster.materialize`` against ``DAGSTER_HOME``
when it is set (so CI and local builds show up in the UI), else an ephemeral
instance. The manifest rows each asset step writes are the build's result.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import signal
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

import dagster as dg
import yaml

from ops.atomic import remove_stale_temporaries
from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG, SOURCE_TAG, said_held, sync_source_partitions
from pipeline.build import Builder, BuildError
from pipeline.cache import UnseenProjects, holds_store
from pipeline.claims import UNSET_HOME, dagster_home, project_instance
from pipeline.dagster_names import BUILD_JOB
from pipeline.definitions import build_definitions
from pipeline.devices import check_device
from pipeline.event_log import runs_made_in_few_transactions
from pipeline.graph import build_order, with_upstream
from pipeline.hashing import HashIndex
from pipeline.guards import FailedGuard, Unmeasured, failed_guards, unmeasured_guards
from pipeline.killed_builds import fail_runs_of_killed_builds, process_tags
from pipeline.manifest import (
    Row, keys_in_use, manifest_path, manifest_rows_or_none, read_manifest, rows_by_key,
    update_manifest,
)
from pipeline.progress import reported_over
from pipeline.provenance import report_current
from pipeline.ranges import stretches
from pipeline.removed import Removed, forget_removed, has_files
from pipeline.resources import RemasterResource, store_of
from pipeline.signals import ctrl_c_blocked, handlers_kept, signals_held, signals_seen, sigterm_as_ctrl_c
from pipeline.spec import Spec
from pipeline.spec_messages import did_you_mean
from pipeline.staleness import CurrentInputs, left_out, partition_keys, stale_map
from pipeline.unreached import INTERRUPTED, failure_message, is_interrupt, mark_not_built
from pipeline.words import counted
from pipeline.yaml_errors import yaml_problem

BUILD_TAG = "remaster/build"  # one id for every run of one remaster build
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # failures are in the report
log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    forgotten: list[Removed] = field(default_factory=list)  # partitions whose outputs were deleted
    held: list[str] = field(default_factory=list)  # per source, why a deleted file's partition is kept (``said_held``)


@dataclass
class BuildReport:
    rows: list[Row]
    sync: SyncReport
    run_errors: list[str] = field(default_factory=list)  # steps that failed outside any partition
    skipped: list[str] = field(default_factory=list)  # files that could not be partitions, so were not built
    guards: list[FailedGuard] = field(default_factory=list)
    unmeasured: list[Unmeasured] = field(default_factory=list)  # guards outputs of an older remaster have no figure for
    interrupted: str | None = None  # the step a Ctrl-C (or SIGTERM) stopped; nothing after it was started

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r["status"] == "failed"]

    def summary(self) -> dict[str, dict[str, float]]:
        """Per asset: computed / cached / failed counts and seconds."""
        table: dict[str, dict[str, float]] = {}
        for row in self.rows:
            line = table.setdefault(str(row["asset"]), {"computed": 0, "cached": 0, "failed": 0, "seconds": 0.0})
            line[str(row["status"])] += 1
            line["seconds"] += float(row["seconds"])
        return table


def persistent_instance(spec: Spec) -> dg.DagsterInstance | None:
    """The instance ``DAGSTER_HOME`` names, if it is set (the CLI sets it to the project's own, where there is
    one); else a build makes a throwaway one when it runs something."""
    home = dagster_home()
    return None if home is None else instance_at(spec, home)


def instance_at(spec: Spec, home: Path) -> dg.DagsterInstance:
    """The instance at ``home``, which ``DAGSTER_HOME`` names (``remaster ui`` sets it to the project's own where
    it is unset). A ``dagster.yaml`` there that Dagster cannot read is a ValueError naming it, not Dagster's
    traceback."""
    own = home == project_instance(spec)
    whose = "the project's instance settings" if own else "DAGSTER_HOME's instance settings"
    fix = "fix it, or delete it (remaster ui writes one anew)" if own else \
        f"fix it, or {UNSET_HOME}"
    try:
        with _missing_settings_said(home):
            return dg.DagsterInstance.get()
    except yaml.YAMLError as exc:
        config = home / "dagster.yaml"
        raise ValueError(f"{yaml_problem(exc, config.read_text(encoding='utf-8'), config)} ({whose}); {fix}") from exc
    except dg.DagsterInvalidConfigError as exc:
        said = " ".join(str(exc).split())  # Dagster's lists each error on lines of its own
        raise ValueError(f"{home / 'dagster.yaml'}: Dagster cannot use these instance settings: {said}; {fix}") from exc


class _NoSettingsWarning(logging.Filter):
    """Drops Dagster's warning of an instance folder without a ``dagster.yaml``: remaster says its own line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No dagster instance configuration file")


@contextlib.contextmanager
def _missing_settings_said(home: Path) -> Iterator[None]:
    """Dagster's warning of a ``home`` without a ``dagster.yaml`` told an artist to make an empty one "if this is the
    desired behavior", without saying what it means for remaster: one line of remaster's says it instead."""
    settings = home / "dagster.yaml"
    if not settings.exists():
        log.warning("the Dagster instance %s has no dagster.yaml, so Dagster uses its default settings there, which "
                    "send its usage statistics; to turn them off (and this line with them) write its settings: "
                    "printf 'telemetry:\\n  enabled: false\\n' > %s", home, shlex.quote(str(settings)))
    quiet = _NoSettingsWarning()
    dagster_log = logging.getLogger("dagster")
    dagster_log.addFilter(quiet)
    try:
        yield
    finally:
        dagster_log.removeFilter(quiet)


def sync_partitions(spec: Spec, instance: dg.DagsterInstance | None, builder: Builder) -> SyncReport:
    """Make each source's partitions match its files (in ``instance``, where there is one yet); delete the
    outputs of removed files. A partition a run yet to finish keeps is said, naming the run, as a tick says it: the
    build said nothing, and the UI went on listing a deleted file's partition after a build."""
    held: list[str] = []
    if instance is not None:
        for name in spec.sources:
            if kept := sync_source_partitions(instance, builder, name).held:
                held.append(said_held(name, kept))
    return SyncReport(forget_removed(spec, builder), held)


@dataclass(frozen=True)
class Recorded:
    """What ``record_what_is_built`` did, for ``remaster ui`` to say."""

    partitions: int  # the sources' partitions in the instance now
    sources: int  # the sources that have some
    outputs: int  # partitions of assets and models, current, recorded as materialized
    forgotten: list[Removed]  # partitions whose file is gone: their outputs deleted, as a build deletes them
    skipped: list[str] = field(default_factory=list)  # what the sources' scans could make no partition of, and why
    held: list[str] = field(default_factory=list)  # per source, why a deleted file's partition is kept (``said_held``)


def record_what_is_built(spec: Spec, instance: dg.DagsterInstance) -> Recorded:
    """Give ``instance`` each source's partitions and a materialization of each current output, as a build does
    (``sync_partitions``, ``report_current``), running nothing: ``remaster ui`` does it before the UI starts.
    A project built on a throwaway instance (``remaster demo`` before any ``.dagster``) showed in the UI with no
    partition and nothing materialized, though everything was built. A build folder with no manifest rows is not
    judged at all: nothing in it is current."""
    with store_of(spec).in_use(), sigterm_as_ctrl_c():  # gc waits, as for a build: a renamed pair's units are kept
        builder = RemasterResource(device=spec.device).builder(spec, building=True)
        with signals_held() as caught:  # removed files' outputs and rows go together
            sync = sync_partitions(spec, instance, builder)
        if caught:
            signal.raise_signal(caught[0])
        current = _plan(builder, None, False, []).current if builder.rows_read() else []
        outputs = report_current(instance, builder, current)
        builder.index.save()
    counts = [len(instance.get_dynamic_partitions(name)) for name in spec.sources]
    return Recorded(sum(counts), sum(1 for count in counts if count), outputs, sync.forgotten, builder.skipped(),
                    sync.held)


def _throwaway_instance(spec: Spec, builder: Builder) -> dg.DagsterInstance:
    """An ephemeral instance holding the sources' partitions: made only where a build runs something, since
    making one is about a second of a no-op build's start-up, and nothing reads it afterwards."""
    instance = dg.DagsterInstance.ephemeral()
    for name in spec.sources:
        sync_source_partitions(instance, builder, name)
    return instance


def run_build(
    spec: Spec,
    *,
    select: list[str] | None = None,
    force: bool = False,
    device: str | None = None,
    instance: dg.DagsterInstance | None = None,
) -> BuildReport:
    """Materialize what is stale among the selected targets (all by default), in dependency order.

    Partitions whose outputs already match their cache key need no Dagster run
    at all: they are marked ``cached`` in the manifest directly, which keeps a
    no-op rebuild of thousands of textures to a stat per file. The rest run in
    one Dagster run per group of ``build_order`` (the models, then each level of
    each source's assets), where the cache is consulted again.

    SIGTERM stops it as Ctrl-C does (a report whose ``interrupted`` says where, or KeyboardInterrupt before
    its first run); the caller's own signal handlers are back when it returns or raises.
    """
    _check_select(spec, select or [])
    check_device(spec, device)  # --device '' is refused, not the spec's
    with store_of(spec).in_use(), sigterm_as_ctrl_c():  # gc waits for the whole build, not its steps
        return _build(spec, select, force, device, instance or persistent_instance(spec))


def _check_select(spec: Spec, select: list[str]) -> None:
    """Refuse a ``--select`` of what the spec does not build, before anything is synced or built."""
    unknown = [name for name in select if name not in spec.targets]
    if not unknown:
        return
    sources = [name for name in unknown if name in spec.sources]
    hint = f" ({', '.join(sources)}: a source, whose files are read, not built)" if sources else ""
    meant = did_you_mean(unknown[0], list(spec.targets)) if len(unknown) == 1 and not sources else ""
    raise ValueError(f"--select {', '.join(unknown)}: no such model or asset{hint}; expected one of "
                     f"{', '.join(spec.targets)}{meant}")


@dataclass(frozen=True)
class _Plan:
    """What a build is to do, worked out before it runs anything: the runs then only read it, and an interrupted
    build marks what it left undone against the same ``order`` it planned."""

    order: list[tuple[str | None, list[str]]]  # build_order: (partition set, targets), in dependency order
    wanted: set[tuple[str, str]]  # every (target, partition) of the selection and of what it is built from
    needed: set[tuple[str, str]]  # those to run: stale, or forced
    current: list[Row]  # the rest's rows, as the manifest is to list them (``_up_to_date``)
    read: dict[tuple[str, str], Row]  # the manifest's rows, by key, as the plan read them


@dataclass(frozen=True)
class _Ran:
    """What the runs of a plan did, for the caller to report: marking what an interrupt left undone is the
    caller's, under held signals, once no run is left to start."""

    did: dict[tuple[str, str], Row]  # (target, partition) -> status and seconds, as this build's runs made it
    failures: list[tuple[str | None, str]]  # (step, error) of each failed step
    interrupted: str | None  # the step a Ctrl-C stopped ("": after its run); None where none came
    unfinished: list[tuple[str, str]]  # what the runs after an interrupt were to build


def _build(spec: Spec, select: list[str] | None, force: bool, device: str | None,
           instance: dg.DagsterInstance | None) -> BuildReport:
    """Sync, plan, record what is current, run the rest, report, in this order: partitions match the files
    before staleness is judged over them; the current ones' rows, cache entries and hashes are saved before any
    run starts, so that an interrupted build keeps them; and a throwaway instance is made only for a run."""
    if instance is not None:
        fail_runs_of_killed_builds(instance)
    forced = sorted(select or spec.targets) if force else []
    resource = RemasterResource(device=device or spec.device, forced=forced)
    builder = resource.builder(spec, building=True)
    if problem := builder.manifest().problem():
        log.warning("%s", problem)
    with signals_held() as caught:  # removed files' outputs and rows go together
        sync = sync_partitions(spec, instance, builder)
    if caught:
        signal.raise_signal(caught[0])
    plan = _plan(builder, select, force, forced)
    _mark_up_to_date(spec, plan)
    _keep_in_cache(builder, plan.current)
    if instance is not None:
        report_current(instance, builder, plan.current)
    builder.index.save()
    if instance is None and plan.needed:
        instance = _throwaway_instance(spec, builder)
    build_id = uuid.uuid4().hex[:12]  # tags this build's runs
    ran = _run_plan(builder, plan, instance, resource, build_id, device)
    with signals_held():  # the runs are over: a Ctrl-C now stops nothing, and must not read as one before them
        if ran.interrupted is not None and ran.unfinished and instance is not None:  # one is made for any run
            _mark_interrupted(builder, instance, build_id, plan.order, ran.unfinished)
        return _report(builder, plan, ran, sync)


def _plan(builder: Builder, select: list[str] | None, force: bool, forced: list[str]) -> _Plan:
    """Which partitions need a run, and which are current, whose rows a build then marks so at once
    (``_mark_up_to_date``): no Dagster run is spent on a partition whose outputs already match its cache key.
    It writes nothing: ``remaster ui`` plans too, to record what is current, building nothing.

    What the selection is built from comes too, where it is stale: as make does, so that a selected asset is
    never built from an upstream output that no longer matches its own inputs. --force recomputes the
    selection only, and without a selection needs no staleness at all."""
    spec = builder.spec
    order = build_order(spec, with_upstream(spec, select) if select else None)
    inputs_now: CurrentInputs = {}
    rows = builder.rows_read()  # as the sync left it: another build's rows written since are kept (as_read)
    stale = stale_map(builder, order, inputs_now, rows) if not force or select else {}
    wanted = {(name, key) for _, names in order for name in names for key in partition_keys(builder, name)}
    needed = {item for item in wanted if item[0] in forced or stale.get(item) is not None}
    current = _up_to_date(spec, rows, [item for item in wanted if item not in needed], inputs_now)
    return _Plan(order, wanted, needed, current, rows)


def _run_plan(builder: Builder, plan: _Plan, instance: dg.DagsterInstance | None, resource: RemasterResource,
              build_id: str, device: str | None) -> _Ran:
    """The plan's needed partitions, one Dagster run per stretch of each partition set, in the plan's order
    (``instance`` is None only where nothing is needed). A Ctrl-C stops it between runs as within one: no run
    starts after the step it stopped, and what those runs were to build comes back as ``unfinished``."""
    assets = cast(list[dg.AssetsDefinition | dg.SourceAsset],  # what build_definitions makes of all Definitions holds
                  list(build_definitions(builder.spec, device=device).assets or []))
    failures: list[tuple[str | None, str]] = []
    interrupted: str | None = None  # nothing after it starts
    unfinished: list[tuple[str, str]] = []
    did: dict[tuple[str, str], Row] = {}
    for partition_set, names in plan.order:
        todo = [(n, k) for n in names for k in partition_keys(builder, n) if (n, k) in plan.needed]
        if not todo or instance is None:  # nothing to run (where nothing is needed, no instance was made)
            continue
        try:
            runs = _stretches(instance, partition_set, todo) if interrupted is None else [todo]
        except KeyboardInterrupt:  # as it asks the instance for the partitions' order
            interrupted, runs = todo[0][0], [todo]
        for stretch in runs:
            if interrupted is None:
                try:
                    interrupted, failed = _run_set(builder, assets, instance, resource, partition_set, stretch,
                                                   build_id, did)
                    failures += failed
                    continue  # an interrupted run marks its own steps
                except KeyboardInterrupt:  # where Dagster does not catch it: setting a run up, or just after it
                    interrupted = stretch[0][0]
            unfinished += stretch
    return _Ran(did, failures, interrupted, unfinished)


def _report(builder: Builder, plan: _Plan, ran: _Ran, sync: SyncReport) -> BuildReport:
    """The rows of what the build wanted, as its runs made them. An interrupted build's says only where it
    stopped: the caller stops there (exit 130), and the guards and left-out files are those of a build that
    did not finish."""
    spec = builder.spec
    if ran.interrupted is not None:
        return BuildReport(_rows(spec, plan.wanted, ran.did), sync, interrupted=ran.interrupted)
    if not manifest_path(spec.build_dir).is_file():  # nothing to build yet: CI still finds an (empty) manifest
        update_manifest(spec.build_dir)
    rows = _rows(spec, plan.wanted, ran.did)
    explained = {r["asset"] for r in rows if r["status"] == "failed"}
    run_errors = [f"{step}: {message}" for step, message in ran.failures if step not in explained]
    return BuildReport(rows, sync, run_errors, left_out(builder, plan.order), failed_guards(spec, rows),
                       unmeasured_guards(spec, rows))


def _run_set(
    builder: Builder,
    assets: list[dg.AssetsDefinition | dg.SourceAsset],
    instance: dg.DagsterInstance,
    resource: RemasterResource,
    partition_set: str | None,
    todo: list[tuple[str, str]],
    build_id: str,
    did: dict[tuple[str, str], Row],
) -> tuple[str | None, list[tuple[str | None, str]]]:
    """One Dagster run over ``todo``, noting in ``did`` whether it computed or restored each partition it built.
    Returns the step a Ctrl-C stopped ("" for one that came while Dagster closed the run, which it then drops;
    None without one), and (step, error) for each failed step."""
    rows = rows_by_key(builder.spec.build_dir)
    before = {item: rows.get(item, {}).get("run_id") for item in todo}
    with (signals_seen() as seen, handlers_kept(), _log_mirrors_deaf_to_ctrl_c(instance),
          runs_made_in_few_transactions(instance)):  # a run's planned materializations: one per partition
        result = _build_job(assets, resource, list(dict.fromkeys(name for name, _ in todo))).execute_in_process(
            instance=instance,
            tags={**_range_tags(instance, partition_set, {key for _, key in todo}), BUILD_TAG: build_id, **process_tags()},
            run_config=QUIET_LOGS,
            raise_on_error=False,
        )
    with signals_held() as caught:
        stopped, step_failures = _take_in(builder, result, todo, before, did)
    return (stopped if stopped is not None or not (caught or seen) else ""), list(step_failures.items())


def _build_job(assets: list[dg.AssetsDefinition | dg.SourceAsset], resource: RemasterResource,
               selection: list[str]) -> dg.JobDefinition:
    """The job one run of a build runs, over ``selection``: what ``dg.materialize`` makes, but named, so that the
    UI's Runs page lists a build's runs as ``remaster_build`` where it listed them as ``__ephemeral_asset_job__``."""
    defs = dg.Definitions(assets=assets, jobs=[dg.define_asset_job(BUILD_JOB, selection=selection)],
                          resources={"remaster": resource})
    return defs.resolve_job_def(BUILD_JOB)


def _take_in(builder: Builder, result: dg.ExecuteInProcessResult, todo: list[tuple[str, str]],
             before: dict[tuple[str, str], str | None], did: dict[tuple[str, str], Row]) -> tuple[str | None, dict[str, str]]:
    """Note in ``did`` what the run built, and mark the partitions of ``todo`` it never reached not built, but not
    one another build wrote meanwhile (``before``: their rows' run ids as the run started). Returns the step a
    Ctrl-C stopped, if one did, and each failed step's error."""
    builder.forget_rows()  # the run wrote rows since the builder first read them
    did.update(_made(result))
    errors = {cast(str, e.step_key): e.step_failure_data.error for e in result.get_step_failure_events()}
    step_failures = {step: failure_message(error) for step, error in errors.items()}
    succeeded = {e.step_key for e in result.get_step_success_events()}
    missed = [(name, key) for name, key in todo if name not in succeeded]  # a step that succeeded reached all
    stopped = next((step for step, error in errors.items() if is_interrupt(error)), None)
    if stopped is not None:
        step_failures = {name: INTERRUPTED for name, _ in missed} | step_failures  # the steps it never started
    mark_not_built(builder, missed, result.run_id, step_failures, before)
    return stopped, step_failures


@contextlib.contextmanager
def _log_mirrors_deaf_to_ctrl_c(instance: dg.DagsterInstance) -> Iterator[None]:
    """The processes a run starts to mirror its captured output (under ``DAGSTER_HOME``'s default compute log
    manager, a ``tail`` and a Python watcher per stream) start with Ctrl-C blocked. In a terminal, Ctrl-C reaches
    every process of the build's group: each watcher printed a KeyboardInterrupt traceback below the build's one
    line. Dagster ends them as the run ends, and a watcher whose build was killed ends its ``tail`` by SIGTERM."""
    manager = instance.compute_log_manager
    capture = manager.capture_logs

    @contextlib.contextmanager
    def capture_logs(log_key: Sequence[str]) -> Iterator[Any]:  # Any: Dagster's CapturedLogContext, not public
        with contextlib.ExitStack() as stack:
            with ctrl_c_blocked():
                context = stack.enter_context(capture(log_key))
            yield context

    manager.capture_logs = capture_logs  # type: ignore[method-assign]
    try:
        yield
    finally:
        del manager.capture_logs  # the class's own again


def _mark_interrupted(
    builder: Builder,
    instance: dg.DagsterInstance,
    build_id: str,
    order: list[tuple[str | None, list[str]]],
    todo: list[tuple[str, str]],
) -> None:
    """Rows of ``todo`` say the build was interrupted and their stale outputs go, as for the steps a failed
    run skipped; what a run of this build wrote (built, or failed with its own error) stays as it is.
    Staleness is judged over the whole build's ``order``, so that an output made with a model the
    interrupt kept from retraining is stale too."""
    builder.forget_rows()  # the runs of this build wrote rows since the builder first read them
    ours = {run.run_id for run in instance.get_runs(dg.RunsFilter(tags={BUILD_TAG: build_id}))}
    rows = builder.rows_read()  # one read for all three questions: a tenth of a second each at 2,000 textures
    now = stale_map(builder, order, manifest=rows)
    left = [item for item in todo if now.get(item) is not None and rows.get(item, {}).get("run_id") not in ours]
    mark_not_built(builder, left, f"interrupted-{build_id}", {name: INTERRUPTED for name, _ in left}, rows=rows)


def _made(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], Row]:
    """(target, partition) -> status (computed or cached) and seconds, by the run's own materializations (the
    step's event for a whole range carries no ``cache``: its partitions' own events do)."""
    made: dict[tuple[str, str], Row] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization is not None and "cache" in materialization.metadata:
            figures = materialization.metadata
            made[(materialization.asset_key.to_user_string(), materialization.partition or "")] = {
                "status": "cached" if figures["cache"].value == "hit" else "computed",
                "seconds": cast(float, figures["seconds"].value),
            }
    return made


def _rows(spec: Spec, wanted: set[tuple[str, str]], did: dict[tuple[str, str], Row]) -> list[Row]:
    """The manifest's rows of ``wanted``, each with the status and seconds this build gave it (``did``): another
    build at once may list a partition after this one, as cached where this build computed it, and the summary
    would count that build's work."""
    rows = [r for r in read_manifest(spec.build_dir) if (r["asset"], r["partition"]) in wanted]
    return [{**r, **did.get((r["asset"], r["partition"]), {})} for r in rows]


def _stretches(
    instance: dg.DagsterInstance, partition_set: str | None, todo: list[tuple[str, str]]
) -> list[list[tuple[str, str]]]:
    """``todo`` cut into the runs that build it (``stretches``). A partition the instance no longer has is in
    none: the file sensor or another build dropped it since this build's scan, as its file is gone, and a
    run cannot name it."""
    if partition_set is None:  # the models: one run
        return [todo]
    runs = stretches(instance.get_dynamic_partitions(partition_set), {key for _, key in todo})
    run_of = {key: index for index, keys in enumerate(runs) for key in keys}
    cut: list[list[tuple[str, str]]] = [[] for _ in runs]
    for item in todo:
        if item[1] in run_of:
            cut[run_of[item[1]]].append(item)
    return cut


def _range_tags(instance: dg.DagsterInstance, partition_set: str | None, keys: set[str]) -> dict[str, str]:
    """The smallest partition range covering ``keys``; partitions inside it that are current are cache hits. The
    source's name comes with it: another source's partitions of the same names are not this run's
    (``assets.names_source``)."""
    if partition_set is None:
        return {}
    ordered = [key for key in instance.get_dynamic_partitions(partition_set) if key in keys]
    return {RANGE_START_TAG: ordered[0], RANGE_END_TAG: ordered[-1], SOURCE_TAG: partition_set}


def _keep_in_cache(builder: Builder, rows: list[Row]) -> None:
    """Current outputs (manifest rows) that the cache has no entry for go back into it (``Builder.keep_current``)."""
    missing = [row for row in rows if not builder.store.has_entry(str(row["cache_key"]))]
    for row in reported_over("keeping up-to-date outputs in the cache", missing):
        target = builder.spec.targets[str(row["asset"])]
        try:
            builder.keep_current(builder.plan(target, str(row["partition"])), row)
        except (BuildError, ValueError, OSError) as exc:  # the build goes on; the outputs stay where they are
            log.warning("%s %s: not kept in the cache: %s", target.name, row["partition"], exc)


def _up_to_date(spec: Spec, rows: dict[tuple[str, str], Row], keys: list[tuple[str, str]],
                inputs_now: CurrentInputs) -> list[Row]:
    """The rows of current partitions as they are to say cached, with the params the spec gives now (a setting
    that cannot change the result, ``OpParams.neutral_fields``, may have changed), their inputs as named now
    (``stale_map``'s ``inputs_now``: a source root moved or renamed keeps every cache key) and the ``from``
    it names now (a row an older version wrote has none; a source renamed keeps them current, and its old name
    made a file removed later read as a changed ``from``). ``rows``: the manifest's, by key."""
    base: Row = {"status": "cached", "seconds": 0.0, "run_id": None}
    return [{**rows[key], **base, "params": spec.targets[key[0]].params.model_dump(mode="json"),
             "inputs": inputs_now.get(key, rows[key]["inputs"]), "from": spec.targets[key[0]].upstream}
            for key in keys]


def _mark_up_to_date(spec: Spec, plan: _Plan) -> None:
    """Write the plan's current rows where the manifest, as the plan read it, says otherwise."""
    updated = [row for row in plan.current if row != plan.read[(str(row["asset"]), str(row["partition"]))]]
    if updated:
        update_manifest(spec.build_dir, updated, as_read=plan.read)  # not over a row another build wrote since


class Collected(NamedTuple):
    entries: int  # cache entries removed
    freed: int  # bytes of objects removed
    hashes: int  # remembered hashes of files that are gone, forgotten


def collect_garbage(spec: Spec, *, forget_missing: bool = False, wait: bool = False,
                    timeout: float | None = None) -> Collected:
    """Drop cache entries and objects that no output in the manifest of any project built on this
    store uses, temporary files that killed builds left behind, and the hashes of files that are gone.
    ``wait``: wait for the builds using the store to finish, rather than refuse (``StoreBusy``); for ``timeout``
    seconds at most, then refuse all the same."""
    there = holds_store(spec.cache_dir)
    builder = RemasterResource().builder(spec, looking=not there)  # warns where a cache was expected
    if not there:  # a share not mounted: nothing to collect, and no store made on its mount point
        remove_stale_temporaries(spec.build_dir)
        return Collected(0, 0, 0)

    def keep() -> set[str]:
        listed = {manifest: manifest_rows_or_none(manifest.parent) for manifest in
                  builder.store.manifests(manifest_path(spec.build_dir), forget_unseen=forget_missing)}
        damaged = [manifest for manifest, rows in listed.items() if rows is None]
        if damaged and not forget_missing:  # a cache or build folder restored in part: which entries it uses is unknown
            raise UnseenProjects(
                f"cannot read the manifest of {counted(len(damaged), 'project')} built on this cache: "
                f"{', '.join(map(str, damaged))}; so cannot "
                "tell which entries they use. Build them again, which writes it anew, or run remaster cache gc "
                "--forget-missing to stop keeping their entries"
            )
        for manifest in damaged:
            builder.store.unregister(manifest)
        return {key for rows in listed.values() for r in rows or [] for key in keys_in_use(r)}

    for folder in (spec.build_dir, spec.cache_dir):
        remove_stale_temporaries(folder)
    try:
        entries, freed = builder.store.gc(keep, wait=wait, timeout=timeout)
    except UnseenProjects as exc:  # plain gc in CI, every earlier job's clone deleted: the index would grow for good
        exc.hashes = _forget_gone_hashes(spec, builder)
        raise
    return Collected(entries, freed, _forget_gone_hashes(spec, builder))


def _forget_gone_hashes(spec: Spec, builder: Builder) -> int:
    """Drop the remembered hashes of files that are gone, whatever the manifests say: they are only a memo, and a
    build hashes again a file it finds no hash for. Those under a source root with no files now (a share not
    mounted) are kept, as its files would all be read again. The index is read anew, not the one loaded before gc
    (waited for builds, with ``--wait``), so that the hashes those builds saved since are looked at too; builds may
    run beside this, and ``HashIndex.save`` merges, so that neither loses what the other saved."""
    index = HashIndex(builder.index.path)
    away = [source.root for source in spec.sources.values() if not has_files(builder, source.name)]  # unmounted shares
    hashes = index.forget_missing(away)
    index.save()
    return hashes
