"""Even out a photo's lighting before ``patch`` quilts it ("delighting", as Substance Sampler's equalize does).

A scan lit unevenly (a flash's hotspot, light falling off across the frame) holds its lighting in every block
that quilting takes, and blocks from bright and dark parts of the photo land side by side: the grid shows. The
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


def illumination(planes: np.ndarray, colour: slice) -> np.ndarray:
    """The smooth lighting (H, W) of ``planes`` (H, W, C) in [0, 1], the mean of its ``colour`` planes being the
    brightness, always positive."""
    grey = planes[..., colour].mean(axis=2, dtype=np.float64)
    height, width = grey.shape
    blurred = gaussian_filter(grey, min(height, width) / _BLUR, mode="reflect")
    y, x = np.mgrid[-1 : 1 : height * 1j, -1 : 1 : width * 1j]
    terms = np.stack([(x**i * y**j).ravel() for i in range(DEGREE + 1) for j in range(DEGREE + 1 - i)], axis=1)
    fitted, *_ = np.linalg.lstsq(terms, np.log(np.maximum(blurred, _DARKEST)).ravel(), rcond=None)
    return np.exp(terms @ fitted).reshape(height, width)


def even_lighting(planes: np.ndarray, colour: slice) -> np.ndarray:
    """``planes`` (H, W, C) float32 in [0, 1] with the lighting of its ``colour`` planes divided out, at their mean
    brightness; the other planes (alpha, a material's other maps) as they are."""
    light = illumination(planes, colour)
    evened = planes.copy()
    evened[..., colour] = np.clip(planes[..., colour] * (light.mean() / light)[..., None], 0.0, 1.0)
    return evened
