"""Partitions whose source file or photo pair folder is gone: their outputs and manifest rows go too.

A source that has no files at all is not taken for one whose files were all
deleted: its root may be an unmounted share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, cast

import dagster as dg

from pipeline.build import Builder
from pipeline.manifest import Row, update_manifest
from pipeline.outputs import remove_output
from pipeline.sources import gone_from
from pipeline.spec import Spec, Target


class Removed(NamedTuple):
    """A partition whose outputs a build deleted, and why, in words."""

    asset: str
    partition: str
    why: str


def forget_removed(spec: Spec, builder: Builder, instance: dg.DagsterInstance | None = None) -> list[Removed]:
    """Delete the outputs and manifest rows of partitions whose source file is gone, or whose asset the
    spec no longer has; returns those that had outputs (not one whose build had failed).

    A sensor passes its ``instance`` and forgets only what Dagster dropped: a removed file's partitions
    that it materialized and no longer has, which it drops after the tick that asked for it (a run may
    write a row of such a file later: every tick looks again). A preview of the sensor (the UI's "Test
    sensor", ``dagster sensor preview``) applies none of its requests, so it deletes nothing. The rest (a
    removed asset, a file built on another instance) waits for a build or the nightly run."""
    drop, removed = [], []
    gone_rows: dict[str, list[dict[str, object]]] = {}
    replaced = Replaced(builder)
    for row in _listed_here(spec, builder):  # a damaged row too: it still names its outputs
        target = spec.targets.get(str(row["asset"]))
        key = str(row["partition"])
        if instance is None:
            gone = target is None or file_removed(builder, target, key)
        else:
            gone = target is not None and file_removed(builder, target, key) and _dropped(instance, spec, target, key)
        if gone:
            drop.append((str(row["asset"]), key))
            gone_rows.setdefault(str(row["asset"]), []).append(row)
            outputs = row.get("outputs")
            for path, written in outputs.items() if isinstance(outputs, dict) else ():
                remove_output(spec.build_dir, spec.root_dir / str(path), written=str(written))
            if outputs:
                removed.append(Removed(*drop[-1], why_removed(spec, row, target, replaced(row, target))))
    for name, rows in gone_rows.items():  # a renamed photo pair keeps what its rows' cache entries hold
        if name in spec.targets:
            builder.keep_renamed(spec.targets[name], rows)
    if drop:
        update_manifest(spec.build_dir, drop=drop)
        builder.forget_rows()
    return removed


def _listed_here(spec: Spec, builder: Builder) -> list[dict[str, object]]:
    """The manifest's rows, those of a build folder moved with its project listed anew where it has their outputs
    now (``Builder.listed_here``), so that this sync and everything after it deletes and judges the files here."""
    rows = builder.manifest().keyed()
    here = [builder.listed_here(row) for row in rows]
    if moved := [cast(Row, row) for row, was in zip(here, rows) if row is not was]:
        update_manifest(spec.build_dir, moved)
        builder.forget_rows()
    return here


def why_removed(spec: Spec, row: Mapping[str, object], target: Target | None, replaced: bool = False) -> str:
    """Why the outputs of ``row``'s partition go, as a build says it; ``replaced``: see ``Replaced``."""
    if target is None:
        return "the spec no longer has this asset"
    if was_made_from := changed_from(row, target):
        return was_made_from
    gone = gone_from(spec.source_of(target.name))
    return f"{gone}, and the file of its name with another extension makes its outputs now" if replaced else gone


class Replaced:
    """Whether a removed partition's outputs are the outputs of a current one: ``wall.png`` saved again as
    ``wall.tga``. Its outputs are deleted and made again from the new file; saying only that they were removed,
    beside a build that puts them back, read as lost work. Each asset's outputs are listed once, when asked."""

    def __init__(self, builder: Builder) -> None:
        self._builder = builder
        self._outputs: dict[str, set[str]] = {}

    def __call__(self, row: Mapping[str, object], target: Target | None) -> bool:
        outputs = row.get("outputs")
        if target is None or target.section != "assets" or not isinstance(outputs, dict):
            return False
        return not self._current(target).isdisjoint(outputs)

    def _current(self, target: Target) -> set[str]:
        if target.name not in self._outputs:
            builder = self._builder
            self._outputs[target.name] = {builder.relative(path) for key in builder.partitions(target.name)
                                          for path in builder.outputs_of(target, key).values()}
        return self._outputs[target.name]


def changed_from(row: Mapping[str, object], target: Target) -> str | None:
    """That ``target`` is made from another source or asset than ``row`` was, where it is: a changed ``from``
    read as though the artist's textures had gone. A row from before rows said ``from`` cannot tell."""
    was = row.get("from")
    return f"{target.name} is made from {target.upstream} now, not {was}" if was and was != target.upstream else None


def _dropped(instance: dg.DagsterInstance, spec: Spec, target: Target, key: str) -> bool:
    """Whether Dagster had partition ``key`` of ``target`` (it materialized it) and has it no more."""
    if instance.has_dynamic_partition(spec.source_of(target.name).name, key):
        return False
    materialized = dg.AssetRecordsFilter(asset_key=dg.AssetKey(target.name), asset_partitions=[key])
    return bool(instance.fetch_materializations(materialized, limit=1).records)


def has_files(builder: Builder, name: str) -> bool:
    """Whether ``name``'s source has files. One whose root is missing or matches nothing (an unmounted
    share, whose mount point is an empty folder; a renamed folder) is left as it was: its partitions
    and outputs are kept, not taken for deleted files."""
    return bool(builder.partitions(name))


def file_removed(builder: Builder, target: Target, key: str) -> bool:
    """Whether ``key`` of an asset is gone from its source's folder, which has files."""
    if target.section != "assets" or not has_files(builder, target.name):
        return False
    return key not in builder.partitions(target.name)
