"""Tiled inference with feathered overlaps.

Memory stays bounded for any image size: the model only ever sees tiles of
``tile`` + padding input pixels, and the blended result is gathered in host
memory, so device memory holds a batch of tiles, never the whole output. Neighbouring tiles overlap by ``overlap``
pixels and are blended with linear ramps, so no tile's border (where the
convolutions saw padding instead of image) shows as a seam. The whole image is
first padded by ``overlap`` on every side — circularly on an axis that wraps,
so a tiling texture stays tileable — which puts every real pixel inside a
tile's well-seen interior.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def tile_layout(length: int, tile: int, overlap: int, align: int = 1) -> tuple[int, list[int]]:
    """(tile side, starts) of the fewest tiles about ``tile`` long that cover ``length`` with at least
    ``overlap`` shared between neighbours, spread evenly: a 544-pixel side takes three tiles of 192, not
    two of 256 and a third overlapping them by 208 (1.3x the pixels run, not 2.3x).

    Starts are multiples of ``align`` (the model's 2^N), so each tile's stride-2 grid lines up with the
    whole image's and tiling changes the result by little more than float rounding; for that the side
    may exceed ``tile`` by up to ``align`` - 1."""
    if length <= tile:
        return length, [0]
    if tile - overlap - 2 * (align - 1) <= 0:
        align = 1  # a model's multiple as large as the tile (a windowed community model): no room to line up
    shared = overlap + align - 1  # rounding a start down to a multiple of align takes up to align - 1 from it
    count = -(-(length - shared) // (tile - shared))
    side = -(-(length + (count - 1) * shared) // count)
    side += (length - side) % align  # the last start, length - side, is then a multiple of align
    if side >= length:
        return length, [0]
    starts = [(i * (length - side) // (count - 1)) // align * align for i in range(count)]
    return side, list(dict.fromkeys(starts))  # rounding can make two starts one


def _ramp(length: int, overlap: int, scale: int) -> torch.Tensor:
    """Blend weight along one output axis of a tile: rises over ``overlap`` input pixels at each end."""
    n = length * scale
    pos = torch.arange(n, dtype=torch.float32) + 0.5
    width = overlap * scale
    return torch.minimum(torch.ones(n), torch.minimum(pos, n - pos) / width)


def tiled_upscale(
    image: torch.Tensor,
    forward: Callable[[torch.Tensor], torch.Tensor],
    *,
    scale: int,
    tile: int = 256,
    overlap: int = 16,
    wrap: tuple[bool, bool] = (False, False),
    multiple: int = 1,
    batch: int = 1,
    device: torch.device | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, int]:
    """Upscale (C, H, W) by ``scale`` tile by tile; returns the (C, H*scale, W*scale) result and the tile count.

    ``forward`` maps a (B, C, h, w) batch to (B, C, h*scale, w*scale). Tiles are
    padded to a multiple of ``multiple`` (replicate) and cropped back.
    """
    if image.ndim != 3:
        raise ValueError(f"expected a (C, H, W) image, got shape {tuple(image.shape)}")
    if 2 * overlap >= tile:
        raise ValueError(f"overlap ({overlap}) must be less than half the tile ({tile})")
    C, H, W = image.shape
    device = device or image.device
    margin = -(-overlap // multiple) * multiple  # a multiple, so that tile starts line up with the image's grid
    pad_y, pad_x = min(margin, H - 1) if wrap[0] else margin, min(margin, W - 1) if wrap[1] else margin
    x = image[None]
    x = F.pad(x, (0, 0, pad_y, pad_y), mode="circular" if wrap[0] else "replicate")
    x = F.pad(x, (pad_x, pad_x, 0, 0), mode="circular" if wrap[1] else "replicate")
    x = x[0]  # (C, H + 2 pad_y, W + 2 pad_x)
    Hp, Wp = x.shape[-2:]
    (th, rows), (tw, cols) = tile_layout(Hp, tile, overlap, multiple), tile_layout(Wp, tile, overlap, multiple)
    boxes = [(y, xx) for y in rows for xx in cols]
    weight = _ramp(th, overlap, scale)[:, None] * _ramp(tw, overlap, scale)[None, :]  # (th*s, tw*s)
    out = torch.zeros(C, H * scale, W * scale)  # on the host, as is every tile once enlarged; the margins are dropped
    norm = torch.zeros(1, H * scale, W * scale)
    ph, pw = -th % multiple, -tw % multiple
    for first in range(0, len(boxes), batch):
        chunk = boxes[first : first + batch]
        tiles = torch.stack([x[:, y : y + th, xx : xx + tw] for y, xx in chunk]).to(device)  # (B, C, th, tw)
        if ph or pw:
            tiles = F.pad(tiles, (0, pw, 0, ph), mode="replicate")
        result = forward(tiles)[:, :, : th * scale, : tw * scale].float().cpu()  # (B, C, th*s, tw*s)
        for (y, xx), up in zip(chunk, result):
            (src_y, dst_y), (src_x, dst_x) = _inside(y, th, pad_y, H, scale), _inside(xx, tw, pad_x, W, scale)
            out[:, dst_y, dst_x] += up[:, src_y, src_x] * weight[src_y, src_x]
            norm[:, dst_y, dst_x] += weight[src_y, src_x]
        if progress is not None:
            progress(min(first + batch, len(boxes)), len(boxes))
    return out.div_(norm), len(boxes)


def _inside(start: int, side: int, pad: int, length: int, scale: int) -> tuple[slice, slice]:
    """Along one axis, the output of the tile at padded input ``start`` that falls inside the image
    (not its ``pad`` margin): (slice of the tile's output, slice of the image's output)."""
    first, last = max(start, pad) * scale, min(start + side, pad + length) * scale  # padded output coordinates
    first = min(first, last)
    return slice(first - start * scale, last - start * scale), slice(first - pad * scale, last - pad * scale)
