"""Parameters of the ``multiply`` op, torch-free so that definitions load without torch."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ops.alpha import ALPHA_MEANING, AlphaMeaning
from ops.registry import SEED_MAX, Guard, OpParams

Method = Literal["gram", "patch"]
Kind = Literal["color", "normal"]  # what the texture holds: colour, or a tangent-space normal map's vectors

NCC_BOUND = 0.95
"""A variant whose best normalized cross-correlation with the exemplar reaches this is a copy or shifted crop."""

SEAM_BOUND = 1.3
"""A tileable variant's gradient energy across its wrap edge may exceed its interior's by at most 30%."""

MIN_COVERAGE_RATIO = 0.25
"""Under a coverage alpha, every variant must show at least this share of what the exemplar shows (texels
an alpha test at 0.5 draws). ``patch`` quilts a cut-out into texels copied from its holes nearly alone: of the
100 freedoom patches with from 5% to 98% of their texels visible that its default blocks fit, four 128² variants
each, 12 have a variant under this (21, aqmetl17 and aqmetl25 four wholly invisible ones, before flat blocks were
held to the exemplar's share); ``gram`` matches the alpha's histogram and kept 1.0 on those."""

MIN_VARIANT_DIFFERENCE = round(1.0 - NCC_BOUND, 6)  # 0.05, as the UI shows the limit
"""Two variants must differ at least as much as a variant must differ from its exemplar.

``variant_difference`` is 1 minus the best shift-aligned correlation, so this
is the same "a shifted copy correlates above 0.95" test as ``NCC_BOUND``,
applied between variants: it catches duplicated seeds and variants that are
shifts of each other, while independent syntheses of one material (which
correlate 0.3-0.8 at their best alignment) pass.
"""


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
    seed: int = Field(0, ge=0, le=SEED_MAX, description="variant i uses seed + i")
    steps: int = Field(100, ge=1, le=5000, description="gram: L-BFGS steps at 128², fewer at larger scales")
    patch_size: int | None = Field(
        None, ge=8, le=256, description="patch: block side in pixels; default a quarter of the exemplar, 16-64"
    )
    vgg_weights: Path | None = Field(
        None, description="gram: local torchvision-layout VGG19 state dict; default random multi-scale filters"
    )
    kind: Kind = Field("color", description="normal: a tangent-space normal map, read as the vectors it stores and "
                       "made into variants whose vectors are unit length and face out")
    alpha: AlphaMeaning = ALPHA_MEANING
    cpu_threads: int = Field(
        1, ge=0, le=256, description="gram: torch threads on CPU; 0: torch's default. A variant's bytes depend on the "
        "count, so one thread keeps them identical across machines, and is fastest where builds share the cores"
    )

    def output_names(self) -> tuple[str, ...]:
        return tuple(f"variant_{i:02d}.png" for i in range(self.count))

    def output_units(self) -> dict[str, dict[str, object]]:
        """Variant ``i`` depends on ``seed + i`` and not on ``count``: raising ``count`` or shifting ``seed``
        keeps the variants already made."""
        shared = {name: value for name, value in self.key_params().items() if name not in ("count", "seed")}
        return {name: {**shared, "seed": self.seed + i} for i, name in enumerate(self.output_names())}

    def file_params(self) -> dict[str, Path]:
        return {} if self.vgg_weights is None or self.method != "gram" else {"vgg_weights": self.vgg_weights}

    def neutral_fields(self) -> tuple[str, ...]:
        """The other method's settings, and ``kind`` at its default, ``color``: so that it is left out of the key
        (``later_neutral_fields``) and the variants made before ``kind`` existed keep theirs."""
        return (*self.unread_fields(), *(("kind",) if self.kind == "color" else ()))

    def unread_fields(self) -> dict[str, str]:
        if self.method == "gram":
            return {"patch_size": "a setting of method patch"}
        return dict.fromkeys(("steps", "vgg_weights", "cpu_threads"), "a setting of method gram")

    def later_neutral_fields(self) -> tuple[str, ...]:
        return ("kind",) if self.method == "gram" else ("kind", "cpu_threads")  # patch's variants keep their keys

    def guards(self) -> tuple[Guard, ...]:
        copy = Guard("not_a_copy", "max_ncc", NCC_BOUND, "below",
                     "no variant is a copy or shifted crop of the exemplar (max normalized cross-correlation)",
                     detail_key="copied")
        distinct = Guard("variants_differ", "min_variant_difference", MIN_VARIANT_DIFFERENCE, "above",
                         "variants are not copies or shifts of each other", detail_key="alike")
        coverage = Guard("keeps_coverage", "min_coverage_ratio", MIN_COVERAGE_RATIO, "above",
                         "every variant shows at least a quarter as much of the texture as the exemplar, which has "
                         "transparent texels; method: gram keeps their share", detail_key="coverage_lost")
        # Advisory: on small textures with strong lines the wrap may fall on a line and read as a seam.
        seam = Guard("seamless", "seam_ratio", SEAM_BOUND, "below",
                     "gradient energy across the wrap edge over the interior's", blocking=False, detail_key="seams")
        return (copy, distinct, coverage, seam) if self.tileable else (copy, distinct, coverage)

