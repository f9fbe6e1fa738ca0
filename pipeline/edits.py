"""Outputs changed by hand in the build folder: moved aside, not lost, when a build replaces or removes them.

A texture artist who touches up ``build/legacy_2x/wall.png`` in a paint program and builds again gets the
built file back (the build folder holds what the spec makes), but finds the touched-up one under
``build/.edited/`` with a warning naming it, rather than losing an afternoon's work.
"""

from __future__ import annotations

import errno
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from ops.atomic import atomic_path, replace, unlink
from pipeline.hashing import hash_file

EDITED = ".edited"  # in the build folder

log = logging.getLogger(__name__)


def keep_if_edited(build_dir: Path, path: Path, written: str | None, hash_of: Callable[[Path], str] = hash_file, *,
                   placing: Callable[[], str | None] = lambda: None) -> None:
    """Move ``path`` to ``<build_dir>/.edited/`` where it is no longer what remaster wrote there (``written``,
    its hash as the manifest lists it), before a build replaces or removes it. A file the manifest does not
    list, or one that cannot be read, is left to the caller; so is one that holds what ``placing`` says the
    build is about to put there (asked only of a changed file): a build placed it and was killed before it
    listed it, or another build at once placed it since this one read the manifest."""
    if written is None or not path.is_file() or not path.is_relative_to(build_dir):
        return
    try:
        digest = hash_of(path)
    except OSError:
        return
    if digest == written or digest == placing():
        return
    aside = _aside(build_dir, path, digest)
    try:
        if aside.exists():  # the same edit, kept by an earlier build
            unlink(path)
        else:
            _move(path, aside)
    except FileNotFoundError:  # another build at once moved it first
        return
    log.warning("%s was changed after remaster wrote it (by hand?); it is moved to %s, since a build replaces or "
                "removes what it wrote: to keep a change, make it in the source, or copy that file out", path, aside)


def _aside(build_dir: Path, path: Path, digest: str) -> Path:
    """``.edited/<the path in the build folder>``, or, where that holds another edit, with the hash before the
    extension: a second edit of one texture keeps the first."""
    aside = build_dir / EDITED / path.relative_to(build_dir)
    if not aside.exists() or hash_file(aside) == digest:  # not through the hash index: it need not keep these
        return aside
    return aside.with_name(f"{aside.stem}.{digest[:8]}{aside.suffix}")


def _move(path: Path, aside: Path) -> None:
    """Rename ``path`` to ``aside``; copied whole, then deleted, where they are on two disks (an asset's
    folder linked to another one)."""
    aside.parent.mkdir(parents=True, exist_ok=True)
    try:
        replace(path, aside)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        with atomic_path(aside) as tmp:
            shutil.copyfile(path, tmp)
        unlink(path)
