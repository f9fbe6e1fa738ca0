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

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from ops.tensors import pad_to_multiple


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


class TiledUpscale:
    """Upscale (C, H, W) by ``scale`` tile by tile: ``bands()`` yields (first output row, (C, n, W*scale)
    rows) from the top down as each row of tiles completes them, so memory holds about one row of tiles
    of the result, whatever the image's size; ``whole()`` gathers them.

    ``forward`` maps a (B, C, h, w) batch to (B, C, h*scale, w*scale). Tiles are
    padded to a multiple of ``multiple`` (replicate) and cropped back.
    """

    def __init__(
        self,
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
    ) -> None:
        if image.ndim != 3:
            raise ValueError(f"expected a (C, H, W) image, got shape {tuple(image.shape)}")
        if 2 * overlap >= tile:
            raise ValueError(f"overlap ({overlap}) must be less than half the tile ({tile})")
        self.image = image
        self.forward = forward
        self.scale = scale
        self.overlap = overlap
        self.wrap = wrap
        self.multiple = multiple
        self.batch = batch
        self.device = device or image.device
        self.progress = progress
        _, H, W = image.shape
        margin = -(-overlap // multiple) * multiple  # a multiple, so that tile starts line up with the image's grid
        self.pad_y = min(margin, H - 1) if wrap[0] else margin
        self.pad_x = min(margin, W - 1) if wrap[1] else margin
        self.side_y, self.rows = tile_layout(H + 2 * self.pad_y, tile, overlap, multiple)  # starts in the padded image
        self.side_x, self.cols = tile_layout(W + 2 * self.pad_x, tile, overlap, multiple)

    @property
    def tiles(self) -> int:
        """How many tiles the model runs on."""
        return len(self.rows) * len(self.cols)

    def whole(self) -> torch.Tensor:
        """The (C, H*scale, W*scale) result."""
        C, H, W = self.image.shape
        out = torch.empty(C, H * self.scale, W * self.scale)
        for top, band in self.bands():
            out[:, top : top + band.shape[1]] = band
        return out

    def bands(self) -> Iterator[tuple[int, torch.Tensor]]:
        C, H, W = self.image.shape
        s, th, tw = self.scale, self.side_y, self.side_x
        x = self._padded()  # (C, H + 2 pad_y, W + 2 pad_x)
        weight = _ramp(th, self.overlap, s)[:, None] * _ramp(tw, self.overlap, s)[None, :]  # (th*s, tw*s)
        boxes = [(y, xx) for y in self.rows for xx in self.cols]
        top = 0  # output rows above this are yielded; out and norm hold those below, on the host
        out, norm = torch.zeros(C, 0, W * s), torch.zeros(1, 0, W * s)
        for start in range(0, len(boxes), self.batch):
            chunk = boxes[start : start + self.batch]
            for (y, xx), up in zip(chunk, self._run(x, chunk)):
                (src_y, dst_y), (src_x, dst_x) = _inside(y, th, self.pad_y, H, s), _inside(xx, tw, self.pad_x, W, s)
                if (grow := dst_y.stop - top - out.shape[1]) > 0:
                    out = torch.cat([out, torch.zeros(C, grow, W * s)], dim=1)
                    norm = torch.cat([norm, torch.zeros(1, grow, W * s)], dim=1)
                rows = slice(dst_y.start - top, dst_y.stop - top)
                out[:, rows, dst_x] += up[:, src_y, src_x] * weight[src_y, src_x]
                norm[:, rows, dst_x] += weight[src_y, src_x]
            done = start + len(chunk)
            if self.progress is not None:
                self.progress(done, len(boxes))
            finished = self._first_row(done // len(self.cols)) - top  # no tile still to run adds to rows above this
            if finished > 0:
                yield top, out[:, :finished].div_(norm[:, :finished])
                out, norm, top = out[:, finished:].clone(), norm[:, finished:].clone(), top + finished

    def _run(self, padded: torch.Tensor, starts: list[tuple[int, int]]) -> torch.Tensor:
        """The model's (B, C, side_y*scale, side_x*scale) output, on the host, for the tiles of ``padded`` whose
        corners are ``starts`` (y, x): one batch on the device, padded to the model's multiple and cropped back."""
        th, tw, s = self.side_y, self.side_x, self.scale
        tiles = torch.stack([padded[:, y : y + th, x : x + tw] for y, x in starts]).to(self.device)  # (B, C, th, tw)
        return self.forward(pad_to_multiple(tiles, self.multiple))[:, :, : th * s, : tw * s].float().cpu()

    def _padded(self) -> torch.Tensor:
        """The image with its margin of ``pad_y``/``pad_x``: wrapped around on an axis that tiles, so that the
        texture's opposite edge feeds its border tiles, else its own edge repeated."""
        x = self.image[None]
        x = F.pad(x, (0, 0, self.pad_y, self.pad_y), mode="circular" if self.wrap[0] else "replicate")
        x = F.pad(x, (self.pad_x, self.pad_x, 0, 0), mode="circular" if self.wrap[1] else "replicate")
        return x[0]

    def _first_row(self, tile_row: int) -> int:
        """The first output row a row of tiles adds to (the image's end after the last)."""
        _, H, _ = self.image.shape
        if tile_row == len(self.rows):
            return H * self.scale
        return _inside(self.rows[tile_row], self.side_y, self.pad_y, H, self.scale)[1].start


def _inside(start: int, side: int, pad: int, length: int, scale: int) -> tuple[slice, slice]:
    """Along one axis, the output of the tile at padded input ``start`` that falls inside the image
    (not its ``pad`` margin): (slice of the tile's output, slice of the image's output)."""
    first, last = max(start, pad) * scale, min(start + side, pad + length) * scale  # padded output coordinates
    first = min(first, last)
    return slice(first - start * scale, last - start * scale), slice(first - pad * scale, last - pad * scale)
