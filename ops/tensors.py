"""Images between numpy's (H, W, C) layout, which image files and skimage use, and torch's (C, H, W)."""

from __future__ import annotations

import numpy as np
import torch


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
