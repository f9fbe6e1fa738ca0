"""Colour under fully transparent texels, filled from the visible ones before any resampling.

A PNG's colour where alpha is 0 means nothing and is usually black, yet a
resampling filter or a network reads it: a cut-out sprite comes out with a dark
fringe along its edge. Filling those texels from the nearest visible colours
("alpha bleeding", what engines do before building mipmaps) keeps an edge its
own colour, and gives mipmaps of the output the same benefit.

Not every alpha channel is coverage, though: legacy textures often keep a
specular or gloss mask in the alpha of a fully visible colour map, and a
normal map's alpha is usually height. Filling there would overwrite visible
colour, so the ops take ``alpha: auto | coverage | data``.

An enlarged alpha is also held to its source's local range, so that fully
opaque and fully transparent areas stay exactly so.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

AlphaMeaning = Literal["auto", "coverage", "data"]
ALPHA_MEANING: AlphaMeaning = Field(
    "auto", description="what the alpha channel holds: coverage (colour under transparent texels is filled from "
    "visible ones first, no dark fringes), data (a specular/gloss/height mask: colour kept as it is), "
    "auto (coverage, except data for kind: normal)"
)


def holds_coverage(meaning: AlphaMeaning, *, normal_map: bool = False) -> bool:
    """Whether an alpha meant as ``meaning`` is coverage (what is there and what is not) rather than data."""
    return meaning == "coverage" or (meaning == "auto" and not normal_map)


def coverage_of(alpha: np.ndarray | None, meaning: AlphaMeaning, *, normal_map: bool = False) -> np.ndarray | None:
    """``alpha`` when it holds coverage, None when it holds data or is absent."""
    return alpha if holds_coverage(meaning, normal_map=normal_map) else None


def color_to_resample(color: np.ndarray, alpha: np.ndarray | None, meaning: AlphaMeaning, *, normal_map: bool = False) -> np.ndarray:
    """The (H, W, C) colour an op should enlarge: bled under transparent texels only when alpha is coverage."""
    coverage = coverage_of(alpha, meaning, normal_map=normal_map)
    return bleed(color, coverage) if coverage is not None else color


def bleed(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(H, W, C) colour in which every texel whose ``alpha`` (H, W) is 0 takes the colour of the visible
    texels around it; visible texels are unchanged. An image with no visible texel is returned as is."""
    known = alpha > 0
    if known.all() or not known.any():
        return color
    weight = known.astype(np.float32)
    return _push_pull(color * weight[..., None], weight).astype(color.dtype)


def _push_pull(weighted: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fill the texels of zero ``weight`` from a 2x coarser copy of the image, recursively (pull-push).

    ``weighted`` (H, W, C) is colour times ``weight`` (H, W); each level sums 2x2 blocks of both.
    """
    H, W = weight.shape
    seen = weight[..., None] > 0
    filled = np.divide(weighted, weight[..., None], out=np.zeros_like(weighted), where=seen)
    if seen.all() or (H == 1 and W == 1):
        return filled
    pad = ((0, H % 2), (0, W % 2))
    coarse_weighted = np.pad(weighted, (*pad, (0, 0))).reshape((H + 1) // 2, 2, (W + 1) // 2, 2, -1).sum(axis=(1, 3))
    coarse_weight = np.pad(weight, pad).reshape((H + 1) // 2, 2, (W + 1) // 2, 2).sum(axis=(1, 3))
    coarse = _push_pull(coarse_weighted, coarse_weight)  # (ceil(H/2), ceil(W/2), C)
    return np.where(seen, filled, coarse.repeat(2, axis=0).repeat(2, axis=1)[:H, :W])


def within_source_range(upscaled: np.ndarray, source: np.ndarray, wrap: tuple[bool, bool] = (False, False)) -> np.ndarray:
    """Resampled alpha (H', W') held within the range of the source alpha (H, W) in each texel's 3x3 neighbourhood.

    A network's alpha is close to its source but not exact: fully opaque texels come out at 254 and a
    cut-out's empty area at 1, which an engine reads as translucent. Wherever the source is uniformly
    opaque or transparent around a texel, this makes the result exactly that again; along an edge the
    range is the whole [0, 1] and the enlarged value is kept. ``wrap`` (y, x) reads the neighbourhood
    across the opposite border, as a tiling texture does.
    """
    return SourceRange(source, wrap).clip(upscaled, top=0, size=upscaled.shape)


class SourceRange:
    """``within_source_range`` for an enlarged alpha that comes a band of rows at a time: the source's
    neighbourhood ranges are found once."""

    def __init__(self, source: np.ndarray, wrap: tuple[bool, bool] = (False, False)) -> None:
        modes: list[Literal["wrap", "edge"]] = ["wrap" if w else "edge" for w in wrap]
        padded = np.pad(source, ((1, 1), (0, 0)), mode=modes[0])
        padded = np.pad(padded, ((0, 0), (1, 1)), mode=modes[1])
        windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))  # (H, W, 3, 3)
        self.low, self.high = windows.min(axis=(2, 3)), windows.max(axis=(2, 3))  # (H, W)

    def clip(self, upscaled: np.ndarray, *, top: int, size: tuple[int, int]) -> np.ndarray:
        """Rows ``top`` .. of the alpha resampled to ``size`` (H', W'), clipped to their source cells' ranges:
        the cell under each texel's centre."""
        rows = _cells(np.arange(top, top + upscaled.shape[0]), self.low.shape[0], size[0])
        columns = _cells(np.arange(size[1]), self.low.shape[1], size[1])
        low, high = self.low[np.ix_(rows, columns)], self.high[np.ix_(rows, columns)]  # (rows, W')
        return np.clip(upscaled, low, high).astype(upscaled.dtype)


def _cells(texels: np.ndarray, source: int, resampled: int) -> np.ndarray:
    """The source cell under the centre of each texel of an axis of ``source`` cells resampled to ``resampled``
    (an enlargement by s: texel // s)."""
    return (2 * texels + 1) * source // (2 * resampled)


def passing_level(cutoff: float) -> int:
    """The least 8-bit alpha that an alpha test at ``cutoff`` keeps: alpha >= cutoff, as Direct3D's
    GREATEREQUAL test and a shader's ``clip(alpha - cutoff)`` keep it (0.5: 128, 0.2: 51)."""
    return math.ceil(round(cutoff * 255, 6))


def share_passing(alpha: np.ndarray, cutoff: float) -> float:
    """The share of texels an alpha test at ``cutoff`` keeps of ``alpha`` (H, W) as 8 bits store it."""
    return float((np.rint(alpha * 255) >= passing_level(cutoff)).mean())


def with_coverage(alpha: np.ndarray, cutoff: float, share: float) -> np.ndarray:
    """``alpha`` in 8-bit steps, scaled so that an alpha test at ``cutoff`` keeps ``share`` of its texels, as
    near as its values allow: a mip level's averaged alpha leaves fewer texels past a cut-off than the level
    above it (a hedge goes bald at a distance), and scaling brings back as many as the top level has (Castaño
    2010). Chosen among the 8-bit values the level is stored in, so that the test keeps exactly the texels
    counted: the lowest kept value lands at least a quarter of a step above the cut-off, the highest dropped
    one as far below."""
    stored = np.rint(alpha * 255).astype(np.int32)  # (H, W), as the level is stored
    counts = np.bincount(stored.ravel(), minlength=256)
    kept = np.append(np.cumsum(counts[::-1])[::-1], 0)  # (257,): texels at each value or above; at 256, none
    miss = np.abs(kept - share * alpha.size).astype(np.float64)
    miss[0] = np.inf  # no scale makes an alpha of 0 pass
    level = passing_level(cutoff)
    best = np.flatnonzero(miss == miss.min())  # values keeping the same texels: the one nearest the level
    lowest = int(best[np.abs(best - level).argmin()])  # scales least: the least stored value the test is to keep
    scale = (level - 0.5) / (lowest - 0.5)  # lowest -> past the cut-off, lowest - 1 -> short of it
    return np.minimum(stored * np.float32(scale / 255), np.float32(1.0))
