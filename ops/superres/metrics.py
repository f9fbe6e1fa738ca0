"""Quality figures: PSNR and SSIM of an upscaler against bicubic and Lanczos on held-out images."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ops.superres.degrade import downscale
from ops.upscale import resize


PSNR_CAP = 120.0  # dB: an exact match (a flat held-out colour) counts as this, not as infinity, so means stay finite
_SSIM_WINDOW = 11  # pixels: the Gaussian window (sigma 1.5) that ``ssim`` slides over the image


def psnr(a: np.ndarray, b: np.ndarray, *, shave: int = 0) -> float:
    """PSNR in dB of (H, W, C) values in [0, 1], ignoring ``shave`` pixels at each border; at most PSNR_CAP."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    if np.array_equal(a, b):
        return PSNR_CAP
    return min(float(peak_signal_noise_ratio(b.astype(np.float64), a.astype(np.float64), data_range=1.0)), PSNR_CAP)


def ssim(a: np.ndarray, b: np.ndarray, *, shave: int = 0) -> float:
    """Mean SSIM of (H, W, C) values in [0, 1] (Gaussian window, as Wang et al. 2004)."""
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    return float(
        structural_similarity(
            a.astype(np.float64), b.astype(np.float64), data_range=1.0, channel_axis=2, gaussian_weights=True, sigma=1.5
        )
    )


def crop_for(image: torch.Tensor, scale: int, max_side: int) -> torch.Tensor:
    """A centred crop of (C, H, W) no larger than ``max_side`` with sides divisible by ``scale``."""
    _, H, W = image.shape
    h, w = min(H, max_side) // scale * scale, min(W, max_side) // scale * scale
    y, x = (H - h) // 2, (W - w) // 2
    return image[:, y : y + h, x : x + w]


def min_side(scale: int) -> int:
    """The smallest image side that ``compare`` measures at ``scale``: the SSIM window must fit inside
    once ``scale`` pixels are shaved off each border, and the low-res input must be 4 pixels or more."""
    return max(4 * scale, _SSIM_WINDOW + 2 * scale)


def measurable(image: torch.Tensor, scale: int) -> bool:
    """Whether ``compare`` can measure (C, H, W) ``image`` at ``scale`` (it skips the others)."""
    return min(image.shape[1:]) >= min_side(scale)


def compare(
    images: list[torch.Tensor],
    upscale: Callable[[torch.Tensor], torch.Tensor],
    scale: int,
    *,
    max_side: int = 512,
    baselines: bool = True,
) -> dict[str, float]:
    """Mean PSNR/SSIM of ``upscale`` (and bicubic, Lanczos) on bicubic-downscaled crops of ``images``.

    ``upscale`` maps a (1, 3, h, w) low-res batch to (1, 3, h*scale, w*scale).
    Borders of ``scale`` pixels are ignored, as is usual for SR figures.
    """
    rows: dict[str, list[float]] = {}
    for image in images:
        hr = crop_for(image, scale, max_side)
        if not measurable(hr, scale):
            continue
        lr = downscale(hr[None], scale)  # (1, 3, h, w)
        target = hr.permute(1, 2, 0).numpy()
        low = lr[0].permute(1, 2, 0).numpy()
        with torch.no_grad():
            candidates = {"val": upscale(lr)[0].permute(1, 2, 0).float().cpu().numpy()}
        if baselines:
            candidates["bicubic"] = resize(low, target.shape[:2], "bicubic")
            candidates["lanczos"] = resize(low, target.shape[:2], "lanczos")
        for name, result in candidates.items():
            rows.setdefault(f"{name}_psnr", []).append(psnr(result, target, shave=scale))
            rows.setdefault(f"{name}_ssim", []).append(ssim(result, target, shave=scale))
    if not rows:
        raise ValueError(f"no held-out image is large enough to measure a {scale}x upscale")
    return {key: float(np.mean(values)) for key, values in rows.items()}
