"""Deleting outputs from the build folder: only what a build wrote there, and only in the build folder.

A manifest row or a placing note names each output by its path as listed (``as_listed``). Those records can
be edited by hand, restored from another project, or name a file through a link in the build folder that
leads elsewhere, so ``remove_output`` checks where a path really is before it deletes anything.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ops.atomic import unlink
from pipeline.edits import keep_if_edited
from pipeline.hashing import hash_file
from pipeline.spec import Spec

log = logging.getLogger(__name__)


def as_listed(spec: Spec, path: Path) -> str:
    """``path`` as manifest rows give it: relative to the spec's folder, or absolute outside it."""
    try:
        return path.relative_to(spec.root_dir).as_posix()
    except ValueError:
        return path.as_posix()


def remove_output(build_dir: Path, path: Path, *, written: str | None = None) -> bool:
    """Delete an output file and the folders it leaves empty, up to ``build_dir``. A path outside
    ``build_dir`` (``build/../textures/x.png``, ``/home/...``: a manifest edited by hand, or restored from
    another project) is left alone with a warning: a build deletes only what it wrote. Judged on the
    path as written, so that an asset folder linked to another disk is still the build's; one with ``..``
    is refused outright, as the system would take it after following such a link. Through such a link,
    a file goes only where it is still what the build wrote, ``written`` (its hash as the manifest lists
    it): see ``_still_written``. Returns whether it was deleted (or already gone)."""
    if ".." in path.parts or not Path(os.path.abspath(path)).is_relative_to(os.path.abspath(build_dir)):
        log.warning("%s is not in the build folder %s, so it is not deleted, though remaster's records (the manifest, "
                    "a placing note) list it as an output: edited by hand, or from another project?", path, build_dir)
        return False
    if not _still_written(build_dir, path, written):
        return False
    keep_if_edited(build_dir, path, written)
    unlink(path)
    folder = path.parent
    while folder != build_dir and folder.is_relative_to(build_dir):
        try:
            folder.rmdir()  # only an empty folder goes
        except OSError:  # not empty, or removed meanwhile by another build
            break
        folder = folder.parent
    return True


def _still_written(build_dir: Path, path: Path, written: str | None) -> bool:
    """Whether ``path`` may be deleted: its folder is in the build folder once links are followed, or the
    file is still what the build wrote there (its hash is ``written``). A link in the build folder leads
    anywhere, and whoever made it (a build folder committed to the repository, or unpacked from an archive)
    chose where: a manifest row or a placing note naming a file through it must not make a build delete a
    file of someone's, as ``build/gone -> ~`` with ``build/gone/.bashrc`` listed would. A file left says why."""
    folder = os.path.realpath(path.parent)
    if not os.path.lexists(path) or Path(folder).is_relative_to(os.path.realpath(build_dir)):
        return True
    try:
        same = written is not None and hash_file(path) == written
    except OSError:  # unreadable, or a folder where the file was: not known to be what the build wrote
        same = False
    if not same:
        why = ("differs from what remaster wrote there (changed since, or never remaster's)" if written is not None
               else "is not known to be what remaster wrote there")
        log.warning("%s is left, though remaster no longer has it as an output: its folder is a link that leads out "
                    "of the build folder %s, to %s, and the file there %s; delete it yourself if it should go",
                    path, build_dir, folder, why)
    return same
