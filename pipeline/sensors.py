"""Sensors: keep each source's partitions in step with its folder and rebuild what changed."""

import json

import dagster as dg

from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG, partitions_def, source_version
from pipeline.resources import RemasterResource
from pipeline.spec import Source, Spec


def source_sensor(spec: Spec, source: Source, targets: list[str]) -> dg.SensorDefinition:
    """Adds partitions for new files, drops removed ones, and requests one run over the new or changed files.

    The cursor holds each partition's content hash, so touching a file without
    changing it requests nothing, and a file changed back to an earlier content
    is rebuilt like any other change. The run covers the range from the first to
    the last changed partition; unchanged ones inside it are cache hits.
    """
    parts = partitions_def(source.name)

    @dg.sensor(
        name=f"{source.name}_files",
        minimum_interval_seconds=30,
        asset_selection=[dg.AssetKey(t) for t in targets] or None,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Watches {source.root} and rebuilds the outputs of changed files",
    )
    def watch(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not source.root.is_dir():  # an unmounted share is not a folder whose files were all deleted
            return dg.SkipReason(f"folder {source.root} does not exist; its partitions are kept")
        builder = RemasterResource().builder(spec)
        found = {key: source_version(builder, roles) for key, roles in builder.partitions(source.name).items()}
        builder.index.save()
        known = context.instance.get_dynamic_partitions(source.name)
        previous = json.loads(context.cursor) if context.cursor else {}
        requests = []
        if added := sorted(set(found) - set(known)):
            requests.append(parts.build_add_request(added))
        if removed := sorted(set(known) - set(found)):
            requests.append(parts.build_delete_request(removed))
        order = [key for key in [*known, *added] if key in found]  # the partitions' order once the requests apply
        changed = [key for key in order if previous.get(key) != found[key]]
        runs = []
        if changed and targets:
            tags = {RANGE_START_TAG: changed[0], RANGE_END_TAG: changed[-1]}
            runs.append(dg.RunRequest(asset_selection=[dg.AssetKey(t) for t in targets], tags=tags))
        return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=requests, cursor=json.dumps(found))

    return watch
