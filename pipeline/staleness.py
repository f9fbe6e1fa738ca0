"""Why a partition must be built, or that it need not be: what ``status`` prints and what a build skips.

A partition is current when its manifest row's cache key is the one its inputs, op, params and model give
now and its outputs are on disk as listed. Otherwise the reason names what changed (a file, a param, the
op's version, the model) or what is stale upstream.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, cast

from pipeline.build import MODEL_FILE, MODEL_PARTITION, BuildError, Builder, Plan, input_changes
from pipeline.cache import holds_store
from pipeline.edits import EDITED
from pipeline.graph import build_order
from pipeline.guards import FailedGuard, Unmeasured, failed_guards, unmeasured_guards
from pipeline.hashing import file_is
from pipeline.manifest import Row, rows_by_key
from pipeline.removed import Replaced, file_removed, has_files, why_removed
from pipeline.resources import RemasterResource
from pipeline.spec import Spec, Target
from pipeline.words import some


CurrentInputs = dict[tuple[str, str], dict[str, str]]  # (target, partition) -> spec-relative path -> hash


ACTIONS = ("compute", "put_back", "delete")  # what a build does with a stale partition, as ``status --json`` says


@dataclass(frozen=True)
class Stale:
    asset: str
    partition: str
    reason: str
    action: str = "compute"  # one of ACTIONS: a bot counts them, where the reason is words for an artist
    files: tuple[str, ...] = ()  # the source files it is made from, as the manifest names paths; none for a model


def partition_keys(builder: Builder, name: str) -> list[str]:
    """The partitions of ``name`` to build; none for a model whose source has no files (weights kept)."""
    if name in builder.spec.assets:
        return list(builder.partitions(name))
    return [MODEL_PARTITION] if has_files(builder, name) else []


def stale_map(
    builder: Builder, order: list[tuple[str | None, list[str]]], inputs_now: CurrentInputs | None = None,
    manifest: dict[tuple[str, str], Row] | None = None, restored: dict[Path, str] | None = None,
) -> dict[tuple[str, str], str | None]:
    """(target, partition) -> why it must be built, or None when its outputs are current; ``inputs_now`` gets
    each current partition's input hashes under the paths its files have now (a moved source root keeps its
    cache keys), so that a build lists them without planning it twice. ``manifest``: the manifest's rows by key
    (``rows_by_key``), where the caller has just read them: a manifest of thousands of rows takes a tenth of a
    second to read. ``restored`` gets each output a build puts back from the cache, with its hash."""
    manifest = rows_by_key(builder.spec.build_dir) if manifest is None else manifest
    rows = {key: builder.listed_here(row) for key, row in manifest.items()}
    reasons: dict[tuple[str, str], str | None] = {}
    known = _Known(stale=set(), fates={}, restored={} if restored is None else restored,
                   inputs_now={} if inputs_now is None else inputs_now, built={name for name, _ in rows})
    for _, names in order:
        for name in names:
            for key in partition_keys(builder, name):
                reason = _why_stale(builder, name, key, rows.get((name, key)), known)
                reasons[(name, key)] = reason
                if reason:
                    known.stale.add((name, key))
    return reasons


def left_out(builder: Builder, order: list[tuple[str | None, list[str]]]) -> list[str]:
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
    guards: list[FailedGuard]  # per guard a built partition fails
    unmeasured: list[Unmeasured]  # guards that outputs an older remaster made have no figure for
    manifest_problem: str | None = None  # why the manifest cannot be read (``ManifestRead.problem``), as status warns

    def counts(self) -> dict[str, int]:
        """How many stale partitions a build computes, puts back from the cache, and deletes the outputs of."""
        return {action: sum(s.action == action for s in self.stale) for action in ACTIONS}

    def to_json(self, *, up_to_date: bool) -> dict[str, object]:
        """``remaster status --json``: what its table and lines say, with the manifest's keys (a model's
        partition is ``""``) and the message a line would print for each check and file left out. An unmeasured
        check is one entry whatever left its partitions unmeasured, which its lines tell apart."""
        unmeasured: dict[tuple[str, str], list[str]] = {}
        for u in self.unmeasured:
            unmeasured.setdefault((u.asset, u.check), []).extend(u.partitions)
        return {
            "up_to_date": up_to_date,
            "stale": [{"asset": s.asset, "partition": s.partition, "reason": s.reason, "action": s.action,
                       "files": list(s.files)} for s in self.stale],
            "counts": self.counts(),
            "will_not_be_built": self.left_out,
            "failed_checks": [{"asset": g.asset, "partition": g.partition, "check": g.check, "blocking": g.blocking,
                               "message": g.message} for g in self.guards],
            "unmeasured_checks": [{"asset": asset, "check": check, "partitions": partitions}
                                  for (asset, check), partitions in unmeasured.items()],
            "manifest_problem": self.manifest_problem,
        }


def stale_partitions(spec: Spec) -> StatusReport:
    """What the next build would compute, and why; computes nothing. The manifest is read once, by the builder
    (``Builder.manifest``): nothing here writes it, and a read is a tenth of a second at 2,000 textures."""
    builder = RemasterResource(device=spec.device).builder(spec, looking=True)
    order = build_order(spec)
    read = builder.manifest()
    listed, rows = read.keyed(), read.whole()
    restored: dict[Path, str] = {}
    reasons = stale_map(builder, order, manifest=builder.rows_read(), restored=restored)
    found = [_stale(builder, name, key, reason, restored) for (name, key), reason in reasons.items() if reason]
    found += _removed(builder, listed)
    left_out_files = left_out(builder, order)
    with contextlib.suppress(OSError):  # the hashes only spare the next status or build work: a read-only cache is fine
        if holds_store(spec.cache_dir):  # not a share's empty mount point: status makes no folder there
            builder.index.save()
    current = [row for row in rows  # not a row whose outputs a build deletes: its checks go too
               if (row_key := (str(row["asset"]), str(row["partition"]))) in reasons and reasons[row_key] is None]
    return StatusReport(found, left_out_files, failed_guards(spec, current), unmeasured_guards(spec, current),
                        read.problem())


def _stale(builder: Builder, name: str, key: str, reason: str, restored: dict[Path, str]) -> Stale:
    """``name``'s partition ``key`` as status reports it: put back where the cache holds every output of it (a CI
    job's fresh clone finds most so), else computed; with the source files it reads, which a bot's comment on a
    merge request names where the partition key (``walls/brick.png``, relative to the source's root) is not a path
    in the repository."""
    target = builder.spec.targets[name]
    put_back = all(path in restored for path in builder.outputs_of(target, key).values())
    files = () if target.section == "models" else builder.partitions(name).get(key, {}).values()
    return Stale(name, key, reason, "put_back" if put_back else "compute", tuple(sorted(map(builder.relative, files))))


def _removed(builder: Builder, listed: list[dict[str, object]]) -> list[Stale]:
    """The partitions of ``listed`` rows (damaged ones too) whose target or source file is gone: a build deletes
    their outputs, and makes them again where another file now has them (``Replaced``)."""
    found: list[Stale] = []
    replaced = Replaced(builder)
    for row in map(builder.listed_here, listed):
        name, key = str(row["asset"]), str(row["partition"])
        target = builder.spec.targets.get(name)
        if row.get("outputs") and (target is None or file_removed(builder, target, key)):  # a failed one has none
            taken = replaced(row, target)
            why = why_removed(builder.spec, row, target, taken)
            edits = _edits_kept(builder.spec, _edited(builder, cast(Row, row)))
            found.append(Stale(name, key, f"{why}{edits}") if taken else
                         Stale(name, key, f"{why}: its outputs will be deleted{edits}", "delete"))
    return found


def _edited(builder: Builder, row: Row) -> list[Path]:
    """The outputs ``row`` lists that are there but changed since built (touched up by hand): a build that
    replaces or deletes them moves them to ``.edited`` first (``pipeline.edits``)."""
    edited = []
    for path, digest in (row.get("outputs") or {}).items():
        output = builder.spec.root_dir / str(path)
        with contextlib.suppress(OSError):  # one this user cannot read is replaced, not kept
            if os.path.isfile(output) and not file_is(output, str(digest), builder.index):
                edited.append(output)
    return edited


def _edits_kept(spec: Spec, edited: list[Path]) -> str:
    """``; but <output> changed since built; ...``, for a reason that otherwise says only that the outputs go or
    are made again, so that an artist who touched one up is not told it is lost: a build keeps it in ``.edited``."""
    return f"; but {_edits_moved(spec, edited)}" if edited else ""


def _edits_moved(spec: Spec, edited: list[Path]) -> str:
    """The first of the ``edited`` outputs, how many more, and where a build moves them: one phrase for every
    reason that names hand edits, so that they all point at the same folder."""
    named = edited[0].relative_to(spec.build_dir) if edited[0].is_relative_to(spec.build_dir) else edited[0]
    more = f" and {len(edited) - 1} more" if len(edited) > 1 else ""
    return f"{named}{more} changed since built; a build moves what changed to {spec.build_dir / EDITED}"


@dataclass
class _Known:
    """What ``stale_map`` found before the partition it looks at now, and ``inputs_now``, which it collects
    for its caller."""

    stale: set[tuple[str, str]]
    fates: dict[str, str]  # model -> what becomes of it when stale (worked out once, not once per partition using it)
    restored: dict[Path, str]  # output -> its hash, for outputs a build puts back from the cache
    inputs_now: CurrentInputs
    built: set[str]  # the models and assets the manifest has rows of: of one it has none, no file is "new"


def _why_stale(builder: Builder, name: str, key: str, row: Row | None, known: _Known) -> str | None:
    """Why ``name``'s partition ``key`` must be built, or None."""
    target = builder.spec.targets[name]
    waits = _waits_on(builder, target, key, row, known)
    if waits is not None and not waits.all_restored:  # its own changes too: an upgrade that bumps both ops' versions
        own = [] if row is None else [*_settings_changed(target, row), *builder.files_changed(target, row["inputs"])]
        kept = _each_kept(builder, target, key, known.restored)
        return "; ".join([_if_upstream_differs(waits, target, row, own, kept), *own, *kept])
    try:
        plan = builder.plan(target, key, restored=known.restored)
    except (BuildError, ValueError, OSError) as exc:  # an unreadable texture fails its partition in the run, not the build
        return waits.reason if waits else f"cannot build yet: {exc}"
    # Built from what the cache puts back, its own outputs may be there too (a fresh clone).
    reason = waits.reason if waits is not None else _own_reason(builder, target, key, row, plan, known)
    return _restorable(builder, target, plan, reason, known.restored) if reason else None


def _own_reason(builder: Builder, target: Target, key: str, row: Row | None, plan: Plan, known: _Known) -> str | None:
    """Why a partition must be built for what changed in it, not upstream; None where its outputs are current."""
    if row is None:
        return _new_partition(builder.spec, target) if target.name in known.built else "never built"
    if row["status"] == "failed":  # a failing change reverted finds what was built before it in the cache
        return _failed(builder, target, row, plan)
    # A change made back (a reverted param, another branch checked out) finds its outputs in the cache.
    if row["cache_key"] != plan.cache_key:
        return _what_changed(builder, target, row, plan) + _edits_kept(builder.spec, _edited(builder, row))
    outputs = {builder.spec.root_dir / str(p): d for p, d in row["outputs"].items()}
    try:
        changed = [p for p, d in outputs.items() if not file_is(p, d, builder.index)]
    except OSError:  # an output this user cannot read: built again, which replaces it
        changed = list(outputs)
    known.inputs_now[(target.name, key)] = plan.input_hashes
    return _missing_or_modified(builder.spec, changed) if changed else None


def _new_partition(spec: Spec, target: Target) -> str:
    """What a partition the manifest has no row of is, where its asset has others: a photo pair's partition is a
    folder of photos, and "new file" sent the artist looking for one file among them."""
    return "new photo pair" if spec.source_of(target.name).kind == "photo_pairs" else "new file"


def _failed(builder: Builder, target: Target, row: Row, plan: Plan) -> str:
    """Why a partition that failed last build is stale: its error, and what changed since, so that a photo
    added or saved again to fix it is not reported as the failure alone (``add it`` after it was added)."""
    said = f"failed last build: {row.get('error')}"
    if row.get("cache_key") == plan.cache_key:
        return said
    if str(row.get("error")).startswith("not built:"):  # it never ran (interrupted, an earlier step failed), reading
        return "; ".join([said, *_settings_changed(target, row)])  # nothing; a spec edited after a Ctrl-C is said
    if not row.get("inputs"):  # it failed before reading them: a pair's photo missing, a file unreadable
        return f"{said}; since then its inputs can all be read"
    return f"{said}; since then: {_what_changed(builder, target, row, plan)}"


def _missing_or_modified(spec: Spec, changed: list[Path]) -> str:
    """Says where a build keeps an output changed by hand (``pipeline.edits``), so that status warns before it."""
    edited = [path for path in changed if path.is_file()]
    if not edited:
        return "output missing or modified"
    return f"output missing or modified: {_edits_moved(spec, edited)} and writes the output as built in its place"


def _what_changed(builder: Builder, target: Target, row: Row, plan: Plan) -> str:
    """What changed since ``row`` was built, giving ``plan``'s cache key where the row has another."""
    old_inputs: dict[str, str] = row["inputs"]
    model = builder.relative(plan.model) if plan.model is not None else None
    changed_inputs = input_changes(old_inputs, plan.input_hashes, model)
    reasons = [*_settings_changed(target, row), *changed_inputs]
    return "; ".join(reasons) or "cache key changed: this version of remaster derives it differently"


def _settings_changed(target: Target, row: Row) -> list[str]:
    """How ``target``'s op, its version or its params differ from those ``row`` was built with."""
    if row["op"] != target.op.name:  # the spec gave the asset another op: its params are another op's
        return [f"op {row['op']} -> {target.op.name}"]
    reasons = []
    if row["op_version"] != target.op.version:
        reasons.append(f"op {target.op.name} version {row['op_version']} -> {target.op.version}")
    before, now = _as_read_now(target, row["params"]), _flat(target.params.model_dump(mode="json"))
    return reasons + _param_changes(before, now, set(target.params.neutral_fields()))


def _as_read_now(target: Target, params: dict[str, object]) -> dict[str, object]:
    """A row's ``params`` (``_flat``) as this version reads them, each under its own name: a spelling this version
    writes shorter (export_dds's ``normal: auto`` beside ``format: auto``, now ``normal``) is no change the artist
    made, where status said "params changed" of a spec no one edited. Read as a spec gives them, those at their
    defaults left out (export_dds refuses ``kind`` beside ``maps``); as the row has them where this version refuses
    them (a param since dropped), and no param the row lacks, so that what differs is still said."""
    fields = type(target.params).model_fields
    given = {name: value for name, value in params.items() if name not in fields or value != fields[name].default}
    try:
        read = _flat(type(target.params).model_validate(given).model_dump(mode="json"))
    except ValueError:
        read = {}
    return {name: read.get(name, value) for name, value in _flat(params).items()}


def _flat(params: dict[str, object], prefix: str = "") -> dict[str, object]:
    """Nested params (a model's ``loss``) as dotted names, so that a field added inside one is told apart."""
    flat: dict[str, object] = {}
    for name, value in params.items():
        flat.update(_flat(value, f"{prefix}{name}.") if isinstance(value, dict) and value else {f"{prefix}{name}": value})
    return flat


def _param_changes(before: dict[str, object], now: dict[str, object], neutral: set[str]) -> list[str]:
    """The params that differ, apart from those a newer remaster added or dropped: the user changed nothing there.
    Not the ``neutral`` ones, which cannot change the outputs as the params stand now: changed beside a texture,
    ``validate_every`` was named as though how often training logs retrained the model."""
    changed = sorted(k for k in now.keys() & before.keys() - neutral if now[k] != before[k])
    added, dropped = sorted(now.keys() - before.keys() - neutral), sorted(before.keys() - now.keys() - neutral)
    return [f"{label}: {', '.join(names)}" for label, names in (
        ("params changed", [f"{k} {_param_value(before[k])} -> {_param_value(now[k])}" for k in changed]),
        ("params new in this version of remaster", added),
        ("params this version of remaster dropped", dropped),
    ) if names]


_PARAM_SHOWN = 24  # characters of a param's value a reason shows: a list of twenty layers would fill the table


def _param_value(value: object) -> str:
    """A param's value as the spec would write it (``lanczos``, ``4``, ``true``, ``[1, 2]``), cut short where
    long, so that ``params changed: filter bicubic -> lanczos`` tells a change made by mistake from one meant."""
    shown = value if isinstance(value, str) and value else json.dumps(value)
    return shown if len(shown) <= _PARAM_SHOWN else f"{shown[:_PARAM_SHOWN - 3]}..."


class _Wait(NamedTuple):
    reason: str  # why a partition is stale because of what it is built from
    all_restored: bool  # whether all of that is put back from the cache (its outputs' hashes in ``_Known.restored``)
    upstream_alone: bool  # whether its upstream is all it waits on, not a model too


def _if_upstream_differs(waits: _Wait, target: Target, row: Row | None, own: list[str], kept: list[str]) -> str:
    """``waits.reason``, saying where the partition is built again only if its upstream's new output differs:
    nothing else of it changed (not its op, params or ``from``), so that the same output gives the cache key
    its row has, and the build lists it cached. "upstream legacy_2x is stale" alone read as the partition made
    again, where a texture saved again with the same pixels left them all cached; status cannot know which
    without computing the upstream."""
    built_alike = row is not None and row["status"] != "failed" and row.get("from") == target.upstream
    alone = waits.upstream_alone and built_alike and not own and not kept
    return f"{waits.reason}: rebuilt only if its new output differs" if alone else waits.reason


def _waits_on(builder: Builder, target: Target, key: str, row: Row | None, known: _Known) -> _Wait | None:
    """What ``target``'s partition ``key`` waits on; None where nothing it is built from is stale. A partition with
    no ``row`` is built whatever its upstream makes, and says what its upstream's says: a new file's (where its
    asset has others) that it is new, and one of an asset with none (a fresh clone) that it was never built, in
    place of "upstream legacy_2x is stale", which read as a change to a texture the artist had only just added,
    or to one nothing was ever built from."""
    upstream, model_reasons, all_restored = False, [], True
    if target.upstream in builder.spec.targets and (target.upstream, key) in known.stale:
        upstream = True
        all_restored = all(path in known.restored for path in builder.upstream_files(target, key).values())
    if target.model and (target.model, MODEL_PARTITION) in known.stale:
        model = builder.spec.models[target.model]
        if model.name not in known.fates:
            known.fates[model.name] = _model_fate(builder, model, known.restored)
        if known.fates[model.name]:  # else its weights stay as they are, and this output is judged on its own
            model_reasons.append(f"model {model.name} will be {known.fates[model.name]}")
            all_restored = all_restored and builder.outputs_of(model, MODEL_PARTITION)[MODEL_FILE] in known.restored
    if not upstream and not model_reasons:
        return None
    lead = [f"upstream {target.upstream} is stale"] if upstream else []
    if row is None:
        lead = [_new_partition(builder.spec, target) if target.name in known.built else "never built"]
    return _Wait("; ".join([*lead, *model_reasons]), all_restored, not model_reasons)


def _restorable(builder: Builder, target: Target, plan: Plan, reason: str, restored: dict[Path, str]) -> str:
    """``reason``, saying too what spares the build making it all anew: its outputs in the cache (a fresh clone on
    a shared cache computes nothing), or what a training stopped part way (a Ctrl-C, a kill) left to resume from."""
    if _put_back(builder, plan, restored):
        return f"{reason}; in the cache: put back, not computed"
    if kept := (_kept_units(builder, _units_to_keep(builder, target, plan), plan.outputs, restored)
                or _renamed_kept(builder, target, plan, restored)):
        return f"{reason}; {_units_kept(builder.spec, target, list(plan.outputs), plan.units, kept)}"
    work = builder.store.left_work(plan.cache_key)
    left = target.params.checkpoint_in(work) if work is not None else None
    if target.section == "models" and builder.store.being_made(plan.cache_key):
        return f"{reason}; {_training_now(left)}"
    return f"{reason}; the next build resumes from {left}" if left else reason


def _units_to_keep(builder: Builder, target: Target, plan: Plan) -> dict[str, str]:
    """``plan``'s units, or none where its op keeps them only all together and the cache lost one: a material's
    maps come from one fit, which a build runs again for them all."""
    whole = all(builder.store.peek_unit(unit) is not None for unit in plan.units.values())
    return plan.units if whole or not target.params.units_kept_together() else {}


def _each_kept(builder: Builder, target: Target, key: str, restored: dict[Path, str]) -> list[str]:
    """What the cache spares a one-image op applied to each image of an asset that is stale (``Spec.images_each``):
    the outputs made from the images a build puts back are known (``Builder.known_units``), so that ``count: 4 -> 5``
    upstream is not read as every variant's DDS made again, where one is; or what it spares the variants of a material
    just renamed or copied, whose maps a build keeps (``Builder.known_units``). Nothing where none is in the cache."""
    try:
        units = builder.known_units(target, key, restored)
    except (BuildError, ValueError, OSError):  # a model not trained, a weights file away: its own message says
        return []
    kept = _kept_units(builder, units, builder.outputs_of(target, key), restored)
    names = list(builder.spec.output_names(target) or ())
    return [_units_kept(builder.spec, target, names, units, kept)] if kept else []


def _kept_units(
    builder: Builder, units: dict[str, str], outputs: dict[str, Path], restored: dict[Path, str]
) -> list[str]:
    """The outputs of ``units`` (output name -> unit key) the cache holds, which a build puts back rather than make;
    their hashes go into ``restored``, so that what is built from each is planned as the build will plan it."""
    kept = {name: digest for name, unit in units.items() if (digest := builder.store.peek_unit(unit)) is not None}
    restored.update({outputs[name]: digest for name, digest in kept.items()})
    return list(kept)


def _renamed_kept(builder: Builder, target: Target, plan: Plan, restored: dict[Path, str]) -> list[str]:
    """The outputs of a renamed partition that a build keeps from the entry made under its old name, where the cache
    holds no unit of them (a pair built before commit 388d30f: ``Builder.keep_renamed``); their hashes go into
    ``restored``, as ``_kept_units`` puts those of units."""
    kept = builder.renamed_outputs(target, plan)
    restored.update({plan.outputs[name]: digest for name, digest in kept.items()})
    return list(kept)


def _units_kept(spec: Spec, target: Target, names: list[str], units: Collection[str], kept: list[str]) -> str:
    """What the cache spares a partition whose outputs are made one by one (multiply's variants): ``count: 4 -> 8``
    read as every variant made again, where the build makes only the four new ones. An op applied to each variant
    does not run at all for those kept, where multiply measures its variants again. ``names`` are all its outputs,
    those kept under no unit too (a photo fit's ``material.gltf``, made anew beside its kept maps), which are said
    after the ``units`` made: the new variants' maps are the work."""
    made = sorted((name for name in names if name not in kept), key=lambda name: name not in units)
    none = "makes none" if spec.images_each(target) else "makes none (its guards measure them again)"
    making = f"makes {len(made)} ({some(made)})" if made else none
    return f"{len(kept)} of its {len(names)} outputs in the cache, put back; {making}"


def _training_now(left: str | None) -> str:
    """What ``status`` says of a model that another build is training now: the checkpoint that training writes as
    it goes is no stopped training's for the next build to resume, and a build started meanwhile waits for it.
    Models only: a training takes minutes, where a texture's outputs are made in seconds."""
    so_far = f", up to {left} so far" if left else ""
    return (f"a build running now is training it{so_far}; a build started meanwhile waits for it, then takes it from "
            "the cache")


def _put_back(builder: Builder, plan: Plan, restored: dict[Path, str]) -> bool:
    """Whether a build puts ``plan``'s outputs back from the cache; their hashes then go into ``restored``, so
    that what is built from them is planned as the build will plan it."""
    entry = builder.store.peek(plan.cache_key)
    if entry is not None:
        restored.update({plan.outputs[name]: digest for name, digest in entry.outputs.items() if name in plan.outputs})
    return entry is not None


def _model_fate(builder: Builder, model: Target, restored: dict[Path, str]) -> str:
    """What the next build does with a stale model: put back from the cache (its weights' hash then goes into
    ``restored``), trained, retrained, or "" where one of its inputs cannot be read now and its weights stay
    as they are."""
    trained = os.path.isfile(builder.outputs_of(model, MODEL_PARTITION)[MODEL_FILE])
    try:
        if _put_back(builder, builder.plan(model, MODEL_PARTITION), restored):
            return "restored from the cache"
    except OSError:
        return "" if trained else "trained first, once its inputs can be read"
    except (BuildError, ValueError):  # its source is gone: its own row says what becomes of it
        pass
    return "retrained" if trained else "trained first"
