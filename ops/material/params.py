"""Parameters of the ``material`` op; torch-free so pipeline definitions load fast."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field

from ops.alpha import AlphaMeaning
from ops.registry import SEED_MAX, OpParams

Method = Literal["two_shot", "one_shot", "from_texture"]
NormalConvention = Literal["opengl", "directx"]
AlphaModeChoice = Literal["auto", "mask", "blend"]  # the glTF's reading of a coverage alpha; auto decides

GLTF_NAME = "material.gltf"
MAP_NAMES = ("albedo.png", "normal.png", "roughness.png", "specular.png", "height.png", "ao.png")


def material_name(inputs: Mapping[str, Path]) -> str:
    """The name engines show for the material: the photo pair's folder, or the texture's file name."""
    if "guide" in inputs:
        return Path(inputs["flash"]).parent.name
    return Path(inputs.get("image", inputs.get("flash", "material"))).stem


def sidecar_for(photo: Path) -> Path:
    """The ``scene.json`` that describes ``photo`` (camera, flash): in the same folder."""
    return photo.parent / "scene.json"


class MaterialParams(OpParams):
    """How to turn photos or a colour texture into a PBR material.

    ``two_shot`` needs a flash photo and a no-flash guide photo of a flat
    material, ``one_shot`` a single flash photo, ``from_texture`` a colour
    texture (baked lighting is removed, relief is guessed from luminance).
    """

    method: Method = Field(description="two_shot (a flash photo and a no-flash guide photo of one flat surface), "
                           "one_shot (a flash photo alone), from_texture (a colour texture, no photos)")
    normal_convention: NormalConvention = "opengl"
    orm: bool = Field(True, description="also write orm.png: occlusion R, roughness G, metalness B (glTF order)")
    iterations: int = Field(250, ge=0, le=20000, description="optimizer steps of the photo fit")
    fit_size: int = Field(
        256, ge=32, le=4096, description="the photo fit runs at most at this size (longer side); maps are upsampled after"
    )
    fov_deg: float | None = Field(
        None, gt=1.0, lt=170.0, description="horizontal field of view of the camera; scene.json beside the photo wins"
    )
    max_shift: float = Field(
        0.05, ge=0.0, le=0.25,
        description="largest flash/guide misalignment corrected, as a fraction of the size; 0: a tripod pair, "
        "used as taken (a shift over 1.5 px, a moved camera, is refused)",
    )
    normal_strength: float = Field(1.0, ge=0.0, le=10.0, description="from_texture: relief depth")
    delight: float = Field(1.0, ge=0.0, le=1.0, description="from_texture: how much baked shading to remove")
    tileable: bool | None = Field(None, description="from_texture: wrap at the borders; None detects it")
    alpha: AlphaMeaning = Field(
        "auto", description="from_texture: what the texture's alpha holds, kept in albedo.png: coverage (auto; the "
        "colour under transparent texels is filled first, and the glTF is a cut-out or blended) or data (a mask)"
    )
    alpha_mode: AlphaModeChoice = Field(
        "auto", description="from_texture: the glTF alphaMode of a coverage alpha: mask (a cut-out, tested against "
        "0.5), blend (glass, smoke), or auto (mask for alpha that is 0 or 1 but along its edges)"
    )
    seed: int = Field(0, ge=0, le=SEED_MAX)

    def sidecars(self, inputs: Mapping[str, Path]) -> list[Path]:
        photo = inputs.get("flash", inputs.get("image"))
        return [] if self.method == "from_texture" or photo is None else [sidecar_for(photo)]

    def name_in_outputs(self, inputs: Mapping[str, Path]) -> str:
        return material_name(inputs)  # material.gltf names the material

    def neutral_fields(self) -> tuple[str, ...]:
        return tuple(self.unread_fields())

    def unread_fields(self) -> dict[str, str]:
        if self.method == "from_texture":
            unread = dict.fromkeys(("iterations", "fit_size", "fov_deg", "max_shift", "seed"),
                                   "a setting of the photo fit, methods two_shot and one_shot")
            if self.alpha == "data":
                unread["alpha_mode"] = "a setting of a coverage alpha: with alpha: data the glTF is opaque"
            return unread
        unread = dict.fromkeys(("normal_strength", "delight", "tileable", "alpha", "alpha_mode"),
                               "a setting of method from_texture")
        if self.method == "one_shot":
            unread["max_shift"] = "a setting of two_shot's alignment of the guide photo, which one_shot has not"
        return unread

    def input_roles(self) -> frozenset[str]:
        return frozenset({"flash", "guide"} if self.method == "two_shot" else {"image"})

    def inputs_hint(self) -> str:
        if self.method == "two_shot":
            return ("method two_shot fits a flash and a guide photo: give it a photo_pairs source, or set method: "
                    "one_shot for flash photos alone, from_texture for textures")
        if self.method == "one_shot":
            return ("method one_shot fits one flash photo: set method: two_shot for photo pairs, or give it a "
                    "textures source of their flash photos (the pairs' root, glob: \"*/flash.*\")")
        return "method from_texture reads one texture: set method: two_shot for photo pairs"

    def output_names(self) -> tuple[str, ...]:
        extra = ("orm.png",) if self.orm else ()
        return (*MAP_NAMES, *extra, "preview.png", GLTF_NAME)

    def output_units(self) -> dict[str, dict[str, object]]:
        """The maps and preview, each under a key without the material's name: a pair folder or a texture renamed
        (``towel`` -> ``Handtuch``) keeps them, and only ``material.gltf``, which holds the name, is written
        anew, where the fit (25 s a pair) ran again, and ``from_texture`` made every map again."""
        shared = self.key_params()
        return {name: {**shared, "output": name} for name in self.output_names() if name != GLTF_NAME}

    def units_kept_together(self) -> bool:
        return True  # the maps come from one fit together

    def surface_maps(self) -> tuple[str, ...]:
        return tuple(name.removesuffix(".png") for name in self.output_names() if name.endswith(".png"))
