"""Checks on ``torch.save`` files before they are unpickled: weights a user downloaded, or a model in the
build folder that a disk or an editor may have changed since it was written."""

from __future__ import annotations

import zipfile
from pathlib import Path


def check_archive(path: Path) -> None:
    """Refuse a damaged ``torch.save`` archive. torch reads one without checking its checksums, and a few
    flipped bytes then give a model that runs and writes noise. An old-style pickle has no checksums,
    nor has an entry that torch saved with ``compute_crc32`` off (its CRC field is 0)."""
    if not zipfile.is_zipfile(path):
        if _starts_as_zip(path):  # a zip's first entry without the directory that ends the file
            raise ValueError(f"weights file {path} is cut short (an interrupted download or copy): get the file again")
        return
    try:
        with zipfile.ZipFile(path) as archive:
            for entry in archive.infolist():
                if entry.CRC == 0:
                    continue
                with archive.open(entry) as data:  # zipfile compares the CRC when it reaches the end
                    while data.read(1 << 24):
                        pass
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"weights file {path} is damaged ({exc}): build the model again or get the file again") from exc


def _starts_as_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:  # a missing file is the caller's to name
        return False


def what_was_refused(exc: Exception) -> str:
    """The line of torch's ``weights_only`` refusal that names the code a file asked to run (torch's own
    advice around it, to load the file with ``weights_only=False``, is what a build must never do)."""
    named = [line.strip().rstrip(".") for line in str(exc).splitlines() if "GLOBAL" in line]
    return f" ({named[0]})" if named else ""
