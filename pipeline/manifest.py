"""``<build_dir>/manifest.json``: one row per (asset, partition), kept current by every build.

Each asset step merges its rows under an exclusive lock, so builds launched
from the UI, a sensor or two CLIs at once all leave one consistent file.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ops.atomic import write_bytes_atomic
from pipeline.cache import exclusive
from pipeline.spec import Spec, SpecError

MANIFEST = "manifest.json"
BUILT_FROM = ".built-from"  # the spec a build folder holds the outputs of, as a path relative to the folder
Row = dict[str, object]


def manifest_path(build_dir: Path) -> Path:
    return build_dir / MANIFEST


def read_manifest(build_dir: Path) -> list[Row]:
    path = manifest_path(build_dir)
    try:
        return list(json.loads(path.read_text())["entries"])
    except (OSError, ValueError, KeyError, TypeError):
        return []  # a manifest is derived data: the next build rewrites it


def _locked(build_dir: Path) -> contextlib.AbstractContextManager[None]:
    return exclusive(build_dir / f".{MANIFEST}.lock")


def update_manifest(build_dir: Path, rows: Iterable[Row] = (), drop: Iterable[tuple[str, str]] = ()) -> None:
    """Replace the rows of the same (asset, partition) and remove the ``drop`` ones."""
    rows = list(rows)
    replaced = {(r["asset"], r["partition"]) for r in rows} | set(drop)
    with _locked(build_dir):
        kept = [r for r in read_manifest(build_dir) if (r["asset"], r["partition"]) not in replaced]
        merged = sorted(kept + rows, key=lambda r: (str(r["asset"]), str(r["partition"])))
        # One row per line: diffable, yet fast to write for thousands of textures.
        lines = ",\n".join(json.dumps(row, sort_keys=True, separators=(",", ":")) for row in merged)
        body = f'{{"version": 1, "entries": [\n{lines}\n]}}\n'
        write_bytes_atomic(manifest_path(build_dir), body.encode())


def check_build_dir(spec: Spec) -> None:
    """Refuse a build folder that another spec, still there, builds into: a build deletes the outputs of the
    assets its spec does not have, so two specs sharing one folder would delete each other's. A renamed spec,
    or a project moved or copied whole, takes its folder over."""
    recorded = _built_from(spec.build_dir)
    other = (spec.build_dir / recorded).resolve() if recorded else None
    if other is not None and other != spec.path.resolve() and other.is_file():
        line = spec.lines.get(("build_dir",))
        raise SpecError([f"{spec.path}{f':{line}' if line else ''}: build_dir {spec.build_dir} holds the outputs of "
                         f"{other}, and building this spec there would delete them as those of assets it does not "
                         "have; give each spec its own build_dir"])


def claim_build_dir(spec: Spec) -> None:
    """Record ``spec`` as the one its build folder holds the outputs of, after ``check_build_dir``."""
    check_build_dir(spec)
    mark = os.path.relpath(spec.path.resolve(), spec.build_dir.resolve())
    if _built_from(spec.build_dir) != mark:
        spec.build_dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(spec.build_dir / BUILT_FROM, mark.encode())


def _built_from(build_dir: Path) -> str:
    try:
        return (build_dir / BUILT_FROM).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""
