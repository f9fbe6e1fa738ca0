"""DDS (DirectDraw Surface), the container most legacy game textures ship in, block-compressed (BC1 to BC7).

Pillow decodes the pixels; this module does what its reader leaves to the caller. It refuses what is not
one 2D texture (Pillow reads a cube map's first face, a volume's first slice, an array's first layer without
a word, and clips HDR BC6H to 8 bits), and it reads the decoded texels as the texture they store: an opaque
BC1 or BC7 texture as RGB (Pillow always gives them alpha), and a BC5 (ATI2, 3Dc) file, which keeps only a
tangent-space normal map's X and Y, as a whole normal map with Z = sqrt(1 - X² - Y²).
"""

from __future__ import annotations

import struct

import numpy as np

MAGIC = b"DDS "
_HEADER = 128  # magic and DDS_HEADER
_DX10_HEADER = 20
_CAPS2_CUBEMAP, _CAPS2_VOLUME = 0x200, 0x200000
_FOURCC_DX10 = b"DX10"
_DXGI_BC6H = (94, 95, 96)  # TYPELESS, UF16, SF16
_DIMENSION_3D = 4
_MISC_TEXTURECUBE = 0x4

_ALPHA_OPTIONAL = ("DXT1", "BC1", "BC7")  # formats whose alpha Pillow decodes whether the texture has any
_NORMAL_XY = ("BC5", "BC5S")


def dds_problem(data: bytes) -> str | None:
    """Why the DDS file ``data`` is not one 2D texture remaster enlarges, as the rest of a sentence that
    starts with the file's name; None when it is one (or too short to tell: decoding then says so)."""
    if len(data) < _HEADER:
        return None
    caps2 = struct.unpack_from("<I", data, 112)[0]
    dxgi = dimension = misc = layers = 0
    if data[84:88] == _FOURCC_DX10 and len(data) >= _HEADER + _DX10_HEADER:
        dxgi, dimension, misc, layers = struct.unpack_from("<4I", data, _HEADER)
    if caps2 & _CAPS2_CUBEMAP or misc & _MISC_TEXTURECUBE:
        return "is a cube map (six faces); remaster enlarges 2D textures: export each face as its own file"
    if caps2 & _CAPS2_VOLUME or dimension == _DIMENSION_3D:
        return "is a volume (3D) texture; remaster enlarges 2D textures: export each slice as its own file"
    if layers > 1:
        return (f"is a texture array of {layers} layers; remaster enlarges 2D textures: export each layer as its "
                "own file")
    if dxgi in _DXGI_BC6H:
        return ("holds HDR colour (BC6H), which remaster would clip to 8 bits; it reads 8- and 16-bit textures: "
                "export it as a 16-bit PNG if its range allows")
    return None


def stored_texels(pixels: np.ndarray, pixel_format: str | None) -> np.ndarray:
    """(H, W, C) uint8 texels as Pillow decoded a DDS of ``pixel_format`` (Pillow's name, None when
    uncompressed), as the texture they store: see the module's docstring."""
    if pixel_format in _ALPHA_OPTIONAL and pixels.shape[2] == 4 and (pixels[..., 3] == 255).all():
        return pixels[..., :3]
    if pixel_format in _NORMAL_XY:
        return _with_normal_z(pixels)
    return pixels


def _with_normal_z(pixels: np.ndarray) -> np.ndarray:
    """A normal map's (H, W, 3) texels with blue rebuilt from red and green, as an engine's shader does
    for BC5: the vector has unit length and points out of the surface."""
    xy = pixels[..., :2].astype(np.float32) / 127.5 - 1.0  # (H, W, 2) in [-1, 1]
    z = np.sqrt(np.clip(1.0 - (xy**2).sum(axis=2), 0.0, 1.0))  # (H, W)
    blue = np.rint((z + 1.0) * 127.5).astype(np.uint8)
    return np.concatenate([pixels[..., :2], blue[..., None]], axis=2)
