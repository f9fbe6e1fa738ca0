"""DDS (DirectDraw Surface), the container most legacy game textures ship in, block-compressed (BC1 to BC7).

Reading: Pillow decodes the pixels; this module does what its reader leaves to the caller. It refuses what is not
one 2D texture (Pillow reads a cube map's first face, a volume's first slice, an array's first layer without
a word, and clips HDR BC6H to 8 bits). It hands Pillow the sRGB and BGRA layouts texconv writes under the
names of the same texels that Pillow reads. And it reads the decoded texels as the texture they store: an
opaque BC1 or BC7 texture as RGB (Pillow always gives them alpha), an uncompressed one whose alpha is 0 in
every texel as RGB (exporters that write padding there), and a BC5 (ATI2, 3Dc) file, which keeps only a
tangent-space normal map's X and Y, as a whole normal map with Z = sqrt(1 - X² - Y²). A DXT5 whose header sets
NVIDIA's DDPF_NORMAL flag is DXT5nm (X in alpha, Y in green), as NVIDIA's tools write and read it: it is read as
that normal map too, where read as colour its X would be an alpha and its red a flat 255.

Writing: ``header`` gives the container of a texture and its mip chain in the legacy (Direct3D 9) layout,
which every engine and texture tool reads, or with the DX10 extension that newer ones read and BC7 needs.
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
_DIMENSION_2D, _DIMENSION_3D = 3, 4
_MISC_TEXTURECUBE = 0x4

_SAME_BLOCKS = {72: 71, 75: 74, 78: 77}  # BC1-BC3 UNORM_SRGB -> UNORM: sRGB is how they are meant, not stored
_BGRA = {87: True, 88: False, 91: True, 93: False}  # B8G8R8A8 / B8G8R8X8, UNORM and UNORM_SRGB -> has alpha
_LEGACY_RGB, _LEGACY_ALPHA, _LEGACY_LUMINANCE = 0x40, 0x1, 0x20000  # DDPF_RGB, DDPF_ALPHAPIXELS, DDPF_LUMINANCE

_DDSD_CAPS, _DDSD_HEIGHT, _DDSD_WIDTH, _DDSD_PITCH = 0x1, 0x2, 0x4, 0x8
_DDSD_PIXELFORMAT, _DDSD_MIPMAPCOUNT, _DDSD_LINEARSIZE = 0x1000, 0x20000, 0x80000
_DDPF_FOURCC = 0x4
_DDSCAPS_COMPLEX, _DDSCAPS_TEXTURE, _DDSCAPS_MIPMAP = 0x8, 0x1000, 0x400000
# NVIDIA's texture tools' "normal map" pixel format flag: DXT5 has no format of its own for DXT5nm, and no other
# flag says a file holds normals. A reader that does not know it reads the file as before (Pillow does).
DDPF_NORMAL = 0x80000000

_FOURCC_BLOCK_BYTES = {b"DXT1": 8, b"ATI1": 8, b"BC4U": 8, b"BC4S": 8, b"DXT2": 16, b"DXT3": 16, b"DXT4": 16,
                       b"DXT5": 16, b"ATI2": 16, b"BC5U": 16, b"BC5S": 16}
_DXGI_BLOCK_BYTES = {**dict.fromkeys((70, 71, 72, 79, 80, 81), 8),  # BC1, BC4
                     **dict.fromkeys((73, 74, 75, 76, 77, 78, 82, 83, 84, 97, 98, 99), 16)}  # BC2, BC3, BC5, BC7
_ALPHA_OPTIONAL = ("DXT1", "BC1", "BC7")  # formats whose alpha Pillow decodes whether the texture has any
_NORMAL_XY = ("BC5", "BC5S")
_DXT5 = ("DXT5", "BC3")  # Pillow's names of BC3 blocks, under their FourCC and their DX10 format


def dds_problem(data: bytes) -> str | None:
    """Why the DDS file ``data`` is not one 2D texture remaster enlarges, as the rest of a sentence that
    starts with the file's name; None when it is one."""
    if len(data) < _HEADER or (data[84:88] == _FOURCC_DX10 and len(data) < _HEADER + _DX10_HEADER):
        return ("is cut short: its DDS header is incomplete. If it was still being saved or copied, build again "
                "once it is; else re-export it")
    height, width = struct.unpack_from("<2I", data, 12)
    if not height or not width:
        return f"has no texels: its DDS header gives {width}x{height}; re-export it"
    caps2 = struct.unpack_from("<I", data, 112)[0]
    dxgi = dimension = misc = layers = 0
    if data[84:88] == _FOURCC_DX10:
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
    flags, _, bits = struct.unpack_from("<3I", data, 80)
    if flags & _LEGACY_LUMINANCE and not (bits == 8 or (bits == 16 and flags & _LEGACY_ALPHA)):
        return unreadable_format(data)  # Pillow reads 8-bit grey and grey+alpha; L16 (a height map) it refuses
    return None


def unreadable_format(data: bytes) -> str:
    """That the DDS ``data`` is in a pixel format Pillow does not decode, as the rest of a sentence that
    starts with the file's name, naming the format as its header does."""
    return (f"is stored in a format remaster cannot read ({_format_name(data)}); re-export it as PNG, or as DDS in "
            "BC1 to BC5, BC7 or uncompressed 8-bit RGB(A)")


def as_pillow_reads(data: bytes) -> bytes:
    """``data`` with a DX10 format that Pillow does not list, but whose texels it reads under another name,
    renamed: BC1-BC3 in sRGB (texconv ``-srgb``), and 32-bit BGRA or BGRX as the legacy header gives them."""
    if data[84:88] != _FOURCC_DX10 or len(data) < _HEADER + _DX10_HEADER:
        return data
    dxgi = struct.unpack_from("<I", data, _HEADER)[0]
    if dxgi in _SAME_BLOCKS:
        return data[:_HEADER] + struct.pack("<I", _SAME_BLOCKS[dxgi]) + data[_HEADER + 4:]
    if dxgi in _BGRA:  # the pixel format less its size field, which the file has already
        return data[:80] + _bgra_pixel_format(_BGRA[dxgi])[4:] + data[108:_HEADER] + data[_HEADER + _DX10_HEADER:]
    return data


def level_at_least(data: bytes, side: int) -> bytes:
    """The DDS ``data`` (as ``as_pillow_reads`` gives it) cut to its smallest mip level whose longer side is
    ``side`` px or more, as a texture of that one level: the preview of an 8192 px texture decodes the 256 px level
    its exporter made, not 64 million texels to average them away. ``data`` as it is where it has no such level,
    is not block-compressed, or is shorter than its levels."""
    height, width = struct.unpack_from("<2I", data, 12)
    levels = struct.unpack_from("<I", data, 28)[0]
    block = _block_bytes(data)
    start = _HEADER + (_DX10_HEADER if data[84:88] == _FOURCC_DX10 else 0)
    level, offset = 0, start
    while level + 1 < levels and max(width >> (level + 1), height >> (level + 1)) >= side and block:
        offset += _level_bytes(width >> level, height >> level, block)
        level += 1
    size = _level_bytes(width >> level, height >> level, block)
    if level == 0 or offset + size > len(data):
        return data
    head = bytearray(data[:start])
    struct.pack_into("<3I", head, 12, max(1, height >> level), max(1, width >> level), size)
    struct.pack_into("<I", head, 28, 1)
    return bytes(head) + data[offset:offset + size]


def _block_bytes(data: bytes) -> int:
    """The bytes of a 4x4 block of the DDS ``data``'s format; 0 where it is not block-compressed (or unknown)."""
    if data[84:88] == _FOURCC_DX10:
        return _DXGI_BLOCK_BYTES.get(struct.unpack_from("<I", data, _HEADER)[0], 0)
    return _FOURCC_BLOCK_BYTES.get(data[84:88], 0) if struct.unpack_from("<I", data, 80)[0] & _DDPF_FOURCC else 0


def _level_bytes(width: int, height: int, block: int) -> int:
    """The bytes of a ``width`` x ``height`` level (each side at least 1) of blocks of ``block`` bytes."""
    return -(-max(1, width) // 4) * -(-max(1, height) // 4) * block


def _bgra_pixel_format(alpha: bool, flags: int = 0) -> bytes:
    """The legacy DDS_PIXELFORMAT of 32-bit BGRA texels, or BGRX (the fourth byte unused) without ``alpha``,
    with pixel format ``flags`` besides those (DDPF_NORMAL)."""
    flags |= _LEGACY_RGB | (_LEGACY_ALPHA if alpha else 0)
    return struct.pack("<2I4sI4I", 32, flags, bytes(4), 32,
                       0xFF0000, 0xFF00, 0xFF, 0xFF000000 if alpha else 0)  # size, flags, fourcc, bits, masks


def _format_name(data: bytes) -> str:
    """The DDS format of ``data`` as its header names it, for a message: ``DXGI format 72``, ``'DXT2'``."""
    fourcc = data[84:88]
    if fourcc == _FOURCC_DX10 and len(data) >= _HEADER + 4:
        return f"DXGI format {struct.unpack_from('<I', data, _HEADER)[0]}"
    if not any(fourcc):  # given by bit masks, not by name
        flags, _, bits = struct.unpack_from("<3I", data, 80)
        return f"uncompressed, {bits} bits a texel, pixel format flags 0x{flags:x}"
    text = fourcc.decode("ascii", "replace")
    return repr(text) if text.isprintable() and text.strip() else f"Direct3D format {int.from_bytes(fourcc, 'little')}"


def says_normal_map(data: bytes) -> bool:
    """Whether the header of the DDS ``data`` sets DDPF_NORMAL, as NVIDIA's tools (and remaster) mark a normal map."""
    return bool(struct.unpack_from("<I", data, 80)[0] & DDPF_NORMAL)


def stored_texels(pixels: np.ndarray, pixel_format: str | None, normal_map: bool = False) -> np.ndarray:
    """(H, W, C) uint8 texels as Pillow decoded a DDS of ``pixel_format`` (Pillow's name, None when
    uncompressed), as the texture they store: see the module's docstring. ``normal_map``: the header sets
    DDPF_NORMAL (``says_normal_map``)."""
    with_alpha = pixels.shape[2] == 4
    if normal_map and with_alpha and pixel_format in _DXT5:  # DXT5nm: X in alpha, Y in green
        return _with_normal_z(pixels[..., [3, 1]])
    if with_alpha and pixel_format in _ALPHA_OPTIONAL and (pixels[..., 3] == 255).all():
        return pixels[..., :3]
    if with_alpha and pixel_format is None and not pixels[..., 3].any():  # read as alpha, the texture is invisible
        return pixels[..., :3]
    if pixel_format in _NORMAL_XY:
        return _with_normal_z(pixels[..., :2])
    return pixels


def _with_normal_z(xy: np.ndarray) -> np.ndarray:
    """A normal map's (H, W, 3) texels from its (H, W, 2) X and Y, blue rebuilt from them as an engine's shader
    does for BC5 and DXT5nm: the vector has unit length and points out of the surface."""
    components = xy.astype(np.float32) / 127.5 - 1.0  # (H, W, 2) in [-1, 1]
    z = np.sqrt(np.clip(1.0 - (components**2).sum(axis=2), 0.0, 1.0))  # (H, W)
    blue = np.rint((z + 1.0) * 127.5).astype(np.uint8)
    return np.concatenate([xy, blue[..., None]], axis=2)


def header(width: int, height: int, mip_levels: int, *, fourcc: bytes | None, top_level_bytes: int, alpha: bool,
           dxgi: int = 0, normal_map: bool = False) -> bytes:
    """The bytes before the texels of a 2D texture: block-compressed under ``fourcc`` (``DXT1``, ``DXT5``,
    ``ATI1``, ``ATI2``; ``DX10`` with a DXGI format number ``dxgi``, 20 bytes more), or uncompressed 32-bit
    BGRA (BGRX where ``alpha`` is False) for None. ``alpha`` beside a FourCC sets DDPF_ALPHAPIXELS ("has
    alpha"), which is how a DXT1 with 1-bit alpha (DXT1a) tells texconv, Paint.NET and Direct3D 9 engines
    that its cut-out is not opaque: the blocks alone do not say. ``normal_map`` sets DDPF_NORMAL, by which
    NVIDIA's tools and remaster tell a DXT5nm from a DXT5 of colour and alpha. ``top_level_bytes`` is the size of
    the first level's texels; the levels follow largest first."""
    flags = _DDSD_CAPS | _DDSD_HEIGHT | _DDSD_WIDTH | _DDSD_PIXELFORMAT
    flags |= _DDSD_PITCH if fourcc is None else _DDSD_LINEARSIZE
    caps = _DDSCAPS_TEXTURE
    if mip_levels > 1:
        flags |= _DDSD_MIPMAPCOUNT
        caps |= _DDSCAPS_COMPLEX | _DDSCAPS_MIPMAP
    normal_flag = DDPF_NORMAL if normal_map else 0
    if fourcc is None:
        pixel_format = _bgra_pixel_format(alpha, normal_flag)
        pitch = width * 4
    else:
        pixel_flags = _DDPF_FOURCC | (_LEGACY_ALPHA if alpha else 0) | normal_flag
        pixel_format = struct.pack("<2I4s5I", 32, pixel_flags, fourcc, 0, 0, 0, 0, 0)
        pitch = top_level_bytes
    dx10 = struct.pack("<5I", dxgi, _DIMENSION_2D, 0, 1, 0) if fourcc == _FOURCC_DX10 else b""  # one 2D texture
    return (MAGIC + struct.pack("<7I", 124, flags, height, width, pitch, 0, mip_levels) + bytes(44)
            + pixel_format + struct.pack("<5I", caps, 0, 0, 0, 0) + dx10)
