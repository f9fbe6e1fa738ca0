"""Build one partition (or one model) through the content-hash cache.

This is the part Dagster does not do: before running an op, the cache key of
its exact inputs is looked up, and a hit restores the outputs without running
the op and without importing torch. Whoever launches the materialization (UI,
schedule, sensor, CLI), the same work is skipped.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TypeVar, cast

from ops.atomic import atomic_paths, copy_file, write_bytes_atomic
from ops.registry import MapRun, ModelRun, OpContext, OpParams, each_role, output_for, run_each, single_output
from pipeline.cache import ContentStore, CorruptEntry, Entry
from pipeline.dagster_names import sensor_name
from pipeline.edits import keep_if_edited
from pipeline.hashing import HashIndex, file_is, hash_bytes, hash_text
from pipeline.manifest import (
    ManifestRead, PartitionResult, Row, by_key, last_built_key, not_built, partition_label, read_manifest, read_once,
)
from pipeline.outputs import as_listed, remove_output
from pipeline.progress import reporter
from pipeline.sources import gone_from, output_stem, pair_inputs, scan_for_build
from pipeline.spec import MODEL_FILE, Spec, Target, not_a_file
from pipeline.words import some
from pipeline.write_errors import file_problem, written_by_builds

log = logging.getLogger(__name__)

MODEL_PARTITION = ""
AnyRow = TypeVar("AnyRow", bound=Mapping[str, object])  # a manifest row, whole (Row) or as written


class BuildError(Exception):
    """A partition cannot be built for a reason outside the op (a missing upstream output)."""


@dataclass(frozen=True)
class Plan:
    """Everything known about a partition before running anything."""

    cache_key: str
    inputs: dict[str, Path]  # role -> file
    input_hashes: dict[str, str]  # spec-relative path -> hash
    outputs: dict[str, Path]  # output name -> destination
    model: Path | None
    units: dict[str, str] = field(default_factory=dict)  # output name -> unit key (OpParams.output_units)
    metadata_unit: str | None = None  # unit key of the metadata of units made together (ContentStore.keep_metadata)
    key_material: Mapping[str, object] = field(default_factory=dict)  # what cache_key hashes


def code_version(target: Target) -> str:
    """Changes exactly when the op or its params change, so Dagster shows the stale partitions."""
    return f"{target.op.name}-v{target.op.version}-{_key(target.params.key_params())[:12]}"


class Builder:
    """Builds targets of one spec against one content store."""

    def __init__(
        self, spec: Spec, store: ContentStore, index: HashIndex, *, device: str = "auto", forced: Collection[str] = ()
    ):
        self.spec = spec
        self.store = store
        self.index = index
        self.device = device
        self.forced = forced  # targets recomputed whatever the cache holds (--force)
        self._scans: dict[str, dict[str, dict[str, Path]]] = {}
        self._skipped: dict[str, list[str]] = {}  # source -> what its scan could not make partitions of, as messages
        self._manifest_read: ManifestRead | None = None  # see manifest
        self._rows: dict[tuple[str, str], Row] | None = None  # see _last_rows
        self._outputs: dict[tuple[str, str], dict[str, str]] | None = None  # see _last_outputs
        self._listed_build_dir = f"{as_listed(spec, spec.build_dir)}/"  # how rows begin an output's path (listed_here)

    # -- where things are -------------------------------------------------

    def outputs_of(self, target: Target, key: str) -> dict[str, Path]:
        """Destinations: ``<asset>/<stem>.png`` for a one-image op (``.dds`` for export_dds), else
        ``<asset>/<stem>/<name>`` (a one-image op applied to each of several images too: ``variant_00.dds``)."""
        base = self.spec.build_dir / target.name
        if target.section == "models":
            return {MODEL_FILE: base / MODEL_FILE}
        names = self.spec.output_names(target)
        stem = output_stem(self.spec.source_of(target.name), key)
        if names is None:
            return {single_output(target.params): base / f"{stem}{target.params.output_suffix()}"}
        return {name: base / stem / name for name in names}

    def partitions(self, name: str) -> dict[str, dict[str, Path]]:
        """Partition key -> input files of a source (scanned once per builder)."""
        source = self.spec.source_of(name)
        if source.name not in self._scans:
            self._scans[source.name] = scan_for_build(self.spec, source, self._last_rows(),
                                                      self._skipped.setdefault(source.name, []))
        return self._scans[source.name]

    def skipped(self, sources: Iterable[str] | None = None) -> list[str]:
        """What the scans of ``sources`` (each scanned so far, by default) could not make partitions of, as
        messages: files Dagster cannot name or whose outputs would collide, a root with no files."""
        return [message for name in (self._skipped if sources is None else sources) for message in self._skipped.get(name, [])]

    def relative(self, path: Path) -> str:
        """``path`` as this spec's manifest rows name it (``as_listed``)."""
        return as_listed(self.spec, path)

    def listed_here(self, row: AnyRow) -> AnyRow:
        """``row`` with its outputs listed where this build folder has them. A build folder outside the spec's
        folder (``../../Build``) lists them by their whole path, so a project copied or moved whole with it keeps
        rows that name the old place's files: a texture deleted then kept its outputs here (the old place's are
        not this build's to delete), and the old place's files decided what is current here. An output listed at
        a path that ends with its path inside this build folder is it; a row with any other is left as it is."""
        target, outputs = self.spec.targets.get(str(row.get("asset"))), row.get("outputs")
        if target is None or not isinstance(outputs, dict) or not isinstance(row.get("partition"), str):
            return row
        if all(str(listed).startswith(self._listed_build_dir) for listed in outputs):  # as every build here lists them
            return row
        try:
            here = {self.relative(path): "/" + path.relative_to(self.spec.build_dir).as_posix()
                    for path in self.outputs_of(target, str(row["partition"])).values()}
        except ValueError:  # a partition no build names (a hand edit: "", "/etc/passwd"): no outputs here
            return row
        moved = {listed: next((now for now, inside in here.items() if str(listed).endswith(inside)), None)
                 for listed in outputs if listed not in here}
        unmatched = None in moved.values()  # listed at a path that ends with no output's path here
        collides = len({*moved.values(), *(set(outputs) & set(here))}) < len(outputs)  # two listed as one here
        if not moved or unmatched or collides:
            return row
        return cast(AnyRow, {**row, "outputs": {moved.get(listed, listed): digest for listed, digest in outputs.items()}})

    # -- planning -----------------------------------------------------------

    def plan(self, target: Target, key: str, *, restored: Mapping[Path, str] = MappingProxyType({})) -> Plan:
        """Hash every input and derive the cache key; raises for missing inputs. ``restored`` gives the hashes
        of upstream outputs and weights a build will put back from the cache before it reads them: ``status``
        plans with them what a fresh clone builds from its upstream's restored outputs."""
        return self._plan(target, key, self._inputs(target, key, restored), restored)

    def known_units(self, target: Target, key: str, restored: Mapping[Path, str]) -> dict[str, str]:
        """Output name -> unit key of ``target``'s outputs for ``key`` made from images of the asset it is chained
        from that ``restored`` has the hashes of, where its one-image op is applied to each (``Spec.images_each``):
        ``status`` tells from them which a build after a stale upstream's (a ``count`` raised) finds in the cache,
        though it cannot plan the others. Of any other target, those ``_units_under_another_name`` knows."""
        if not self.spec.images_each(target):
            return self._units_under_another_name(target, key, restored)
        inputs = {image: path for image, path in self.upstream_files(target, key).items() if path in restored}
        return self._plan(target, key, inputs, restored).units if inputs else {}

    def _units_under_another_name(self, target: Target, key: str, restored: Mapping[Path, str]) -> dict[str, str]:
        """Output name -> unit key of ``target``'s outputs for ``key`` where its upstream's files were made under
        another name (a material's texture or photo pair renamed, or copied beside its original): the cache puts
        back every file it reads but those that name it (the material's glTF), which the upstream writes anew. Units
        are keyed by what those say besides the name (``OpParams.unnamed_inputs``), the same under any name:
        planned with them as another partition of the upstream wrote them beside the same other files. ``status``
        called such a material's variants a "new file", where the build keeps their maps. Empty where no other
        partition wrote the same other files, and of an asset read from a source (one that waits on its model)."""
        if target.upstream not in self.spec.targets:
            return {}
        files = self.upstream_files(target, key)
        kept = {role: restored[path] for role, path in files.items() if path in restored}
        if not kept or len(kept) == len(files):
            return {}
        upstream = self.spec.targets[target.upstream]
        for (name, old_key), row in self._last_rows().items():
            if name != upstream.name or old_key == key or not set(kept.values()) <= set(_listed_hashes(row)):
                continue
            listed = cast(dict, self.listed_here(row).get("outputs") or {})
            before = {role: listed.get(self.relative(path)) for role, path in self.upstream_files(target, old_key).items()}
            if all(before.get(role) == digest for role, digest in kept.items()) and all(before.values()):
                return self._planned_as_before(target, key, files, {**restored, **{
                    files[role]: str(digest) for role, digest in before.items() if role not in kept}}, set(files) - set(kept))
        return {}

    def _planned_as_before(
        self, target: Target, key: str, files: dict[str, Path], as_before: Mapping[Path, str], named: set[str]
    ) -> dict[str, str]:
        """``_units_under_another_name``'s units, planned from ``as_before``; empty unless the roles in ``named`` (the
        files written anew) are all read for what they say besides the name, so that the units do not hold their
        hashes."""
        try:
            unnamed = target.params.unnamed_inputs(files, functools.partial(self._read, as_before))
            return self._plan(target, key, files, as_before).units if named <= unnamed.keys() else {}
        except (BuildError, ValueError, OSError):  # the cache no longer holds the old file, or it was edited by hand
            return {}

    def _plan(self, target: Target, key: str, inputs: dict[str, Path], restored: Mapping[Path, str]) -> Plan:
        """``plan`` of ``inputs`` as given (role -> file)."""
        def hashed(paths: Mapping[str, Path]) -> dict[str, str]:
            return {name: restored.get(path) or self.index.hash(path) for name, path in paths.items()}

        hashes = hashed(inputs)
        model = self._model_file(target, restored)
        files = {**self._file_params(target), **({"model": model} if model else {})}
        extra = hashed(files)
        present = {path: hash_text(path) for path in target.params.sidecars(inputs) if path.is_file()}
        key_material = {
            "op": target.op.name,
            "version": target.op.version,
            "params": target.params.key_params(),
            "inputs": hashes,
            "files": extra,
        }
        if present:  # only ops that read sidecars have the key, so every other op's cache keys stay as they were
            key_material["sidecars"] = {path.name: digest for path, digest in present.items()}  # a moved folder keeps it
        name = target.params.name_in_outputs(inputs)
        if name is not None:
            key_material["name"] = name
        cache_key = _key(key_material)
        shared = _unnamed(key_material, target.params.unnamed_inputs(inputs, functools.partial(self._read, restored)))
        units = _units(self.spec, target, shared, hashes)
        metadata_unit = _key({**shared, "metadata": target.params.key_params()}) if (
            units and target.params.units_kept_together()) else None
        input_hashes = {self.relative(inputs[role]): digest for role, digest in hashes.items()}
        input_hashes.update({self.relative(path): extra[name] for name, path in files.items()})
        input_hashes.update({self.relative(path): digest for path, digest in present.items()})
        return Plan(cache_key, inputs, input_hashes, self.outputs_of(target, key), model, units, metadata_unit,
                    key_material)

    def _read(self, restored: Mapping[Path, str], path: Path) -> bytes:
        """The bytes of input ``path``, from the cache where ``restored`` says a build puts it back before reading it
        (``status`` of a fresh clone)."""
        if path not in restored:
            return path.read_bytes()
        try:
            return self.store.read_object(restored[path])
        except CorruptEntry as exc:
            raise BuildError(f"{path}: {exc}") from None

    def _inputs(self, target: Target, key: str, restored: Mapping[Path, str]) -> dict[str, Path]:
        if target.section == "models":
            return {k: roles["image"] for k, roles in self.partitions(target.upstream).items()}
        upstream = self.spec.targets.get(target.upstream)
        if upstream is not None:
            produced = self.upstream_files(target, key)
            for path in produced.values():
                if path not in restored and (not path.is_file() or self._left_stale(upstream, key)):
                    raise BuildError(f"{path}: the upstream asset {upstream.name!r} has no up-to-date output for {key} "
                                     f"({self._why_no_output(target, upstream, key)})")
            return produced
        if gone := self.gone(target, key):
            raise BuildError(gone)
        roles = self.partitions(target.upstream).get(key)
        source = self.spec.sources[target.upstream]
        if roles is None:  # no file in the source at all (gone says it of a file gone from beside others)
            raise BuildError("; ".join(self.skipped([source.name])) or (  # the scan says why: a root missing, unreadable
                f"source {source.name!r} has no files just now ({source.describe()}); {key}'s outputs are kept as "
                "they are: build again once it has files"))
        return pair_inputs(source, key, roles) if source.kind == "photo_pairs" else roles

    def gone(self, target: Target, key: str) -> str | None:
        """Why asset ``target`` has no partition ``key`` to build, where Dagster still has it: its texture deleted
        (or left out) after the run was launched, while its source has other files. None for a model, a key the
        scan finds, or a source with no file at all (a share away), which keeps its partitions. A UI run over a
        range of textures builds the others, and this one alone is told gone, with how it goes from Dagster."""
        if target.section == "models":
            return None
        source = self.spec.source_of(target.name)
        found = self.partitions(source.name)
        if not found or key in found:
            return None
        return (f"{key} is no longer in source {source.name!r}: {gone_from(source)} ({source.root / key}), so it "
                f"is not built; Dagster keeps its partition until the next {sensor_name(source.name)} tick, remaster "
                f"build or Observe {source.name} in the UI drops it")

    def _why_no_output(self, target: Target, upstream: Target, key: str) -> str:
        """Why ``upstream`` has not the output ``target`` reads for ``key``, and what to do. One last built without
        error is out of date: a UI run of ``target`` alone after ``count: 2 -> 3`` upstream reads a variant_02.png
        not made yet, and was told to see an error of ``upstream``'s that there was not. The change is named where
        it was made, furthest up the chain: big_dds of variants enlarged as big was told that big changed, and to
        materialize big alone, which fails in turn for the variant_02.png that variants has not made. A model an
        asset on the chain is made with that has no weights comes first: nothing before it can be built."""
        chain = self.spec.assets_before(target) or [upstream]
        for depth in reversed(range(len(chain))):  # the model furthest up the chain first: what uses it waits on it
            between = [asset.name for asset in reversed(chain[:depth + 1])]
            if problem := self._no_weights(target, chain[depth], *between):
                return problem
        row = self._last_rows().get((upstream.name, key))
        if row is None or row.get("status") not in ("computed", "cached"):
            return "it failed, or was not built yet: see its own error first"
        origin = max((depth for depth, asset in enumerate(chain) if self.is_out_of_date(asset, key)), default=0)
        names = [asset.name for asset in reversed(chain[:origin + 1])]
        return f"{self.out_of_date_why(chain[origin], key)}: {materialize_too(target, *names)}"

    def out_of_date_why(self, target: Target, key: str) -> str:
        """Why ``target``'s outputs for ``key`` are out of date (``is_out_of_date``), as a UI run of an asset after
        it says: an output deleted from the build folder, whose cache entry is gone too, was told as "a texture or
        a setting changed", and the artist looked for a change nobody made."""
        if missing := self._missing(target, key):
            return missing
        if target.section == "models":
            return "its reference textures or settings changed since it was trained"
        return f"a texture or a setting of {target.name} changed since it was built"

    def _missing(self, target: Target, key: str) -> str | None:
        """That outputs of ``target`` for ``key`` are missing from the build folder, where its manifest row lists
        them as built for its inputs as they are now, and whether the cache can put them back; None otherwise."""
        row = self._last_rows().get((target.name, key))
        try:
            plan = self.plan(target, key)
        except (BuildError, ValueError, OSError):  # an input of it gone or out of date: a change, in it or before it
            return None
        missing = [self.relative(path) for path in plan.outputs.values() if not path.is_file()]
        if not missing or row is None or row.get("status") == "failed" or row.get("cache_key") != plan.cache_key:
            return None
        is_, it = ("is", "it") if len(missing) == 1 else ("are", "them")
        if self.store.peek(plan.cache_key) is not None:
            return (f"{some(missing)} {is_} missing from the build folder; the cache holds {it}, so {target.name} "
                    f"puts {it} back")
        return (f"{some(missing)} {is_} missing from the build folder and the cache no longer holds {it}, so "
                f"{target.name} must make {it} again")

    def _left_stale(self, target: Target, key: str) -> bool:
        """Whether ``target``'s output for ``key`` is one a failed build could not remove (a read-only folder):
        known stale, so nothing is built from it. One whose input cannot be read now counts as kept."""
        row = self._last_rows().get((target.name, key))
        if row is None or row.get("status") != "failed" or not self.partitions(target.name):  # a source away keeps
            return False
        return self._outputs_current(target, key) is False

    def _model_file(self, target: Target, restored: Mapping[Path, str]) -> Path | None:
        if target.model is None:
            return self._file_params(target).get("model")
        weights = self.outputs_of(self.spec.models[target.model], MODEL_PARTITION)[MODEL_FILE]
        if weights not in restored and (problem := self._no_weights(target, target)):
            raise BuildError(problem)
        return weights

    def _no_weights(self, target: Target, user: Target, *between: str) -> str | None:
        """Why the model that ``user`` (``target`` or an asset before it) is made with has no weights in the build
        folder, and what a run of ``target`` alone is to do: materialize the model and ``between`` (the assets from
        ``user`` down to ``target``) as well. None where it has them. A UI run of an export of super-resolved
        textures alone, their model never trained, was told to see an error of the super-resolved asset's that
        there was not, or to materialize that asset alone, which fails in turn for the model."""
        model = self.spec.models.get(user.model) if user.model else None
        if model is None or (weights := self.outputs_of(model, MODEL_PARTITION)[MODEL_FILE]).is_file():
            return None
        if not self.partitions(model.name):  # no run will train it: say what to fix, not "build it"
            source = self.spec.sources[model.upstream]
            return (f"model {model.name!r} cannot be trained: its source {source.name!r} has no files "
                    f"({source.describe()}); add reference textures or fix the root")
        error = str((self._last_rows().get((model.name, MODEL_PARTITION)) or {}).get("error") or "")
        if error and not error.startswith("not built:"):  # its training failed, rather than never ran
            return f"model {model.name!r} failed to train, so nothing is made with it until that is fixed: {error}"
        fix = materialize_too(target, model.name, *between)
        if missing := self._missing(model, MODEL_PARTITION):  # trained, then deleted with its cache entry
            return f"{missing}: {fix}"
        whose = f" (which {user.name} is made with)" if user is not target else ""
        return f"{weights}: model {model.name!r}{whose} has not been trained yet: {fix}"

    def files_changed(self, target: Target, inputs: Mapping[str, str]) -> list[str]:
        """How the files ``target``'s params name (weights) differ from their hashes in ``inputs`` (a manifest
        row's), a phrase per file: ``status`` of a partition below a stale upstream, which it cannot plan, said it
        was rebuilt only if that upstream's output differs, where its weights file replaced makes it again anyway.
        Only files named both then and now: one added or dropped is a param changed, which ``status`` says."""
        try:
            now = {self.relative(path): self.index.hash(path) for path in self._file_params(target).values()}
        except (BuildError, OSError):  # a file away or unreadable: said once the partition can be planned
            return []
        return input_changes({path: inputs[path] for path in now if path in inputs},
                             {path: digest for path, digest in now.items() if path in inputs})

    def _file_params(self, target: Target) -> dict[str, Path]:
        files = {name: self.spec.resolve(path) for name, path in target.params.file_params().items()}
        for name, path in files.items():
            if problem := not_a_file(path):
                raise BuildError(f"{path}: the file given as {target.name}.{name} {problem}; any outputs made with it "
                                 "before are kept until a build can read it")
        return files

    def _away(self, target: Target) -> bool:
        """Whether an input of ``target`` is not there just now, so that whether its outputs are stale cannot
        be told: its source has no files (an unmounted share, whose mount point is an empty folder), or a
        weights file it names is not one (on a share unmounted too, or a network drive briefly away). Its
        outputs stay as the manifest lists them, and what follows goes on using them, rather than a build
        deleting what a remount would have found current."""
        if target.section == "assets" and not self.partitions(target.name):
            return True
        return any(not_a_file(self.spec.resolve(path)) for path in target.params.file_params().values())

    def _with_resolved_files(self, target: Target) -> OpParams:
        """The params an op runs with: a file path given relative to the spec (``vgg_weights: vgg19.pth``)
        made absolute, so the op opens the file the cache key hashed whatever folder the build runs from.
        The spec's own relative text stays in the cache key, so a moved project keeps its cache."""
        files = self._file_params(target)
        paths = {name: path for name, path in files.items() if isinstance(getattr(target.params, name, None), Path)}
        return target.params.model_copy(update=paths)

    def keep_current(self, plan: Plan, row: Row) -> Entry | None:
        """The entry of ``plan``'s outputs, put into a store that lacks it (its folder deleted, or ``cache_dir``
        changed) where they are current as the manifest ``row`` lists them; None where they are not.
        Otherwise going back to them after a later change, or repairing a damaged one, computes them
        again, a model's weights included, and so does a run from the UI or a schedule."""
        if row.get("status") not in ("computed", "cached") or plan.cache_key != row["cache_key"]:
            return None
        listed = {name: row["outputs"].get(self.relative(path), "") for name, path in plan.outputs.items()}
        entry = self.store.put(plan.cache_key, plan.outputs, row.get("metadata") or {}, expect=listed)
        if entry is None:
            return None  # changed since the row was written
        self._record_units(self.spec.targets[str(row["asset"])], plan, entry)
        return self._entry(plan)

    def keep_renamed(self, target: Target, rows: Iterable[Mapping[str, object]]) -> None:
        """Keep as the units of a partition of ``target`` that no row lists yet (a renamed photo pair) what the
        cache entry of one of ``rows`` holds, partitions whose files are gone, where it was made of the same files
        and params under another name: its cache key is the new partition's under the old name. A pair built
        before a material's maps were kept as units (commit 388d30f) then renamed had only that entry, and was
        fitted again. Called before the rows are forgotten: nothing else says the old name."""
        built = _built(rows)
        if not built or not target.params.units_kept_together():
            return
        by_input: dict[str, list[Plan]] = {}  # a file's hash -> the new partitions reading it: no rows x partitions
        for plan in self._new_plans(target):
            by_input.setdefault(plan.input_hashes[self.relative(next(iter(plan.inputs.values())))], []).append(plan)
        for row in built:
            digests = {digest for digest in cast(dict, row["inputs"]).values() if isinstance(digest, str)}  # a hand edit
            for plan in (plan for digest in digests for plan in by_input.get(digest, ())):
                if self._named_once(target, plan, row):
                    self._keep_as_units(target, plan, str(row["cache_key"]))

    def renamed_outputs(self, target: Target, plan: Plan) -> dict[str, str]:
        """Output name -> hash of what a build keeps as ``plan``'s units (``keep_renamed``), for ``status``, which
        writes nothing: a pair built before commit 388d30f, then renamed, was said to be a "new photo pair" where
        the build kept its maps. Empty where no partition of ``target`` whose file is gone was made of the same
        files and params, or the cache no longer holds what it made."""
        if not plan.units or not target.params.units_kept_together():
            return {}
        gone = [row for (name, key), row in self._last_rows().items()
                if name == target.name and key not in self.partitions(name)]
        for row in _built(gone):
            entry = self.store.peek(str(row["cache_key"])) if self._named_once(target, plan, row) else None
            if entry is not None and entry.outputs.keys() == plan.outputs.keys():  # whole: peek checks its objects
                return {name: entry.outputs[name] for name in plan.units}
        return {}

    def _new_plans(self, target: Target) -> Iterator[Plan]:
        """The plans of ``target``'s partitions that no row lists yet and whose outputs are kept as units; not of
        one whose input cannot be read (its build says why)."""
        for key in self.partitions(target.name):
            if (target.name, key) in self._last_rows():
                continue
            try:
                plan = self.plan(target, key)
            except (BuildError, OSError, ValueError):
                continue
            if plan.units:
                yield plan

    def _named_once(self, target: Target, plan: Plan, row: Mapping[str, object]) -> bool:
        """Whether ``row``'s cache key is ``plan``'s under the name ``row``'s files gave its outputs: the same
        files by content and the same params, renamed."""
        listed = cast(dict, row["inputs"])
        hashes = {role: plan.input_hashes[self.relative(path)] for role, path in plan.inputs.items()}
        old = {role: Path(str(path)) for role, digest in hashes.items()
               for path, was in listed.items() if was == digest}
        if old.keys() != plan.inputs.keys():
            return False
        return _key({**plan.key_material, "name": target.params.name_in_outputs(old)}) == row.get("cache_key")

    def _keep_as_units(self, target: Target, plan: Plan, cache_key: str) -> None:
        """Record the outputs and metadata of the entry ``cache_key``, made as ``plan``'s, as ``plan``'s units."""
        entry = self._entry(replace(plan, cache_key=cache_key))
        if entry is not None:
            self._record_units(target, plan, entry)

    def _record_units(self, target: Target, plan: Plan, entry: Entry) -> None:
        """Record ``entry``'s outputs as ``plan``'s units, each with its own figures (``_figures_of_each``), and the
        metadata of those made only together (``keep_metadata``), however the entry came: built, found in the cache,
        put back into a cache that lost it (``keep_current``) or kept from a renamed pair. A unit recorded without
        its figures gave none to the row of the build that put it back (a DDS without its mip levels)."""
        self.store.record_units({unit: entry.outputs[name] for name, unit in plan.units.items()},
                                self._figures_of_each(target, plan, entry.metadata))
        if plan.metadata_unit is not None:
            self.store.keep_metadata(plan.metadata_unit, entry.metadata)

    def _entry(self, plan: Plan) -> Entry | None:
        """``plan``'s cache entry, where it lists exactly the outputs the op writes. One listing others (a hand
        edit, a crafted entry naming a path, a restore from another version) is damaged: dropped, so that
        what it held is computed again, rather than every build failing on it until ``--force``."""
        entry = self.store.get(plan.cache_key)
        if entry is None or entry.outputs.keys() == plan.outputs.keys():
            return entry
        self.store.drop(plan.cache_key)
        log.warning("cache entry %s lists the outputs %s, where the op writes %s; dropped: what it held is computed "
                    "again", plan.cache_key, ", ".join(map(repr, sorted(entry.outputs))),
                    ", ".join(map(repr, sorted(plan.outputs))))
        return None

    # -- building -----------------------------------------------------------

    def build(self, target: Target, key: str, run_id: str | None = None) -> PartitionResult:
        """Restore ``target``'s outputs for partition ``key`` from the cache, or compute them."""
        started = time.perf_counter()
        result = not_built(target, key, run_id)
        if target.section == "models" and not self.partitions(target.name):
            return self._kept_model(target, result)
        try:
            if gone := self.gone(target, key):  # nothing of it to put back or read: its upstream outputs are gone too
                raise BuildError(gone)
            self._repair_upstream(target, key)
            plan = self.plan(target, key)
            result.cache_key, result.inputs = plan.cache_key, plan.input_hashes
            self._keep_edits(target, key, plan)
            entry = self._made_once(target, key, plan, result)
            self._record_units(target, plan, entry)  # a hit's too
            result.outputs = {self.relative(plan.outputs[name]): digest for name, digest in entry.outputs.items()}
            result.metadata = dict(entry.metadata)
            self._remove_other_files(target, key, keep=result.outputs)
        except Exception as exc:  # one bad texture must not stop the others
            self._record_failure(target, key, result, exc)
        result.seconds = round(time.perf_counter() - started, 4)
        self._last_rows()[(target.name, key)] = result.to_json()  # what a later failure of it keeps
        return result

    def _record_failure(self, target: Target, key: str, result: PartitionResult, exc: Exception) -> None:
        """Make ``result`` a failure's: its error, and the outputs it keeps listed, so that a later build or
        removal cleans them up. Those kept though not current (an input unreadable just now, a read-only folder)
        keep the key and inputs of their last row, so that gc keeps the entry they were made under; and so it keeps
        the entry of the last build that succeeded (``last_built_key``), for the build after the fix."""
        result.status = "failed"
        result.error = _describe(exc, target, key, self.spec)
        result.outputs = self.remove_if_stale(target, key)
        last = self._last_rows().get((target.name, key), {})
        if result.outputs and not self.is_current(target, key):
            result.cache_key, result.inputs = last.get("cache_key"), dict(last.get("inputs") or {})
        result.last_built_key = last_built_key(last, result.cache_key)
        log.debug("%s [%s] failed: %s", target.name, key or "model", result.error)  # the step logs it as an error

    def _keep_edits(self, target: Target, key: str, plan: Plan) -> None:
        """Move aside the outputs changed since the last build wrote them, which this build replaces; not one that
        holds what the cache has for ``plan`` already, which a build placed (``keep_if_edited``). The entry is
        read only where an output differs from its listing."""
        listed = self._last_outputs().get((target.name, key), {})
        entry = functools.cache(functools.partial(self.store.peek, plan.cache_key))
        for name, path in plan.outputs.items():
            keep_if_edited(self.spec.build_dir, path, listed.get(self.relative(path)), self.index.hash,
                           placing=functools.partial(_output_in, entry, name))

    def _made_once(self, target: Target, key: str, plan: Plan, result: PartitionResult) -> Entry:
        """``plan``'s entry, from the cache or computed (``result.status`` says which). Two runs that need the
        same outputs (two sources' nightly runs of one model, two builds at once of a changed texture) make
        them once: the second waits on the key's lock, then finds them in the cache. An asset's outputs the
        cache holds already are put back without it, which would cost a lock file a partition in a fresh clone."""
        forced = target.name in self.forced
        entry = None if forced or target.section == "models" else self._restore(plan) or self._kept(target, key, plan)
        if entry is not None:
            result.status = "cached"
            return entry
        with self.store.key_lock(plan.cache_key, partition_label(target.name, key), target.name):
            if target.section == "models":  # a finished training's checkpoint must not make --force a no-op
                self.store.clear_finished_work(plan.cache_key)
            entry = None if forced else self._restore(plan) or self._kept(target, key, plan)
            if entry is not None:
                result.status = "cached"
                return entry
            entry = self._compute(target, key, plan)
            result.status = "cached" if self._all_put_back(target, entry) else "computed"
            return entry

    def _all_put_back(self, target: Target, entry: Entry) -> bool:
        """Whether ``entry``, just stored, holds only outputs of a one-image op applied to each image that were
        each kept under its unit key (``count: 3 -> 2`` upstream): the op did not run, as ``status`` says ("makes
        none"), so the partition is cached, not computed. A multiply whose variants are all kept is computed: its
        guards measure them again."""
        return bool(self.spec.images_each(target)) and entry.metadata.get("variants_made") == 0

    def forget_rows(self) -> None:
        """Read the manifest again at the next question: this build has written it since (a run, a sync)."""
        self._manifest_read = self._rows = self._outputs = None

    def manifest(self) -> ManifestRead:
        """The manifest as this builder first read it, until ``forget_rows``: a build's questions before it
        writes it (why it cannot be read, the rows a sync goes through, those it plans by) take one read."""
        if self._manifest_read is None:
            self._manifest_read = read_once(self.spec.build_dir)
        return self._manifest_read

    def rows_read(self) -> dict[tuple[str, str], Row]:
        """(asset, partition) -> its manifest row, as ``manifest`` read it: a copy, which this builder's
        builds do not change."""
        return dict(self._last_rows())

    def last_row(self, target: Target, key: str) -> Row | None:
        """``target``'s manifest row for ``key``, as the last build left it (or as this builder built it)."""
        return self._last_rows().get((target.name, key))

    def _last_rows(self) -> dict[tuple[str, str], Row]:
        """(asset, partition) -> its manifest row when first asked: read once, not once per partition."""
        if self._rows is None:
            self._rows = by_key(self.manifest().whole())
        return self._rows

    def _last_outputs(self) -> dict[tuple[str, str], dict[str, str]]:
        """(asset, partition) -> {output path: hash} as the manifest had them, updated with what this builder
        builds."""
        if self._outputs is None:
            self._outputs = {item: dict(row.get("outputs") or {}) for item, row in self._last_rows().items()}
        return self._outputs

    def _remove_other_files(self, target: Target, key: str, keep: dict[str, str]) -> None:
        """Delete the outputs this partition had in its last build and does not ``keep`` (``variant_02.png``
        after ``count: 3`` became 2, ``orm.png`` after ``orm: false``): an engine or a script taking the
        whole folder would ship them. Only files recorded as outputs: an engine's ``.meta`` beside them stays."""
        for old, written in self._last_outputs().get((target.name, key), {}).items():
            path = self.spec.root_dir / old
            if old not in keep and path.is_relative_to(self.spec.build_dir):
                remove_output(self.spec.build_dir, path, written=written)
        self._last_outputs()[(target.name, key)] = dict(keep)

    def _upstream_outputs(self, target: Target, key: str) -> list[tuple[Target, str, Path]]:
        """(target, partition, file) of every output of another target that ``target`` reads for ``key``."""
        found = []
        if target.model is not None:
            model = self.spec.models[target.model]
            found.append((model, MODEL_PARTITION, self.outputs_of(model, MODEL_PARTITION)[MODEL_FILE]))
        upstream = self.spec.targets.get(target.upstream) if target.section != "models" else None
        if upstream is not None:
            found.extend((upstream, key, path) for path in self.upstream_files(target, key).values())
        return found

    def upstream_files(self, target: Target, key: str) -> dict[str, Path]:
        """Role -> file of what ``target`` reads for ``key`` from the asset it is chained from: its one image,
        each of its images by name (``Spec.images_each``: multiply's variants), or the maps it names of one that
        writes several (export_dds's ``maps`` of a material)."""
        upstream = self.spec.targets[target.upstream]
        outputs = self.outputs_of(upstream, key)
        if each := self.spec.images_each(target):
            return {image: outputs[image] for image in each}
        if self.spec.output_names(upstream) is None:
            return {"image": outputs[single_output(upstream.params)]}
        return {role: outputs[role] for role in sorted(target.params.input_roles())}

    def _repair_upstream(self, target: Target, key: str) -> None:
        """Put back from the cache a model's weights or an upstream texture changed since it was built (a
        damaged disk, a hand edit, another texture's output copied over it): a build of only the downstream
        asset would otherwise run on it."""
        for upstream, upstream_key, path in self._upstream_outputs(target, key):
            if path.is_file():
                self._put_back_changed(upstream, upstream_key, path)
            else:
                self._put_back(upstream, upstream_key)

    def _put_back_changed(self, upstream: Target, key: str, path: Path) -> None:
        """Put ``path``, an output of ``upstream`` for ``key``, back as it was built where it changed since and
        no build made what it holds now; where the cache no longer holds what was built, what reads it fails."""
        digest = self.index.hash(path)
        built = self._built_for_now(upstream, key, path)
        if built is None:  # a model, or an upstream not built for its input as it is now
            if self.store.has_object(digest):
                return  # a file some build made (a model retrained meanwhile)
            built = self._last_outputs().get((upstream.name, key), {}).get(self.relative(path))
        if built is None or built == digest:
            return  # as it was built, with its cache entry collected since
        if not self.store.has_object(built):
            raise BuildError(f"{path} was changed after {upstream.name!r} built it; build {upstream.name} again")
        keep_if_edited(self.spec.build_dir, path, built, self.index.hash)
        self.store.restore(built, path, self.index)
        log.warning("%s was changed after %r built it; put the built file back from the cache", path, upstream.name)

    def _put_back(self, upstream: Target, key: str) -> None:
        """Restore from the cache ``upstream``'s outputs, one of which is missing (a run from the UI of only what
        uses them, after the build folder was cleaned), where its manifest row lists them as built for its inputs
        as they are now: a CLI build restores them in a step of their own first. Otherwise planning then names
        what is missing."""
        row = self._last_rows().get((upstream.name, key))
        if upstream.name in self.forced or row is None or row.get("status") not in ("computed", "cached"):
            return  # not built, failed, or to be computed anew: nothing lists what would be put back
        if upstream.section == "models" and not self.partitions(upstream.name):
            return  # no files to plan it from: planning says what to fix
        self._repair_upstream(upstream, key)
        try:
            plan = self.plan(upstream, key)
        except (BuildError, OSError, ValueError):
            return
        if plan.cache_key == row["cache_key"] and self._restore(plan) is not None:  # as its row lists them
            log.info("%s [%s]: put its outputs back from the cache", upstream.name, key or "model")

    def _built_for_now(self, upstream: Target, key: str, path: Path) -> str | None:
        """The hash the manifest lists for ``path`` where the upstream asset was built for its input as it is
        now, else None. Not asked of a model: planning one hashes its whole source, for every partition."""
        row = self._last_rows().get((upstream.name, key))
        if upstream.section == "models" or row is None or row.get("status") == "failed":
            return None
        try:
            current = self.plan(upstream, key).cache_key
        except (BuildError, OSError, ValueError):  # its input is gone or unreadable: planning says so
            return None
        return dict(row.get("outputs") or {}).get(self.relative(path)) if row.get("cache_key") == current else None

    def remove_if_stale(self, target: Target, key: str) -> dict[str, str]:
        """Delete the partition's outputs unless they are still right (stored under the key its inputs have
        now): a stale output must not feed what follows. Returns those kept, path -> hash, as a row lists them.
        Where an input cannot be read just now (permissions, a share gone), whether they are stale cannot be
        told: they stay, listed as the manifest had them, and what follows goes on using them, as a model
        whose source is unmounted keeps its weights."""
        listed = dict(self._last_outputs().get((target.name, key), {}))
        current = self._outputs_current(target, key)
        if current is None:
            return listed
        if current:
            return {self.relative(p): self.index.hash(p) for p in self.outputs_of(target, key).values()}
        try:
            self._remove_other_files(target, key, keep={})
            for path in self.outputs_of(target, key).values():
                remove_output(self.spec.build_dir, path, written=listed.get(self.relative(path)))
        except OSError as exc:  # a read-only folder: still listed, so a later build removes them
            log.warning("%s [%s]: its stale outputs could not be removed (%s); check the folder's permissions",
                        target.name, key, exc)
            return listed
        return {}

    def is_current(self, target: Target, key: str) -> bool:
        """Whether the outputs on disk are those stored under the key the inputs have now: right, so a
        failure that is not theirs (a full disk under ``--force``) keeps them."""
        return self._outputs_current(target, key) is True

    def is_out_of_date(self, target: Target, key: str) -> bool:
        """Whether ``target``'s outputs for ``key`` are known not to be those its inputs give now (a texture, its
        settings or its model changed since it was built): what a UI run of only the assets after it reads. Not
        where that cannot be told: an input away, or a model whose source has no files, which keeps its weights."""
        if target.section == "models" and not self.partitions(target.name):
            return False
        return self._outputs_current(target, key) is False

    def reads_out_of_date(self, target: Target, key: str) -> bool:
        """Whether an asset or model ``target`` reads for ``key`` is out of date (``is_out_of_date``): a UI run of an
        asset after it warns of that one, naming the chain from it, not of ``target`` as changed, which it is not."""
        return any(self.is_out_of_date(before, at) for before, at, _ in self._upstream_outputs(target, key))

    def _outputs_current(self, target: Target, key: str) -> bool | None:
        """``is_current``, or None where it cannot be told: an input or an output cannot be read just now, or
        an input is away (``_away``)."""
        if self._away(target):
            return None
        try:
            plan = self.plan(target, key)
            entry = self._entry(plan)
            return entry is not None and all(
                file_is(plan.outputs[name], digest, self.index) for name, digest in entry.outputs.items()
            )
        except (BuildError, ValueError):
            return False
        except OSError:
            return None

    def _kept_model(self, target: Target, result: PartitionResult) -> PartitionResult:
        """A model whose source has no files (an unmounted share) keeps its last weights and its manifest
        row, so what uses it builds on; without weights it fails."""
        row = next((r for r in read_manifest(self.spec.build_dir) if r["asset"] == target.name and r.get("cache_key")), None)
        weights = self.outputs_of(target, MODEL_PARTITION)[MODEL_FILE]
        try:
            kept = row is not None and all(file_is(self.spec.root_dir / p, d, self.index) for p, d in row["outputs"].items())
        except OSError:  # weights this user cannot read: kept as they are, unverified
            kept = row is not None
        if kept and row is not None:
            return replace(result, status="cached", cache_key=row["cache_key"], outputs=dict(row["outputs"]),
                           inputs=dict(row["inputs"]), metadata=dict(row.get("metadata", {})))
        source = self.spec.source_of(target.name)
        result.error = (
            f"model {target.name}: source {source.name!r} has no files ({source.root} is missing or matches nothing) "
            f"and {weights} is not there to keep"
        )
        return result

    def _restore(self, plan: Plan) -> Entry | None:
        entry = self._entry(plan)
        if entry is None:
            return None
        try:
            self._place(entry, plan)
        except CorruptEntry as exc:
            log.warning("cache entry %s is corrupt: %s; recomputing %s", plan.cache_key, exc,
                        ", ".join(self.relative(path) for path in plan.outputs.values()))
            self.store.drop(plan.cache_key)
            return None
        return entry

    def _kept(self, target: Target, key: str, plan: Plan) -> Entry | None:
        """``keep_current`` of the outputs the last build listed for ``key``, when they are all there as
        listed; None, so that they are computed, where one cannot be read."""
        row = self._last_rows().get((target.name, key))
        try:
            listed: dict[str, str] = row["outputs"] if row else {}
            if row is None or not all(file_is(path, listed.get(self.relative(path), ""), self.index)
                                      for path in plan.outputs.values()):
                return None
            return self.keep_current(plan, row)
        except OSError:  # an output this user cannot read: computed, which replaces it
            return None

    def _place(self, entry: Entry, plan: Plan) -> None:
        todo = {plan.outputs[name]: digest for name, digest in entry.outputs.items()}
        todo = {dest: digest for dest, digest in todo.items() if not _already(dest, digest, self.index)}
        with atomic_paths(list(todo)) as temporaries:
            for tmp, digest in zip(temporaries, todo.values()):
                tmp.write_bytes(self.store.read_object(digest))
        for dest, digest in todo.items():
            self.index.remember(dest, digest)

    def _compute(self, target: Target, key: str, plan: Plan) -> Entry:
        """Run ``target``'s op for ``key`` in a scratch folder, then store what it wrote in the cache and place it."""
        label = partition_label(target.name, key)
        runner = target.op.runner()
        if self.spec.images_each(target):  # multiply's variants, each made into a DDS (a material's, its maps)
            runner = functools.partial(run_each, cast(MapRun, runner))
        params = self._with_resolved_files(target)
        with self.store.scratch() as scratch:
            ctx = OpContext(
                device=self.device,
                progress=reporter(label),
                model=plan.model,
                work_dir=self.store.work_dir(plan.cache_key) if target.section == "models" else None,
            )
            try:
                metadata, files = self._run_op(label, target, key, plan, runner, params, scratch, ctx)
                missing = [name for name, path in files.items() if not path.is_file()]
                if missing:
                    raise RuntimeError(f"op {target.op.name} did not write {', '.join(missing)}")
                self._raise_if_inputs_changed(target, key, plan)
                entry = cast(Entry, self.store.put(  # given no expect, put always stores: never None
                    plan.cache_key, files, dict(metadata or {}), overwrite=target.name in self.forced, move=True))
                self.store.clear_work(plan.cache_key)  # stored: a later --force trains again, not resumes
                self._place_made(entry, plan)
                return entry
            finally:
                if ctx.work_dir is not None:
                    self.store.clear_empty_work(plan.cache_key)

    def _run_op(self, label: str, target: Target, key: str, plan: Plan, runner: ModelRun | MapRun, params: OpParams,
                scratch: Path, ctx: OpContext) -> tuple[Mapping[str, object], dict[str, Path]]:
        """What ``runner`` returned, and the files it was to write in ``scratch`` by name: a model's weights, or an
        asset's outputs, where those an earlier build made under the same unit keys are placed first (``_reuse``)
        and each one finished is kept at once (``_keep_unit``)."""
        if target.section == "models":
            weights = scratch / MODEL_FILE
            images = [plan.inputs[k] for k in sorted(plan.inputs)]
            return cast(ModelRun, runner)(images, weights, params, ctx), {MODEL_FILE: weights}
        ctx.reuse = {} if target.name in self.forced else self._reuse(label, target, plan, scratch)
        if ctx.reuse and plan.metadata_unit is not None:
            ctx.reuse_metadata = self.store.unit_metadata(plan.metadata_unit)
        ctx.finished = functools.partial(self._keep_unit, label, target, key, plan, scratch)
        metadata = {**self._figures_kept(target, plan, ctx.reuse),
                    **cast(MapRun, runner)(plan.inputs, scratch, params, ctx)}
        return metadata, {name: scratch / name for name in plan.outputs}

    def _figures_of_each(
        self, target: Target, plan: Plan, metadata: Mapping[str, object]
    ) -> dict[str, dict[str, object]]:
        """Unit key -> the figures ``metadata`` gives of that output alone, where ``target``'s op is applied to each
        image (``Spec.images_each``: ``variant_00_mip_levels`` of ``variant_00.dds``, as ``run_each`` names them);
        none for another op, whose figures are of the partition as a whole."""
        if not self.spec.images_each(target):
            return {}
        return {unit: _figures_of(name, metadata) for name, unit in plan.units.items()}

    def _figures_kept(self, target: Target, plan: Plan, reused: Mapping[str, Path]) -> dict[str, object]:
        """The figures of the ``reused`` outputs (put back from their units, not made), named as ``run_each`` names
        those it makes: the row of a partition that put some back listed only the figures of those it made, and
        read unlike one that made them all."""
        if not self.spec.images_each(target):
            return {}
        kept: dict[str, object] = {}
        for name in reused:
            kept.update({f"{_figure_prefix(name)}{figure}": value
                         for figure, value in (self.store.unit_figures(plan.units[name]) or {}).items()})
        return kept

    def _raise_if_inputs_changed(self, target: Target, key: str, plan: Plan) -> None:
        """Refuse to store what an op made from inputs that changed while it ran (a texture saved meanwhile, a
        model retrained from the UI): the cache would hold it under a key its content does not match."""
        now = self.plan(target, key)
        if now.cache_key == plan.cache_key:
            return
        model = self.relative(plan.model) if plan.model is not None else None
        changes = input_changes(plan.input_hashes, now.input_hashes, model)
        more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
        raise BuildError(f"{'; '.join(changes[:3]) or 'an input changed'}{more} while this was built; build it again")

    def _place_made(self, entry: Entry, plan: Plan) -> None:
        """Place the outputs an op has just made, copied from the objects ``put`` moved its scratch files into and
        hashed as it did: not verified again. A copy (a clone where the disk can: ``copy_file``), never a hard link,
        so that an output edited in place (a paint program saving over it) leaves the cache's object whole."""
        with atomic_paths([plan.outputs[name] for name in entry.outputs]) as temporaries:
            for tmp, digest in zip(temporaries, entry.outputs.values()):
                copy_file(self.store.object_path(digest), tmp)
        for name, digest in entry.outputs.items():
            self.index.remember(plan.outputs[name], digest)

    def _keep_unit(self, label: str, target: Target, key: str, plan: Plan, scratch: Path, name: str,
                   figures: Mapping[str, object] | None = None) -> None:
        """Store an output the op has just finished under its unit key, with what the op measured of it
        (``figures``, named as in its metadata), so that a build stopped before the others are done (a failure,
        Ctrl-C, even a kill) does not make it again, and lists its figures all the same. Ops write every output
        atomically, so the file is whole; one that cannot be kept (a full disk) is only made again, and
        none is kept once an input changed since planning (the op may have read the new content)."""
        if name not in plan.units:
            return
        try:
            unchanged = self.plan(target, key).cache_key == plan.cache_key
        except (BuildError, ValueError, OSError):  # an input gone or unreadable now
            unchanged = False
        if not unchanged:
            return
        try:
            unit = plan.units[name]
            self.store.keep_units({unit: scratch / name}, {unit: _figures_of(name, figures or {})})
        except OSError as exc:
            log.warning("%s: %s could not be kept for a later build: %s", label, name, exc)

    def _reuse(self, label: str, target: Target, plan: Plan, scratch: Path) -> dict[str, Path]:
        """Place in ``scratch`` the outputs an earlier build made under the same unit keys. Where the op makes
        its units only all together (``OpParams.units_kept_together``: a material's maps come from one fit) and
        the cache holds some alone, none is placed: the op makes them all again, and a log saying some were kept
        was wrong."""
        found = {name: digest for name, unit in plan.units.items() if (digest := self.store.unit(unit)) is not None}
        together = target.params.units_kept_together()
        if together and len(found) < len(plan.units):
            return _none_kept(label, len(found), len(plan.units))
        placed: dict[str, Path] = {}
        for name, digest in found.items():
            try:
                write_bytes_atomic(scratch / name, self.store.read_object(digest))
            except CorruptEntry as exc:
                log.warning("%s: %s; making it again", plan.outputs[name], exc)
                if together:
                    for path in placed.values():
                        path.unlink()
                    return _none_kept(label, len(found) - 1, len(plan.units))
                continue
            placed[name] = scratch / name
        if placed:
            log.info("%s: %d of %d outputs made before, kept", label, len(placed), len(plan.outputs))
        return placed


def _listed_hashes(row: Mapping[str, object]) -> list[object]:
    """The hashes of the outputs ``row`` lists, wherever it lists them (none where a hand edit left no mapping): a
    check of them passes over every other partition at once, where a copied texture's status read each one's paths."""
    outputs = row.get("outputs")
    return list(outputs.values()) if isinstance(outputs, dict) else []


def _built(rows: Iterable[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """The rows of ``rows`` whose partition was built, with the inputs it read (not one a hand edit damaged)."""
    return [row for row in rows if row.get("status") in ("computed", "cached") and isinstance(row.get("inputs"), dict)]


def _none_kept(label: str, held: int, together: int) -> dict[str, Path]:
    """Log, where the cache held any, that ``held`` of ``together`` outputs made only all together are not
    enough: the op makes every one again (a material's fit runs again). Returns the empty reuse."""
    if held:
        log.info("%s: %d of the %d outputs made together are in the cache, not all: none kept, all are made again "
                 "(a material's maps come from one fit, which runs again)", label, held, together)
    return {}


def _figure_prefix(output: str) -> str:
    """What ``run_each`` puts before each figure of ``output``: its variant, and the map of it where the variant is a
    folder of maps (``variant_00_`` of ``variant_00.dds``, ``variant_00_albedo_`` of ``variant_00/albedo.dds``, as
    export_dds names a map's figures). The stem alone (``albedo_``) matched no figure of a material's variant, and
    its DDS put back were listed without theirs."""
    return f"{'_'.join(PurePosixPath(output).with_suffix('').parts)}_"


def _figures_of(output: str, metadata: Mapping[str, object]) -> dict[str, object]:
    """The figures of ``output`` alone in a partition's ``metadata``, without their prefix (``mip_levels``)."""
    prefix = _figure_prefix(output)
    return {figure[len(prefix):]: value for figure, value in metadata.items() if figure.startswith(prefix)}


def materialize_too(target: Target, *names: str) -> str:
    """What a UI run of ``target`` alone, built from what ``names`` made and out of date, says to do: the run's
    warning and the failure of a file not made yet say it alike."""
    return (f"materialize {' and '.join(names)} as well, or select {target.name} with its upstream assets "
            "(remaster build does both)")


def _already(path: Path, digest: str, index: HashIndex) -> bool:
    """Whether ``path`` holds ``digest`` already; one this user cannot read does not (it is replaced)."""
    try:
        return file_is(path, digest, index)
    except PermissionError:
        return False


def _units(spec: Spec, target: Target, shared: Mapping[str, object], hashes: Mapping[str, str]) -> dict[str, str]:
    """Output name -> unit key (``Plan.units``) from what a partition's units share of its key (``_unnamed``) and its
    ``hashes`` (role -> hash): a unit's own params decide it, not all of them (count 4 -> 8 keeps the first four
    variants), and an output of an op applied to each image (``Spec.images_each``) is decided by its own image alone,
    under the role the op reads it as (a variant's ``albedo.png``, exported as colour), so that a fifth variant makes
    one more DDS. An image whose hash is not in ``hashes`` (``status`` knows only some of those the build makes) has
    no unit key. Nor does a unit hold the partition's name (a material's): a renamed photo pair keeps its fitted
    maps."""
    if each := spec.images_each(target):
        return {output_for(target.params, image): _key({**shared, "inputs": {each_role(image): hashes[image]},
                                                        "unit": target.params.key_params()})
                for image in each if image in hashes}
    return {name: _key({**shared, "unit": unit}) for name, unit in target.params.output_units().items()}


def _unnamed(material: Mapping[str, object], unnamed_inputs: Mapping[str, object]) -> dict[str, object]:
    """A partition's key ``material`` as its units' keys share it: without the params (a unit's own decide it) or
    the name its outputs give it (a renamed photo pair keeps its fitted maps), and with an input that holds the
    name too (``OpParams.unnamed_inputs``: a material's glTF) as what else it says, not its hash, so that a
    renamed material's variants keep their maps. Every other op's units keep the keys they had."""
    shared = {name: value for name, value in material.items() if name not in ("params", "name")}
    if not unnamed_inputs:
        return shared
    hashes = cast(dict[str, str], shared["inputs"])
    return {**shared, "inputs": {role: digest for role, digest in hashes.items() if role not in unnamed_inputs},
            "unnamed_inputs": dict(unnamed_inputs)}


def _key(material: Mapping[str, object]) -> str:
    return hash_bytes(json.dumps(material, sort_keys=True, separators=(",", ":")).encode())


def input_changes(before: dict[str, str], now: dict[str, str], model: str | None = None) -> list[str]:
    """How two plans' input hashes (spec-relative path -> hash) differ, a phrase per file, so that a message
    names the texture that was saved rather than saying only that something changed."""
    phrases = []
    for path, digest in now.items():
        if before.get(path) != digest:
            kind = "model" if path == model else "file"
            phrases.append(f"changed {kind} {path}" if path in before else f"new {kind} {path}")
    return phrases + [f"no longer reads {path}" for path in before if path not in now]  # gone, or params drop it


def _output_in(entry: Callable[[], Entry | None], name: str) -> str | None:
    """The hash of output ``name`` in the cache entry ``entry`` reads, if there is one."""
    found = entry()
    return found.outputs.get(name) if found else None


def _describe(exc: Exception, target: Target, key: str, spec: Spec) -> str:
    """A message that names the input, for errors that do not already; a failed write names the folder
    and the spec setting to fix, not the temporary file or cache shard the OS names."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and (problem := file_problem(exc, spec)):
        return problem
    if isinstance(exc, FileNotFoundError) and exc.filename and not written_by_builds(Path(exc.filename), spec):
        return f"{exc.filename} was moved or deleted while this was built; build again"  # a checkout, a cleanup
    if isinstance(exc, (BuildError, ValueError, OSError)) or "/" in message:
        return message
    return f"{partition_label(target.name, key)}: {type(exc).__name__}: {message}"


def summarize_data_version(outputs: Mapping[str, str]) -> str:
    """One version for several files' hashes (an output's files, a photo pair's halves): the hash itself
    for one file."""
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    return hash_bytes(json.dumps(dict(sorted(outputs.items()))).encode())
