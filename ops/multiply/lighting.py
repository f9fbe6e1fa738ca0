"""Even out a photo's lighting before ``multiply`` makes variants of it ("delighting", as Substance Sampler's
equalize does), by either method.

A scan lit unevenly (a flash's hotspot, light falling off across the frame) holds its lighting in every block
that quilting takes, and blocks from bright and dark parts of the photo land side by side: the grid shows;
``gram`` learns the light as part of the texture and makes bright and dark blotches of it. The
lighting is taken as smooth and multiplicative: a second-order polynomial fitted to the logarithm of the
photo's blurred brightness (a Gaussian falloff is exactly one), which the texture's own detail, being fine and
everywhere, barely moves. Dividing it out leaves the detail at the photo's mean level, so every block carries
the same light; a tileable variant stays seamless, as quilting is unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

DEGREE = 2  # a hotspot or a falloff; a higher order starts to follow the texture's own large features
_BLUR = 16  # the brightness is blurred over a sixteenth of the shorter side first, so that detail weighs little
_DARKEST = 1 / 255  # the log of a black texel is kept finite
# Texels darker than this (sRGB-encoded, ten levels of 255) are taken for the texture's black (a void, a crack), not
# for light too dim to see: the fit leaves them out.
_NEAR_BLACK = 10 / 255
# The brightness is fitted averaged down to about this many texels on the shorter side (a photo up to twice it,
# such as the bundled 256² flash photos, on every texel): the light is smooth, and fitted on every texel a 12 MP
# photo took 35 s and 1.8 GB, as long as quilting it.
_FIT_SIDE = 256
_POWERS = [(i, j) for i in range(DEGREE + 1) for j in range(DEGREE + 1 - i)]  # x**i * y**j, the fit's terms


def illumination(planes: np.ndarray, colour: slice) -> np.ndarray:
    """The smooth lighting (H, W) float32 of ``planes`` (H, W, C) in [0, 1], the mean of its ``colour`` planes being
    the brightness, relative to its mean over the texels that are not near black, always positive.

    Near-black texels (a void, a dark crack, a quarter left black) say nothing of the light: blurred in and fitted
    on, they pulled the fit down around them, and a texture a quarter black came out with its lit part darkened to
    three quarters and, beside the black, brightened into white. They are left out of the blur and the fit, and
    the light is taken relative to the lit texels alone, and held over them to no less than its least over the lit
    texels (``_held_to_lit``)."""
    grey = planes[..., colour].mean(axis=2, dtype=np.float32)
    height, width = grey.shape
    lit = grey >= _NEAR_BLACK
    grey *= lit  # in place: the near-black texels count for nothing in the cells' sums
    step = max(1, min(height, width) // _FIT_SIDE)
    share = _averaged(lit, step)  # each cell's share of lit texels
    if not share.any():
        return np.ones((height, width), np.float32)  # all black: no light to see, and none to divide out
    sigma = min(share.shape) / _BLUR
    weight = gaussian_filter(share, sigma, mode="reflect")  # how much lit texture each blurred cell saw
    blurred = np.divide(gaussian_filter(_averaged(grey, step), sigma, mode="reflect"), weight,
                        out=np.ones_like(weight), where=weight > 0)
    y, x = _cell_centres(height, share.shape[0], step), _cell_centres(width, share.shape[1], step)
    fitted = _weighted_fit(y, x, np.log(np.maximum(blurred, _DARKEST)), weight)
    level = np.average(np.exp(_polynomial(fitted, y, x)), weights=share)
    light = _polynomial(fitted, np.linspace(-1, 1, height), np.linspace(-1, 1, width))
    light -= np.float32(np.log(level))
    _held_to_lit(light, lit)
    return np.exp(light, out=light)


def _held_to_lit(light: np.ndarray, lit: np.ndarray) -> None:
    """Raise the log of the ``light`` (H, W), in place, to its least over the ``lit`` texels where it falls below.
    Over a black area the fit has no texel to follow and goes on as its polynomial does: a hotspot in a corner of a
    texture otherwise near black fell on across the rest to a hundredth, and its near-black texels, divided by that,
    came out up to white. Now no texel is brightened more than a lit one is; a texture with no near-black texel
    keeps every value, its least being over them all."""
    np.maximum(light, light.min(initial=np.inf, where=lit), out=light)


def _weighted_fit(y: np.ndarray, x: np.ndarray, values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The coefficients of ``_POWERS`` that fit ``values`` (len(y), len(x)) at the cells ``y`` by ``x`` in least
    squares, each cell counting by its ``weight``: a cell that saw no lit texel counts for nothing."""
    root = np.sqrt(weight).ravel()
    terms = np.stack([np.outer(y**j, x**i).ravel() for i, j in _POWERS], axis=1)
    fitted, *_ = np.linalg.lstsq(terms * root[:, None], values.ravel() * root, rcond=None)
    return fitted


def _polynomial(coefficients: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(len(y), len(x)) float32: the polynomial of ``_POWERS`` with ``coefficients`` on the grid of ``y`` and ``x``,
    a term at a time, so that a large photo's grid is never held once per term. Its terms are each a row times a
    column, worked out in float64; the grid in float32, as the photo is, which keeps the light within a
    millionth, where float64 grids held 0.6 GB of a 12 MP photo at once."""
    total = np.zeros((len(y), len(x)), np.float32)
    for (i, j), coefficient in zip(_POWERS, coefficients, strict=True):
        total += np.outer((coefficient * y**j).astype(np.float32), (x**i).astype(np.float32))
    return total


def _averaged(grey: np.ndarray, step: int) -> np.ndarray:
    """The mean of each ``step``-sided square of ``grey`` (H, W), the rows and columns past the last whole one
    left out."""
    rows, columns = grey.shape[0] // step, grey.shape[1] // step
    return grey[: rows * step, : columns * step].reshape(rows, step, columns, step).mean(axis=(1, 3))


def _cell_centres(side: int, cells: int, step: int) -> np.ndarray:
    """Where the centres of ``cells`` squares of ``step`` texels lie along a side of ``side`` texels, in the
    fit's coordinates: -1 at the first texel's centre, 1 at the last's."""
    return (np.arange(cells) * step + (step - 1) / 2) * (2 / max(side - 1, 1)) - 1


def even_lighting(planes: np.ndarray, colour: slice) -> np.ndarray:
    """``planes`` (H, W, C) float32 in [0, 1] with the lighting of its ``colour`` planes divided out, at the mean
    brightness of their texels that are not near black; the other planes (alpha, a material's other maps) as they
    are."""
    light = illumination(planes, colour)
    gain = np.divide(1.0, light, out=light)
    evened = planes.copy()
    lit = evened[..., colour]  # a view: scaled and clipped in place, where each step held a copy of the photo
    lit *= gain[..., None]
    np.clip(lit, 0.0, 1.0, out=lit)
    return evened
