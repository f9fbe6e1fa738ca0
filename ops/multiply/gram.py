"""Texture synthesis by matching Gram matrices of CNN features (Gatys et al. 2015).

A variant starts as coloured noise and is optimised with L-BFGS until the
Gram matrices (and means) of its feature maps match the exemplar's. Outputs
above 256² are synthesised coarse-to-fine: the image is optimised at a quarter
or half size first, where each step is cheap and large structures settle,
then upsampled and refined, which mostly adds fine detail. A tileable variant
is optimised with circular padding everywhere, so its two edges are
neighbours like any two interior columns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F

from ops.multiply.features import VGG19, Padding, RandomFilters, gram_matrix

log = logging.getLogger(__name__)

COARSEST_SIDE = 128  # coarse-to-fine stops halving here: smaller gives structure too little room
MIN_EXEMPLAR_SIDE = 16  # below this the feature pyramid has a single level and nothing to match


@dataclass(frozen=True)
class FeaturePart:
    """A feature network and the image planes it sees (VGG sees colour, random filters all planes)."""

    network: RandomFilters | VGG19
    planes: slice


def texture_statistics(parts: list[FeaturePart], x: torch.Tensor, *, padding: Padding, side: int) -> list[torch.Tensor]:
    """Gram matrix and mean of every feature map; ``side`` (the exemplar's) fixes how deep to look."""
    stats = []
    for part in parts:
        for features in part.network(x[:, part.planes], padding=padding, levels=part.network.levels_for(side)):
            stats += [gram_matrix(features), features.mean(dim=(2, 3))]
    return stats


def texture_loss(stats: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    """Sum of relative squared errors, so every layer counts the same whatever its scale."""
    terms = ((s - t).square().sum() / (t.square().sum() + 1e-8) for s, t in zip(stats, targets, strict=True))
    return cast(torch.Tensor, sum(terms))  # never sum's start, 0: every part gives a level, so stats is not empty


def scales(size: int, exemplar_side: int) -> int:
    """How many times to halve a ``size`` output (and the exemplar) before the first optimisation."""
    halvings = 0
    if size <= 256:
        return 0
    while (size >> halvings) % 2 == 0 and (size >> (halvings + 1)) >= COARSEST_SIDE and (
        exemplar_side >> (halvings + 1)
    ) >= 2 * MIN_EXEMPLAR_SIDE:
        halvings += 1
    return halvings


def steps_per_scale(steps: int, size: int, halvings: int) -> list[int]:
    """Optimiser steps per scale, coarsest first: ``steps`` at 128² and fewer at larger sides.

    A step at side s costs (s/128)² as much, and a finer scale starts from an
    upsampled solution, so side s gets steps * 128 / s (at least 5, at most
    ``steps``): 100, 50, 25 for 128, 256, 512, whatever the exemplar allows.
    """
    sides = [size >> (halvings - level) for level in range(halvings + 1)]
    return [max(5, min(steps, steps * COARSEST_SIDE // side)) for side in sides]


def upsample(x: torch.Tensor, *, padding: Padding) -> torch.Tensor:
    """Double (B, C, H, W) by Fourier (band-limited) interpolation.

    Bilinear doubling makes the gradient energy alternate between even and odd
    pixel pairs; a few refinement steps cannot erase that, and two doublings
    leave a 4-px grid whose strong phase falls on the wrap edge, reading as a
    seam. Fourier interpolation is exactly shift-equivariant on a torus. A
    non-tileable image is mirrored into a torus first, so its borders do not
    wrap into each other.
    """
    h, w = x.shape[-2:]
    if padding == "reflect":
        x = torch.cat([x, x.flip(-2)], dim=-2)
        x = torch.cat([x, x.flip(-1)], dim=-1)
    spectrum = torch.fft.fft2(x)  # (B, C, h', w')
    sh, sw = spectrum.shape[-2:]
    hh, hw = sh // 2, sw // 2
    padded = spectrum.new_zeros(spectrum.shape[:-2] + (2 * sh, 2 * sw))
    for rows in (slice(0, hh), slice(-hh, None)):
        for cols in (slice(0, hw), slice(-hw, None)):
            padded[..., rows, cols] = spectrum[..., rows, cols]
    doubled = torch.fft.ifft2(padded).real * 4  # (B, C, 2h', 2w')
    return doubled[..., : 2 * h, : 2 * w].clamp(0, 1)


def synthesize(
    exemplar: torch.Tensor,
    size: int,
    parts: list[FeaturePart],
    *,
    tileable: bool,
    seed: int,
    steps: int,
    progress: Callable[[int, int], None] | None = None,
    normal_map: bool = False,
) -> torch.Tensor:
    """A new ``size``² texture with the exemplar's feature statistics.

    ``exemplar`` is (C, H, W) in [0, 1] (sRGB-encoded colour, then alpha) on
    the device to compute on. Returns (C, size, size) in [0, 1] on that device,
    before colour matching. The start noise comes from a CPU generator seeded
    with ``seed``, so a seed gives the same variant on every device type. A ``normal_map``'s borders are
    padded by repeating its edge texels rather than mirroring them: a mirrored vector keeps the component it
    should negate, and its statistics would teach the variant tilts the map never holds.
    """
    if exemplar.ndim != 3:
        raise ValueError(f"expected an exemplar of shape (C, H, W), got {tuple(exemplar.shape)}")
    if min(exemplar.shape[1:]) < MIN_EXEMPLAR_SIDE:
        raise ValueError(f"the exemplar is {exemplar.shape[2]}x{exemplar.shape[1]}; gram needs {MIN_EXEMPLAR_SIDE} px")
    border: Padding = "replicate" if normal_map else "reflect"
    padding: Padding = "circular" if tileable else border
    device, channels = exemplar.device, exemplar.shape[0]
    halvings = scales(size, min(exemplar.shape[1:]))
    schedule = steps_per_scale(steps, size, halvings)
    total, done = sum(schedule), 0

    generator = torch.Generator().manual_seed(seed)
    mean = exemplar.mean(dim=(1, 2)).cpu()[:, None, None]
    std = exemplar.std(dim=(1, 2)).cpu()[:, None, None]
    side = size >> halvings
    image = (mean + std * torch.randn((channels, side, side), generator=generator)).clamp(0, 1)[None].to(device)

    for level, level_steps in enumerate(schedule):
        scale = halvings - level
        target_image = exemplar[None]
        for _ in range(scale):
            target_image = F.avg_pool2d(target_image, 2)
        exemplar_side = min(target_image.shape[-2:])
        with torch.no_grad():
            targets = texture_statistics(parts, target_image, padding=border, side=exemplar_side)
        if level:  # the mirror upsample makes is cropped off again: it sets the interpolation's border alone
            image = upsample(image, padding="circular" if tileable else "reflect")
        image = image.detach().requires_grad_(True)
        optimizer = torch.optim.LBFGS(
            [image], lr=1.0, max_iter=level_steps, max_eval=level_steps, history_size=20, line_search_fn="strong_wolfe"
        )
        evaluations = 0

        def closure() -> torch.Tensor:
            nonlocal evaluations
            optimizer.zero_grad()
            loss = texture_loss(texture_statistics(parts, image, padding=padding, side=exemplar_side), targets)
            loss.backward()
            evaluations += 1
            if progress is not None:
                progress(done + min(evaluations, level_steps), total)
            return loss

        loss = optimizer.step(closure)
        done += level_steps
        log.debug("gram scale 1/%d: %d evaluations, loss %.4g", 1 << scale, evaluations, float(loss.detach()))
        image = image.detach().clamp(0, 1)
    if progress is not None:
        progress(total, total)
    return image[0]
