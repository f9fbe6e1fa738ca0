"""Images between numpy's (H, W, C) layout, which image files and skimage use, and torch's (C, H, W)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def to_chw(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) array -> (C, H, W) CPU tensor of the same dtype (contiguous, so convolutions need no copy)."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def to_hwc(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) tensor on any device -> (H, W, C) array of the same dtype."""
    return image.permute(1, 2, 0).cpu().numpy()


def overflow_as_nan(image: torch.Tensor) -> torch.Tensor:
    """``image`` with its infinite values (a float16 overflow on a GPU, or weights too large) as NaN, which
    super_resolve's check of its output stops at: clamped to [0, 1], they were written white without a word."""
    return image.masked_fill(image.isinf(), float("nan"))


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """(..., H, W) ``x`` extended at the bottom and right to sides that are multiples of ``multiple``, by
    repeating its last row and column: a stride-2 or block-wise step then sees whole cells, and cropping
    the result back leaves no trace of the padding's own edge. ``x`` itself where it fits already."""
    H, W = x.shape[-2:]
    pad_h, pad_w = -H % multiple, -W % multiple
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x
