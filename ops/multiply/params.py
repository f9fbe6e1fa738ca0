"""Parameters of the ``multiply`` op, torch-free so that definitions load without torch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from ops.alpha import ALPHA_MEANING, AlphaMeaning
from ops.material.gltf import read_material_gltf
from ops.material.params import GLTF_NAME, MaterialParams
from ops.registry import SEED_MAX, Guard, OpParams

PREVIEW = "preview.png"  # a material's maps lit, which a variant of the material has no use for
NORMAL_MAP = "normal.png"  # a material's variant's height is integrated from it
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


def _refused(key: str, value: object, message: str) -> ValidationError:
    """A check of several keys together, refused at ``key``: pydantic places a model validator's ``ValueError`` at the
    entry, and the spec's error then named the asset and its line, not the key to change."""
    error = InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(key,), input=value)
    return ValidationError.from_exception_data("MultiplyParams", [error])


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
    flatten: bool = Field(False, description="divide out the photo's uneven lighting (a flash's hotspot, a falloff) "
                          "first, so that no quilted block (patch) and no blotch (gram) carries its own piece of it; "
                          "off keeps a texture's designed light (a lamp on a ceiling flat)")
    kind: Kind = Field("color", description="normal: a tangent-space normal map, read as the vectors it stores and "
                       "made into variants whose vectors are unit length and face out")
    alpha: AlphaMeaning = ALPHA_MEANING
    material_maps: tuple[str, ...] = Field(
        (), description="set by the spec, not in it: the maps of the material asset it is chained from, each variant "
        "quilted from all of them in register"
    )
    cpu_threads: int = Field(
        1, ge=0, le=256, description="gram: torch threads on CPU; 0: torch's default. A variant's bytes depend on the "
        "count, so one thread keeps them identical across machines, and is fastest where builds share the cores"
    )

    @model_validator(mode="after")
    def _flatten_lit_colour(self) -> MultiplyParams:
        """A normal map holds directions, not light: dividing a brightness out of its vectors would bend them. Refused
        at the key flatten, so that the spec's error names it and its line, where a ValueError named the asset."""
        if self.flatten and self.kind == "normal":
            raise _refused("flatten", self.flatten, "flatten evens out the lighting of a colour texture; a normal map "
                           "(kind: normal) holds directions, not light: leave flatten out")
        return self

    def chained_from(self, upstream: OpParams | None) -> MultiplyParams:
        """From a ``material`` asset, every map it writes (not its preview) is quilted with the same blocks and cuts,
        so that a variant's maps stay in register: ``material_maps`` names them. ``gram`` makes each image from
        noise and cannot keep maps in register, and each map is taken as its own kind."""
        if "material_maps" in self.model_fields_set:
            raise ValueError("material_maps is set from the material asset a multiply is chained from: leave it out")
        if not isinstance(upstream, MaterialParams):
            return self
        if self.method != "patch":  # gram where no method is given: the spec did not say it, so the message does
            default = "" if "method" in self.model_fields_set else ", multiply's default,"
            raise ValueError("a material's variants are quilted, every map with the same blocks and seam cuts so "
                             f"that they stay in register, which method {self.method}{default} cannot do: set method: "
                             "patch")
        if "kind" in self.model_fields_set:
            raise ValueError("from a material, each map is taken as its own kind (the normal map as vectors, the "
                             "albedo as colour, the rest as data): leave kind out")
        maps = tuple(name for name in upstream.output_names() if name.endswith(".png") and name != PREVIEW)
        return self.model_copy(update={"material_maps": maps})

    def variant_files(self) -> dict[str, tuple[str, ...]]:
        """Each variant's stem (``variant_00``) with the files it is written as: ``variant_00.png``, or of a
        material, a folder of its maps and glTF (``variant_00/albedo.png`` ... ``variant_00/material.gltf``)."""
        stems = (f"variant_{i:02d}" for i in range(self.count))
        if not self.material_maps:
            return {stem: (f"{stem}.png",) for stem in stems}
        return {stem: tuple(f"{stem}/{name}" for name in (*self.material_maps, GLTF_NAME)) for stem in stems}

    def output_names(self) -> tuple[str, ...]:
        return tuple(name for files in self.variant_files().values() for name in files)

    def variant_maps(self) -> dict[str, tuple[str, ...]]:
        maps = tuple(name.removesuffix(".png") for name in self.material_maps)
        return dict.fromkeys(self.variant_files(), maps) if maps else {}

    def input_roles(self) -> frozenset[str]:
        return frozenset({*self.material_maps, GLTF_NAME}) if self.material_maps else frozenset({"image"})

    def output_units(self) -> dict[str, dict[str, object]]:
        """Variant ``i`` depends on ``seed + i`` and not on ``count``: raising ``count`` or shifting ``seed``
        keeps the variants already made. A material's variant is kept map by map, each under its own name; not its
        ``material.gltf``, which names the material (``unnamed_inputs``), and is written anew beside kept maps."""
        shared = {name: value for name, value in self.key_params().items() if name not in ("count", "seed")}
        units: dict[str, dict[str, object]] = {}
        for i, files in enumerate(self.variant_files().values()):
            for name in (name for name in files if PurePosixPath(name).name != GLTF_NAME):
                own = {"output": PurePosixPath(name).name} if self.material_maps else {}
                units[name] = {**shared, "seed": self.seed + i, **own}
        return units

    def unnamed_inputs(self, inputs: Mapping[str, Path], read: Callable[[Path], bytes]) -> dict[str, object]:
        """A material's glTF names it: its variants' maps are keyed by how it reads them alone (``GltfLook``), so
        that a renamed material's variants keep their maps (a rename quilted them all again, to the same bytes)."""
        if not self.material_maps:
            return {}
        _, look = read_material_gltf(inputs[GLTF_NAME], read(inputs[GLTF_NAME]))
        return {GLTF_NAME: look._asdict()}

    def file_params(self) -> dict[str, Path]:
        return {} if self.vgg_weights is None or self.method != "gram" else {"vgg_weights": self.vgg_weights}

    def neutral_fields(self) -> tuple[str, ...]:
        return tuple(self.unread_fields())

    def added_fields(self) -> tuple[str, ...]:
        return ("kind", "material_maps", "flatten")  # at their defaults, the variants made before them keep their keys

    def key_params(self) -> dict[str, object]:
        """A material's variants write a height integrated from their normal map, where the first ones kept the
        quilted height with its cliffs at every seam cut: their key says so, so that those are made again and
        never put back from a cache, while a texture's variants keep their keys. So does a flattened variant's,
        since the light is worked out in float32 (``lighting``), which moved a texel of some by a level, and fitted
        on the texels that are not near black, which moved a texture with black areas by far more, and held over
        them to no less than its least over the lit texels, which moved the near-black texels of some: a cache holds no
        variant unlike the one a build makes now."""
        key = super().key_params()
        marks = {"height_from": NORMAL_MAP} if self.material_maps else {}
        if self.flatten:
            marks.update(light_in="float32", light_fitted_on="texels_not_black", light_held_to="least_over_lit")
        return {**key, **marks}

    def unread_fields(self) -> dict[str, str]:
        if self.method == "gram":
            return {"patch_size": "a setting of method patch"}
        return dict.fromkeys(("steps", "vgg_weights", "cpu_threads"), "a setting of method gram")

    def later_neutral_fields(self) -> tuple[str, ...]:
        return () if self.method == "gram" else ("cpu_threads",)  # patch's variants keep their keys

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

