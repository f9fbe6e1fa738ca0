"""Where ``train_srcae`` keeps its checkpoint, and how far a stopped training got, read without torch:
``remaster status`` asks it, and loading the pipeline's definitions never imports torch."""

from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path

CHECKPOINT_NAME = "srcae_checkpoint.pt"
_MEMO_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}


def saved_step(checkpoint: Path) -> int | None:
    """The step ``checkpoint`` was saved at, or None where that cannot be read (damaged, another format).
    The checkpoint is a ``torch.save`` archive (a zip) whose pickle opens with the payload's ``fingerprint``
    and ``step``: its opcodes are read, never run, and the tensors' data, most of the file, is not read."""
    try:
        with zipfile.ZipFile(checkpoint) as archive:
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
