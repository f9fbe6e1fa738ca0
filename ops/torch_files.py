"""Reading ``torch.save`` files safely: weights a user downloaded, or a model in the build folder that a
disk or an editor may have changed since it was written. Nothing in them runs (``weights_only``), a
damaged archive is refused before torch reads it, and every way a file can be cut short or hold code
ends in one message that names the file."""

from __future__ import annotations

import pickle
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch

UNPACKED_PER_BYTE = 4  # bytes a weights archive may unpack to per byte on disk: torch.save stores, never compresses


_GET_AGAIN = "get the file again"


def check_archive(path: Path, again: str) -> None:
    """Refuse a damaged ``torch.save`` archive. torch reads one without checking its checksums, and a few
    flipped bytes then give a model that runs and writes noise. An old-style pickle has no checksums,
    nor has an entry that torch saved with ``compute_crc32`` off (its CRC field is 0). ``again`` says how to have
    the file again: a downloaded one is got again, and a model remaster trained is trained again, as a build or a
    script trains it (it said "build the model again" to a script, and to VGG19 weights no build makes)."""
    if not zipfile.is_zipfile(path):
        if _starts_as_zip(path):  # a zip's first entry without the directory that ends the file
            raise ValueError(f"weights file {path} is cut short (an interrupted download or copy): get the file again")
        return
    try:
        with zipfile.ZipFile(path) as archive:
            _refuse_a_bomb(path, archive)
            for entry in archive.infolist():
                if entry.CRC == 0:
                    continue
                with archive.open(entry) as data:  # zipfile compares the CRC when it reaches the end
                    while data.read(1 << 24):
                        pass
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"weights file {path} is damaged ({exc}): {again}") from exc


def _refuse_a_bomb(path: Path, archive: zipfile.ZipFile) -> None:
    """torch reads a compressed entry too, so a weights file of a few MB could ask for GBs of memory."""
    unpacked, size = sum(entry.file_size for entry in archive.infolist()), Path(path).stat().st_size
    if unpacked > UNPACKED_PER_BYTE * size + (1 << 20):
        raise ValueError(f"weights file {path} unpacks to {unpacked / 1e6:,.0f} MB from {size / 1e6:,.1f} MB, which no "
                         "weights file does (torch stores them uncompressed): it was made to exhaust memory, or is "
                         "damaged; get the file from its author again")


def _starts_as_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:  # a missing file is the caller's to name
        return False


def load_torch_file(path: Path, what: str, fix: str, *, again: str = _GET_AGAIN) -> Any:
    """What ``path`` holds, read with ``weights_only``; ``what`` names the file in messages ("model weights"),
    ``fix`` says what to do about one that holds code, ``again`` how to have a damaged one again."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    check_archive(path, again)
    if not _is_torch_file(path):  # torch reads any other file as an old-style pickle: "'utf-8' codec can't decode"
        raise ValueError(f"{path} is not a PyTorch weights file (.pth/.pt): it may be a download that saved an error "
                         f"page, or a file of another kind; get the {what} file again")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # the restricted unpickler refused a global
        cut = "" if zipfile.is_zipfile(path) else ", or it is cut short"  # an old-style pickle ends mid-opcode too
        raise ValueError(f"refusing to load {what} {path}: it holds Python objects or code, not only weights"
                         f"{_asked_to_run(exc)}{cut}; {fix}") from exc
    except (RuntimeError, EOFError, OSError, IndexError, struct.error) as exc:  # the last three: an old-style file cut short
        reason = str(exc).splitlines()[0] if str(exc) else "it ends too early"
        raise ValueError(f"cannot read {what} {path} ({reason}): it may be cut short or damaged; get the file again") from exc


def _is_torch_file(path: Path) -> bool:
    """What ``torch.save`` writes: a zip archive, or (before torch 1.6) a pickle, which opens with 0x80."""
    with open(path, "rb") as handle:
        first = handle.read(1)
    return first == b"\x80" or zipfile.is_zipfile(path)


def _asked_to_run(exc: Exception) -> str:
    """The global a file asked torch to load, without torch's advice around it (to load the file unchecked,
    or to allow that global), which a build must never take."""
    named = re.search(r"GLOBAL (\S+?)\.?(?:\s|$)", str(exc))
    return f" (it asks for {named.group(1)})" if named else ""
