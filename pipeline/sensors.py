"""Sensors: keep each source's partitions in step with its folder and rebuild what changed."""

import json
from collections.abc import Sequence
from typing import Any, TypeGuard

import dagster as dg

from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG, held_by_runs, partitions_def, pending_runs, said_held
from pipeline.build import MODEL_PARTITION, Builder
from pipeline.dagster_names import sensor_name
from pipeline.graph import run_groups
from pipeline.provenance import observed_version, weights_key, weights_version
from pipeline.ranges import stretches
from pipeline.removed import forget_removed
from pipeline.resources import tick_builder
from pipeline.spec import Source, Spec, SpecError, Target
from pipeline.spec_reload import changed_since_loaded
from pipeline.unreached import was_stopped
from pipeline.words import counted, some


def source_sensor(spec: Spec, source: Source) -> dg.SensorDefinition:
    """Adds partitions for new files, drops removed ones, and requests a run over the new or changed files.

    The cursor holds each partition's content hash (with the sidecars its assets
    read, such as a pair's scene.json), so touching a file without changing it
    requests nothing, and a file changed back to an earlier content is rebuilt
    like any other change. It holds the hash of each weights file that an asset of
    this source or a model trained from it names by path too (``<asset>/<role>``, as the UI observes it): a
    new file in its place changes every partition, and one not there just now keeps the hash it had, so that
    nothing is requested until it is back (changed or not). A change whose outputs are already current (a CLI build
    got there first, or the sensor starts with no cursor over a built folder) requests
    nothing. A run covers the range from the first to the last
    changed partition, or runs do where many unchanged lie between (``stretches``);
    unchanged ones inside a range are cache hits, and the models
    its assets use come first in it (a model not built yet is trained). A change to a
    source that models train from also requests, per group of ``run_groups``
    using those models, one run that retrains them and rebuilds everything after.

    A partition whose last build failed, and is not current, is requested once more while its file stays
    as it is, once no run is queued or running: a file read while an artist saved over it
    with the same bytes failed for good, and one texture failing in a run leaves every partition of the
    steps after it unbuilt (``remaster_unreached`` marks them), though their own files are fine. Once:
    a texture that is broken fails again, and is tried again when it changes; what it left unbuilt is tried
    again whenever another texture newly fails on its own. No run spans a partition that failed on its own,
    but one run over those that are tried again.
    """
    parts = partitions_def(source.name)
    groups = run_groups(spec)
    selection = groups.get(source.name, [])  # this source's assets, after the models they use (built, or cache hits)
    outputs = [spec.targets[t] for t in selection if spec.targets[t].section == "assets"]  # per file of this source
    chained = any(target.upstream in selection for target in outputs)  # a step after another skips on its failure
    models = {m for m, model in spec.models.items() if model.upstream == source.name}
    retrain = {group: names for group, names in groups.items() if models & set(names)}
    weights = [(target, role) for target in spec.targets.values() if spec.source_of(target.name).name == source.name
               for role in target.params.file_params()]

    @dg.sensor(
        name=sensor_name(source.name),
        minimum_interval_seconds=30,
        asset_selection=[dg.AssetKey(t) for t in dict.fromkeys([*selection, *sum(retrain.values(), [])])] or None,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Watches {source.root} and rebuilds the outputs of changed files",
    )
    def watch(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if reason := changed_since_loaded(spec):  # its partitions and outputs stay as they are
            return dg.SkipReason(reason)
        try:
            builder = tick_builder(spec, context.log)
        except SpecError as exc:  # another spec's build folder or instance: its outputs and partitions stay
            return dg.SkipReason(str(exc))
        partitions = builder.partitions(source.name)
        if not partitions:  # an unmounted share (or its empty mount point) is not a folder whose files were all deleted
            return dg.SkipReason("; ".join(builder.skipped([source.name])) + "; its partitions are kept")
        for message in builder.skipped():  # shown in the tick's log in the UI
            context.log.warning(message)
        found = {key: observed_version(builder, source.name, roles) for key, roles in partitions.items()}
        previous, retried, broken_before, weighed = _read_cursor(context.cursor)
        files = _weights_now(builder, weights, weighed)
        new_weights = any(weighed.get(key) != version for key, version in files.items())
        builder.index.save()  # before the slower checks below: a tick cut short by Dagster's timeout keeps these
        known = context.instance.get_dynamic_partitions(source.name)
        requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
        if added := sorted(set(found) - set(known)):
            requests.append(parts.build_add_request(added))
        pending = context.instance.get_runs(filters=pending_runs())  # once a tick: drops, retries and words go by it
        gone = set(known) - set(found)
        held = held_by_runs(spec, source.name, pending, gone)
        if removed := sorted(gone - held.keys()):  # not one a run yet to finish names
            requests.append(parts.build_delete_request(removed))
        forget_removed(spec, builder, context.instance)
        order = [key for key in [*known, *added] if key in found]  # the partitions' order once the requests apply
        # An added partition counts as changed whatever the cursor says: a file moved away and back, whose
        # outputs a CLI build on this instance removed meanwhile, has the hash the cursor kept for it.
        changed = [key for key in order if new_weights or key in added or previous.get(key) != found[key]]
        stale = {key for key in changed if not all(builder.is_current(t, key) for t in outputs)}
        failing = _failing(builder, outputs, order)
        broken = {key for key, its_own in failing.items() if its_own and key not in changed}  # a change may mend it
        trains_here = source.name in retrain  # a change retrains the models, and rebuilds all after them, below
        retraining = trains_here and bool(changed or removed)
        # The last tick judged ``broken`` before its runs ended: one failing on its own since shows here first.
        retried = _still_settled(retried, found, failing, afresh=retraining or not broken <= broken_before)
        wanted = set() if trains_here else stale
        # A run yet to finish (this sensor's, the nightly one, one from the UI) may build what failed (not failed
        # yet, only not rebuilt yet), so retries wait for an idle instance.
        if selection and not retraining and not pending:
            again = [key for key in order if key in failing and key not in changed and key not in retried]
            retried.update((key, found[key]) for key in again)
            wanted |= set(again)
        runs = [_run(selection, keys) for keys in _ranges(order, wanted, broken if chained else set())] if selection else []
        if changed or removed:  # a removed file changes the models trained from it too
            runs += _retrain_runs(context.instance, builder, source.name, retrain, models, order)
        builder.index.save()
        named = {"weights": files} if files else {}  # a cursor with none is as it was before weights were watched
        cursor = json.dumps({"versions": found, "retried": retried, "broken": sorted(broken), **named})
        said = None if runs else _requested_nothing(source.name, changed, removed, list(failing), held, bool(pending))
        return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=requests, cursor=cursor, skip_reason=said)

    return watch


def _requested_nothing(source: str, changed: list[str], removed: list[str], failed: list[str], held: dict[str, str],
                       runs_pending: bool) -> str:
    """Why a tick requested no run, for the sensor's tick history in the UI: Dagster's own words were "Sensor
    function returned an empty result", every 30 seconds, however long an artist waited for a texture to build, and
    on a tick that dropped a deleted texture's partition. ``removed``: the partitions it drops; ``held``: files
    deleted whose partitions a run yet to finish names (``held_by_runs``); ``runs_pending``: whether any run has
    yet to finish (``pending_runs``)."""
    if changed:
        said = (f"{counted(len(changed), 'file')} of {source} changed or new to this sensor, whose outputs are current "
                f"already: {some(changed)}")
    elif removed:
        one = len(removed) == 1
        said = (f"{some(removed)} of {source} deleted: {'its partition is' if one else 'their partitions are'} "
                f"dropped, and what was built from {'it' if one else 'them'} is deleted on the next tick")
    elif held:
        said = said_held(source, held)
    else:
        said = f"no file of {source} was added, changed or removed since the last tick"
    if failed:
        when = "once no run is queued or running" if runs_pending else "once its file changes"
        said += f"; the last build of {some(failed)} failed: each is tried again {when}"
    return said


def _read_cursor(cursor: str | None) -> tuple[dict[str, str], dict[str, str], set[str], dict[str, str]]:
    """(each partition's version at the last tick, the version at which each failed partition was tried
    again, the partitions failing on their own then, the hash of each weights file then). A cursor from before
    retries is the versions alone; one from before weights files were watched has none, so that each is taken
    for changed once, and what is current already requests nothing. One this sensor did not write (typed into
    the UI's "Test sensor" dialog) is refused, saying to leave it empty: an empty cursor requests only what is
    not current."""
    try:
        loaded = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        loaded = None
    if not _is_cursor(loaded):
        raise ValueError(f"the cursor {cursor!r} is not one this sensor writes (a JSON object of file versions): "
                         "leave the cursor empty, and the sensor asks to build only what is not current")
    if isinstance(loaded.get("versions"), dict):
        return loaded["versions"], loaded.get("retried", {}), set(loaded.get("broken", [])), loaded.get("weights", {})
    return loaded, {}, set(), {}


def _is_cursor(loaded: object) -> TypeGuard[dict[str, Any]]:
    """Whether ``loaded`` is a cursor this sensor writes: each of its parts what it holds (versions, retried and
    weights name a string per string, broken lists strings), or the versions alone of a cursor from before."""
    if not isinstance(loaded, dict) or not isinstance(loaded.get("versions"), dict):
        return _strings_by_string(loaded)
    broken = loaded.get("broken", [])
    return (all(_strings_by_string(loaded.get(part, {})) for part in ("versions", "retried", "weights"))
            and isinstance(broken, list) and all(isinstance(key, str) for key in broken))


def _strings_by_string(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def _weights_now(builder: Builder, weights: list[tuple[Target, str]], before: dict[str, str]) -> dict[str, str]:
    """``<asset>/<role>`` -> the hash of that weights file now; one not there just now (a share away) keeps the
    hash it had ``before`` (none where it had none): its outputs stay as they are, and whether they are stale is
    told once it is back."""
    now = {weights_key(target.name, role).to_user_string(): weights_version(builder, target, role)
           for target, role in weights}
    return {key: digest for key, version in now.items() if (digest := version or before.get(key))}


def _still_settled(
    retried: dict[str, str], found: dict[str, str], failing: dict[str, bool], *, afresh: bool
) -> dict[str, str]:
    """Those of the partitions ``retried`` (at the version in it) not to be tried again. A partition that
    builds, or whose file changed, is forgotten. One that failed on its own stays. One a run only stopped
    before stays too, unless things start ``afresh``: another texture newly failed on its own since the
    last tick (that one may be what stopped the run, and the next runs keep it apart), or a retraining run
    spanning them all is on its way (which may stop it again)."""
    settled = {}
    for key, version in retried.items():
        if found.get(key) != version or key not in failing:
            continue
        if failing[key] or not afresh:
            settled[key] = version
    return settled


def _failing(builder: Builder, outputs: list[Target], keys: list[str]) -> dict[str, bool]:
    """Those of ``keys`` whose manifest row of some asset is a failure, and whose outputs are not current,
    each with whether the failure is its own (its file, its op: True), not a ``not built`` row, where a run
    stopped before it (False). A build someone stopped (Ctrl-C, or Terminate in the UI) did not fail: what it
    left is theirs to build again."""
    failing: dict[str, bool] = {}
    for key in keys:
        for target in outputs:
            row = builder.last_row(target, key) or {}
            error = str(row.get("error"))
            not_built = error.startswith("not built: ")
            if row.get("status") != "failed" or builder.is_current(target, key) or (
                    not_built and was_stopped(error.removeprefix("not built: "))):
                continue
            failing[key] = failing.get(key, False) or not not_built
    return failing


def _ranges(order: list[str], wanted: set[str], broken: set[str]) -> list[tuple[str, str]]:
    """The first and last key of each run over ``wanted``, in partition order (``stretches``). Dagster skips
    every partition of a step after one fails, so no run spans a partition failing on its own (``broken``) but
    one: the wanted broken ones, together."""
    runs = stretches(order, wanted - broken, cut_at=broken)
    again = [key for key in order if key in broken and key in wanted]
    return [(keys[0], keys[-1]) for keys in [*runs, *([again] if again else [])]]


def _run(names: list[str], keys: tuple[str, str] | None = None) -> dg.RunRequest:
    """A run of ``names``, over the partitions from ``keys[0]`` to ``keys[1]`` where they are partitioned."""
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[1]} if keys else {}
    return dg.RunRequest(asset_selection=[dg.AssetKey(name) for name in names], tags=tags)


def _retrain_runs(
    instance: dg.DagsterInstance, builder: Builder, source: str, retrain: dict[str | None, list[str]],
    models: set[str], order: list[str],
) -> list[dg.RunRequest]:
    """Per group of ``run_groups`` using the ``models`` trained from ``source``, one run that retrains them and
    rebuilds every partition after them (``order``: the source's own partitions once this tick's requests
    apply); none for a group a CLI build already made current."""
    runs = []
    for group, names in retrain.items():
        keys = order if group == source else instance.get_dynamic_partitions(group) if group else []
        if _all_current(builder, names, keys):
            continue
        if keys:
            runs.append(_run(names, (keys[0], keys[-1])))
        else:  # models no asset uses, or whose users' source has no files yet
            runs.append(_run([name for name in names if name in models]))
    return runs


def _all_current(builder: Builder, names: list[str], keys: Sequence[str]) -> bool:
    """Whether the models among ``names`` and every partition ``keys`` of the assets among them are current."""
    return all(
        builder.is_current(target, MODEL_PARTITION) if target.section == "models"
        else all(builder.is_current(target, key) for key in keys)
        for target in (builder.spec.targets[name] for name in names)
    )
