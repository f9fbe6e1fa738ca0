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


SHORTEST = 4 / 255
"""Vectors shorter than two 8-bit steps have no direction of their own: the mid-grey a map holds where it holds
no normal (128, 128, 128; an exact zero cannot be stored, at 8 bits or 16) is 1/255 long in every component, and
stretched to unit length it became a 55° tilt (201, 201, 201), or from 127 one pointing into the surface (54, 54,
54). Such a texel is made straight up."""


def renormalize(color: np.ndarray) -> np.ndarray:
    """Stored normal-map values (H, W, 3) in [0, 1] -> unit vectors, stored again in [0, 1]; a vector shorter
    than ``SHORTEST`` becomes straight up."""
    vectors = color * 2.0 - 1.0
    length = np.linalg.norm(vectors, axis=2, keepdims=True)
    flat = np.zeros_like(vectors)
    flat[..., 2] = 1.0
    unit = np.where(length >= SHORTEST, vectors / np.maximum(length, SHORTEST), flat)
    return ((unit + 1.0) / 2.0).astype(np.float32)
