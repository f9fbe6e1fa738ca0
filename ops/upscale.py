"""Plain resampling: the baseline every learned op is measured against."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, cast, get_args

import numpy as np
from PIL import Image as PILImage
from pydantic import Field, field_validator

from ops.alpha import ALPHA_MEANING, AlphaMeaning, color_to_resample, coverage_of, within_source_range
from ops.image_io import Image, check_image, check_unit_floats, read_image, refuse_oversized, write_image
from ops.normal_map import (
    SPEC_WORDS, KindWords, check_normal_map, kind_arguments, renormalize, sampled, warn_if_normal_map,
)
from ops.registry import SINGLE_OUTPUT, OpContext, OpParams, check_choice, choice_in_any_case, one_image
from ops.tileable import WRAP, Wrap, wrap_axes

Filter = Literal["nearest", "bicubic", "lanczos"]  # an upscale asset's choices
Kind = Literal["color", "normal"]  # what the texture holds: colour, or a tangent-space normal map's vectors
Resample = Filter | Literal["box"]  # and the area average mipmaps are made with
_PIL_FILTERS = {
    "nearest": PILImage.Resampling.NEAREST,
    "box": PILImage.Resampling.BOX,
    "bicubic": PILImage.Resampling.BICUBIC,
    "lanczos": PILImage.Resampling.LANCZOS,
}


class UpscaleParams(OpParams):
    """The ``upscale`` op: plain resampling, the baseline a learned enlargement has to beat."""

    scale: int = Field(2, ge=1, description="integer enlargement factor (a result over 16384 px a side is refused)")
    filter: Filter = "lanczos"
    wrap: Wrap = WRAP
    kind: Kind = "color"
    alpha: AlphaMeaning = ALPHA_MEANING

    @field_validator("filter", mode="before")
    @classmethod
    def _filter_in_any_case(cls, value: object) -> object:
        """``LANCZOS`` as Pillow's constant is spelt, as export_dds takes ``BC7``; one spelling in the cache key."""
        return choice_in_any_case(value, get_args(Filter))


MARGIN = 4  # source texels read across a wrapped border: Lanczos reaches 3, bicubic 2


def resize(
    plane: np.ndarray, size: tuple[int, int], filter: Resample = "lanczos", wrap: tuple[bool, bool] = (False, False)
) -> np.ndarray:
    """Resample float32 planes (H, W, C) to ``size`` = (height, width), clipped to [0, 1]. An axis that
    ``wrap``s (y, x) reads its filter's taps across the opposite border, as the texture does when it tiles;
    Pillow alone reads the texture's own edge there. ``filter`` is taken in any case (``LANCZOS``), as upscale
    takes it."""
    filter = cast(Resample, choice_in_any_case(filter, tuple(_PIL_FILTERS)))
    _check_resize(plane, size, filter, wrap)
    if not any(wrap):
        return _resize(plane, size, filter)
    sides = plane.shape[:2]
    if all(m % n == 0 for n, m, w in zip(sides, size, wrap) if w):
        return _enlarge_wrapped(plane, size, filter, wrap)
    margins = [math.ceil(MARGIN * max(1.0, n / m)) if w else 0 for n, m, w in zip(sides, size, wrap)]
    padded = _wrapped(plane, margins)
    return _resize(padded, size, filter, box=(margins[1], margins[0], margins[1] + sides[1], margins[0] + sides[0]))


def _check_resize(plane: np.ndarray, size: tuple[int, int], filter: str, wrap: tuple[bool, bool]) -> None:
    """Refuse, naming it, an argument ``resize`` would misread: scripts call it with arrays of their own."""
    check_choice("filter", filter, tuple(_PIL_FILTERS))
    if plane.ndim != 3:
        raise ValueError(f"expected planes (height, width, channels); got shape {plane.shape} (plane[..., None] for one)")
    check_unit_floats("resize's input", plane)
    if min(size) < 1:
        raise ValueError(f"size {tuple(size)}: expected a height and width of 1 pixel or more")
    if not (isinstance(wrap, (tuple, list)) and len(wrap) == 2 and all(isinstance(w, (bool, np.bool_)) for w in wrap)):
        raise ValueError(f"wrap {wrap!r}: expected (wraps vertically, wraps horizontally), two booleans; "
                         "ops.tileable.texture_wrap decides them as wrap: auto does")


def _enlarge_wrapped(plane: np.ndarray, size: tuple[int, int], filter: Resample, wrap: tuple[bool, bool]) -> np.ndarray:
    """A whole enlargement: ``MARGIN`` texels padded each side resize to whole texels, cut off after. Kept beside
    ``resize``'s box for any factor because a box samples at the same places but rounds them otherwise (a float
    ulp), and an upscale's outputs keep their bytes."""
    factors = [m // n for n, m in zip(plane.shape[:2], size)]
    margins = [MARGIN if w else 0 for w in wrap]
    padded = _wrapped(plane, margins)
    kept = [margin * factor for margin, factor in zip(margins, factors)]
    resized = _resize(padded, (size[0] + 2 * kept[0], size[1] + 2 * kept[1]), filter)
    return resized[kept[0] : kept[0] + size[0], kept[1] : kept[1] + size[1]]


def _wrapped(plane: np.ndarray, margins: list[int]) -> np.ndarray:
    """(H, W, C) ``plane`` with ``margins`` (y, x) texels each side taken from its opposite border, as it tiles."""
    return np.pad(plane, ((margins[0], margins[0]), (margins[1], margins[1]), (0, 0)), mode="wrap")


def _resize(
    plane: np.ndarray, size: tuple[int, int], filter: Resample, box: tuple[int, int, int, int] | None = None
) -> np.ndarray:
    """One channel at a time into one array, clipped in place: an enlarged texture is the largest thing
    a build holds, so no second copy of it is made. ``box`` (left, top, right, bottom) is the region of
    ``plane`` resampled to ``size``; the filter reads past it, into the rest of ``plane``."""
    height, width = size
    enlarged = np.empty((height, width, plane.shape[2]), np.float32)
    for c in range(plane.shape[2]):
        channel = PILImage.fromarray(np.ascontiguousarray(plane[..., c], np.float32), mode="F")
        enlarged[..., c] = np.asarray(channel.resize((width, height), _PIL_FILTERS[filter], box=box))
    return np.clip(enlarged, 0.0, 1.0, out=enlarged)


def upscale(
    image: Image, scale: int = 2, filter: Filter = "lanczos", alpha: AlphaMeaning = "auto", *,
    wrap: Wrap | tuple[bool, bool] = "auto", normal_map: bool = False, kind: Kind | None = None,
) -> Image:
    """Enlarge colour and alpha by ``scale``; a coverage alpha's hidden colour is bled first. A normal
    map's vectors are renormalized. Alpha is held within the source's local range: bicubic and Lanczos
    ring, which leaves a faint box of alpha 1-15 around a sprite and 244-254 inside it. ``scale``,
    ``filter``, ``alpha``, ``kind`` and ``wrap`` (``auto``, or a boolean for both axes, as ``super_resolve`` takes
    it) are the op's params (see ``UpscaleParams``), taken as ``super_resolve``, ``multiply`` and ``export_dds``
    take them (``kind`` is ``color`` unless given); ``normal_map=True``, as this function took a normal map first, is
    ``kind="normal"``, and a clash of the two (``kind="color"`` beside it) is a ``ValueError``. ``wrap`` may
    also be a pair (wraps vertically, wraps horizontally); its default is the op's, ``auto``, so that a script's
    call with the defaults makes the op's bytes (off by default, it left a tiling texture's seams). A value they
    refuse is a ``ValueError`` naming it, as are a normal map of other than 3 channels and a result over 16384 px
    a side, which the op refuses too."""
    check_image(image, colorspace="linear")
    pair = isinstance(wrap, (tuple, list))
    params = UpscaleParams.from_arguments(scale=scale, filter=filter, kind=_kind_of(normal_map, kind),
                                          alpha=alpha, **({} if pair else {"wrap": wrap}))
    refuse_oversized(Path("the texture"), image.height * params.scale, image.width * params.scale)
    words = kind_arguments("normal_map=True" if normal_map else 'kind="normal"', 'kind="color"')
    return _enlarged(image, params, wrap if pair else params.wrap, Path("the texture"), words)[0]


def _kind_of(normal_map: bool, kind: Kind | None) -> Kind:
    """The kind ``upscale``'s arguments give: ``normal_map=True`` beside another ``kind`` was quietly taken as a
    normal map, though a script saying ``kind="color"`` meant its texture to stay as it is."""
    if normal_map and kind is not None and kind != "normal":
        raise ValueError(f'upscale got normal_map=True and kind="{kind}", which clash: normal_map=True is '
                         f'kind="normal"; give kind="normal" alone for a normal map, or kind="{kind}" alone')
    return "normal" if normal_map else "color" if kind is None else kind


def _enlarged(
    image: Image, params: UpscaleParams, wrap: Wrap | tuple[bool, bool], source: Path, words: KindWords
) -> tuple[Image, tuple[bool, bool]]:
    """``image`` enlarged as ``params`` say, and the axes it wrapped (y, x): ``auto`` decides them from the colour
    as it is enlarged, bled under a cut-out. ``words`` name its kind as the spec or the script gave it."""
    normal_map = params.kind == "normal"
    if normal_map:
        check_normal_map(source, image.color, "upscale", words)
    else:
        warn_if_normal_map(sampled(image.color), source, "upscale",
                           f"as {words.colour}, its vectors are resampled as colour and not renormalized, "
                           "so many come out too short or too long and it shades wrong along every edge",
                           words.to_normal)
    filled = color_to_resample(image.color, image.alpha, params.alpha, normal_map=normal_map)  # filled once
    axes = wrap_axes(wrap, filled, coverage_of(image.alpha, params.alpha, normal_map=normal_map), normal_map=normal_map)
    size = (image.height * params.scale, image.width * params.scale)
    return resample(image, filled, size, params.filter, axes, normal_map), axes


def resample(
    image: Image, filled: np.ndarray, size: tuple[int, int], filter: Filter, wrap: tuple[bool, bool], normal_map: bool
) -> Image:
    """``image``, whose colour, ``filled`` under a cut-out, is given, resampled to ``size`` (height, width)."""
    color = resize(filled, size, filter, wrap)
    if normal_map:
        color = renormalize(color)
    if image.alpha is None:
        return image.with_color(color, None)
    resized = resize(image.alpha[..., None], size, filter, wrap)[..., 0]
    return image.with_color(color, within_source_range(resized, image.alpha, wrap))


def run(inputs: Mapping[str, Path], out_dir: Path, params: UpscaleParams, ctx: OpContext) -> dict[str, int]:
    """Values are enlarged as stored, as super_resolve enlarges them: colour sRGB-encoded, a ``kind:
    normal`` map as the vectors it holds. In linear light Lanczos' negative lobe takes the dark side of a
    bright edge below black, where it clips: a black outline along every bright edge (6% of the texels
    of freedoom's saw5sd came out darker than all their source neighbours by 0.1, and none as stored)."""
    path, out_dir = one_image("upscale", inputs), Path(out_dir)
    image = read_image(path, colorspace="linear")
    refuse_oversized(path, image.height * params.scale, image.width * params.scale)
    result, wrap = _enlarged(image, params, params.wrap, path, SPEC_WORDS)
    write_image(out_dir / SINGLE_OUTPUT, result, colorspace="linear")
    return {"width": result.width, "height": result.height, "wrap_x": int(wrap[1]), "wrap_y": int(wrap[0])}
