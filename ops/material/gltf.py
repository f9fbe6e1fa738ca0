"""A ``material.gltf`` that opens the maps in any glTF 2.0 viewer: a textured unit quad.

The quad's buffer is embedded as a base64 data URI so the file stands alone
beside its PNGs; images are referenced by relative URI.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Literal, NamedTuple

from ops.atomic import write_bytes_atomic

_FLOAT, _USHORT = 5126, 5123
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_REPEAT, _CLAMP_TO_EDGE = 10497, 33071
AlphaMode = Literal["OPAQUE", "MASK", "BLEND"]


class GltfLook(NamedTuple):
    """What a material's glTF says of how its maps are read, besides the material's name: a multiply of the material
    quilts its maps by it (the albedo's alpha is coverage or a mask, the normal map OpenGL's or DirectX's), so its
    variants' maps are keyed by it where the name, which a rename changes, would make them all again."""

    orm: bool  # occlusion and roughness read from orm.png
    normal_map: bool  # normal.png read, an OpenGL-convention map (glTF leaves a DirectX one out)
    alpha_mode: AlphaMode


def read_material_gltf(path: Path, content: bytes) -> tuple[str, GltfLook]:
    """The material's name in ``content``, the bytes of the ``material.gltf`` at ``path``, and how it reads its maps;
    a ``ValueError`` naming ``path`` where it is no glTF the material op writes (damaged, or edited by hand)."""
    try:
        document = json.loads(content)
        material = document["materials"][0]
        uris = {image["uri"] for image in document["images"]}
        look = GltfLook("orm.png" in uris, "normalTexture" in material, material.get("alphaMode", "OPAQUE"))
        return str(material["name"]), look
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"{path} is no material.gltf as the material op writes it ({type(exc).__name__}: {exc}); "
                         "build the material it belongs to again (remaster build --force <its asset>)") from None


def _quad_buffer(aspect: float) -> tuple[bytes, list[dict], list[dict]]:
    """Interleaving-free buffer of a quad facing +Z whose longer side is 1 and whose width / height is
    ``aspect`` (the maps' own, so a scan is not shown stretched), UV (0, 0) at the top-left as glTF wants."""
    x, y = (0.5, 0.5 / aspect) if aspect >= 1 else (0.5 * aspect, 0.5)
    positions = [(-x, y, 0.0), (x, y, 0.0), (x, -y, 0.0), (-x, -y, 0.0)]
    normals = [(0.0, 0.0, 1.0)] * 4
    tangents = [(1.0, 0.0, 0.0, 1.0)] * 4
    uvs = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    indices = [0, 3, 2, 0, 2, 1]
    chunks = [
        struct.pack("<12f", *[c for p in positions for c in p]),
        struct.pack("<12f", *[c for n in normals for c in n]),
        struct.pack("<16f", *[c for t in tangents for c in t]),
        struct.pack("<8f", *[c for uv in uvs for c in uv]),
        struct.pack("<6H", *indices) + b"\0\0",  # padded to 4 bytes
    ]
    views, offset = [], 0
    for i, chunk in enumerate(chunks):
        length = 12 if i == 4 else len(chunk)
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": length,
                      "target": _ELEMENT_ARRAY_BUFFER if i == 4 else _ARRAY_BUFFER})
        offset += len(chunk)
    accessors = [
        {"bufferView": 0, "componentType": _FLOAT, "count": 4, "type": "VEC3",
         "min": [-x, -y, 0.0], "max": [x, y, 0.0]},
        {"bufferView": 1, "componentType": _FLOAT, "count": 4, "type": "VEC3"},
        {"bufferView": 2, "componentType": _FLOAT, "count": 4, "type": "VEC4"},
        {"bufferView": 3, "componentType": _FLOAT, "count": 4, "type": "VEC2"},
        {"bufferView": 4, "componentType": _USHORT, "count": 6, "type": "SCALAR"},
    ]
    return b"".join(chunks), views, accessors


def material_gltf(
    name: str, *, orm: bool, normal_map: bool, aspect: float = 1.0, alpha_mode: AlphaMode = "OPAQUE",
    tileable: bool = False,
) -> dict:
    """The glTF document (a dict) for maps named as the op writes them.

    ``orm`` uses orm.png for occlusion and roughness (metalness 0 in blue).
    Without it, ao.png gives occlusion and the grey roughness.png roughness
    (its green), with a metallic factor of 0 so that its blue is no metalness.
    ``normal_map`` is False for DirectX-convention normals, which glTF
    (OpenGL, +Y up) would read flipped. ``alpha_mode`` is glTF's: MASK for a
    cut-out (albedo alpha 0 or 1), BLEND for partial coverage; either is double-sided. Maps that
    tile repeat past the quad's UVs; the others are clamped, so that filtering at the quad's edge
    does not blend in the opposite edge of a scan.
    """
    data, views, accessors = _quad_buffer(aspect)
    wrap = _REPEAT if tileable else _CLAMP_TO_EDGE
    images = [{"uri": "albedo.png"}, {"uri": "orm.png"}] if orm else [
        {"uri": "albedo.png"}, {"uri": "ao.png"}, {"uri": "roughness.png"}
    ]
    pbr: dict = {
        "baseColorTexture": {"index": 0},
        "metallicFactor": 1.0 if orm else 0.0,  # orm.png's blue channel (0) is the metalness
        "roughnessFactor": 1.0,
        "metallicRoughnessTexture": {"index": 1 if orm else 2},
    }
    material: dict = {"name": name, "pbrMetallicRoughness": pbr, "occlusionTexture": {"index": 1}}
    if alpha_mode != "OPAQUE":  # a grate, a fence, leaves: seen from both sides through its holes
        material["alphaMode"] = alpha_mode
        material["doubleSided"] = True
    if normal_map:
        images.append({"uri": "normal.png"})
        material["normalTexture"] = {"index": len(images) - 1}
    return {
        "asset": {"version": "2.0", "generator": "remaster material op"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": name}],
        "meshes": [{"name": name, "primitives": [{
            "attributes": {"POSITION": 0, "NORMAL": 1, "TANGENT": 2, "TEXCOORD_0": 3},
            "indices": 4, "material": 0,
        }]}],
        "materials": [material],
        "textures": [{"source": i, "sampler": 0} for i in range(len(images))],
        "images": images,
        "samplers": [{"magFilter": 9729, "minFilter": 9987, "wrapS": wrap, "wrapT": wrap}],
        "buffers": [{"byteLength": len(data),
                     "uri": "data:application/octet-stream;base64," + base64.b64encode(data).decode("ascii")}],
        "bufferViews": views,
        "accessors": accessors,
    }


def write_material_gltf(
    path: Path, name: str, *, orm: bool, normal_map: bool, aspect: float = 1.0, alpha_mode: AlphaMode = "OPAQUE",
    tileable: bool = False,
) -> None:
    """Write :func:`material_gltf` to ``path`` atomically."""
    document = material_gltf(name, orm=orm, normal_map=normal_map, aspect=aspect, alpha_mode=alpha_mode,
                             tileable=tileable)
    write_bytes_atomic(path, json.dumps(document, indent=1).encode("utf-8"))
