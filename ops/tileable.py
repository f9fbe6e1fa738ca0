"""Whether a texture tiles: the wrap-around edge compared with the texture's own rows and columns.

super_resolve wraps its tiles' padding, upscale its resampling, and from_texture its filters, on the
axes that tile, so a tiling texture stays tileable; torch-free, as every op uses it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ops.image_io import check_unit_floats, srgb_to_linear

Wrap = Literal["auto"] | bool
WRAP: Wrap = Field("auto", description="keep a tiling texture tileable; auto detects it from the edges per axis")


ALPHA_SCALE_FLOOR = 0.1
"""An alpha that is all 0 and 1 differs neither between neighbouring rows nor between distant ones, so
any texel changed across the wrap would score in the thousands. With this floor, the mean alpha across
the wrap edge may differ by 0.05 (a twentieth of the edge turned over) before the axis stops wrapping."""


def wrap_score(image: np.ndarray, axis: int, floor: float = 1e-6) -> float:
    """Where the wrap-around edge of ``image`` (H, W, C) lies between neighbouring rows (0) and rows half
    the image apart (1); ``axis=0`` compares the last row with the first, ``axis=1`` the last column.

    Measuring against rows half apart, not against neighbours alone, keeps a noisy texture (grass,
    gravel), whose neighbouring rows already differ a lot, from passing for a tiling one: with a
    threshold of 0.5 it takes 7% of the axes of 200 64-pixel grass crops for tiling (12% at 32 pixels)
    and misses 1% of truly tiling ones (5%), where a ratio to neighbouring rows alone of at most 2
    takes 34%. A pattern that repeats within half the image (bricks, floor tiles, grates) makes rows
    half apart as alike as neighbours, or more: the scale is then the neighbours' own difference, so an
    edge up to 1.5 times as different as neighbouring rows still counts as one of them. That finds 177
    of freedoom's 242 flats tiling on both axes, against 134 without it; the rest have a groove or a
    line at the border, which no edge statistic tells from a cut through a photo.
    """
    n = image.shape[axis]
    if n < 3:
        return float("inf")
    others = tuple(i for i in range(3) if i != axis)
    neighbours = float(np.median(np.abs(np.diff(image, axis=axis)).mean(axis=others)))
    half = n // 2
    apart = np.abs(np.take(image, range(n - half), axis=axis) - np.take(image, range(half, n), axis=axis))
    far = float(np.median(apart.mean(axis=others)))
    wrap = float(np.abs(np.take(image, 0, axis=axis) - np.take(image, -1, axis=axis)).mean())
    return (wrap - neighbours) / max(far - neighbours, neighbours, floor)


def detect_wrap(image: np.ndarray, alpha: np.ndarray | None = None, *, threshold: float = 0.5) -> tuple[bool, bool]:
    """(wraps vertically, wraps horizontally): the edge pair looks more like neighbours than like distant
    rows, in the colour (H, W, C) and in the alpha (H, W) when there is one. Alpha decides for a sprite:
    its colour under the cut-out is filled smoothly and can look tiling, but an opaque top edge and a
    transparent bottom one do not tile, and wrapping would bleed the one into the other. A tiling cut-out
    whose border falls on a bar edge (a grate) reads the same way: give it ``wrap: true``."""
    _check_planes(image, alpha, ("image", "alpha"))
    return _detect_wrap(image, alpha, threshold)


def _detect_wrap(image: np.ndarray, alpha: np.ndarray | None, threshold: float = 0.5) -> tuple[bool, bool]:
    planes = [(image, 1e-6)] if alpha is None else [(image, 1e-6), (alpha[..., None], ALPHA_SCALE_FLOOR)]

    def wraps(axis: int) -> bool:
        return all(wrap_score(plane, axis, floor) <= threshold for plane, floor in planes)

    return wraps(0), wraps(1)


def texture_wrap(filled: np.ndarray, coverage: np.ndarray | None, *, normal_map: bool = False) -> tuple[bool, bool]:
    """``detect_wrap`` as every op decides ``wrap: auto`` for a texture, so that its enlargement and its
    material agree: from its values as stored with the colour under a cut-out filled (``color_to_resample``)
    and its coverage alpha (``coverage_of``: a data mask does not decide), colour judged in linear light
    (a normal map's vectors as they are). Linear light finds 177 of freedoom's 242 flats tiling on both
    axes, and takes 74 of 1,080 axes of photo crops for tiling; the sRGB-encoded values find 161 and
    take 80 (bench/bench_tileable.py)."""
    _check_planes(filled, coverage, ("filled", "coverage"))
    return _detect_wrap(filled if normal_map else srgb_to_linear(filled), coverage)


def wrap_axes(
    wrap: Wrap | tuple[bool, bool], filled: np.ndarray, coverage: np.ndarray | None, *, normal_map: bool = False
) -> tuple[bool, bool]:
    """The axes (y, x) that an op's ``wrap`` param wraps: ``auto`` judged by ``texture_wrap`` from the same
    ``filled`` colour and ``coverage``, so that upscale and super_resolve agree on a texture; a boolean for
    both axes; a pair as given."""
    if wrap == "auto":
        return texture_wrap(filled, coverage, normal_map=normal_map)
    if isinstance(wrap, bool):
        return (wrap, wrap)
    return wrap


def _check_planes(image: np.ndarray, alpha: np.ndarray | None, names: tuple[str, str]) -> None:
    """Refuse, naming the argument, what the edge statistics would misjudge without a word: a picture's bytes,
    whose differences wrap around (a photo's uint8 edges scored as tiling), NaN (never tiling), a grey plane
    without its channel axis, an alpha of another size (compared with rows of the colour it does not cover)."""
    colour, coverage = names
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{colour} is a numpy array (height, width, channels); got "
                        f"{type(image).__module__}.{type(image).__name__} (its .color, and its .alpha as {coverage})")
    if image.ndim != 3:
        raise ValueError(f"{colour} is (height, width, channels); got shape {image.shape} ({colour}[..., None] for a "
                         "grey one)")
    check_unit_floats(colour, image)
    if alpha is not None:
        if np.shape(alpha) != image.shape[:2]:
            raise ValueError(f"{coverage} is (height, width) = {image.shape[:2]}, as {colour}; got shape {np.shape(alpha)}")
        check_unit_floats(coverage, alpha)
