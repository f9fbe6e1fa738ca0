"""The nightly full rebuild: one job and one schedule per partition set, each run covering all partitions."""

import dagster as dg

from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG, said_held, say_skipped, sync_source_partitions
from pipeline.dagster_names import job_name
from pipeline.graph import run_groups
from pipeline.removed import forget_removed
from pipeline.resources import tick_builder
from pipeline.spec import Spec, SpecError
from pipeline.spec_reload import changed_since_loaded


def nightly_schedules(spec: Spec) -> list[dg.ScheduleDefinition]:
    """Cache hits make these cheap: only what changed since the last build is computed.

    Each tick first makes the source's partitions its files on disk, as a build does, so a nightly run
    with the file sensors off still sees what was added and deleted since the last one.

    Dagster runs one partition set per run, so each source's assets get their own
    job, with the models they use built first in the same run; models no asset
    uses get ``build_models``. All run on the spec's ``schedule``.
    """
    return [_nightly(spec, partition_set, targets) for partition_set, targets in run_groups(spec).items()]


def schedule_name(partition_set: str | None) -> str:
    return f"nightly_{partition_set or 'models'}"


def _nightly(spec: Spec, partition_set: str | None, targets: list[str]) -> dg.ScheduleDefinition:
    job = dg.define_asset_job(job_name(partition_set), selection=targets)

    @dg.schedule(
        name=schedule_name(partition_set),
        cron_schedule=spec.schedule,
        execution_timezone=spec.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(f"Rebuilds every partition of {partition_set}'s assets, the models they use first"
                     if partition_set else "Rebuilds the models no asset uses"),
    )
    def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        if reason := changed_since_loaded(spec):  # its partitions and outputs stay as they are
            return dg.SkipReason(reason)
        if partition_set is None:
            return dg.RunRequest()
        try:
            builder = tick_builder(spec, context.log)
        except SpecError as exc:  # another spec's build folder or instance
            return dg.SkipReason(str(exc))
        synced = sync_source_partitions(context.instance, builder, partition_set)  # the files on disk tonight,
        forget_removed(spec, builder)  # as a CLI build syncs them, whether or not the file sensor runs
        if synced.held:  # the tick's log in the UI names the run that keeps them
            context.log.info(said_held(partition_set, synced.held))
        keys = synced.keys
        models = [dg.AssetKey(name) for name in targets if name in spec.models]
        if keys or models:  # a run is requested all the same: the tick's log says what its source lacks
            say_skipped(context.log, builder, partition_set)
        if keys:
            return dg.RunRequest(tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
        if models:  # the source has no files (yet, or its share is away): the models it uses are still trained
            return dg.RunRequest(asset_selection=models)
        return dg.SkipReason("; ".join(builder.skipped([partition_set])) or f"source {partition_set} has no files")

    return nightly
