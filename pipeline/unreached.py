"""Failed manifest rows for the partitions a run never reached.

Dagster skips every partition of a step that comes after a failed one, so
without these rows a skipped partition's old outputs would go on looking built.
``remaster build`` records them after each of its runs; for runs launched from
the UI, a sensor, a schedule or a backfill, the ``remaster_unreached`` run-failure
sensor does, and ``remaster_canceled`` for a run terminated in the UI, which
stops before the partitions and steps after the one it was building.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import dagster as dg

from pipeline.assets import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from pipeline.build import MODEL_PARTITION, Builder
from pipeline.claims import check_build_dir
from pipeline.graph import build_order, with_upstream
from pipeline.manifest import Row, not_built, rows_by_key, update_manifest
from pipeline.provenance import report_again
from pipeline.resources import RemasterResource
from pipeline.spec import Spec, SpecError, load_spec
from pipeline.spec_reload import changed_since_loaded
from pipeline.staleness import stale_map

UNREACHED_SENSOR = "remaster_unreached"
CANCELED_SENSOR = "remaster_canceled"


def mark_not_built(
    builder: Builder, todo: list[tuple[str, str]], run_id: str, step_errors: dict[str, str],
    before: dict[tuple[str, str], str | None] | None = None, rows: dict[tuple[str, str], Row] | None = None,
) -> None:
    """Rows for partitions of failed or skipped steps that the run never reached (no row of this run), so
    the manifest does not go on calling them built; an asset's outputs that are no longer right go too.
    ``before``, each row's run as the run started, keeps the row of another build that wrote it meanwhile
    (two builds at once): its own error, or what it made, is newer than this run's "not built". ``rows``: the
    manifest's rows by key where the caller has just read them, so that it is not read again."""
    if not todo:  # every step succeeded, as in nearly every build: the manifest need not be read
        return
    spec = builder.spec
    rows = rows_by_key(spec.build_dir) if rows is None else rows
    missed = [
        item for item in todo if rows.get(item, {}).get("run_id") != run_id
        and (before is None or rows.get(item, {}).get("run_id") == before.get(item))
    ]
    if missed:
        updated: list[Row] = []
        for name, key in missed:  # a row lists the key of what is on disk: gc must not drop it
            error = f"not built: {step_errors.get(name) or _earlier(spec, name, step_errors)}"
            failed: Row = {"status": "failed", "error": error, "run_id": run_id, "seconds": 0.0}  # nothing ran
            if name in spec.assets:  # a model keeps its weights and its row's key: its users decide with that key
                failed["outputs"] = builder.remove_if_stale(spec.targets[name], key)
                if failed["outputs"] and builder.is_current(spec.targets[name], key):  # maybe made just before an
                    failed["cache_key"] = builder.plan(spec.targets[name], key).cache_key  # interrupt; else the row keeps its key
            row = rows.get((name, key)) or not_built(spec.targets[name], key, run_id, error).to_json()
            updated.append({**row, **failed})
        update_manifest(spec.build_dir, updated)


def _earlier(spec: Spec, name: str, step_errors: dict[str, str]) -> str:
    """Why the run never reached ``name``: it was stopped, or the failed steps it is built from (all the run's, where
    none is: a run's failure stops more than its downstream), not a failed step beside it ('up, sres' for up4)."""
    if stopped := next((error for error in step_errors.values() if was_stopped(error)), None):
        return stopped  # what a stopped run never reached was stopped too, not failed
    upstream = with_upstream(spec, [name])
    failed = [step for step in step_errors if step in upstream] or list(step_errors)
    return f"an earlier step of its run failed ({', '.join(failed)})" if failed else "its run failed"


def record_unreached(spec: Spec, instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Failed rows for the partitions of ``run``'s steps that did not succeed, as ``run_build`` writes them
    for its own runs. Not in another spec's build folder, which is why such a run failed."""
    try:
        check_build_dir(spec)
    except SpecError:
        return
    success = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    succeeded = {e.get_dagster_event().step_key for e in success}
    failed = [e.get_dagster_event() for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]
    failures = {cast(str, e.step_key): failure_message(e.step_failure_data.error) for e in failed}  # a step's names it
    planned = [e.get_dagster_event()
               for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)]
    in_run = {e.asset_materialization_planned_data.asset_key.path[-1] for e in planned}  # set however the run was launched
    names = [name for name in spec.targets if name in in_run]
    if run.status == dg.DagsterRunStatus.CANCELED:  # Terminate in the UI: what it never started was stopped too
        failures = {name: TERMINATED for name in names if name not in succeeded} | {
            name: error for name, error in failures.items() if not was_stopped(error)}
    builder = RemasterResource().builder(spec)
    rows = rows_by_key(spec.build_dir)
    later = _launched_later(instance, run, {str(row["run_id"]) for row in rows.values() if row.get("run_id")})
    # Stale by its own inputs or by an upstream output the run left stale: one it stopped while making (Terminate),
    # whose user is right for it as it is. Not what is right as it is: maybe rebuilt since this run failed.
    now = stale_map(builder, build_order(spec, names))
    skipped = [
        (name, key) for name in names if name not in succeeded for key in _run_keys(spec, instance, run, name)
        if rows.get((name, key), {}).get("run_id") not in later  # what a later run wrote is newer than this failure
    ]
    mark_not_built(builder, [item for item in skipped if now.get(item) is not None], run.run_id, failures)
    made = _materialized_in(instance, run)
    report_again(instance, builder, [rows[item] for item in skipped if now.get(item) is None and item not in made
                                     and rows.get(item, {}).get("status") in ("computed", "cached")])


def _materialized_in(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[tuple[str, str]]:
    """The (asset, partition) that ``run`` recorded as materialized: of a step that failed on one texture, the
    others; Dagster shows the rest of a step that did not succeed as failed."""
    events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    return {(event.asset_key.path[-1], event.partition or MODEL_PARTITION)
            for event in (entry.asset_materialization for entry in events) if event is not None}


def _launched_later(instance: dg.DagsterInstance, run: dg.DagsterRun, run_ids: set[str]) -> set[str]:
    """Those of ``run_ids`` launched after ``run``: a file sensor's run and a nightly one failing on one texture
    are handled in turn, and the older must not mark what the newer reached as never reached."""
    this = instance.get_run_record_by_id(run.run_id)
    if this is None or not run_ids - {run.run_id}:
        return set()
    records = instance.get_run_records(filters=dg.RunsFilter(run_ids=sorted(run_ids - {run.run_id})))
    return {r.dagster_run.run_id for r in records if r.create_timestamp > this.create_timestamp}


def _run_keys(spec: Spec, instance: dg.DagsterInstance, run: dg.DagsterRun, name: str) -> Sequence[str]:
    """The partitions of ``name`` that ``run`` was to build: its one partition, or its range's."""
    if name in spec.models:
        return [MODEL_PARTITION]
    keys = instance.get_dynamic_partitions(spec.source_of(name).name)
    if PARTITION_TAG in run.tags:
        return [run.tags[PARTITION_TAG]] if run.tags[PARTITION_TAG] in keys else []
    start, end = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    if start not in keys or end not in keys:
        return []
    return keys[keys.index(start) : keys.index(end) + 1]


INTERRUPTED = "the build was interrupted (Ctrl-C or SIGTERM)"
TERMINATED = "its run was terminated (Terminate in the UI)"  # said of a canceled run: the artist never typed Ctrl-C


def was_stopped(error: str) -> bool:
    """Whether a step's error (a ``not built`` row's, after its ``not built: ``) says someone stopped the build, which
    is theirs to build again, not that its inputs failed."""
    return error in (INTERRUPTED, TERMINATED)


def is_interrupt(error: object) -> bool:
    """Whether a step failed because the build was stopped, not because of its inputs."""
    while error is not None:
        if getattr(error, "cls_name", None) in ("DagsterExecutionInterruptedError", "KeyboardInterrupt"):
            return True
        error = getattr(error, "cause", None)
    return False


def failure_message(error: object) -> str:
    """Why a step failed, in words: the exception our code raised, not Dagster's wrapper, or the interrupt."""
    return INTERRUPTED if is_interrupt(error) else root_cause(error)


def root_cause(error: object) -> str:
    """The innermost message of a step failure: the exception our code raised, not Dagster's wrapper (the
    ``dg.Failure`` a step raises for its failed partitions is said without Dagster's module path)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    message = str(getattr(error, "message", error)).strip()
    raised_as, _, said = message.partition(": ")
    return said if getattr(error, "cls_name", None) == "Failure" and raised_as.endswith("Failure") else message


_WATCHED = {
    dg.DagsterRunStatus.FAILURE: (UNREACHED_SENSOR, "After a failed run"),
    dg.DagsterRunStatus.CANCELED: (CANCELED_SENSOR, "After a run was terminated (Terminate in the UI)"),
}


def unreached_sensor(spec: Spec, status: dg.DagsterRunStatus = dg.DagsterRunStatus.FAILURE) -> dg.SensorDefinition:
    """Records what a failed, or a canceled, run never reached, whoever launched it (on by default: the daemon
    runs it). One sensor per status, as Dagster's run status sensors each watch one."""
    name, after = _WATCHED[status]

    @dg.run_status_sensor(
        run_status=status,
        name=name,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"{after}, marks the partitions it never reached as not built in build/manifest.json",
    )
    def unreached(context: dg.RunStatusSensorContext) -> dg.SkipReason | None:
        # A run loads the spec on disk as it starts, and so is judged by it: the plans of the spec Dagster loaded
        # before it changed called what the run had built stale, and deleted it.
        try:
            current = spec if changed_since_loaded(spec) is None else load_spec(spec.given or spec.path)
        except SpecError as exc:
            return dg.SkipReason(f"the spec no longer loads ({'; '.join(exc.problems)}): what run "
                                 f"{context.dagster_run.run_id} never reached is left as it is until a build")
        record_unreached(current, context.instance, context.dagster_run)
        return None

    return unreached
