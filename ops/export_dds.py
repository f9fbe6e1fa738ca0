"""DDS export: a texture as a game engine loads it, block-compressed, with its mip chain.

Engines of the Direct3D 9 era, and the mods that remaster their games, load textures as DDS files: BC1
(DXT1) for opaque colour or cut-outs (1-bit alpha), BC3 (DXT5) with alpha, BC4 (ATI1) for one channel,
BC5 (ATI2) for a normal map's X and Y, or BC3 with X moved to alpha (DXT5nm) for engines without BC5, a
normal map's header marked as NVIDIA's tools mark one (DDPF_NORMAL); Direct3D 11 engines also load BC7,
which keeps colour and alpha far better. Each level of the chain is a box-filtered half of the one before (in
linear light for colour; a normal map's vectors renormalized; with an alpha test's cut-off, its coverage kept),
and etcpak encodes the 4x4 blocks, its BC1 and BC4 blocks refined by ``ops.bc1`` and ``ops.bc4``. The colour
under transparent texels is filled from the visible ones first, in every level: a 4x4 block shares its two end
colours among its texels, so a hidden key colour would pull the visible ones toward it, and at a distance it
would fringe the cut-out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, get_args

import etcpak
import numpy as np
from PIL import Image as PILImage
from pydantic import Field, ValidationInfo, field_validator, model_validator

from ops import bc1, bc4
from ops.alpha import (
    ALPHA_MEANING, AlphaMeaning, color_to_resample, coverage_of, holds_coverage, passing_level, share_passing,
    with_coverage,
)
from ops.atomic import write_bytes_atomic
from ops.dds import header
from ops.image_io import (
    Image, check_image, colorspace_of_kind, image_sides, linear_to_srgb, quantize, read_image, refuse_oversized,
)
from ops.material.params import MaterialParams
from ops.normal_map import (
    KIND_ARGUMENT, SPEC_WORDS, check_normal_map, renormalize, sampled, warn_if_normal_map,
)
from ops.registry import OpContext, OpParams, choice_in_any_case, one_image, single_output
from ops.tileable import texture_wrap
from ops.upscale import resample, resize

DdsFormat = Literal["auto", "bc1", "bc1a", "bc3", "bc3n", "bc4", "bc5", "bc7", "uncompressed"]
Kind = Literal["color", "normal", "data"]


def _bc1(rgba: np.ndarray, kept_from: int, *, punch_through: bool = False) -> bytes:
    """etcpak's BC1 blocks, a flat colour kept within a level; with ``punch_through``, texels whose alpha is
    below ``kept_from`` transparent (DXT1a). See ``ops.bc1``."""
    blocks = _etcpak_blocks(etcpak.compress_bc1, rgba, 8)
    texels = bc1.texel_blocks(rgba)
    bc1.refine(blocks, texels)
    if punch_through:
        bc1.with_punch_through_alpha(blocks, texels, kept_from)
    return blocks.tobytes()


def _bc3(rgba: np.ndarray, kept_from: int) -> bytes:
    """etcpak's BC3 blocks, their alpha halves refined as BC4's are and their colour halves as BC1's."""
    blocks = _etcpak_blocks(etcpak.compress_bc3, rgba, 16)
    texels = bc1.texel_blocks(rgba)
    bc4.refine(blocks[:, :8], texels[..., 3])  # a block: 8 bytes of alpha as BC4 keeps a channel, then BC1's colour
    bc1.refine(blocks[:, 8:], texels, beside_alpha=True)
    return blocks.tobytes()


def _dxt5nm(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) normal map texels as DXT5nm holds them: X in alpha, Y in green, red 255 and blue 0 (NVIDIA's
    layout, which Unity's DXT5nm reads). BC3 keeps alpha as BC4 keeps a channel, far closer than its colour half,
    and with red and blue the same in every texel, the colour half spends its end colours on Y alone."""
    held = np.empty_like(rgba)
    held[..., 0], held[..., 1], held[..., 2], held[..., 3] = 255, rgba[..., 1], 0, rgba[..., 0]
    return held


def _bc4(rgba: np.ndarray, kept_from: int, *, channels: tuple[int, ...] = (0,)) -> bytes:
    """etcpak's blocks of red (BC4), or of red and green (BC5: a BC4 block of each in turn), refined by
    ``ops.bc4``."""
    blocks = _etcpak_blocks(etcpak.compress_bc5 if len(channels) == 2 else etcpak.compress_bc4, rgba, 8 * len(channels))
    texels = bc1.texel_blocks(rgba)
    for half, channel in enumerate(channels):
        bc4.refine(blocks[:, 8 * half : 8 * half + 8], texels[..., channel])
    return blocks.tobytes()


def _etcpak_blocks(compress: Callable[[bytes, int, int], bytes], rgba: np.ndarray, block_bytes: int) -> np.ndarray:
    """(N, block_bytes) uint8 blocks of (H, W, 4) ``rgba`` as etcpak's ``compress`` writes them, writable, so
    that ``ops.bc1`` and ``ops.bc4`` refine them in place."""
    height, width = rgba.shape[:2]
    return np.frombuffer(compress(rgba.tobytes(), width, height), np.uint8).reshape(-1, block_bytes).copy()


def _bc7(rgba: np.ndarray, kept_from: int) -> bytes:
    """BC7 blocks weighing the channels alike, as ``block_psnr`` does (etcpak's default favours green);
    an opaque level in the four modes that store no alpha, where etcpak's others give many texels 254."""
    params = etcpak.BC7CompressBlockParams()
    params.init_linear_weights()
    if (rgba[..., 3] == 255).all():
        params.m_mode_mask = 0b1111
    return etcpak.compress_bc7(rgba.tobytes(), rgba.shape[1], rgba.shape[0], params)


@dataclass(frozen=True)
class _Stored:
    """How one block-compressed format holds texels."""

    encode: Callable[[np.ndarray, int], bytes]  # (H, W, 4) uint8 RGBA, sides multiples of 4; least kept alpha -> blocks
    fourcc: bytes  # the header's name for it; DX10 adds a DXGI format number
    kept: tuple[int, ...]  # the planes the blocks keep, of the RGBA texels as ``layout`` puts them in
    block_bytes: int  # a 4x4 block's
    decoded: tuple[str, int]  # Pillow's mode and BCn number that decode the blocks again
    dxgi: tuple[int, int] = (0, 0)  # DX10's format for (colour in sRGB, values as stored)
    # DDPF_ALPHAPIXELS in the header: for DXT1a alone, as DXT1 is the one FourCC that may or may not hold alpha.
    # Microsoft's DXT5 pixel format leaves it out (DXT5 always holds alpha); a DX10 file's is its FourCC alone.
    says_alpha: bool = False
    layout: Callable[[np.ndarray], np.ndarray] | None = None  # (H, W, 4) RGBA -> as the blocks hold it; None: as is

    def held(self, rgba: np.ndarray) -> np.ndarray:
        """(H, W, 4) RGBA texels as the blocks hold them, so that ``block_psnr`` compares what was encoded."""
        return rgba if self.layout is None else self.layout(rgba)


_BLOCKS = {
    "bc1": _Stored(_bc1, b"DXT1", (0, 1, 2), 8, ("RGBA", 1)),
    "bc1a": _Stored(partial(_bc1, punch_through=True), b"DXT1", (0, 1, 2, 3), 8, ("RGBA", 1), says_alpha=True),
    "bc3": _Stored(_bc3, b"DXT5", (0, 1, 2, 3), 16, ("RGBA", 3)),
    "bc3n": _Stored(_bc3, b"DXT5", (1, 3), 16, ("RGBA", 3), layout=_dxt5nm),  # Y in green, X in alpha
    "bc4": _Stored(_bc4, b"ATI1", (0,), 8, ("L", 4)),
    "bc5": _Stored(partial(_bc4, channels=(0, 1)), b"ATI2", (0, 1), 16, ("RGB", 5)),
    "bc7": _Stored(_bc7, b"DX10", (0, 1, 2, 3), 16, ("RGBA", 7), (99, 98)),
}
_OPAQUE = ("bc1", "bc3n", "bc4", "bc5")
DEFAULT_CUTOFF = 0.5  # where bc1a parts visible from transparent texels when no alpha_cutoff is given


_LEGACY_NAMES = {"dxt1": "bc1", "dxt1a": "bc1a", "dxt5": "bc3", "dxt5nm": "bc3n", "ati1": "bc4", "ati2": "bc5",
                 "3dc": "bc5"}  # as modders know them
_MAP_KINDS: dict[str, Kind] = {"albedo": "color", "preview": "color", "normal": "normal"}  # the rest are data
# Every map a material may write (one with orm writes them all): a map's own format is judged against its kind for
# these alone, since another name is a slip (normla), which validate reports naming the maps the material writes.
_MATERIAL_MAPS = frozenset(MaterialParams.model_validate({"method": "from_texture", "orm": True}).surface_maps())


def _map_name(entry: str | Mapping[str, object]) -> str:
    """The map an entry of ``maps`` names: itself, or the one key of ``normal: bc3n``."""
    return entry if isinstance(entry, str) else next(iter(entry))


def _map_format(entry: object) -> str | dict[str, str]:
    """An entry of ``maps`` that gives a map its format (``normal: bc3n``), the format spelt as ``format`` takes it,
    or the map's name alone where YAML gives none (``normal:``); refused, naming the map and the formats, where it
    names no format."""
    if not (isinstance(entry, Mapping) and len(entry) == 1 and isinstance(name := next(iter(entry)), str)):
        raise ValueError(f"maps takes a map's name (albedo) or a name and its format (normal: bc3n), not {entry!r}")
    if entry[name] is None:
        return name
    format = format_name(entry[name])
    if not (isinstance(format, str) and format in get_args(DdsFormat)):
        raise ValueError(f"map {name}: format {entry[name]!r} is none export_dds writes; give one of "
                         f"{', '.join(get_args(DdsFormat))} (or a Direct3D 9 name, such as DXT5nm)")
    return {name: format}


_ONE_KIND: dict[str, tuple[Kind, str]] = {  # formats that fit one kind of map: the kind, and such maps in words
    "bc3n": ("normal", "the normal map (normal)"), "bc5": ("normal", "the normal map (normal)"),
    "bc4": ("data", "a grey data map (roughness, ao, height)"),
}
_FITTING = {  # kind -> in words, and the formats to offer such a map first
    "normal": ("a normal map", "bc5, bc3n"), "data": ("data", "bc4 (a grey map), bc1"), "color": ("colour", "bc1"),
}


def _check_map_format(name: str, format: str) -> None:
    """Refuse a map's own format that fits another kind of map (``albedo: bc5``), naming the map, the maps the
    format fits and the formats that fit this one: ``kind`` is not set with ``maps``, so the fix
    ``check_format_fits_kind`` gives (set kind) does not apply. A name no material writes is left to ``validate``,
    which says so: judged as a data map, a mistyped ``normla: bc3n`` was told bc3n fits only the normal map."""
    if name not in _MATERIAL_MAPS:
        return
    kind = map_kind(name)
    if format in _ONE_KIND and _ONE_KIND[format][0] != kind:
        words, fitting = _FITTING[kind]
        raise ValueError(f"map {name}: {format} fits only {_ONE_KIND[format][1]}, and {name} is exported as {words}: "
                         f"give {name} {fitting}, bc3, bc7 or uncompressed, or leave its format out (auto)")


def format_name(value: object) -> object:
    """``DXT5`` is ``bc3``: the Direct3D 9 names that texconv, Photoshop and mod guides use are taken too, and
    every name in any case (``BC7``, as texconv's ``BC7_UNORM`` writes it). A name of no format stays as given,
    so that its error quotes what the spec or the caller wrote."""
    return choice_in_any_case(value, get_args(DdsFormat), _LEGACY_NAMES)


def check_format_fits_kind(format: str, kind: str, from_python: bool = False) -> None:
    """Refuse a format that keeps less than ``kind`` needs, which an engine would load wrong without a word. The
    kind to set is said as ``export_dds``'s argument where ``from_python``, else as the spec's key."""
    normal, data = _setting("kind", "normal", from_python), _setting("kind", "data", from_python)
    if format == "bc5" and kind != "normal":
        raise ValueError("format bc5 keeps only red and green, which is how engines store a normal map's X and Y; "
                         f"set {normal}, or choose bc1 (opaque) or bc3 (with alpha)")
    if format == "bc3n" and kind != "normal":
        raise ValueError("format bc3n (DXT5nm) moves a normal map's X into alpha and keeps its Y in green, which only "
                         f"a normal map's shader reads back: set {normal} for a normal map, or choose bc3 for a "
                         "colour texture with alpha (bc1 for an opaque one)")
    if format == "bc4" and kind != "data":
        raise ValueError(f"format bc4 keeps one channel, which an engine reads as red: set {data} for a grey "
                         "map (roughness, height, a mask), or choose bc1 for a colour texture")


def check_cutoff_fits_alpha(alpha_cutoff: float | None, alpha: AlphaMeaning, kind: str,
                            from_python: bool = False) -> None:
    """Refuse an ``alpha_cutoff`` for an alpha that holds data: an alpha test's cut-off means nothing there, yet
    bc1a would still make the texels under it transparent. ``from_python``: as ``check_format_fits_kind``."""
    if alpha_cutoff is not None and not holds_coverage(alpha, normal_map=kind == "normal"):
        coverage = _setting("alpha", "coverage", from_python)
        raise ValueError("alpha_cutoff keeps an alpha test's coverage, and this alpha holds data (a mask or "
                         f"height, as a normal map's does unless {coverage}): leave alpha_cutoff out, or set "
                         f"{coverage}")


def map_kind(name: str) -> Kind:
    """How a material's map ``name`` (``albedo``, ``normal``, ``roughness``, ...) is exported."""
    return _MAP_KINDS.get(name, "data")


class ExportDdsParams(OpParams):
    """The ``export_dds`` op: a texture as the block-compressed DDS an engine loads, with its mip chain."""

    format: DdsFormat = "auto"
    kind: Kind = "color"
    mipmaps: bool = True
    alpha: AlphaMeaning = ALPHA_MEANING
    alpha_cutoff: float | None = Field(
        None, gt=0, lt=1, description="the alpha test's cut-off in the engine's shader (0.5 in most; a texel at it or "
        "above is drawn): each mip level then has as large a share of texels past it as the top level, so that "
        "foliage and fences do not thin out at a distance; bc1a keeps the texels past it and makes the rest "
        "transparent (at 0.5 where this is not given)"
    )
    resize_to_blocks: bool = Field(
        False, description="resample a texture whose sides are not multiples of 4, which a block-compressed format "
        "needs, to the nearest sides that are (a sprite of 44x42 px to 44x44; Lanczos, alpha and tiling kept), where "
        "it is refused otherwise"
    )
    maps: tuple[str | dict[str, DdsFormat], ...] = Field(
        (), description="from an asset that writes several maps (a material): those to export, by name (albedo, normal, "
        "roughness, ...), each as its kind: normal as a normal map, albedo and preview as colour, the rest as data; "
        "a map given with a format (normal: bc3n) is exported in that one, the others in format's"
    )

    @field_validator("maps", mode="before")
    @classmethod
    def _map_formats(cls, value: object) -> object:
        """Each map as its name, or as a mapping of its name to its format's own spelling (``normal: bc3n``, of
        ``normal: DXT5nm``), so that the cache key holds one; ``{albedo: bc1, normal: bc3n}`` is that list, in order."""
        if isinstance(value, Mapping):
            value = [{name: format} for name, format in value.items()]
        if not isinstance(value, (list, tuple)):
            return value  # refused by its type: a list in brackets
        return [entry if isinstance(entry, str) else _map_format(entry) for entry in value]

    @field_validator("maps")
    @classmethod
    def _map_names(cls, entries: tuple[str | dict[str, DdsFormat], ...]) -> tuple[str | dict[str, DdsFormat], ...]:
        """Each map named as its file is, once, and given a format of its own only where that fits its kind: checked
        here, so that the spec's error is at the key maps."""
        names = [_map_name(entry) for entry in entries]
        for name in names:
            if not name.isidentifier():
                raise ValueError(f"map {name!r}: name a map as its file is named, without .png (albedo, normal, ao)")
        if len(set(names)) != len(names):
            raise ValueError(f"maps {names} names a map twice")
        for entry in entries:
            if not isinstance(entry, str):
                _check_map_format(*next(iter(entry.items())))
        return entries

    @field_validator("maps")
    @classmethod
    def _plain_where_format_s(
        cls, entries: tuple[str | dict[str, DdsFormat], ...], info: ValidationInfo
    ) -> tuple[str | dict[str, DdsFormat], ...]:
        """A map given the format it would get anyway (``normal: auto``, ``albedo: bc7`` beside ``format: bc7``) as its
        name alone, the shortest spelling: equal meanings give equal cache keys, where the spelling exported the same
        files again. ``format`` is checked before ``maps``; where it was refused, the entries stay as given."""
        format = info.data.get("format")
        if format is None:
            return entries
        return tuple(_map_name(entry) if isinstance(entry, dict) and entry[_map_name(entry)] == format else entry
                     for entry in entries)

    @field_validator("format", mode="before")
    @classmethod
    def _legacy_name(cls, value: object) -> object:
        return format_name(value)

    @model_validator(mode="after")
    def _format_fits_kind(self, info: ValidationInfo) -> ExportDdsParams:
        """Refuse a format or cut-off that does not fit the texture's kind or alpha, saying the fix as a script's
        argument where the params come from ``export_dds`` (``from_arguments``), else as the spec's key."""
        if self.maps and "kind" in self.model_fields_set:
            raise ValueError("with maps, each map is exported as its own kind (normal, albedo as colour, the rest as "
                             "data): leave kind out")
        if self.maps and self.format in _ONE_KIND:
            fitting = "roughness" if _ONE_KIND[self.format][0] == "data" else "normal"
            raise ValueError(f"with maps, format {self.format} would fit only some of them: leave format out (auto "
                             "picks per map: bc5 for the normal map, bc4 for grey maps, bc1 or bc3 for the rest), give "
                             f"bc7 or uncompressed, or give it to the maps it fits: maps: [albedo, {fitting}: "
                             f"{self.format}]")
        from_python = bool(info.context and info.context.get("from_python"))
        check_cutoff_fits_alpha(self.alpha_cutoff, self.alpha, self.kind, from_python)
        check_format_fits_kind(self.format, self.kind, from_python)
        return self

    def map_formats(self) -> dict[str, DdsFormat]:
        """Each of ``maps`` by name, in order, with the format it is exported in: its own, else ``format``."""
        return {_map_name(entry): self.format if isinstance(entry, str) else entry[_map_name(entry)]
                for entry in self.maps}

    def key_params(self) -> dict[str, object]:
        """A normal map's DDS is marked as one in its header (DDPF_NORMAL) since that flag came: its key says so,
        so that those made before are exported again, while every other DDS keeps its key and its file."""
        key = super().key_params()
        normal = self.kind == "normal" or any(map_kind(name) == "normal" for name in self.map_formats())
        return {**key, "normal_flag": "DDPF_NORMAL"} if normal else key

    def neutral_fields(self) -> tuple[str, ...]:
        return () if self.resize_to_blocks else ("resize_to_blocks",)

    def later_neutral_fields(self) -> tuple[str, ...]:
        return ("resize_to_blocks",)  # off, the outputs built before it keep their keys

    def output_suffix(self) -> str:
        return ".dds"

    def input_roles(self) -> frozenset[str]:
        return frozenset(f"{name}.png" for name in self.map_formats()) if self.maps else frozenset({"image"})

    def output_names(self) -> tuple[str, ...] | None:
        return tuple(f"{name}.dds" for name in self.map_formats()) or None


@dataclass(frozen=True)
class Exported:
    """A DDS file as made, with what the manifest reports of it."""

    data: bytes  # the whole DDS file
    format: str  # what it is stored as: ``auto`` resolved
    mip_levels: int
    header_bytes: int  # where the texels start
    top_level: np.ndarray  # (H, W, planes) uint8: the first level's texels as they went into its blocks


def export_dds(
    image: Image, *, format: DdsFormat = "auto", kind: Kind = "color", mipmaps: bool = True,
    alpha: AlphaMeaning = "auto", alpha_cutoff: float | None = None, resize_to_blocks: bool = False,
    source: str = "the texture",
) -> Exported:
    """The DDS file of ``image``. ``image`` holds colour in linear light for ``kind: color``
    (``read_image``'s default), values as stored for ``normal`` and ``data``. A texture the format cannot
    hold is a ``ValueError`` naming ``source`` and what to do, and so is an argument ``ExportDdsParams`` would
    refuse (its Direct3D 9 names, ``DXT5``, are taken). ``alpha_cutoff`` and ``resize_to_blocks``: see
    ``ExportDdsParams``. A normal map's messages name ``kind`` as the call gives it (``kind="normal"``)."""
    params = ExportDdsParams.from_arguments(format=format, kind=kind, mipmaps=mipmaps, alpha=alpha,
                                            alpha_cutoff=alpha_cutoff, resize_to_blocks=resize_to_blocks)
    return _exported(image, params, source, from_python=True)


def _exported(image: Image, params: ExportDdsParams, source: str, *, from_python: bool) -> Exported:
    """The DDS file of ``image`` as ``params`` (one map's kind and format) say. The op and ``export_dds`` both
    export here: ``from_python`` says the fixes in its messages as ``export_dds``'s arguments (``kind="normal"``,
    ``format="bc3"``), not as the spec's keys, which a script has not."""
    words = KIND_ARGUMENT if from_python else SPEC_WORDS
    check_image(image, colorspace=colorspace_of_kind(params.kind))
    if params.kind == "normal":  # before resize_to_blocks, which renormalizes three components
        check_normal_map(Path(source), image.color, "export_dds", words)
    elif params.kind == "color":
        warn_if_normal_map(linear_to_srgb(sampled(image.color)), source, "export_dds",
                           f"as {words.colour}, its mip levels are averaged as light, not as vectors, and "
                           "bc1 or bc3 keeps its blue, so it shades wrong, worst at a distance", words.to_normal)
    chosen = _choose(image, params.format, params.kind)
    _check_sides(source, image.height, image.width, chosen, params.resize_to_blocks)
    if params.resize_to_blocks and chosen != "uncompressed":
        image = to_block_sides(image, params.kind, params.alpha)
    _check(image, chosen, source, from_python)
    if params.mipmaps:
        levels = mip_chain(image, kind=params.kind, alpha=params.alpha, alpha_cutoff=params.alpha_cutoff)
    else:
        levels = [_filled(image, params.kind, params.alpha)]
    colorspace = colorspace_of_kind(params.kind)
    top_level = quantize(levels[0], colorspace)
    kept_from = passing_level(DEFAULT_CUTOFF if params.alpha_cutoff is None else params.alpha_cutoff)
    texels = [_encode(top_level, chosen, kept_from)]
    texels += [_encode(quantize(level, colorspace), chosen, kept_from) for level in levels[1:]]
    stored = _BLOCKS.get(chosen)
    head = header(image.width, image.height, len(levels), fourcc=stored.fourcc if stored else None,
                  top_level_bytes=len(texels[0]), alpha=stored.says_alpha if stored else image.alpha is not None,
                  dxgi=stored.dxgi[params.kind != "color"] if stored else 0,
                  normal_map=_marked_normal_map(chosen, params.kind))
    return Exported(head + b"".join(texels), chosen, len(levels), len(head), top_level)


def _marked_normal_map(format: str, kind: Kind) -> bool:
    """Whether a ``kind`` texture stored as ``format`` has DDPF_NORMAL in its header, so that NVIDIA's tools and
    remaster read it back as a normal map: every normal map but one whose FourCC file keeps an alpha beside X, Y
    and Z. To NVIDIA's reader (and Blender's, taken from it) a flagged FourCC file has no alpha, and a flagged DXT5
    is DXT5nm, X in alpha: a ``bc3`` normal map's height or mask would be read as X, a ``bc1a`` one's cut-out lost."""
    return kind == "normal" and format not in ("bc3", "bc1a")


def to_block_sides(image: Image, kind: Kind = "color", alpha: AlphaMeaning = "auto") -> Image:
    """``image`` resampled to the nearest sides that are multiples of 4 (ties up, 4 at least), as
    ``upscale`` resamples but on ``image``'s values (colour in linear light, as ``export_dds`` reads it for its
    mipmaps): the colour under a cut-out filled first, alpha held within its source's local range, and a
    texture that tiles read across its borders, so that it still tiles. Whether it tiles is judged on the
    values as stored, as every other op judges it: judged on linear light, a texture that upscale found not
    to tile (freedoom's tscrn1) was resampled as tiling, and one that tiles as not."""
    size = _block_sides(image.height, image.width)
    if size == (image.height, image.width):
        return image
    normal_map = kind == "normal"
    filled = color_to_resample(image.color, image.alpha, alpha, normal_map=normal_map)
    stored = linear_to_srgb(filled) if kind == "color" else filled
    wrap = texture_wrap(stored, coverage_of(image.alpha, alpha, normal_map=normal_map), normal_map=normal_map)
    return resample(image, filled, size, "lanczos", wrap, normal_map)


def _block_sides(height: int, width: int) -> tuple[int, int]:
    """The sides ``to_block_sides`` resamples a texture of ``height`` x ``width`` to: the nearest multiples of 4,
    ties up, 4 at least."""
    return max(4, (height + 2) // 4 * 4), max(4, (width + 2) // 4 * 4)


def _check_sides(source: str, height: int, width: int, format: str, resize_to_blocks: bool) -> None:
    """Refuse a texture whose DDS would be more than 16384 px a side, which Direct3D 11 and 12 and most engines
    do not load, as ``upscale`` refuses to make one; judged on the sides it is exported at (``resize_to_blocks``
    rounds them to blocks' for a block-compressed ``format``), before any level is made."""
    exported = _block_sides(height, width) if resize_to_blocks and format != "uncompressed" else (height, width)
    refuse_oversized(Path(source), *exported, "export a smaller texture (downscale it, or make it with a smaller scale)")


def mip_chain(image: Image, *, kind: Kind = "color", alpha: AlphaMeaning = "auto",
              alpha_cutoff: float | None = None) -> list[Image]:
    """``image`` and each half of the level before it (sides rounded down, as Direct3D sizes them), to 1x1,
    each with its colour under transparent texels filled (see the module's docstring), and with an
    ``alpha_cutoff``, its coverage scaled so that an alpha test keeps as large a share as of ``image``."""
    levels = [_filled(image, kind, alpha)]
    kept = None  # the cut-off and the share of the top level's texels past it, where the alpha is coverage
    if alpha_cutoff is not None and image.alpha is not None and holds_coverage(alpha, normal_map=kind == "normal"):
        kept = (alpha_cutoff, share_passing(image.alpha, alpha_cutoff))
    while max(levels[-1].height, levels[-1].width) > 1:
        level = levels[-1]
        size = (max(1, level.height // 2), max(1, level.width // 2))
        color = resize(level.color, size, "box")
        if kind == "normal":
            color = renormalize(color)
        coverage = None if level.alpha is None else resize(level.alpha[..., None], size, "box")[..., 0]
        if kept is not None and coverage is not None:  # every level has an alpha where the top one has
            coverage = with_coverage(coverage, *kept)
        levels.append(_filled(level.with_color(color, coverage), kind, alpha))
    return levels


def _filled(image: Image, kind: Kind, alpha: AlphaMeaning) -> Image:
    """``image`` with the colour under its transparent texels filled where its alpha is coverage."""
    return image.with_color(color_to_resample(image.color, image.alpha, alpha, normal_map=kind == "normal"))


def _choose(image: Image, format: DdsFormat, kind: Kind) -> str:
    if format != "auto":
        return format
    if _transparent(image):
        return "bc3"
    if kind == "normal":
        return "bc5"
    return "bc4" if kind == "data" and image.channels == 1 else "bc1"


def _transparent(image: Image) -> bool:
    """Whether any texel is stored with alpha below 255."""
    return image.alpha is not None and bool((image.alpha < 254.5 / 255).any())


def _check(image: Image, format: str, source: str, from_python: bool) -> None:
    """Refuse a texture ``format`` cannot store, naming ``source`` and the settings that can: as ``export_dds``'s
    arguments where ``from_python``, else as the spec's keys."""
    if format == "uncompressed":
        return
    if image.width % 4 or image.height % 4:
        resized, uncompressed = _setting("resize_to_blocks", True, from_python), _setting("format", "uncompressed",
                                                                                            from_python)
        raise ValueError(f"{source} is {image.width}x{image.height} px, and engines load a block-compressed ({format}) "
                         "texture only when both sides are multiples of 4: give the texture it is made from such "
                         f"sides (or enlarge it first), set {resized} to resample it to the nearest such sides, or set "
                         f"{uncompressed}")
    if format in _OPAQUE and _transparent(image):
        auto, bc1a, uncompressed = (_value(value, from_python) for value in ("auto", "bc1a", "uncompressed"))
        cut_out = f", {bc1a} (a cut-out's 1-bit alpha, at bc1's size)" if format == "bc1" else ""
        why = " (its alpha holds the normal's X)" if format == "bc3n" else ""
        raise ValueError(f"{source} has transparent texels, which {format} cannot keep{why}: set "
                         f"{_setting('format', 'bc3', from_python)} (or {auto}){cut_out}, or {uncompressed}")
    if format == "bc4" and image.channels != 1:
        raise ValueError(f"{source} is a colour texture, and bc4 keeps one channel: set "
                         f"{_setting('format', 'bc1', from_python)}, or export a grey map")


def _setting(key: str, value: object, from_python: bool) -> str:
    """``key`` set to ``value`` as a script passes it (``format="bc3"``, ``resize_to_blocks=True``) or as a spec
    writes it (``format: bc3``, ``resize_to_blocks: true``)."""
    return f"{key}={_value(value, from_python)}" if from_python else f"{key}: {_value(value, from_python)}"


def _value(value: object, from_python: bool) -> str:
    """``value`` as a script passes it (``"bc3"``, ``True``) or as a spec writes it (``bc3``, ``true``): the
    choices a message lists beside a ``_setting`` are spelled as it is, where a script read ``format="bc3" (or
    auto), bc1a, or uncompressed``, two spellings in one sentence."""
    if from_python:
        return f'"{value}"' if isinstance(value, str) else repr(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _encode(texels: np.ndarray, format: str, kept_from: int) -> bytes:
    """One level's (H, W, planes) uint8 texels (``quantize``'s: grey or colour, with or without alpha) as
    ``format`` stores them (bc1a: transparent below alpha ``kept_from``, 0-255). A level whose sides are not
    multiples of 4 (2x2, 1x1) fills its blocks by repeating its edge texels, which a sampler never reads."""
    rgba = _rgba(texels)  # (H, W, 4)
    if format == "uncompressed":
        return np.ascontiguousarray(rgba[..., [2, 1, 0, 3]]).tobytes()  # BGRA, as the header's masks say
    height, width = rgba.shape[:2]
    padded = np.pad(rgba, ((0, -height % 4), (0, -width % 4), (0, 0)), mode="edge")  # (4⌈H/4⌉, 4⌈W/4⌉, 4)
    stored = _BLOCKS[format]
    return stored.encode(np.ascontiguousarray(stored.held(padded)), kept_from)


def _rgba(texels: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 from grey, grey+alpha, colour or colour+alpha texels; opaque where there is no alpha."""
    planes = texels.shape[2]
    color = np.repeat(texels[..., :1], 3, axis=2) if planes <= 2 else texels[..., :3]
    alpha = texels[..., -1:] if planes in (2, 4) else np.full_like(texels[..., :1], 255)
    return np.concatenate([color, alpha], axis=2)


LOSSLESS_DB = 100.0  # what ``block_psnr`` gives where the texels are stored exactly (uncompressed)
_BAND_ROWS = 256  # rows compared at a time: a float copy of a 16384² texture would cost 4 GiB a plane


def block_psnr(exported: Exported) -> float:
    """PSNR (dB) of the first level's texels as ``exported`` stores them against those that went into its
    blocks (the texture in 8 bits, its colour under transparent texels filled), over the planes its format
    keeps (for bc1a, a texel stored transparent by its alpha alone): what block compression cost, before any
    mip is seen."""
    stored = _BLOCKS.get(exported.format)
    if stored is None:
        return LOSSLESS_DB
    height, width = exported.top_level.shape[:2]
    start = exported.header_bytes
    blocks = exported.data[start : start + (width // 4) * (height // 4) * stored.block_bytes]
    mode, number = stored.decoded
    decoded = np.asarray(PILImage.frombytes(mode, (width, height), blocks, "bcn", number)).reshape(height, width, -1)
    reference = stored.held(_rgba(exported.top_level))  # (H, W, 4) uint8
    if exported.format == "bc1a":  # a texel stored transparent shows no colour: only its alpha counts
        hidden = decoded[..., 3] == 0
        decoded = decoded.copy()
        decoded[hidden, :3] = reference[hidden, :3]
    squared, kept = 0, list(stored.kept)
    for top in range(0, height, _BAND_ROWS):
        band = slice(top, top + _BAND_ROWS)
        difference = decoded[band][..., kept].astype(np.int32) - reference[band][..., kept]
        squared += int(np.square(difference).sum())
    if squared == 0:
        return LOSSLESS_DB
    return min(LOSSLESS_DB, float(10 * np.log10(255.0**2 * height * width * len(stored.kept) / squared)))


def run(inputs: Mapping[str, Path], out_dir: Path, params: ExportDdsParams, ctx: OpContext) -> dict[str, float | int | str]:
    """One texture to ``output.dds``, or each of ``params.maps`` (inputs ``<map>.png``) to ``<map>.dds``, in its
    own format where it has one."""
    if not params.maps:
        return _export(one_image("export_dds", inputs), Path(out_dir) / single_output(params), params, params.kind,
                       params.format)
    if set(inputs) != params.input_roles():  # a bare KeyError named one missing map, and extra ones went unread
        raise ValueError(f"export_dds with maps takes the input roles {', '.join(sorted(params.input_roles()))}, the "
                         f"maps' files; got {', '.join(sorted(inputs)) or 'none'}")
    metadata: dict[str, float | int | str] = {}
    for name, format in params.map_formats().items():
        exported = _export(Path(inputs[f"{name}.png"]), Path(out_dir) / f"{name}.dds", params, map_kind(name), format)
        metadata.update({f"{name}_{key}": value for key, value in exported.items()})
    return metadata


def _export(path: Path, destination: Path, params: ExportDdsParams, kind: Kind,
            format: DdsFormat) -> dict[str, float | int | str]:
    """``path`` exported as ``kind`` in ``format``, a map's own with ``maps``: ``alpha_cutoff`` is then the maps'
    whose alpha that kind reads as coverage (a material's albedo), not the normal map's, whose alpha is data. A
    texture too large to export is refused from its header, before its floats (up to 3 GB) are decoded."""
    if (sides := image_sides(path)) is not None:
        _check_sides(str(path), *sides, format, params.resize_to_blocks)
    image = read_image(path, colorspace=colorspace_of_kind(kind))
    cutoff = params.alpha_cutoff if holds_coverage(params.alpha, normal_map=kind == "normal") else None
    one = ExportDdsParams.model_validate({"format": format, "kind": kind, "mipmaps": params.mipmaps, "alpha": params.alpha,
                                          "alpha_cutoff": cutoff, "resize_to_blocks": params.resize_to_blocks})
    exported = _exported(image, one, str(path), from_python=False)
    write_bytes_atomic(destination, exported.data)
    height, width = exported.top_level.shape[:2]
    resized = {"resized_from": f"{image.width}x{image.height}"} if (height, width) != (image.height, image.width) else {}
    return {"format": exported.format, "width": width, "height": height, **resized, "bytes": len(exported.data),
            "mip_levels": exported.mip_levels, "block_psnr_db": round(block_psnr(exported), 2)}
