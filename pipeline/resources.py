"""Configuration a build needs beyond the spec: device and force, as a Dagster resource."""

from __future__ import annotations

import logging

import dagster as dg

from pipeline.build import Builder
from pipeline.cache import ContentStore, holds_store
from pipeline.claims import check_instance, claim_build_dir, claim_instance, dagster_home
from pipeline.hashing import HASH_INDEX, HashIndex
from pipeline.manifest import manifest_path, read_manifest
from pipeline.placing import clear_dead_notes
from pipeline.progress import logs_in_the_run
from pipeline.spec import Spec

log = logging.getLogger(__name__)


def store_of(spec: Spec, *, make: bool = True) -> ContentStore:
    """The store at the spec's ``cache_dir``, made there where there is none (unless not ``make``: ``status``
    writes no folders). Where one was expected, that is said in a warning: a share that is not mounted (its
    folder missing, or its empty mount point) would otherwise get a new, empty cache without a word, and every
    build on it compute everything again."""
    if not holds_store(spec.cache_dir) and (expected := _store_expected(spec)) is not None:
        made = "a new, empty one is made there" if make else "a build would make a new, empty one there"
        log.warning("no cache at %s (cache_dir in %s)%s: %s, so nothing is put back from a cache; if this cache "
                    "should be on a share, is it mounted?", spec.cache_dir, spec.path.name, expected, made)
    return ContentStore(spec.cache_dir, make=make)


def _store_expected(spec: Spec) -> str | None:
    """Why a store should be at ``cache_dir`` already (``""``: it is outside the project's folder, as a share is,
    named by an absolute path or reached through a link), or None where a new one is a project's first build."""
    manifest = manifest_path(spec.build_dir)
    if any(row["outputs"] for row in read_manifest(spec.build_dir)):
        return f", though {manifest} lists outputs built before"
    return None if spec.cache_dir.is_relative_to(spec.path.parent) else ""


class RemasterResource(dg.ConfigurableResource):
    """``device``: auto (CUDA if available, else CPU), cpu, cuda or cuda:N. ``force``: ignore cache hits, for
    every model and asset a run builds (set in the UI's launchpad); ``forced``: for these only (``build --force
    --select``: what the selection is built from comes from the cache where it can)."""

    device: str = "auto"
    force: bool = False
    forced: list[str] = []

    def builder(self, spec: Spec, *, building: bool = False, looking: bool = False) -> Builder:
        """``building``: the builder will write outputs or drop partitions (a build, a run, a sensor's tick), so
        the build folder and the Dagster instance are claimed for ``spec`` and the manifest registered on the
        store for gc; ``status`` and ``cache gc`` only look. ``looking``: nothing but reading is done with it
        (``status``), so a store that is not there is not made."""
        home = dagster_home() if building else None
        if home is not None:  # refused before the cache and build folders are made, not after
            check_instance(home, spec)
        store, index = store_of(spec, make=not looking), HashIndex(spec.cache_dir / HASH_INDEX)
        if building:
            claim_build_dir(spec)
            if home is not None:
                claim_instance(home, spec)
            store.register(manifest_path(spec.build_dir), spec.path)
            clear_dead_notes(spec, store, index.hash)
        forced = set(spec.targets) if self.force else set(self.forced)
        return Builder(spec, store, index, device=self.device, forced=forced)


def tick_builder(spec: Spec, tick_log: logging.Logger) -> Builder:
    """The builder of a sensor's or schedule's tick (which adds and drops partitions, and removes outputs), made
    with the pipeline's lines in the tick's log, which the UI shows: where a cache is gone, the tick makes the new
    store, so its warning went to the daemon's output alone, and the run the tick requests finds a store."""
    with logs_in_the_run(tick_log):
        return RemasterResource().builder(spec, building=True)
