"""BC4 blocks beyond what etcpak writes: the six-value mode, which keeps 0 and 255 exactly.

A BC4 block (a grey map, BC3's alpha, each of BC5's two channels) keeps two end values and, per texel, one
of eight palette entries: the ends and six steps between them; or, where the first end is not the larger,
the ends, four steps between them, 0 and 255. etcpak writes only the first mode, so a block on the edge
of a soft cut-out, holding 0, 255 and the edge's values between, spreads its steps over the whole range
and brings 128 back as 145. Every block is also tried in the six-value mode, its ends the least and the
most of its values other than 0 and 255, and the closer of the two is written.

Blocks are (N, 8) uint8 in file order, values (N, 16) uint8 row by row; palettes decode as Pillow's do
(steps rounded down).
"""

from __future__ import annotations

import numpy as np

_CHUNK = 1 << 16  # blocks worked on at a time: their (n, 16, 8) distances as int16 stay near 16 MB
_INDEX_BITS = 3


def refine(blocks: np.ndarray, values: np.ndarray) -> None:
    """Replace, in place, each block of ``blocks`` (N, 8) by the six-value block of its ``values`` (N, 16)
    where that keeps them closer."""
    for start in range(0, len(blocks), _CHUNK):
        chunk, texels = blocks[start : start + _CHUNK], values[start : start + _CHUNK].astype(np.int32)
        six, six_error = _six_value_blocks(texels)
        closer = six_error < _errors(chunk, texels)
        chunk[closer] = six[closer]


def _six_value_blocks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 8) six-value blocks of ``values`` (n, 16), ends the least and most of those strictly between 0
    and 255, and (n,) their squared errors."""
    between = (values > 0) & (values < 255)
    low = np.where(between, values, 255).min(axis=1) * between.any(axis=1)  # (n,); 0 where none is between
    high = np.where(between, values, 0).max(axis=1)
    ends = np.stack([low, high], axis=1)  # low <= high: the six-value mode
    palette = _palette(ends).astype(np.int16)  # (n, 8)
    distance = np.abs(values.astype(np.int16)[:, :, None] - palette[:, None, :])  # (n, 16, 8)
    indices = distance.argmin(axis=2)
    error = np.square(distance.min(axis=2), dtype=np.int32).sum(axis=1)
    out = np.zeros((len(values), 8), np.uint8)
    out[:, :2] = ends
    out[:, 2:] = _packed_indices(indices)
    return out, error


def _errors(blocks: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n,) squared error of ``values`` (n, 16) as ``blocks`` (n, 8) decode."""
    palette = _palette(blocks[:, :2].astype(np.int32))  # (n, 8)
    decoded = np.take_along_axis(palette, _unpacked_indices(blocks[:, 2:]), axis=1)  # (n, 16)
    return np.square(decoded - values).sum(axis=1)


def _packed_indices(indices: np.ndarray) -> np.ndarray:
    """(n, 6) index bytes of (n, 16) three-bit palette entries: texel i at bits 3i of a little-endian 48-bit word."""
    word = (indices.astype(np.uint64) << (_INDEX_BITS * np.arange(16, dtype=np.uint64))).sum(axis=1, dtype=np.uint64)
    return word.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :6]


def _unpacked_indices(index_bytes: np.ndarray) -> np.ndarray:
    """(n, 16) three-bit palette entries of (n, 6) index bytes."""
    word = np.zeros(len(index_bytes), np.uint64)
    for byte in range(6):
        word |= index_bytes[:, byte].astype(np.uint64) << np.uint64(8 * byte)
    return ((word[:, None] >> (_INDEX_BITS * np.arange(16, dtype=np.uint64))) & np.uint64(7)).astype(np.intp)


def _palette(ends: np.ndarray) -> np.ndarray:
    """(n, 8) values of the palettes of ``ends`` (n, 2): eight-value where the first is the larger."""
    first, second = ends[:, :1], ends[:, 1:]
    eight = [((7 - step) * first + step * second) // 7 for step in range(1, 7)]
    six = [((5 - step) * first + step * second) // 5 for step in range(1, 5)]
    six += [np.zeros_like(first), np.full_like(first, 255)]
    steps = np.where(first > second, np.concatenate(eight, axis=1), np.concatenate(six, axis=1))
    return np.concatenate([first, second, steps], axis=1)
