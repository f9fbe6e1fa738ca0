"""``multiply`` of a whole material: every map quilted with the same blocks and cuts, so the maps stay in register.

A variant of one map alone would be a texture no other map fits: the albedo's bricks in one place, the normal
map's in another. Quilting all the maps as the planes of one exemplar makes each block choice and each seam cut
once, for all of them. The maps are read as the material op writes them (``MAP_NAMES``, ``orm.png``): the
albedo as colour, the normal map as its vectors, the rest as the data they store. The height map alone is not kept
as quilted: a height is the sum of the slopes under it, so two blocks of it meet at a seam cut at different
levels, a cliff no normal map shows; it is integrated again from the variant's normal map, as the material op
integrates it from the fitted normals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ops.alpha import AlphaMeaning
from ops.export_dds import map_kind
from ops.image_io import ColorSpace, Image, colorspace_of_kind, read_image, write_image
from ops.material.gltf import AlphaMode, read_material_gltf, write_material_gltf
from ops.material.maps import decode_normal, height_from_normal
from ops.material.params import GLTF_NAME, NormalConvention
from ops.multiply.params import NORMAL_MAP

ALBEDO, HEIGHT = "albedo.png", "height.png"


@dataclass(frozen=True)
class MaterialMaps:
    """A material's maps as read (file name -> image), and how its glTF shows them."""

    images: dict[str, Image]
    name: str  # the material's, as its glTF names it
    orm: bool  # the glTF reads occlusion and roughness from orm.png
    normal_map: bool  # the glTF reads normal.png (an OpenGL-convention map)
    alpha_mode: AlphaMode


def colorspace_of(name: str) -> ColorSpace:
    """A material's map ``name`` (``albedo.png``) as the material op writes it: the albedo colour, the rest data."""
    return colorspace_of_kind(map_kind(PurePosixPath(name).stem))


def read_material(inputs: Mapping[str, Path]) -> MaterialMaps:
    """The maps and glTF settings of a material, from its files by name; maps of another size than the albedo are
    refused by name: their texels would not lie under the albedo's."""
    images = {name: read_image(path, colorspace=colorspace_of(name))
              for name, path in inputs.items() if name != GLTF_NAME}
    albedo = images[ALBEDO]
    for name, image in images.items():
        if (image.width, image.height) != (albedo.width, albedo.height):
            raise ValueError(f"{inputs[name]} is {image.width}x{image.height} but {inputs[ALBEDO]} is {albedo.width}x"
                             f"{albedo.height}: a material's maps are quilted together and must be one size; build the "
                             "material again")
    gltf = Path(inputs[GLTF_NAME])
    name, look = read_material_gltf(gltf, gltf.read_bytes())
    return MaterialMaps(images, name, look.orm, look.normal_map, look.alpha_mode)


def stacked(planes: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, slice]]:
    """The maps' planes (H, W, C each) as one exemplar, with where each map's planes lie in it."""
    where, start = {}, 0
    for name, plane in planes.items():
        where[name] = slice(start, start + plane.shape[2])
        start += plane.shape[2]
    return np.concatenate(list(planes.values()), axis=2), where


def write_variant(folder: Path, maps: MaterialMaps, images: Mapping[str, Image], *, tileable: bool) -> list[str]:
    """A variant's maps and its ``material.gltf`` into ``folder``, as the material op writes them. Returns the
    files."""
    for name, image in images.items():
        write_image(folder / name, image, colorspace=colorspace_of(name))
    write_variant_gltf(folder, maps, tileable=tileable)
    return [*images, GLTF_NAME]


def write_variant_gltf(folder: Path, maps: MaterialMaps, *, tileable: bool) -> None:
    """The ``material.gltf`` of the variant in ``folder``, the material named after the folder (``brick_variant_00``)
    so that an engine lists each variant apart: written alone beside maps kept from an earlier build, where the
    material was renamed."""
    write_material_gltf(folder / GLTF_NAME, f"{maps.name}_{folder.name}", orm=maps.orm, normal_map=maps.normal_map,
                        alpha_mode=maps.alpha_mode, tileable=tileable)


def with_height_of_normals(images: Mapping[str, Image], maps: MaterialMaps) -> dict[str, Image]:
    """A variant's maps with its height integrated from its normal map, where it has both. Quilted, the heights
    of 128² variants of the synthetic stone scan stepped by up to 0.23 of their range between two texels across a
    seam cut (the material's own height by 0.04 at most), where their normal maps show no slope: a parallax or
    displacement shader drew cliffs where the maps light the surface as flat. The glTF leaves out a DirectX normal
    map, so ``maps.normal_map`` tells the convention."""
    if HEIGHT not in images or NORMAL_MAP not in images:
        return dict(images)
    convention: NormalConvention = "opengl" if maps.normal_map else "directx"
    height = height_from_normal(decode_normal(images[NORMAL_MAP].color, convention))
    return {**images, HEIGHT: Image(color=height[..., None], bit_depth=images[HEIGHT].bit_depth)}


def albedo_alpha(alpha: AlphaMeaning, maps: MaterialMaps) -> AlphaMeaning:
    """The albedo's alpha meaning: the multiply's, except that an opaque glTF's albedo alpha is data (a mask)."""
    return "data" if maps.alpha_mode == "OPAQUE" and alpha == "auto" else alpha
