"""Quality figures: PSNR and SSIM of an upscaler against bicubic and Lanczos on held-out images.

An image with coverage (a fourth plane, ``data.load_image``) is scored by its visible texels: each
texel's error and SSIM count by its alpha, so colour under alpha 0, which the model is not taught,
scores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import overload

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


def mean_squared_error(a: np.ndarray, b: np.ndarray, *, shave: int = 0, weight: np.ndarray | None = None) -> float:
    """Mean squared error of (H, W, C) values, ignoring ``shave`` pixels at each border; with ``weight``
    (H, W), each texel's error counts by it."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    a, b, weight = _shaved(a, shave), _shaved(b, shave), _shaved(weight, shave)
    return _mean((a.astype(np.float64) - b.astype(np.float64)) ** 2, weight)


def psnr_of(mse: float) -> float:
    """PSNR in dB of a mean squared error of values in [0, 1]; an exact match counts as PSNR_CAP."""
    return PSNR_CAP if mse == 0 else min(float(-10 * np.log10(mse)), PSNR_CAP)


def ssim(a: np.ndarray, b: np.ndarray, *, shave: int = 0, weight: np.ndarray | None = None) -> float:
    """Mean SSIM of (H, W, C) values in [0, 1] (Gaussian window, as Wang et al. 2004); with ``weight``
    (H, W), each texel's SSIM counts by it. Both leave out half a window at each border, as skimage does."""
    a, b, weight = _shaved(a, shave), _shaved(b, shave), _shaved(weight, shave)
    mean, texels = structural_similarity(
        a.astype(np.float64), b.astype(np.float64), data_range=1.0, channel_axis=2, gaussian_weights=True, sigma=1.5,
        full=True,
    )
    if weight is None:
        return float(mean)
    pad = _SSIM_WINDOW // 2
    return _mean(_shaved(texels, pad), _shaved(weight, pad))


@overload
def _shaved(image: np.ndarray, shave: int) -> np.ndarray: ...


@overload
def _shaved(image: None, shave: int) -> None: ...


def _shaved(image: np.ndarray | None, shave: int) -> np.ndarray | None:
    """(H, W, ...) ``image`` less ``shave`` pixels at each border."""
    return image[shave:-shave, shave:-shave] if shave and image is not None else image


def _mean(values: np.ndarray, weight: np.ndarray | None) -> float:
    """The mean of (H, W, C) ``values``, each texel counted by ``weight`` (H, W) where there is one."""
    if weight is None:
        return float(np.mean(values))
    return float(np.sum(values * weight[..., None]) / (np.sum(weight, dtype=np.float64) * values.shape[2]))


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


def measurable(image: torch.Tensor, scale: int, *, max_side: int = 512) -> bool:
    """Whether ``compare`` can measure (C, H, W) ``image`` at ``scale`` (it skips the others): large enough,
    and, with coverage, some texel visible among those its crop to ``max_side`` scores."""
    hr = crop_for(image, scale, max_side)
    if min(hr.shape[1:]) < min_side(scale):
        return False
    scored = scale + _SSIM_WINDOW // 2  # SSIM scores the fewest texels: the shave, then half a window
    return hr.shape[0] == 3 or bool(hr[3, scored:-scored, scored:-scored].any())


def compare(
    images: list[torch.Tensor],
    upscale: Callable[[torch.Tensor], torch.Tensor],
    scale: int,
    *,
    max_side: int = 512,
    baselines: bool = True,
) -> dict[str, float]:
    """PSNR/SSIM of ``upscale`` (and bicubic, Lanczos) on bicubic-downscaled crops of ``images`` (C, H, W),
    C = 3, or 4 with coverage, by which each texel counts.

    ``upscale`` maps a (1, 3, h, w) low-res batch to (1, 3, h*scale, w*scale).
    Borders of ``scale`` pixels are ignored, as is usual for SR figures. PSNR is that of the mean of
    the images' mean squared errors (each image alike), not the mean of their PSNRs: one flat colour
    among them, which bicubic matches exactly (PSNR_CAP), would otherwise pull a mean tens of dB up
    for bicubic and put a healthy model 20 dB under it. SSIM is the images' mean.
    """
    errors: dict[str, list[float]] = {}  # candidate -> each image's mean squared error
    ssims: dict[str, list[float]] = {}
    for image in images:
        if not measurable(image, scale, max_side=max_side):
            continue
        hr = crop_for(image, scale, max_side)
        weight = to_hwc(hr[3:])[..., 0] if hr.shape[0] == 4 else None  # (h*scale, w*scale) alpha
        target = to_hwc(hr[:3])
        for name, result in _candidates(hr[:3], upscale, scale, baselines).items():
            errors.setdefault(name, []).append(mean_squared_error(result, target, shave=scale, weight=weight))
            ssims.setdefault(name, []).append(ssim(result, target, shave=scale, weight=weight))
    if not errors:
        raise ValueError(f"no held-out image is large enough, and visible enough, to measure a {scale}x upscale")
    figures = {}
    for name in errors:
        figures[f"{name}_psnr"] = psnr_of(float(np.mean(errors[name])))
        figures[f"{name}_ssim"] = float(np.mean(ssims[name]))
    return figures


def _candidates(
    hr: torch.Tensor, upscale: Callable[[torch.Tensor], torch.Tensor], scale: int, baselines: bool
) -> dict[str, np.ndarray]:
    """What each upscaler makes of (3, H, W) ``hr`` bicubic-downscaled by ``scale``, as (H, W, 3): the model
    (``val``), and with ``baselines`` bicubic and Lanczos, which a model has to beat to be worth its cost."""
    lr = downscale(hr[None], scale)  # (1, 3, h, w)
    with torch.no_grad():
        candidates = {"val": to_hwc(upscale(lr)[0].float())}
    if baselines:
        low, size = to_hwc(lr[0]), (hr.shape[1], hr.shape[2])
        candidates["bicubic"] = resize(low, size, "bicubic")
        candidates["lanczos"] = resize(low, size, "lanczos")
    return candidates
