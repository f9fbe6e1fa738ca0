"""Configuration a build needs beyond the spec: device and force, as a Dagster resource."""

from __future__ import annotations

import dagster as dg

from pipeline.build import Builder
from pipeline.cache import ContentStore
from pipeline.claims import claim_build_dir, claim_instance, dagster_home
from pipeline.hashing import HashIndex
from pipeline.manifest import manifest_path
from pipeline.placing import clear_dead_notes
from pipeline.spec import Spec

# Named for its layout: versions before the inode check read "hash-index.json" as [size, mtime, hash] and would
# take an inode number for a hash where a newer build shares their cache folder.
HASH_INDEX = "hash-index-2.json"


class RemasterResource(dg.ConfigurableResource):
    """``device``: auto (CUDA if available, else CPU), cpu, cuda or cuda:N. ``force``: ignore cache hits, for
    every model and asset a run builds (set in the UI's launchpad); ``forced``: for these only (``build --force
    --select``: what the selection is built from comes from the cache where it can)."""

    device: str = "auto"
    force: bool = False
    forced: list[str] = []

    def builder(self, spec: Spec, *, building: bool = False) -> Builder:
        """``building``: the builder will write outputs or drop partitions (a build, a run, a sensor's tick), so
        the build folder and the Dagster instance are claimed for ``spec`` and the manifest registered on the
        store for gc; ``status`` and ``cache gc`` only look."""
        store, index = ContentStore(spec.cache_dir), HashIndex(spec.cache_dir / HASH_INDEX)
        if building:
            claim_build_dir(spec)
            if home := dagster_home():
                claim_instance(home, spec)
            store.register(manifest_path(spec.build_dir), spec.path)
            clear_dead_notes(spec, store, index.hash)
        forced = set(spec.targets) if self.force else set(self.forced)
        return Builder(spec, store, index, device=self.device, forced=forced)
