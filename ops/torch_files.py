"""Checks on ``torch.save`` files before they are unpickled: weights a user downloaded, or a model in the
build folder that a disk or an editor may have changed since it was written."""

from __future__ import annotations

import zipfile
from pathlib import Path


def check_archive(path: Path) -> None:
    """Refuse a damaged ``torch.save`` archive. torch reads one without checking its checksums, and a few
    flipped bytes then give a model that runs and writes noise. An old-style pickle has no checksums."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        damaged = str(exc)
    if damaged is not None:
        raise ValueError(
            f"weights file {path} is damaged ({damaged} does not match its checksum): build the model again or "
            f"get the file again"
        )
