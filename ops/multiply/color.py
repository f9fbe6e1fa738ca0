"""Give a synthesised texture exactly the exemplar's colour distribution.

The Gram loss matches second-order feature statistics, which leaves the
palette slightly off (washed-out or shifted). Histogram matching each
principal colour axis of the exemplar afterwards restores its palette without
moving structure: a monotone per-pixel map keeps edges where they are and,
being per-pixel, keeps a tileable texture tileable.
"""

from __future__ import annotations

import numpy as np


def match_histogram(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Remap ``values`` (any shape) so their sorted values follow ``reference``'s quantiles."""
    flat = values.ravel()
    order = np.argsort(flat, kind="stable")
    quantiles = (np.arange(flat.size) + 0.5) / flat.size
    ref_sorted = np.sort(reference.ravel())
    ref_quantiles = (np.arange(ref_sorted.size) + 0.5) / ref_sorted.size
    matched = np.empty_like(flat)
    matched[order] = np.interp(quantiles, ref_quantiles, ref_sorted)
    return matched.reshape(values.shape)


def match_colors(image: np.ndarray, exemplar: np.ndarray) -> np.ndarray:
    """Match (H, W, C) ``image`` to ``exemplar`` along the exemplar's principal colour axes.

    Both in [0, 1], same C. Grey and alpha planes are matched on their own.
    """
    if image.ndim != 3 or exemplar.ndim != 3 or image.shape[2] != exemplar.shape[2]:
        raise ValueError(f"cannot match colours of {image.shape} to {exemplar.shape}: need (H, W, C) with equal C")
    out = np.empty_like(image, dtype=np.float64)
    rgb = image.shape[2] >= 3
    if rgb:
        ref = exemplar[..., :3].reshape(-1, 3).astype(np.float64)
        mean = ref.mean(axis=0)
        _, axes = np.linalg.eigh(np.cov(ref, rowvar=False) + 1e-9 * np.eye(3))  # (3, 3), columns are axes
        projected = (image[..., :3].reshape(-1, 3) - mean) @ axes
        ref_projected = (ref - mean) @ axes
        for k in range(3):
            projected[:, k] = match_histogram(projected[:, k], ref_projected[:, k])
        out[..., :3] = (projected @ axes.T + mean).reshape(image.shape[:2] + (3,))
    for plane in range(3 if rgb else 0, image.shape[2]):
        out[..., plane] = match_histogram(image[..., plane].astype(np.float64), exemplar[..., plane])
    return np.clip(out, 0.0, 1.0).astype(np.float32)
