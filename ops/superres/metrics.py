"""Quality figures: PSNR and SSIM of an upscaler against bicubic and Lanczos on held-out images."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from skimage.metrics import structural_similarity

from ops.superres.degrade import downscale
from ops.tensors import to_hwc
from ops.upscale import resize


PSNR_CAP = 120.0  # dB: an exact match (a flat held-out colour) counts as this, not as infinity, so means stay finite
_SSIM_WINDOW = 11  # pixels: the Gaussian window (sigma 1.5) that ``ssim`` slides over the image


def psnr(a: np.ndarray, b: np.ndarray, *, shave: int = 0) -> float:
    """PSNR in dB of (H, W, C) values in [0, 1], ignoring ``shave`` pixels at each border; at most PSNR_CAP."""
    return psnr_of(mean_squared_error(a, b, shave=shave))


def mean_squared_error(a: np.ndarray, b: np.ndarray, *, shave: int = 0) -> float:
    """Mean squared error of (H, W, C) values, ignoring ``shave`` pixels at each border."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def psnr_of(mse: float) -> float:
    """PSNR in dB of a mean squared error of values in [0, 1]; an exact match counts as PSNR_CAP."""
    return PSNR_CAP if mse == 0 else min(float(-10 * np.log10(mse)), PSNR_CAP)


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
    """PSNR/SSIM of ``upscale`` (and bicubic, Lanczos) on bicubic-downscaled crops of ``images``.

    ``upscale`` maps a (1, 3, h, w) low-res batch to (1, 3, h*scale, w*scale).
    Borders of ``scale`` pixels are ignored, as is usual for SR figures. PSNR is that of the mean of
    the images' mean squared errors (each image alike), not the mean of their PSNRs: one flat colour
    among them, which bicubic matches exactly (PSNR_CAP), would otherwise pull a mean tens of dB up
    for bicubic and put a healthy model 20 dB under it. SSIM is the images' mean.
    """
    errors: dict[str, list[float]] = {}  # candidate -> each image's mean squared error
    ssims: dict[str, list[float]] = {}
    for image in images:
        hr = crop_for(image, scale, max_side)
        if not measurable(hr, scale):
            continue
        lr = downscale(hr[None], scale)  # (1, 3, h, w)
        target = to_hwc(hr)
        low = to_hwc(lr[0])
        with torch.no_grad():
            candidates = {"val": to_hwc(upscale(lr)[0].float())}
        if baselines:
            candidates["bicubic"] = resize(low, target.shape[:2], "bicubic")
            candidates["lanczos"] = resize(low, target.shape[:2], "lanczos")
        for name, result in candidates.items():
            errors.setdefault(name, []).append(mean_squared_error(result, target, shave=scale))
            ssims.setdefault(name, []).append(ssim(result, target, shave=scale))
    if not errors:
        raise ValueError(f"no held-out image is large enough to measure a {scale}x upscale")
    figures = {}
    for name in errors:
        figures[f"{name}_psnr"] = psnr_of(float(np.mean(errors[name])))
        figures[f"{name}_ssim"] = float(np.mean(ssims[name]))
    return figures
