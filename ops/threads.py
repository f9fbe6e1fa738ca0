"""Bound torch's CPU threads for the duration of one op, then restore them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def cpu_threads(count: int, device: torch.device) -> Iterator[None]:
    """Use ``count`` intra-op threads while on CPU (0 or a CUDA device: leave torch's setting)."""
    if count <= 0 or device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
