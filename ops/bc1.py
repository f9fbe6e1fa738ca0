"""BC1 colour blocks beyond what etcpak writes: flat colours within a level, and 1-bit alpha (DXT1a).

A BC1 block keeps two end colours in 5:6:5 bits and, per texel, one of four palette entries: the ends and
two thirds between them (or, where the first end is not the larger number, the ends, their midpoint and
transparent black). etcpak fits the ends to a block's spread of colours, and on a flat block it lands a
few levels off: (200, 120, 40) comes back as (206, 121, 41), a visible step where a flat area meets its
neighbour. A flat colour is best kept as a third of the way between two ends picked for it channel by
channel, as stb_dxt and squish do, so every block is also tried as its mean colour kept that way, and the
closer of the two is written.

DXT1a, the 1-bit alpha of BC1 that Direct3D 9 games use for foliage and fences at half a DXT5's size,
etcpak does not write: blocks with a transparent texel are rewritten here in the three-colour mode.

Blocks are (N, 8) uint8 in file order; a block's texels are (16, C) uint8, row by row. Palettes are
decoded as Pillow decodes them (bits repeated to 8, interpolation rounded down) to choose between
candidates; a flat colour's ends are picked to come within a level of it there and in a decoder that
rounds to nearest, as some GPUs do.
"""

from __future__ import annotations

from functools import cache

import numpy as np

_CHUNK = 1 << 16  # blocks worked on at a time: 16 texels each, as int32, stay near 12 MB a plane
_BITS = (5, 6, 5)  # red, green, blue in an end colour
_SHIFTS = (11, 5, 0)
_THIRD, _HALF = 0b10, 0b10  # the palette entry a flat block uses: 2/3 of end 0 + 1/3 of end 1, or their midpoint
_TRANSPARENT = 0b11  # in the three-colour mode


def texel_blocks(rgba: np.ndarray) -> np.ndarray:
    """(N, 16, C) texels of the 4x4 blocks of (H, W, C) ``rgba``, sides multiples of 4, in file order."""
    height, width, planes = rgba.shape
    tiles = rgba.reshape(height // 4, 4, width // 4, 4, planes).transpose(0, 2, 1, 3, 4)
    return tiles.reshape(-1, 16, planes)


def refine(blocks: np.ndarray, texels: np.ndarray, *, beside_alpha: bool = False) -> None:
    """Replace, in place, each block of ``blocks`` (N, 8) by its texels' (N, 16, 3+) mean colour where that
    keeps them closer (see the module's docstring). ``beside_alpha``: the colour blocks of BC3, which
    decoders read in the four-colour mode whichever end is the larger."""
    for start in range(0, len(blocks), _CHUNK):
        chunk, colors = blocks[start : start + _CHUNK], texels[start : start + _CHUNK, :, :3].astype(np.int32)
        flat, colour = _flat_blocks(colors.mean(axis=1), thirds=True)
        closer = _squares(colors - colour[:, None]) < _errors(chunk, colors, beside_alpha=beside_alpha)
        chunk[closer] = flat[closer]


def with_punch_through_alpha(blocks: np.ndarray, texels: np.ndarray, kept_from: int) -> None:
    """Rewrite, in place, each block of ``blocks`` (N, 8) with a texel whose alpha is below ``kept_from``
    (0-255) in the three-colour mode (DXT1a): those texels transparent, the rest kept by the ends etcpak chose
    or by their mean colour, whichever is closer. ``texels`` (N, 16, 4) are RGBA."""
    for start in range(0, len(blocks), _CHUNK):
        chunk, rgba = blocks[start : start + _CHUNK], texels[start : start + _CHUNK].astype(np.int32)
        hidden = rgba[..., 3] < kept_from  # (n, 16)
        holed = hidden.any(axis=1)
        if not holed.any():
            continue
        colors, hidden = rgba[holed, :, :3], hidden[holed]
        shown = (~hidden).sum(axis=1, keepdims=True)
        mean = (colors * ~hidden[..., None]).sum(axis=1) / np.maximum(shown, 1)
        fitted = _three_colour(chunk[holed], colors, hidden)
        flat, colour = _flat_blocks(mean, thirds=False)
        flat[:, 4:] = _packed_indices(np.where(hidden, _TRANSPARENT, _HALF))
        use_flat = _squares(colors - colour[:, None], hidden) < _errors(fitted, colors, hidden)
        chunk[holed] = np.where(use_flat[:, None], flat, fitted)


def _three_colour(blocks: np.ndarray, colors: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """``blocks`` (n, 8) in the three-colour mode with their own ends, the smaller first: each shown texel
    of ``colors`` (n, 16, 3) as the nearest of the ends and their midpoint, the ``hidden`` ones transparent."""
    ends = _ends(blocks)  # (n, 2)
    ordered = np.sort(ends, axis=1)
    out = _with_ends(ordered)
    palette = _palette(ordered, four_colour=np.zeros(len(blocks), bool))[:, :3]  # (n, 3, 3)
    distance = ((colors[:, :, None, :] - palette[:, None, :, :]) ** 2).sum(axis=3)  # (n, 16, 3)
    out[:, 4:] = _packed_indices(np.where(hidden, _TRANSPARENT, distance.argmin(axis=2)))
    return out


def _errors(blocks: np.ndarray, colors: np.ndarray, hidden: np.ndarray | None = None, *,
            beside_alpha: bool = False) -> np.ndarray:
    """(n,) squared error of ``colors`` (n, 16, 3) as ``blocks`` (n, 8) decode, over the texels not ``hidden``."""
    ends = _ends(blocks)
    palette = _palette(ends, four_colour=(ends[:, 0] > ends[:, 1]) | beside_alpha)  # (n, 4, 3)
    indices = _unpacked_indices(blocks[:, 4:])  # (n, 16)
    decoded = palette.reshape(-1, 3)[np.arange(len(blocks))[:, None] * 4 + indices]  # (n, 16, 3)
    return _squares(decoded - colors, hidden)


def _squares(difference: np.ndarray, hidden: np.ndarray | None = None) -> np.ndarray:
    """(n,) sums of the squares of ``difference`` (n, 16, 3) over the texels not ``hidden`` (n, 16)."""
    if hidden is not None:
        difference = difference * ~hidden[..., None]
    return np.einsum("ntc,ntc->n", difference, difference)


def _flat_blocks(mean: np.ndarray, *, thirds: bool) -> tuple[np.ndarray, np.ndarray]:
    """(n, 8) blocks whose every texel is the (n, 3) ``mean`` colour as closely as BC1 keeps one: a third of
    the way between two ends (four-colour mode), or their midpoint (three-colour mode, ``thirds`` False);
    and (n, 3) that colour as they decode."""
    value = np.clip(np.rint(mean), 0, 255).astype(np.intp)
    ends = np.zeros((len(mean), 2), np.int32)
    for channel, (bits, shift) in enumerate(zip(_BITS, _SHIFTS)):
        ends |= _flat_ends(bits, thirds)[value[:, channel]] << shift
    if thirds:  # the four-colour mode needs end 0 the larger; swapped, the third nearest end 0 is entry 3
        swap = ends[:, 0] < ends[:, 1]
        ends[swap] = ends[swap, ::-1]
        index = np.where(ends[:, 0] == ends[:, 1], 0, np.where(swap, 0b11, _THIRD))  # equal ends: the colour itself
    else:  # the three-colour mode needs end 0 the smaller; the midpoint is the same either way
        ends = np.sort(ends, axis=1)
        index = np.full(len(mean), _HALF)
    out = _with_ends(ends)
    out[:, 4:] = _packed_indices(np.repeat(index[:, None], 16, axis=1))
    colour = _palette(ends, four_colour=np.full(len(mean), thirds))[np.arange(len(mean)), index]  # (n, 3)
    return out, colour


@cache
def _flat_ends(bits: int, thirds: bool) -> np.ndarray:
    """(256, 2) end codes of ``bits`` bits for each 8-bit value: those whose third (or midpoint) comes
    closest to it in the worst of a rounding-down and a rounding-to-nearest decoder, then in both."""
    codes = np.arange(1 << bits)
    a, b = np.meshgrid(_expanded(codes, bits), _expanded(codes, bits), indexing="ij")  # (2^bits, 2^bits)
    weight, total = (2, 3) if thirds else (1, 2)
    between = weight * a + (total - weight) * b
    decoded = np.stack([between // total, (between + total // 2) // total])  # (2, 2^bits, 2^bits)
    error = np.abs(decoded[None] - np.arange(256)[:, None, None, None])  # (256, 2, 2^bits, 2^bits)
    best = (error.max(axis=1) * 4 + error.sum(axis=1)).reshape(256, -1).argmin(axis=1)  # the worst, then both
    return np.stack(np.unravel_index(best, a.shape), axis=1).astype(np.int32)


def _expanded(codes: np.ndarray, bits: int) -> np.ndarray:
    """8-bit values of ``bits``-bit codes, the top bits repeated below them as decoders do."""
    return (codes << (8 - bits)) | (codes >> (2 * bits - 8))


def _ends(blocks: np.ndarray) -> np.ndarray:
    """(n, 2) 5:6:5 end colours of ``blocks`` (n, 8)."""
    return blocks[:, :4].copy().view("<u2").astype(np.int32)


def _with_ends(ends: np.ndarray) -> np.ndarray:
    """(n, 8) blocks holding ``ends`` (n, 2) and no indices yet."""
    out = np.zeros((len(ends), 8), np.uint8)
    out[:, :4] = ends.astype("<u2").view(np.uint8)
    return out


def _palette(ends: np.ndarray, four_colour: np.ndarray) -> np.ndarray:
    """(n, 4, 3) RGB palettes of ``ends`` (n, 2): in the four-colour mode where ``four_colour``, else the
    three-colour one (entry 3 black; its transparency is the caller's)."""
    rgb = np.stack([_expanded((ends >> shift) & ((1 << bits) - 1), bits) for bits, shift in zip(_BITS, _SHIFTS)],
                   axis=2)  # (n, 2, 3)
    first, second = rgb[:, 0], rgb[:, 1]
    four = four_colour[:, None]
    third = np.where(four, (2 * first + second) // 3, (first + second) // 2)
    fourth = np.where(four, (first + 2 * second) // 3, 0)
    return np.stack([first, second, third, fourth], axis=1)


def _packed_indices(indices: np.ndarray) -> np.ndarray:
    """(n, 4) index bytes of (n, 16) two-bit palette entries: texel i at bits 2i of a little-endian word."""
    word = (indices.astype(np.uint32) << (2 * np.arange(16, dtype=np.uint32))).sum(axis=1, dtype=np.uint32)
    return word.astype("<u4").view(np.uint8).reshape(-1, 4)


def _unpacked_indices(index_bytes: np.ndarray) -> np.ndarray:
    """(n, 16) two-bit palette entries of (n, 4) index bytes."""
    word = index_bytes.copy().view("<u4").astype(np.int64)  # (n, 1)
    return (word >> (2 * np.arange(16))) & 0b11
