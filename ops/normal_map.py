"""Tangent-space normal maps as stored: vectors in [-1, 1] encoded as (v + 1) / 2 per channel.

Resampling such a map averages vectors, which shortens them (and ringing lengthens them): an
enlarged normal map is renormalized, or lighting on it dims and brightens along every edge.
"""

from __future__ import annotations

import numpy as np


def renormalize(color: np.ndarray) -> np.ndarray:
    """Stored normal-map values (H, W, 3) in [0, 1] -> unit vectors, stored again in [0, 1]."""
    vectors = color * 2.0 - 1.0
    length = np.linalg.norm(vectors, axis=2, keepdims=True)
    flat = np.zeros_like(vectors)
    flat[..., 2] = 1.0  # a zero-length vector (never in a valid map) becomes "straight up"
    unit = np.where(length > 1e-6, vectors / np.maximum(length, 1e-6), flat)
    return ((unit + 1.0) / 2.0).astype(np.float32)
