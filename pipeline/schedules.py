"""The nightly full rebuild: every target, every partition, one run per partition set."""


import dagster as dg

from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG, build_order
from pipeline.spec import Spec


def nightly_schedule(spec: Spec) -> dg.ScheduleDefinition:
    """Cache hits make this cheap: only what changed since the last build is computed."""

    @dg.schedule(
        name="nightly_rebuild",
        cron_schedule=spec.schedule,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def nightly(context: dg.ScheduleEvaluationContext):
        for partition_set, targets in build_order(spec):
            selection = [dg.AssetKey(t) for t in targets]
            if partition_set is None:
                yield dg.RunRequest(asset_selection=selection)
                continue
            keys = context.instance.get_dynamic_partitions(partition_set)
            if keys:
                yield dg.RunRequest(asset_selection=selection, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})

    return nightly
