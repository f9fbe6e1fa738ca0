"""Parameters of the ``multiply`` op, torch-free so that definitions load without torch."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ops.registry import OpParams

Method = Literal["gram", "patch"]


class MultiplyParams(OpParams):
    """How many new textures to make from one exemplar, how big, and by which method.

    ``gram`` (Gatys et al. 2015) optimises each variant until its CNN feature
    statistics match the exemplar's: the better result, tens of seconds per
    512² variant on a CPU. ``patch`` quilts exemplar patches (Efros & Freeman
    2001): about a second per 512² variant, but it copies visible pieces.
    """

    count: int = Field(4, ge=1, le=64, description="number of variants written")
    size: int = Field(512, ge=32, le=4096, description="side of each square variant, in pixels")
    tileable: bool = Field(True, description="variants wrap around without a seam")
    method: Method = "gram"
    seed: int = Field(0, ge=0, description="variant i uses seed + i")
    steps: int = Field(100, ge=1, le=5000, description="gram: L-BFGS steps at 128², fewer at larger scales")
    patch_size: int | None = Field(
        None, ge=8, le=256, description="patch: block side in pixels; default a quarter of the exemplar, 16-64"
    )
    vgg_weights: Path | None = Field(
        None, description="gram: local torchvision-layout VGG19 state dict; default random multi-scale filters"
    )

    def output_names(self) -> tuple[str, ...]:
        return tuple(f"variant_{i:02d}.png" for i in range(self.count))

    def file_params(self) -> dict[str, Path]:
        return {} if self.vgg_weights is None else {"vgg_weights": self.vgg_weights}
