"""Plain resampling: the baseline every learned op is measured against."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image as PILImage
from pydantic import Field

from ops.alpha import ALPHA_MEANING, AlphaMeaning, color_to_resample, within_source_range
from ops.image_io import Image, read_image, write_image
from ops.registry import SINGLE_OUTPUT, OpContext, OpParams

Filter = Literal["nearest", "bicubic", "lanczos"]
_PIL_FILTERS = {
    "nearest": PILImage.Resampling.NEAREST,
    "bicubic": PILImage.Resampling.BICUBIC,
    "lanczos": PILImage.Resampling.LANCZOS,
}


class UpscaleParams(OpParams):
    scale: int = Field(2, ge=1, le=16, description="integer enlargement factor")
    filter: Filter = "lanczos"
    alpha: AlphaMeaning = ALPHA_MEANING


def resize(plane: np.ndarray, size: tuple[int, int], filter: Filter = "lanczos") -> np.ndarray:
    """Resample float32 planes (H, W, C) to ``size`` = (height, width), clipped to [0, 1]."""
    height, width = size
    channels = [
        np.asarray(PILImage.fromarray(plane[..., c], mode="F").resize((width, height), _PIL_FILTERS[filter]))
        for c in range(plane.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0).astype(np.float32)


def upscale(image: Image, scale: int = 2, filter: Filter = "lanczos", alpha: AlphaMeaning = "auto") -> Image:
    """Enlarge colour (in linear light) and alpha by ``scale``; a coverage alpha's hidden colour is bled first.
    Alpha is held within the source's local range: bicubic and Lanczos ring, which leaves a faint box of
    alpha 1-15 around a sprite and 244-254 inside it."""
    size = (image.height * scale, image.width * scale)
    color = resize(color_to_resample(image.color, image.alpha, alpha), size, filter)
    if image.alpha is None:
        return image.with_color(color, None)
    enlarged = resize(image.alpha[..., None], size, filter)[..., 0]
    return image.with_color(color, within_source_range(enlarged, image.alpha))


def run(inputs: Mapping[str, Path], out_dir: Path, params: UpscaleParams, ctx: OpContext) -> dict[str, int]:
    image = read_image(inputs["image"])
    result = upscale(image, params.scale, params.filter, params.alpha)
    write_image(out_dir / SINGLE_OUTPUT, result)
    return {"width": result.width, "height": result.height}
