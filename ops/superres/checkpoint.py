"""Where ``train_srcae`` keeps its checkpoint, how it is sealed against damage, and how far a stopped training
got, read without torch: ``remaster status`` asks it, and loading the pipeline's definitions never imports torch."""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path

import xxhash

CHECKPOINT_NAME = "srcae_checkpoint.pt"
_DIGEST_BYTES = 16  # xxh3-128 of the checkpoint, appended to it
_MEMO_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}


def sealed(saved: bytes) -> bytes:
    """What a checkpoint file holds: ``torch.save``'s bytes and their hash, which guards a resume against bit rot."""
    return saved + xxhash.xxh3_128_digest(saved)


def unsealed(checkpoint: Path) -> bytes:
    """``torch.save``'s bytes in ``checkpoint``, after checking the hash appended to them: a ``ValueError`` where
    they do not match, as a checkpoint that a training does not resume from."""
    raw = checkpoint.read_bytes()
    saved, digest = raw[:-_DIGEST_BYTES], raw[-_DIGEST_BYTES:]
    if len(raw) < _DIGEST_BYTES or xxhash.xxh3_128_digest(saved) != digest:
        raise ValueError("it is damaged: its hash does not match")
    return saved


def saved_step(checkpoint: Path) -> int | None:
    """The step ``checkpoint`` was saved at, or None where a training would not resume from it (missing, damaged,
    another format). The checkpoint is a ``torch.save`` archive (a zip) whose pickle opens with the payload's
    ``fingerprint`` and ``step``: its opcodes are read, never run, and the tensors' data is only hashed, as a
    resume checks it: a step read from a damaged file would promise a resume that trains from the start."""
    try:
        with zipfile.ZipFile(io.BytesIO(unsealed(checkpoint))) as archive:
            pickled = archive.read(next(name for name in archive.namelist() if name.endswith("/data.pkl")))
        after_step = False
        for opcode, argument, _ in pickletools.genops(pickled):
            if opcode.name in _MEMO_OPCODES:
                continue
            if after_step:
                return argument if isinstance(argument, int) and not isinstance(argument, bool) else None
            after_step = argument == "step"
    except (OSError, zipfile.BadZipFile, StopIteration, ValueError):
        return None
    return None
