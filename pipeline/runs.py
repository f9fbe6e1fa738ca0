"""What the CLI does, without the CLI: sync partitions, build through Dagster, explain staleness.

Builds run in process through ``dagster.materialize`` against ``DAGSTER_HOME``
when it is set (so CI and local builds show up in the UI), else an ephemeral
instance. The manifest rows each asset step writes are the build's result.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg

from ops.atomic import remove_stale_temporaries
from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG, build_order, report_current
from pipeline.build import MODEL_FILE, MODEL_PARTITION, BuildError, Builder
from pipeline.cache import ContentStore
from pipeline.definitions import build_definitions
from pipeline.hashing import file_is
from pipeline.manifest import Row, manifest_path, read_manifest, rows_by_key, update_manifest
from pipeline.processes import is_gone, process_space, this_process
from pipeline.removed import file_removed, forget_removed, has_files
from pipeline.resources import RemasterResource
from pipeline.spec import DEVICE_PATTERN, Spec, Target
from pipeline.unreached import INTERRUPTED, failure_message, is_interrupt, mark_not_built

BUILD_TAG = "remaster/build"  # one id for every run of one remaster build
HOST_TAG, PID_TAG = "remaster/host", "remaster/pid"  # where and which process a build's runs live in
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}  # failures are in the report


@dataclass
class SyncReport:
    forgotten: list[tuple[str, str]] = field(default_factory=list)  # (asset, partition) whose outputs were deleted


@dataclass
class BuildReport:
    rows: list[Row]
    sync: SyncReport
    run_errors: list[str] = field(default_factory=list)  # steps that failed outside any partition
    skipped: list[str] = field(default_factory=list)  # files that could not be partitions, so were not built
    guards: list[tuple[bool, str]] = field(default_factory=list)  # (blocking, message) per failed guard
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
            line["seconds"] += float(row["seconds"])  # type: ignore[arg-type]
        return table


@dataclass(frozen=True)
class Stale:
    asset: str
    partition: str
    reason: str


def open_instance() -> dg.DagsterInstance:
    """The persistent instance when ``DAGSTER_HOME`` is set, else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def sync_partitions(spec: Spec, instance: dg.DagsterInstance, builder: Builder) -> SyncReport:
    """Make each source's partitions match its files; delete the outputs of removed files."""
    for name in spec.sources:
        if not has_files(builder, name):
            continue
        found = builder.partitions(name)
        known = instance.get_dynamic_partitions(name)
        known_set = set(known)
        added = [key for key in found if key not in known_set]
        removed = [key for key in known if key not in found]
        if added:
            instance.add_dynamic_partitions(name, added)
        for key in removed:
            instance.delete_dynamic_partition(name, key)
    return SyncReport(forget_removed(spec, builder))


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
    """
    unknown = [name for name in select or [] if name not in spec.targets]
    if unknown:
        raise ValueError(f"--select {', '.join(unknown)}: no such model or asset; expected one of {', '.join(spec.targets)}")
    check_device(device or spec.device)
    with ContentStore(spec.cache_dir).in_use():  # gc waits for the whole build, not only for its steps
        return _build(spec, select, force, device, instance or open_instance())


def _build(spec: Spec, select: list[str] | None, force: bool, device: str | None,
           instance: dg.DagsterInstance) -> BuildReport:
    _fail_runs_of_killed_builds(instance)
    forced = sorted(select or spec.targets) if force else []
    resource = RemasterResource(device=device or spec.device, forced=forced)
    builder = resource.builder(spec, building=True)
    with signals_held() as caught:  # removed files' outputs and rows go together
        sync = sync_partitions(spec, instance, builder)
    if caught:
        signal.raise_signal(caught[0])
    # What the selection is built from comes too, where it is stale: as make does, so that a selected
    # asset is never built from an upstream output that no longer matches its own inputs. --force
    # recomputes the selection only.
    order = build_order(spec, with_upstream(spec, select) if select else None)
    stale = _stale_map(builder, order) if not force or select else {}
    wanted = {(name, key) for _, names in order for name in names for key in _keys(builder, name)}
    needed = {item for item in wanted if item[0] in forced or stale.get(item) is not None}
    current = _mark_up_to_date(spec, [item for item in wanted if item not in needed])
    report_current(instance, builder, current)
    builder.index.save()
    assets = list(build_definitions(spec, device=device).assets or [])
    failures: list[tuple[str | None, str]] = []
    interrupted: str | None = None  # the step a Ctrl-C stopped ("": after its run): nothing after it starts
    build_id = uuid.uuid4().hex[:12]  # tags this build's runs
    unfinished: list[tuple[str, str]] = []  # what the steps after an interrupt were to build
    for partition_set, names in order:
        todo = [(n, k) for n in names for k in _keys(builder, n) if (n, k) in needed]
        if not todo:
            continue
        if interrupted is None:
            try:
                interrupted, failed = _run_set(builder, assets, instance, resource, partition_set, todo, build_id)
                failures += failed
                continue  # an interrupted run marks its own steps
            except KeyboardInterrupt:  # where Dagster does not catch it: setting a run up, or just after it
                interrupted = todo[0][0]
        unfinished += todo
    if interrupted is not None:
        if unfinished:
            with signals_held():  # another Ctrl-C waits
                _mark_interrupted(builder, instance, build_id, order, unfinished)
        return BuildReport(_rows(spec, wanted), sync, interrupted=interrupted)
    if not manifest_path(spec.build_dir).is_file():  # nothing to build yet: CI still finds an (empty) manifest
        update_manifest(spec.build_dir)
    rows = _rows(spec, wanted)
    explained = {r["asset"] for r in rows if r["status"] == "failed"}
    run_errors = [f"{step}: {message}" for step, message in failures if step not in explained]
    return BuildReport(rows, sync, run_errors, _left_out(builder, order), failed_guards(spec, rows))


def _fail_runs_of_killed_builds(instance: dg.DagsterInstance) -> None:
    """Fail the runs a build left unfinished when it was killed outright (kill -9, the OOM killer): they
    ran in its process, so nothing else ever ends them, the UI would show them running for good and the
    failure sensor would never see them. Only runs of a process this one can see are judged: same boot
    and pid namespace (a container's build may share the hostname and the instance), and the process
    gone, a zombie, or its pid reused (its start time differs). A re-executed run inherits the tags of
    the one it re-executes, so it is left alone; a throwaway instance holds none, and without Linux's
    /proc nothing can be judged."""
    space = process_space()
    if instance.is_ephemeral or space is None:
        return
    unfinished = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    for run in instance.get_runs(dg.RunsFilter(statuses=unfinished, tags={HOST_TAG: space})):
        process = run.tags.get(PID_TAG, "")
        if run.parent_run_id is None and is_gone(space, process) is True:
            instance.report_run_failed(run, f"the remaster build that ran it (process {process.partition('@')[0]}) was killed")


def _process_tags() -> dict[str, str]:
    """This process, for ``_fail_runs_of_killed_builds`` to judge its runs by; none where it could not."""
    space = process_space()
    return {} if space is None else {HOST_TAG: space, PID_TAG: this_process()}




def _run_set(
    builder: Builder,
    assets: list[dg.AssetsDefinition | dg.SourceAsset],
    instance: dg.DagsterInstance,
    resource: RemasterResource,
    partition_set: str | None,
    todo: list[tuple[str, str]],
    build_id: str,
) -> tuple[str | None, list[tuple[str | None, str]]]:
    """One Dagster run over ``todo``. Returns the step a Ctrl-C stopped ("" for one that came while Dagster
    closed the run, which it then drops; None without one), and (step, error) for each failed step."""
    with signals_seen() as seen:
        result = dg.materialize(
            assets,
            instance=instance,
            resources={"remaster": resource},
            selection=list(dict.fromkeys(name for name, _ in todo)),
            tags={**_range_tags(instance, partition_set, {key for _, key in todo}), BUILD_TAG: build_id, **_process_tags()},
            run_config=QUIET_LOGS,
            raise_on_error=False,
        )
    with signals_held() as caught:
        builder.forget_rows()  # the run wrote rows since the builder first read them
        errors = {e.step_key: e.event_specific_data.error for e in result.get_step_failure_events()}
        step_failures = {step: failure_message(error) for step, error in errors.items()}
        succeeded = {e.step_key for e in result.get_step_success_events()}
        missed = [(name, key) for name, key in todo if name not in succeeded]  # a step that succeeded reached all
        stopped = next((step for step, error in errors.items() if is_interrupt(error)), None)
        if stopped is not None:
            step_failures = {name: INTERRUPTED for name, _ in missed} | step_failures  # the steps it never started
        mark_not_built(builder, missed, result.run_id, step_failures)
    return (stopped if stopped is not None or not (caught or seen) else ""), list(step_failures.items())


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
    rows = rows_by_key(builder.spec.build_dir)
    now = _stale_map(builder, order)
    left = [item for item in todo if now.get(item) is not None and rows.get(item, {}).get("run_id") not in ours]
    mark_not_built(builder, left, f"interrupted-{build_id}", {name: INTERRUPTED for name, _ in left})


@contextlib.contextmanager
def signals_seen() -> Iterator[list[int]]:
    """Collects (on leaving) each Ctrl-C or SIGTERM that reached the process inside, whoever's handler took
    it: Dagster notes one that lands after a run's last step has begun, and forgets it when the run ends."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    read_end, write_end = os.pipe()
    try:
        for end in (read_end, write_end):
            os.set_blocking(end, False)
        previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        try:
            yield seen
        finally:
            signal.set_wakeup_fd(previous)
            seen += [number for number in _drain(read_end) if number in (signal.SIGINT, signal.SIGTERM)]
    finally:
        os.close(read_end)
        os.close(write_end)


def _drain(fd: int) -> set[int]:
    """The signal numbers written to a wakeup pipe so far."""
    numbers: set[int] = set()
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 512):
            numbers.update(chunk)
    return numbers


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM wait while the manifest and the build folder are brought into line (a second
    Ctrl-C there left rows listing files just deleted). Yields the signals that came, for the caller."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught  # only the main thread handles signals
        return
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda number, frame: caught.append(number)) for number in held}
    try:
        yield caught
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _rows(spec: Spec, wanted: set[tuple[str, str]]) -> list[Row]:
    return [r for r in read_manifest(spec.build_dir) if (r["asset"], r["partition"]) in wanted]


def failed_guards(spec: Spec, rows: list[Row]) -> list[tuple[bool, str]]:
    """(blocking, message) for every guard whose figure a built partition fails: what the UI shows as
    failed asset checks, for a build from the command line."""
    found = []
    for row in rows:
        target = spec.targets.get(str(row["asset"]))
        if target is None or row["status"] == "failed":
            continue
        metadata: dict = row.get("metadata") or {}  # type: ignore[assignment]
        for guard in target.guards():
            value = metadata.get(guard.metadata_key)
            if value is not None and not guard.passes(float(value)):
                partition = f" [{row['partition']}]" if row["partition"] else ""  # a model has one, unnamed
                detail = metadata.get(guard.detail_key) if guard.detail_key else None
                found.append((guard.blocking, (
                    f"{row['asset']}{partition}: {guard.name}: {guard.metadata_key} {float(value):.3g}, "
                    f"must be {guard.direction} {guard.limit:g} ({guard.description})" + (f": {detail}" if detail else "")
                )))
    return found


def check_device(device: str) -> None:
    """Refuse a bad ``--device`` (or a spec's ``cuda`` on a machine without one) before anything is built:
    every partition would fail, and with ``--force`` lose its outputs."""
    if not DEVICE_PATTERN.fullmatch(device):
        raise ValueError(f"device {device!r}: expected auto, cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        from ops.device import resolve_device

        try:
            resolve_device(device)
        except RuntimeError as exc:
            raise ValueError(str(exc)) from None


def with_upstream(spec: Spec, names: list[str]) -> list[str]:
    """``names`` and every model and asset they are built from, directly or through others."""
    found: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in spec.targets and name not in found:
            found.append(name)
            todo += [spec.targets[name].upstream, *filter(None, [spec.targets[name].model])]
    return found


def _keys(builder: Builder, name: str) -> list[str]:
    """The partitions of ``name`` to build; none for a model whose source has no files (weights kept)."""
    if name in builder.spec.assets:
        return list(builder.partitions(name))
    return [MODEL_PARTITION] if has_files(builder, name) else []


def _range_tags(instance: dg.DagsterInstance, partition_set: str | None, keys: set[str]) -> dict[str, str]:
    """The smallest partition range covering ``keys``; partitions inside it that are current are cache hits."""
    if partition_set is None:
        return {}
    ordered = [key for key in instance.get_dynamic_partitions(partition_set) if key in keys]
    return {RANGE_START_TAG: ordered[0], RANGE_END_TAG: ordered[-1]}


def _mark_up_to_date(spec: Spec, keys: list[tuple[str, str]]) -> list[Row]:
    """Rows of current partitions say cached, with the params the spec gives now (a setting that cannot
    change the result, ``OpParams.neutral_fields``, may have changed). Returns those rows."""
    rows = rows_by_key(spec.build_dir)
    base = {"status": "cached", "seconds": 0.0, "run_id": None}
    marked = [{**rows[key], **base, "params": spec.targets[key[0]].params.model_dump(mode="json")} for key in keys]
    updated = [row for key, row in zip(keys, marked) if row != rows[key]]
    if updated:
        update_manifest(spec.build_dir, updated)
    return marked


def _stale_map(builder: Builder, order: list[tuple[str | None, list[str]]]) -> dict[tuple[str, str], str | None]:
    """(target, partition) -> why it must be built, or None when its outputs are current."""
    rows = rows_by_key(builder.spec.build_dir)
    reasons: dict[tuple[str, str], str | None] = {}
    stale: set[tuple[str, str]] = set()
    fates: dict[str, str] = {}
    for _, names in order:
        for name in names:
            for key in _keys(builder, name):
                reason = _why_stale(builder, name, key, rows.get((name, key)), stale, fates)
                reasons[(name, key)] = reason
                if reason:
                    stale.add((name, key))
    return reasons


def _left_out(builder: Builder, order: list[tuple[str | None, list[str]]]) -> list[str]:
    """What a build of ``order`` cannot make partitions of, as messages: files Dagster cannot name or whose
    outputs would collide, a source with no files. Only the sources it reads: a --select of one asset
    does not fail on another's empty folder."""
    sources = list(dict.fromkeys(builder.spec.source_of(name).name for _, names in order for name in names))
    for name in sources:
        builder.partitions(name)  # scanned, so that each is reported
    return builder.skipped(sources)


@dataclass
class StatusReport:
    """What the next build would compute and why, and what makes a build fail even with nothing to compute."""

    stale: list[Stale]
    left_out: list[str]  # files the scans cannot make partitions of, a source with no files
    guards: list[tuple[bool, str]]  # (blocking, message) per guard a built partition fails


def stale_partitions(spec: Spec) -> StatusReport:
    """What the next build would compute, and why; computes nothing."""
    builder = RemasterResource(device=spec.device).builder(spec)
    order = build_order(spec)
    reasons = _stale_map(builder, order)
    found = [Stale(name, key, reason) for (name, key), reason in reasons.items() if reason]
    rows = read_manifest(spec.build_dir)
    for row in rows:
        name, key = str(row["asset"]), str(row["partition"])
        if name not in spec.targets:
            found.append(Stale(name, key, "the spec no longer has this asset: its outputs will be deleted"))
        elif file_removed(builder, spec.targets[name], key):
            found.append(Stale(name, key, "source file removed or left out by the glob or exclude: its outputs will be "
                                          "deleted"))
    left_out = _left_out(builder, order)
    with contextlib.suppress(OSError):  # the hashes only spare the next status or build work: a read-only cache is fine
        builder.index.save()
    current = [row for row in rows if reasons.get((str(row["asset"]), str(row["partition"]))) is None]
    return StatusReport(found, left_out, failed_guards(spec, current))


def _why_stale(
    builder: Builder, name: str, key: str, row: Row | None, stale: set[tuple[str, str]], fates: dict[str, str]
) -> str | None:
    """Why ``name``'s partition ``key`` must be built, or None; ``stale`` holds what was found stale before it,
    ``fates`` what becomes of each stale model (worked out once, not once per partition that uses it)."""
    target = builder.spec.targets[name]
    if target.upstream in builder.spec.targets and (target.upstream, key) in stale:
        return f"upstream {target.upstream} is stale"
    if target.model and (target.model, MODEL_PARTITION) in stale:
        if target.model not in fates:
            fates[target.model] = _model_fate(builder, builder.spec.models[target.model])
        if fates[target.model]:  # else its weights stay as they are, and this output is judged on its own
            return f"model {target.model} will be {fates[target.model]}"
    try:
        plan = builder.plan(target, key)
    except (BuildError, ValueError, OSError) as exc:  # an unreadable texture fails its partition in the run, not the build
        return f"cannot build yet: {exc}"
    if row is None:
        return "new file" if target.section == "assets" else "never built"
    if row["status"] == "failed":
        return f"failed last build: {row.get('error')}"
    if row["cache_key"] == plan.cache_key:
        outputs = {builder.spec.root_dir / str(p): d for p, d in row["outputs"].items()}  # type: ignore[union-attr]
        try:
            intact = all(file_is(p, d, builder.index) for p, d in outputs.items())
        except OSError:  # an output this user cannot read: built again, which replaces it
            intact = False
        return None if intact else "output missing or modified"
    old_inputs: dict[str, str] = row["inputs"]  # type: ignore[assignment]
    reasons = []
    if row["op_version"] != target.op.version:
        reasons.append(f"op {target.op.name} version {row['op_version']} -> {target.op.version}")
    if row["params"] != target.params.model_dump(mode="json"):
        changed = sorted(k for k, v in target.params.model_dump(mode="json").items() if row["params"].get(k) != v)  # type: ignore[union-attr]
        reasons.append("params changed: " + ", ".join(changed))
    model = str(plan.model and builder.relative(plan.model))
    for path, digest in plan.input_hashes.items():
        if old_inputs.get(path) != digest:
            kind = "model" if path == model else "file"
            reasons.append(f"changed {kind} {path}" if path in old_inputs else f"new {kind} {path}")
    reasons += [f"removed or left-out file {p}" for p in old_inputs if p not in plan.input_hashes]
    return "; ".join(reasons) or "cache key changed"


def _model_fate(builder: Builder, model: Target) -> str:
    """What the next build does with a stale model: put back from the cache, trained, retrained, or ""
    where one of its inputs cannot be read now and its weights stay as they are."""
    trained = os.path.isfile(builder.outputs_of(model, MODEL_PARTITION)[MODEL_FILE])
    try:
        if builder.store.holds(builder.plan(model, MODEL_PARTITION).cache_key):
            return "restored from the cache"
    except OSError:
        return "" if trained else "trained first, once its inputs can be read"
    except (BuildError, ValueError):  # its source is gone: its own row says what becomes of it
        pass
    return "retrained" if trained else "trained first"


def collect_garbage(spec: Spec, *, forget_missing: bool = False) -> tuple[int, int]:
    """Drop cache entries and objects that no output in the manifest of any project built on this
    store uses, and temporary files that killed builds left behind."""
    builder = RemasterResource().builder(spec)

    def keep() -> set[str]:
        manifests = builder.store.manifests(forget_unseen=forget_missing)
        rows = [row for manifest in manifests for row in read_manifest(manifest.parent)]
        return {str(r["cache_key"]) for r in rows if r.get("cache_key")}

    for folder in (spec.build_dir, spec.cache_dir):
        remove_stale_temporaries(folder)
    return builder.store.gc(keep)
