"""Where each output's inputs came from, recorded in Dagster so that the UI does not call partitions stale.

Dagster calls an output stale where the input versions its materialization recorded differ from its inputs'
latest ones. It records them only on a step's output for the whole partition range, so each partition's own
materialization gets them here: the data version and the event (a source file's observation, an upstream
output's or a model's materialization) of each input, as the build read it. A partition a build finds
current runs no step, so ``report_current`` records it the same way.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from pipeline.build import MODEL_PARTITION, Builder, code_version, summarize_data_version
from pipeline.event_log import few_transactions
from pipeline.graph import build_order
from pipeline.hashing import hash_bytes, hash_text
from pipeline.manifest import PartitionResult, Row
from pipeline.progress import reported_over
from pipeline.spec import Spec, Target, not_a_file

CODE_VERSION_TAG = "dagster/code_version"
DATA_VERSION_TAG = "dagster/data_version"
INPUT_DATA_VERSION_TAG = "dagster/input_data_version"  # + /<input asset>
INPUT_EVENT_POINTER_TAG = "dagster/input_event_pointer"  # + /<input asset>
# Dagster does not look at the partitions of a source this large for staleness (its private
# SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD; a test pins the two together).
DAGSTER_PARTITION_LIMIT = 100
_HISTORY = 100  # observations of a source file looked back through for the version a build read
_NAMED_IN_ONE_QUERY = 500  # partitions a query names; beyond, it reads all of a source's


def files_key(source: str) -> dg.AssetKey:
    """``<source>/files``: all the files of a source that models train from, as one observable version."""
    return dg.AssetKey([source, "files"])


def weights_key(target: str, role: str) -> dg.AssetKey:
    """``<asset>/<role>``: a weights file that a model or an asset names by path (``model: {path: ...}``,
    ``vgg_weights``), as one observable version: what it makes is called stale in the UI once a new file in its
    place is observed, as its cache key would say, however many partitions that asset has."""
    return dg.AssetKey([target, role])


def weights_version(builder: Builder, target: Target, role: str) -> str | None:
    """The hash of the weights file ``target`` names as ``role``, as the UI and the file sensor see it now:
    through the hash index, so that a weights file of hundreds of megabytes is read again only once it changed;
    None where it is no file just now (a share away), which tells nothing of what was made with it."""
    path = builder.spec.resolve(target.params.file_params()[role])
    if not_a_file(path):
        return None
    try:
        return builder.index.hash(path)
    except OSError:
        return None


def source_version(builder: Builder, roles: dict[str, Path]) -> str:
    """A partition's data version as its files are now."""
    return summarize_data_version({role: builder.index.hash(path) for role, path in roles.items()})


def observed_version(builder: Builder, source: str, roles: dict[str, Path]) -> str:
    """A partition's data version as the UI and the file sensor see it now: its files', with the hash of each
    sidecar an asset made from it reads (a material's scene.json), which joins that asset's cache key. Without
    them the UI called a material fresh after its scene.json changed; an asset of the source that reads none is
    called stale then too, and is put back from the cache."""
    present = [hash_text(path) for path in _sidecars(builder.spec, source, roles) if path.is_file()]
    return _with_sidecars(source_version(builder, roles), present)


def _sidecars(spec: Spec, source: str, roles: dict[str, Path]) -> list[Path]:
    """The sidecars that the assets made from ``source`` read beside a partition's ``roles``, in one order."""
    return sorted({path for target in spec.targets.values() if target.upstream == source
                   for path in target.params.sidecars(roles)})


def _with_sidecars(version: str, sidecars: list[str]) -> str:
    return hash_bytes(json.dumps([version, *sidecars]).encode()) if sidecars else version


def provenance_tags(observed: Observations, builder: Builder, target: Target, result: PartitionResult) -> dict[str, str]:
    """Dagster's input provenance tags for one partition: the data version and event of each input
    (the source file or the upstream output, the model) it was built from. Dagster adds them only to
    a step's range-wide output event, so without them the UI calls every partition stale."""
    spec, tags = builder.spec, {}
    reads: dict[str, tuple[str | None, int | None]] = {}
    for dep in [target.upstream] + ([target.model] if target.model else []):
        if dep in spec.sources and not result.partition:
            reads[dep] = _whole_source_read(observed, builder, dep, result)
            reads[files_key(dep).to_user_string()] = _files_read(observed, builder, dep, result)
        else:
            reads[dep] = _input_read(observed, builder, dep, result)
    for role in target.params.file_params():
        reads[weights_key(target.name, role).to_user_string()] = _weights_read(observed, builder, target, role, result)
    for dep, (version, pointer) in reads.items():
        tags[f"{INPUT_DATA_VERSION_TAG}/{dep}"] = version or "INITIAL"  # Dagster's own word for "never observed"
        tags[f"{INPUT_EVENT_POINTER_TAG}/{dep}"] = str(pointer) if pointer else "NULL"
    return tags


def _files_read(
    observed: Observations, builder: Builder, source: str, result: PartitionResult
) -> tuple[str | None, int | None]:
    """The version of all the files of a model's source as its training read them, and the observation
    of ``<source>/files`` that says so: made here where the files are still as read and no observation
    says it yet (a sensor's or a CLI build's training observes nothing first)."""
    key = files_key(source)
    spec, root = builder.spec, builder.spec.sources[source].root
    weights = {spec.resolve(path) for path in spec.targets[result.asset].params.file_params().values()}
    # From the hashes the training recorded, not the files now: a model kept while its share is away was
    # trained on the files it had, not on none. Its other files (VGG weights) are no source file, wherever they lie.
    read = summarize_data_version({
        path.relative_to(root).as_posix(): digest for path, digest in
        ((spec.root_dir / relative, digest) for relative, digest in result.inputs.items())
        if path not in weights and path.is_relative_to(root)
    })
    return read, observed.as_read(key, read, functools.partial(files_version_now, builder, source))


def _weights_read(
    observed: Observations, builder: Builder, target: Target, role: str, result: PartitionResult
) -> tuple[str | None, int | None]:
    """The hash of the weights file ``target`` names as ``role`` as the build read it, and the observation of
    ``<asset>/<role>`` that says so."""
    read = result.inputs.get(builder.relative(builder.spec.resolve(target.params.file_params()[role])))
    now = functools.partial(weights_version, builder, target, role)
    return read, observed.as_read(weights_key(target.name, role), read, now)


def files_version_now(builder: Builder, source: str) -> str | None:
    """One version over every partition of ``source`` as its files are now (what a model reads: no sidecar);
    None when one cannot be read."""
    versions = {p: _version_now(builder, source, p, sidecars=False) for p in builder.partitions(source)}
    return summarize_data_version(versions) if all(versions.values()) else None  # type: ignore[arg-type]


def _input_read(
    observed: Observations, builder: Builder, dep: str, result: PartitionResult
) -> tuple[str | None, int | None]:
    """The data version and event of one input of a partition: its source file as the build read it,
    its upstream output or its model."""
    instance, key, is_source = observed.instance, dg.AssetKey(dep), dep in builder.spec.sources
    partition = None if dep in builder.spec.models else result.partition or None
    read = _version_read(builder, dep, partition, result) if is_source and partition else None
    if read is not None and partition is not None:
        return read, _pointer_for_read(observed, builder, dep, partition, read).storage_id
    record = instance.get_latest_data_version_record(key, is_source, partition)
    event = record and (record.asset_materialization or record.asset_observation)
    tags = (event.tags if event is not None else None) or {}  # None where it was reported without any (the UI can)
    return tags.get(DATA_VERSION_TAG), (record.storage_id if record else None)


def _whole_source_read(
    observed: Observations, builder: Builder, source: str, result: PartitionResult
) -> tuple[str | None, int | None]:
    """The data version and event of a source a model trained from: all its files.

    Dagster calls the model stale when some partition's latest observation after the pointer
    differs from the latest one up to it. So the pointer goes after every file's observation as
    read, or, where a file changed since, before the observation that says so. Dagster does not
    look at the partitions of a source of 100 files or more: nothing is observed for one."""
    registered = set(observed.instance.get_dynamic_partitions(source))
    reads = {p: read for p in builder.partitions(source)
             if p in registered and (read := _version_read(builder, source, p, result)) is not None}
    version = summarize_data_version(reads) if reads else None
    if len(registered) >= DAGSTER_PARTITION_LIMIT:
        return version, None
    pointers = [_pointer_for_read(observed, builder, source, p, read) for p, read in reads.items()]
    changed = [p.storage_id for p in pointers if p.changed and p.storage_id]
    current = [p.storage_id for p in pointers if p.storage_id]
    return version, min(changed) if changed else max(current, default=None)


@dataclass(frozen=True)
class _Pointer:
    storage_id: int | None  # the event Dagster compares from
    changed: bool  # the file has changed since it was read: the pointer is before the observation that says so


def _pointer_for_read(observed: Observations, builder: Builder, source: str, partition: str, read: str) -> _Pointer:
    """Where Dagster should compare from, for an output built from ``read``, a source partition as a
    build read it.

    The file as it is now is observed first where the latest observation says otherwise (a sensor's
    or a schedule's run observes nothing first, and the next observation would otherwise call the
    rebuilt output stale). The pointer is then the latest observation, when it is what was read;
    else just before the first observation, after the last one of ``read``, that says otherwise, so
    that the UI calls the output stale however often the new content is observed again."""
    changed = observed.observe_if_changed(builder, source, partition)
    latest = observed.fetch(source, partition) if changed else observed.latest(source, partition)
    if latest is None or latest.version == read:  # the usual case: no query of its own for the partition
        return _Pointer(latest.storage_id if latest else None, changed=False)
    after = latest.storage_id  # the earliest observation, after the last one of ``read``, that says otherwise
    for record in observed.instance.fetch_observations(_records(source, partition), limit=_HISTORY).records[1:]:
        if _observed_version(record) == read:  # newest first
            break
        after = record.storage_id
    return _Pointer(after - 1, changed=True)


class _Seen(NamedTuple):
    storage_id: int
    version: str | None  # the data version it says


class Observations:
    """The latest observation of each source partition that the events of a step (or of ``report_current``) point
    at, read in two queries for all of them: one or two queries per partition, about 10 ms each on SQLite, would
    be a minute and a half of a first build of 5,000 textures under ``DAGSTER_HOME``. Kept current as this process
    observes files (``catch_up``); a partition it was not made for is read on its own."""

    def __init__(self, instance: dg.DagsterInstance, partitions: Collection[str]) -> None:
        self.instance = instance
        self.partitions = set(partitions)
        self._latest: dict[str, dict[str, _Seen]] = {}  # source -> partition -> its latest observation
        self._unpartitioned: dict[dg.AssetKey, dg.EventLogRecord | None] = {}  # as_read's

    def latest(self, source: str, partition: str) -> _Seen | None:
        """The partition's latest observation: read with the rest of its source's at the first ask, or on its own
        for a partition this was not made for."""
        if partition not in self.partitions:  # a model's whole source, which its step does not name
            return self.fetch(source, partition)
        if source not in self._latest:
            self._latest[source] = self._read(source)
        return self._latest[source].get(partition)

    def catch_up(self, builder: Builder, results: Iterable[PartitionResult]) -> None:
        """Observe each source file of ``results`` whose latest observation says otherwise than the file now, as
        ``_pointer_for_read`` does, but all before any pointer is worked out, so that their latest observations
        are read back together: one at a time, that would be a query per file (a first build observes every file).
        One that changes after this is observed by ``_pointer_for_read`` itself."""
        caught_up = set()
        for result in results:
            source = builder.spec.targets[result.asset].upstream
            if source not in builder.spec.sources or result.partition not in self.partitions or not result.partition:
                continue
            if _version_read(builder, source, result.partition, result) is None:  # no pointer is worked out for it
                continue
            if self.observe_if_changed(builder, source, result.partition):
                caught_up.add(source)
        for source in caught_up:
            self._latest[source] = self._read(source)

    def observe_if_changed(self, builder: Builder, source: str, partition: str) -> bool:
        """Observe the partition's file where its latest observation says otherwise than the file now (a sensor's
        or a schedule's run observes nothing first); returns whether it did."""
        latest, now = self.latest(source, partition), _version_now(builder, source, partition)
        if now is None or (latest is not None and latest.version == now):
            return False
        _observe(self.instance, source, partition, now)
        return True

    def as_read(self, key: dg.AssetKey, read: str | None, now: Callable[[], str | None]) -> int | None:
        """The latest observation of the unpartitioned source asset ``key``, made here where it is still as a build
        read it (``now``) and no observation says so yet: a sensor's or a CLI build's run observes nothing first, and
        an input never observed is one the UI calls changed. Asked once per step, not per partition (a weights
        file's ``<asset>/<role>`` is an input of each), and again once this process observed it."""
        if key not in self._unpartitioned:
            self._unpartitioned[key] = self.instance.get_latest_data_version_record(key, True)
        record = self._unpartitioned[key]
        observed = record.asset_observation.tags.get(DATA_VERSION_TAG) if record and record.asset_observation else None
        if read is not None and read != observed and read == now():
            self.instance.report_runless_asset_event(dg.AssetObservation(key, tags={DATA_VERSION_TAG: read}))
            record = self._unpartitioned[key] = self.instance.get_latest_data_version_record(key, True)
        return record.storage_id if record else None

    def fetch(self, source: str, partition: str) -> _Seen | None:
        """The partition's latest observation as it is now (one query): after this process observed it."""
        found = self.instance.fetch_observations(_records(source, partition), limit=1).records
        seen = _Seen(found[0].storage_id, _observed_version(found[0])) if found else None
        if seen is not None and partition in self.partitions:
            self._latest.setdefault(source, {})[partition] = seen
        return seen

    def _read(self, source: str) -> dict[str, _Seen]:
        """Every partition's latest observation, the ids and the versions as of one moment. Named in the query
        where they are few (SQLite before 3.32 takes 999 values in one), else all the source's are read."""
        storage, key, kind = self.instance.event_log_storage, dg.AssetKey(source), dg.DagsterEventType.ASSET_OBSERVATION
        named = sorted(self.partitions) if len(self.partitions) <= _NAMED_IN_ONE_QUERY else None
        ids = storage.get_latest_storage_id_by_partition(key, kind, set(named) if named else None)
        if not ids:
            return {}
        tags = storage.get_latest_tags_by_partition(key, kind, [DATA_VERSION_TAG], named,
                                                    before_cursor=max(ids.values()) + 1)  # none observed since
        return {partition: _Seen(storage_id, tags.get(partition, {}).get(DATA_VERSION_TAG))
                for partition, storage_id in ids.items()}


def _records(source: str, partition: str) -> dg.AssetRecordsFilter:
    return dg.AssetRecordsFilter(asset_key=dg.AssetKey(source), asset_partitions=[partition])


def _observed_version(record: dg.EventLogRecord) -> str | None:
    observation = record.asset_observation
    return observation.tags.get(DATA_VERSION_TAG) if observation is not None else None


def _observe(instance: dg.DagsterInstance, source: str, partition: str | None, version: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetObservation(dg.AssetKey(source), partition=partition, tags={DATA_VERSION_TAG: version})
    )


def report_current(instance: dg.DagsterInstance, builder: Builder, rows: list[Row]) -> int:
    """Record a materialization of each up-to-date partition (a manifest row) whose latest one in this
    instance is missing or says other outputs; returns how many it recorded.

    An up-to-date partition runs no step, so a project built before ``DAGSTER_HOME`` was set, or
    under another one, would otherwise show as never built, or stale, in the UI for good. A throwaway
    instance (no ``DAGSTER_HOME``) is left alone: nobody will look at it."""
    if instance.is_ephemeral:
        return 0
    return _report(instance, builder, _unrecorded(instance, builder, rows))


def report_again(instance: dg.DagsterInstance, builder: Builder, rows: list[Row]) -> None:
    """Record a materialization of each partition of ``rows`` (up to date) anew, whatever its latest one says: Dagster
    shows each partition of a step a failed or terminated run skipped as failed, in red, and goes on showing it so
    until it is materialized again, though its outputs are untouched and right (``remaster status`` calls them up to
    date)."""
    order = _build_order(builder.spec)
    kept = sorted(rows, key=lambda row: order.index(str(row["asset"])))  # a model's before what was made with it
    _report(instance, builder, [(builder.spec.targets[str(row["asset"])], PartitionResult.from_json(row)) for row in kept])


def _report(instance: dg.DagsterInstance, builder: Builder, partitions: list[tuple[Target, PartitionResult]]) -> int:
    """Record a runless materialization of each of ``partitions``, with the provenance a step's own would have;
    returns how many."""
    if not partitions:
        return 0
    with few_transactions(instance):
        observed = Observations(instance, {result.partition for _, result in partitions})
        observed.catch_up(builder, (result for _, result in partitions))
        # a first build under DAGSTER_HOME: one per output
        for target, result in reported_over("recording up-to-date outputs in Dagster", partitions):
            metadata, tags = partition_event(target, result, provenance_tags(observed, builder, target, result))
            instance.report_runless_asset_event(dg.AssetMaterialization(
                dg.AssetKey(target.name), partition=result.partition or None, metadata=metadata, tags=tags))
    return len(partitions)


def _build_order(spec: Spec) -> list[str]:
    """Every model and asset, each after what it is made from."""
    return [name for _, names in build_order(spec) for name in names]


def _unrecorded(instance: dg.DagsterInstance, builder: Builder, rows: list[Row]) -> list[tuple[Target, PartitionResult]]:
    """The partitions of ``rows`` whose latest materialization in ``instance`` is missing or says other outputs,
    a model's before those of the outputs made with it, so that their events point at its."""
    by_asset: dict[str, list[Row]] = {}
    for row in rows:
        by_asset.setdefault(str(row["asset"]), []).append(row)
    order = _build_order(builder.spec)
    missing: list[tuple[Target, PartitionResult]] = []
    for name in sorted(by_asset, key=order.index):
        target = builder.spec.targets[name]
        recorded = _recorded_versions(instance, dg.AssetKey(name), target)
        results = map(PartitionResult.from_json, by_asset[name])
        missing += [(target, result) for result in results
                    if recorded.get(result.partition) != summarize_data_version(result.outputs)]
    return missing


def _recorded_versions(instance: dg.DagsterInstance, key: dg.AssetKey, target: Target) -> dict[str, str]:
    """Partition -> the data version of its latest materialization in ``instance`` (one query; two for a model, and
    a few for an asset naming a weights file). Nothing for a partition whose latest one was recorded before it read
    an input asset it has now (a model's ``<source>/files``, a weights file's ``<asset>/<role>`` after an upgrade),
    so that it is recorded again: the UI calls it stale otherwise. Dagster reads no tag but the data version per
    partition, so an asset naming a weights file reads each partition's latest materialization whole: after an
    upgrade, the sensor or the UI may have built some partitions before a CLI build records the others."""
    read = [f"{INPUT_DATA_VERSION_TAG}/{weights_key(target.name, role).to_user_string()}" for role in target.params.file_params()]
    if target.section == "models":
        read.append(f"{INPUT_DATA_VERSION_TAG}/{files_key(target.upstream).to_user_string()}")
        event = instance.get_latest_materialization_event(key)
        latest = (event.asset_materialization.tags or {}) if event and event.asset_materialization else {}
        return {MODEL_PARTITION: latest.get(DATA_VERSION_TAG, "")} if all(tag in latest for tag in read) else {}
    if read:
        return {partition: tags.get(DATA_VERSION_TAG, "") for partition, tags in _latest_tags(instance, key).items()
                if all(tag in tags for tag in read)}
    tags = instance.event_log_storage.get_latest_tags_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION, [DATA_VERSION_TAG]
    )
    return {partition: found.get(DATA_VERSION_TAG, "") for partition, found in tags.items()}


def _latest_tags(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, dict[str, str]]:
    """Partition -> every tag of its latest materialization (one query, and one per ``_NAMED_IN_ONE_QUERY``
    partitions: SQLite before 3.32 takes 999 values in one)."""
    ids = list(instance.event_log_storage.get_latest_storage_id_by_partition(key, dg.DagsterEventType.ASSET_MATERIALIZATION).values())
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), _NAMED_IN_ONE_QUERY):
        chunk = ids[start:start + _NAMED_IN_ONE_QUERY]
        for record in instance.fetch_materializations(dg.AssetRecordsFilter(key, storage_ids=chunk), limit=len(chunk)).records:
            if (event := record.asset_materialization) is not None and event.partition is not None:
                tags[event.partition] = dict(event.tags or {})
    return tags


def _version_now(builder: Builder, source: str, partition: str, *, sidecars: bool = True) -> str | None:
    """A source partition's data version as its files are now, and the sidecars its assets read where
    ``sidecars`` (``observed_version``); None when one is gone or unreadable."""
    try:
        roles = builder.partitions(source)[partition]
        return observed_version(builder, source, roles) if sidecars else source_version(builder, roles)
    except OSError:
        return None


def _version_read(builder: Builder, source: str, partition: str | None, result: PartitionResult) -> str | None:
    """The data version of a source partition as the build read it (from the input hashes it recorded), as
    ``observed_version`` makes it: a sidecar the asset reads as the build read it, and one that only another
    asset of the source reads as it is now (this asset's output does not depend on it)."""
    roles = builder.partitions(source).get(partition, {}) if partition else {}
    paths = {role: builder.relative(path) for role, path in roles.items()}
    if not paths or not all(path in result.inputs for path in paths.values()):
        return None
    version = summarize_data_version({role: result.inputs[path] for role, path in paths.items()})
    target = builder.spec.targets[result.asset]
    own = set(target.params.sidecars(roles)) if target.upstream == source else set()
    read = [_sidecar_read(builder, path, path in own, result) for path in _sidecars(builder.spec, source, roles)]
    return _with_sidecars(version, [digest for digest in read if digest])


def _sidecar_read(builder: Builder, path: Path, own: bool, result: PartitionResult) -> str | None:
    """The hash of a sidecar (a pair's scene.json) in a partition's data version as a build read it: as it read
    it where the asset reads it (``own``), as it is now where only another asset of the source does."""
    if own:
        return result.inputs.get(builder.relative(path))
    return hash_text(path) if path.is_file() else None


EventMetadata = dict[str, int | float | str | dg.MetadataValue | None]  # what partition_event puts in, as Dagster takes it


def partition_event(target: Target, result: PartitionResult, provenance: dict[str, str]) -> tuple[EventMetadata, dict[str, str]]:
    """The metadata and tags of one partition's materialization."""
    # The op's figures first, so that this partition's own ``seconds`` (a cache hit's too) replaces the op's.
    metadata: EventMetadata = {k: v for k, v in result.metadata.items() if isinstance(v, (int, float, str))}
    metadata |= {
        "cache": "hit" if result.status == "cached" else "miss",
        "seconds": result.seconds,
        "cache_key": result.cache_key,
    }
    for path, digest in result.outputs.items():
        metadata[f"output {path}"] = digest
    if result.outputs:  # the file, or the folder of a partition's several (a material's maps, variants)
        paths = list(result.outputs)
        metadata["path"] = dg.MetadataValue.path(paths[0] if len(paths) == 1 else os.path.commonpath(paths))
    tags = {CODE_VERSION_TAG: code_version(target), DATA_VERSION_TAG: summarize_data_version(result.outputs), **provenance}
    return metadata, tags
