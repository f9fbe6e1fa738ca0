"""Small PNG previews of what a build made, for the review page ``remaster report`` writes.

An artist judges a texture by eye, and a browser shows neither DDS nor 16-bit PNG as they are meant, nor a
512 MB texture quickly: every file goes through the readers a build uses (DDS decoded, 16 bits kept until the
end), is reduced with a filter that averages each thumbnail texel's whole footprint (a colour in linear light,
so that a fine checker does not darken; a normal map as vectors, made unit length again), and is written as an
8-bit PNG a browser shows at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ops.image_io import (Image, as_image, image_sides, linear_to_srgb, read_image, read_pixels, srgb_to_linear,
                          write_pixels)
from ops.normal_map import looks_like_normal_map, renormalize, sampled

THUMBNAIL_SIDE = 256  # px, the longer side of a thumbnail: a row of a material's maps fits a screen
CROP_SIDE = 96  # px of the larger image shown at 1:1, where sharpening is judged
CROPS_VERSION = 2  # in the crops' names, so that those of the middle, which version 1 cut, are cut again
_BAND_ROWS = 256  # rows of a texture reduced across at a time (``_box_reduced``)


@dataclass(frozen=True)
class Preview:
    """A preview written (or found written before): its file and its sides in px."""

    path: Path
    width: int
    height: int


def thumbnail(source: Path, destination: Path, *, normal_map: bool | None = None,
              side: int = THUMBNAIL_SIDE) -> Preview:
    """Write ``source`` (any format remaster reads) to ``destination`` as a PNG of at most ``side`` px a side,
    never enlarged; of a DDS with mips, from its smallest level as large. ``normal_map``: reduce it as vectors;
    None judges by its texels (``looks_like_normal_map``), as a DDS of BC5 or a ``*_normal.png`` holds. Raises
    ``ImageReadError`` (a ValueError) naming an unreadable file."""
    pixels, bit_depth = read_pixels(source, at_least=side)  # integers: a band at a time is made floats

    def stored(rows: slice) -> Image:  # values as stored: a normal map's vectors, sRGB codes
        return as_image(pixels[rows], bit_depth, "linear")

    rows, columns, planes = pixels.shape
    width, height = _fitted(columns, rows, side)
    judged = as_image(sampled(pixels), bit_depth, "linear").color  # what looks_like_normal_map samples of it
    as_vectors = looks_like_normal_map(judged) if normal_map is None else normal_map
    reduce = _reduced_vectors if as_vectors and planes in (3, 4) else _reduced_colour
    write_pixels(destination, _as_8_bit(reduce(stored, rows, width, height)))
    return Preview(destination, width, height)


def crops(low: Path, high: Path, destinations: tuple[Path, Path], *, side: int = CROP_SIDE) -> tuple[Preview, Preview]:
    """The same region of ``low`` (an input) and ``high`` (its enlargement), cut at 1:1 from each, into
    ``destinations`` (low's, high's): the ``side`` px square of ``high`` with the most detail (``_most_detailed``),
    or all of it where smaller, and the texels of ``low`` under it. Shown at one size side by side, they show what
    the enlargement added."""
    low_image, high_image = read_image(low, colorspace="linear"), read_image(high, colorspace="linear")
    scale_x, scale_y = high_image.width / low_image.width, high_image.height / low_image.height
    width, height = min(side, high_image.width), min(side, high_image.height)
    left, top = _most_detailed(high_image, width, height)
    low_box = (int(left / scale_x), int(top / scale_y),
               max(1, round(width / scale_x)), max(1, round(height / scale_y)))
    return (_cut(low_image, low_box, destinations[0]), _cut(high_image, (left, top, width, height), destinations[1]))


def sides(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image from its header: a preview written before, or a file a preview shows, so that
    the page can say its size without decoding it; None where it cannot be read (a half-copied folder: the
    preview is then written again)."""
    found = image_sides(path)
    return None if found is None else (found[1], found[0])


def _fitted(width: int, height: int, side: int) -> tuple[int, int]:
    """The sides of a ``width`` x ``height`` image reduced to fit ``side``, its shape kept; never enlarged."""
    factor = min(1.0, side / max(width, height))
    return max(1, round(width * factor)), max(1, round(height * factor))


def _reduced_colour(stored: Callable[[slice], Image], rows: int, width: int, height: int) -> Image:
    """The ``rows`` of ``stored`` (sRGB codes, a band at a time) reduced in linear light, its colour weighted by
    its alpha so that the colour of invisible texels (often black) does not seep into the edges of a sprite."""

    def planes(band: slice) -> np.ndarray:
        texels = stored(band)
        light = srgb_to_linear(texels.color)
        if texels.alpha is None:
            return light
        alpha = texels.alpha[..., None]
        return np.concatenate([light * alpha, alpha], axis=2)

    reduced = _box_reduced(planes, rows, width, height)
    channels = reduced.shape[2] - (reduced.shape[2] in (2, 4))
    weighted = reduced[..., :channels]
    if channels == reduced.shape[2]:
        return Image(linear_to_srgb(np.clip(weighted, 0.0, 1.0)))
    coverage = np.clip(reduced[..., channels:], 0.0, 1.0)
    colour = np.where(coverage > 0, weighted / np.maximum(coverage, 1e-6), 0.0)
    return Image(linear_to_srgb(np.clip(colour, 0.0, 1.0)), coverage[..., 0])


def _reduced_vectors(stored: Callable[[slice], Image], rows: int, width: int, height: int) -> Image:
    """The ``rows`` of normal map ``stored`` (a band at a time) reduced as vectors: their average, made unit length
    again (an average is shorter, and would show the map greyer and flatter than the engine lights it). Its alpha
    (a height some keep there) is averaged to the same sides."""

    def planes(band: slice) -> np.ndarray:
        texels = stored(band)
        return texels.color if texels.alpha is None else np.concatenate([texels.color, texels.alpha[..., None]], axis=2)

    reduced = _box_reduced(planes, rows, width, height)
    alpha = None if reduced.shape[2] == 3 else np.clip(reduced[..., 3], 0.0, 1.0)
    return Image(renormalize(np.clip(reduced[..., :3], 0.0, 1.0)), alpha)


def _box_reduced(planes_of: Callable[[slice], np.ndarray], rows: int, width: int, height: int) -> np.ndarray:
    """The planes ``planes_of`` gives for each band of ``rows``, reduced to (height, width, C): across a band of
    ``_BAND_ROWS`` at a time, then down, the two passes Pillow's box filter makes (the same texels, but for a
    float's last bit), so that only a band's floats are made at once: the light of a whole 8192 px RGBA texture,
    weighted by its alpha, took 3 GB beside the texture's own floats."""
    bands = range(0, rows, _BAND_ROWS)
    across = [_resized(planes_of(slice(top, top + _BAND_ROWS)), width, min(_BAND_ROWS, rows - top)) for top in bands]
    return _resized(np.concatenate(across, axis=0), width, height)


def _resized(planes: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, C) floats reduced to (height, width, C) by Pillow's box filter, which averages each output texel's
    whole footprint at any factor: no aliasing of a fine pattern, and no ringing past the values there were."""
    if planes.shape[:2] == (height, width):
        return planes.astype(np.float32)
    return np.stack([np.asarray(PILImage.fromarray(planes[..., c].astype(np.float32), mode="F").resize(
        (width, height), PILImage.Resampling.BOX)) for c in range(planes.shape[2])], axis=2)


def _as_8_bit(image: Image) -> np.ndarray:
    """(H, W, planes) uint8 of values as stored (sRGB codes, a normal map's vectors), alpha last."""
    planes = [image.color] if image.alpha is None else [image.color, image.alpha[..., None]]
    return np.rint(np.clip(np.concatenate(planes, axis=2), 0.0, 1.0) * 255.0).astype(np.uint8)


def _most_detailed(image: Image, width: int, height: int) -> tuple[int, int]:
    """(left, top) of the ``width`` x ``height`` window of ``image`` whose texels differ most from their neighbours:
    sharpening is judged on a brick's edges, not on a flat corner of sky or the transparent margin of a sprite.
    Windows are tried at steps of a quarter of their side; of those alike (a flat texture), the one nearest the
    middle."""
    step = max(1, min(width, height) // 4)
    windows = _window_sums(_detail(image, step), height // step, width // step)
    tops = np.minimum(np.arange(windows.shape[0]) * step, image.height - height)
    lefts = np.minimum(np.arange(windows.shape[1]) * step, image.width - width)
    off_middle = np.abs(tops - (image.height - height) / 2)[:, None] + np.abs(lefts - (image.width - width) / 2)
    best = np.flatnonzero(windows >= windows.max() * (1 - 1e-6))
    chosen = best[np.argmin(off_middle.flat[best])]
    return int(lefts[chosen % windows.shape[1]]), int(tops[chosen // windows.shape[1]])


def _detail(image: Image, step: int) -> np.ndarray:
    """How much each texel differs from its left and upper neighbours, summed over blocks of ``step`` px (the
    texels past the last whole block left out); colour weighted by alpha, so an invisible margin counts as flat."""
    seen = image.color if image.alpha is None else image.color * image.alpha[..., None]
    grey = seen.mean(axis=2)
    detail = np.zeros_like(grey)
    detail[:, 1:] += np.abs(np.diff(grey, axis=1))
    detail[1:, :] += np.abs(np.diff(grey, axis=0))
    rows, columns = image.height // step, image.width // step
    whole = detail[:rows * step, :columns * step]
    return whole.reshape(rows, step, columns, step).sum(axis=(1, 3), dtype=np.float64)


def _window_sums(blocks: np.ndarray, down: int, across: int) -> np.ndarray:
    """The sum of every ``down`` x ``across`` window of ``blocks``, by its top-left block, through a summed-area
    table."""
    summed = np.pad(blocks.cumsum(axis=0).cumsum(axis=1), ((1, 0), (1, 0)))
    return summed[down:, across:] - summed[:-down, across:] - summed[down:, :-across] + summed[:-down, :-across]


def _cut(image: Image, box: tuple[int, int, int, int], destination: Path) -> Preview:
    """The texels of ``image`` in ``box`` (left, top, width, height), as they are, to ``destination``."""
    left, top, width, height = box
    rows, columns = slice(top, top + height), slice(left, left + width)
    alpha = None if image.alpha is None else image.alpha[rows, columns]
    write_pixels(destination, _as_8_bit(Image(image.color[rows, columns], alpha)))
    return Preview(destination, width, height)
