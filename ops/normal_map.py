"""Tangent-space normal maps as stored: vectors in [-1, 1] encoded as (v + 1) / 2 per channel.

Resampling such a map averages vectors, which shortens them (and ringing lengthens them): an
enlarged normal map is renormalized, or lighting on it dims and brightens along every edge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def check_normal_map(path: Path, channels: int) -> None:
    """A ``kind: normal`` texture must hold the three components of its vectors."""
    if channels != 3:
        raise ValueError(f"{path} is marked kind: normal but has {channels} colour channel(s), not RGB; "
                         "leave kind out for a grey or colour texture")


def renormalize(color: np.ndarray) -> np.ndarray:
    """Stored normal-map values (H, W, 3) in [0, 1] -> unit vectors, stored again in [0, 1]."""
    vectors = color * 2.0 - 1.0
    length = np.linalg.norm(vectors, axis=2, keepdims=True)
    flat = np.zeros_like(vectors)
    flat[..., 2] = 1.0  # a zero-length vector (never in a valid map) becomes "straight up"
    unit = np.where(length > 1e-6, vectors / np.maximum(length, 1e-6), flat)
    return ((unit + 1.0) / 2.0).astype(np.float32)
