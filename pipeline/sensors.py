"""Sensors: keep each source's partitions in step with its folder and rebuild what changed."""

import json

import dagster as dg

from pipeline.assets import partitions_def, source_version
from pipeline.resources import RemasterResource
from pipeline.spec import Source, Spec


def source_sensor(spec: Spec, source: Source, targets: list[str]) -> dg.SensorDefinition:
    """Adds partitions for new files, drops removed ones, and requests a run per new or changed file.

    The cursor holds each partition's content hash, so touching a file without
    changing it requests nothing.
    """
    parts = partitions_def(source.name)

    @dg.sensor(
        name=f"{source.name}_files",
        minimum_interval_seconds=30,
        asset_selection=[dg.AssetKey(t) for t in targets] or None,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Watches {source.root} and rebuilds the outputs of changed files",
    )
    def watch(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        builder = RemasterResource().builder(spec)
        found = {key: source_version(builder, roles) for key, roles in builder.partitions(source.name).items()}
        builder.index.save()
        known = set(context.instance.get_dynamic_partitions(source.name))
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = [key for key, version in found.items() if previous.get(key) != version]
        requests = []
        if added := sorted(set(found) - known):
            requests.append(parts.build_add_request(added))
        if removed := sorted(known - set(found)):
            requests.append(parts.build_delete_request(removed))
        runs = [
            dg.RunRequest(partition_key=key, asset_selection=[dg.AssetKey(t) for t in targets], run_key=f"{key}@{found[key]}")
            for key in changed
        ] if targets else []
        return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=requests, cursor=json.dumps(found))

    return watch
