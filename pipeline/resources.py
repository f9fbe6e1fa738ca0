"""Configuration a build needs beyond the spec: device and force, as a Dagster resource."""

from __future__ import annotations

import dagster as dg

from pipeline.build import Builder
from pipeline.cache import ContentStore
from pipeline.hashing import HashIndex
from pipeline.manifest import manifest_path
from pipeline.spec import Spec

HASH_INDEX = "hash-index.json"


class RemasterResource(dg.ConfigurableResource):
    """``device``: auto (CUDA if available, else CPU), cpu, cuda or cuda:N. ``force``: ignore cache hits."""

    device: str = "auto"
    force: bool = False

    def builder(self, spec: Spec) -> Builder:
        store = ContentStore(spec.cache_dir)
        store.register(manifest_path(spec.build_dir))
        return Builder(spec, store, HashIndex(spec.cache_dir / HASH_INDEX), device=self.device, force=self.force)
