"""Fast non-neural synthesis: image quilting (Efros & Freeman, SIGGRAPH 2001).

The output is tiled with overlapping square blocks in raster order. Each block
is copied from the exemplar position whose pixels best agree with what is
already in the overlap (picked at random among the near-best, for variety),
and a minimum-error boundary cut through each overlap hides the join.

Tileable output is quilted on a torus: the last block of a row overlaps the
first one, the last row overlaps the first row, and those wrapped overlaps
are matched and cut like any other, so the texture has no seam at its edges.
Positions within half a block of continuing a neighbour's source region are
excluded (they match the overlap perfectly and would always win), so a
variant is a rearrangement of the exemplar, never a verbatim copy of it.

Flat blocks (a brick's face, a floor's plain tiles) are held to the share of
the exemplar's block positions that are flat. A flat overlap is always matched
best by another flat block, so without that quota one flat block early on grew
into a flat variant: two of four 64 px variants of scikit-image's brick
``[:64, :64]`` came out with 3% of its contrast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MIN_BLOCK = 8
FLAT_VARIANCE = 1 / 16  # a block is flat under this share of the exemplar's variance: a quarter of its contrast


@dataclass(frozen=True)
class QuiltConfig:
    """How blocks of the exemplar are laid: their side, how much neighbours overlap, how many places are tried."""

    block: int = 32  # block side; should span the texture's repeating element
    overlap_fraction: float = 0.25  # of the block; Efros & Freeman use 1/6, more hides joins better
    candidates: int = 500  # exemplar positions scored per block: 2x fewer than 1200 halves the time at equal texture distance
    tolerance: float = 0.1  # pick among positions within 10% of the best overlap error
    tileable: bool = True


def default_block(height: int, width: int) -> int:
    """A quarter of the exemplar's shorter side, 16 to 64 px: big enough to keep an element whole."""
    return int(np.clip(min(height, width) // 4, 16, 64))


def _min_cut(error: np.ndarray) -> np.ndarray:
    """Boolean mask over a vertical overlap (h, o): True right of the cheapest top-to-bottom path."""
    h, o = error.shape
    cost = error.copy()
    for y in range(1, h):
        left = np.concatenate(([np.inf], cost[y - 1, :-1]))
        right = np.concatenate((cost[y - 1, 1:], [np.inf]))
        cost[y] += np.minimum(np.minimum(left, cost[y - 1]), right)
    path = np.empty(h, dtype=np.int64)
    path[-1] = int(np.argmin(cost[-1]))
    for y in range(h - 2, -1, -1):
        lo, hi = max(path[y + 1] - 1, 0), min(path[y + 1] + 2, o)
        path[y] = lo + int(np.argmin(cost[y, lo:hi]))
    return np.arange(o)[None, :] >= path[:, None]


def _boundaries(positions: np.ndarray, count: int, overlap: int) -> list[tuple[int, int]]:
    """(start, length) of each block along one axis; lengths differ by at most one pixel."""
    return [(int(positions[k]), int(positions[k + 1] - positions[k]) + overlap) for k in range(count)]


def quilt(
    exemplar: np.ndarray,
    size: int,
    config: QuiltConfig,
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Quilt a ``size``² texture from ``exemplar`` (H, W, C) float32 in [0, 1]; returns (size, size, C)."""
    if exemplar.ndim != 3:
        raise ValueError(f"expected an exemplar of shape (H, W, C), got {exemplar.shape}")
    height, width, channels = exemplar.shape
    block = config.block
    if block < MIN_BLOCK or block >= min(height, width):
        raise ValueError(f"a {block} px block needs an exemplar larger than {block}x{block}, got {width}x{height}")
    overlap = max(2, int(round(block * config.overlap_fraction)))
    count = max(2, int(round(size / (block - overlap))))
    canvas_side = size if config.tileable else size + overlap
    spans = _boundaries(np.arange(count + 1) * size // count, count, overlap)
    if max(length for _, length in spans) >= min(height, width):
        raise ValueError(f"a {size} px output needs blocks larger than the {width}x{height} exemplar; use a smaller block")

    flat = exemplar.reshape(height * width, channels)
    flatness = _Flatness(exemplar)
    canvas = np.zeros((canvas_side, canvas_side, channels), dtype=np.float32)
    sources = np.zeros((count, count, 2), dtype=np.int64)
    for i, (top, bh) in enumerate(spans):
        for j, (left, bw) in enumerate(spans):
            rows = (top + np.arange(bh)) % canvas_side
            cols = (left + np.arange(bw)) % canvas_side
            sides = {
                "left": j > 0,
                "top": i > 0,
                "right": config.tileable and j == count - 1,
                "bottom": config.tileable and i == count - 1,
            }
            known = _known(sides, bh, bw, overlap)
            old = canvas[np.ix_(rows, cols)]  # (bh, bw, C)

            ys, xs = _candidates(height - bh + 1, width - bw + 1, config.candidates, rng)
            banned = np.zeros(ys.shape, dtype=bool)  # positions that would continue a neighbour's exemplar region
            if sides["left"]:
                banned |= _near(ys, xs, sources[i, j - 1] + (0, spans[j - 1][1] - overlap), block // 2)
            if sides["top"]:
                banned |= _near(ys, xs, sources[i - 1, j] + (spans[i - 1][1] - overlap, 0), block // 2)
            flat_here = flatness.of(ys, xs, bh, bw)
            if flatness.spent(bh, bw):  # a flat overlap matches a flat block best: it would take the variant over
                banned |= flat_here
            pick = _pick(flat, width, old, known, ys * width + xs, banned, config.tolerance, rng)
            y, x = int(ys[pick]), int(xs[pick])
            flatness.took(bool(flat_here[pick]))
            sources[i, j] = (y, x)
            new = exemplar[y : y + bh, x : x + bw]
            take = _seam_cut(new, old, sides, overlap) if known.any() else np.ones((bh, bw), dtype=bool)
            canvas[np.ix_(rows, cols)] = np.where(take[..., None], new, old)
            if progress is not None:
                progress(i * count + j + 1, count * count)
    if not config.tileable:
        return canvas[:size, :size]
    # Put the wrap edge in the middle of the first block, where pixels are contiguous exemplar,
    # instead of on a boundary cut: tiling then shows no join stronger than the ones inside.
    middle = (overlap + spans[1][0]) // 2
    return np.roll(canvas, (-middle, -middle), axis=(0, 1))


class _Flatness:
    """Which exemplar positions hold a flat block, and how many flat blocks the variant has taken: its share of
    them stays within one block of the exemplar's share of flat positions."""

    def __init__(self, exemplar: np.ndarray) -> None:
        self._exemplar = exemplar.astype(np.float64)
        self._bound = FLAT_VARIANCE * float(self._exemplar.var(axis=(0, 1)).mean())
        self._maps: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
        self._blocks = 0
        self._flat_blocks = 0

    def _map(self, bh: int, bw: int) -> tuple[np.ndarray, float]:
        """(H - bh + 1, W - bw + 1): True where the (bh, bw) block with that top-left corner is flat; its mean."""
        if (bh, bw) not in self._maps:
            flat = _block_variance(self._exemplar, bh, bw) < self._bound
            self._maps[bh, bw] = flat, float(flat.mean())
        return self._maps[bh, bw]

    def of(self, ys: np.ndarray, xs: np.ndarray, bh: int, bw: int) -> np.ndarray:
        """Whether the (bh, bw) block at each top-left corner (``ys``, ``xs``) is flat."""
        return self._map(bh, bw)[0][ys, xs]

    def spent(self, bh: int, bw: int) -> bool:
        """True when the flat blocks taken already make the exemplar's share of the next block's count."""
        return self._flat_blocks >= self._map(bh, bw)[1] * (self._blocks + 1)

    def took(self, flat: bool) -> None:
        self._blocks += 1
        self._flat_blocks += flat


def block_means(image: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """(H - bh + 1, W - bw + 1, C): the mean of every (bh, bw) block of ``image`` (H, W, C) by its top-left corner,
    by summed-area tables: every block at the cost of one pass, where a loop over corners cost one per block."""
    table = np.pad(image, ((1, 0), (1, 0), (0, 0))).cumsum(axis=0).cumsum(axis=1)
    return (table[bh:, bw:] - table[:-bh, bw:] - table[bh:, :-bw] + table[:-bh, :-bw]) / (bh * bw)


def _block_variance(image: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Variance of every (bh, bw) block of ``image`` (H, W, C), averaged over channels."""
    mean = block_means(image, bh, bw)
    return np.maximum(block_means(image * image, bh, bw) - mean * mean, 0.0).mean(axis=2)


def _known(sides: dict[str, bool], bh: int, bw: int, overlap: int) -> np.ndarray:
    """(bh, bw) mask of the block's pixels that the canvas already holds: the overlaps with placed neighbours."""
    known = np.zeros((bh, bw), dtype=bool)
    known[:, :overlap] |= sides["left"]
    known[:overlap, :] |= sides["top"]
    known[:, -overlap:] |= sides["right"]
    known[-overlap:, :] |= sides["bottom"]
    return known


def _pick(
    flat: np.ndarray, width: int, old: np.ndarray, known: np.ndarray, corners: np.ndarray, banned: np.ndarray,
    tolerance: float, rng: np.random.Generator,
) -> int:
    """Index of a candidate (flat top-left ``corners``) drawn among those whose overlap with the canvas is
    within ``tolerance`` of the best (Efros & Freeman); any unbanned one where nothing is placed yet."""
    if banned.all():
        banned = np.zeros_like(banned)
    if not known.any():
        good = np.flatnonzero(~banned)
        return int(good[rng.integers(good.size)])
    ky, kx = np.nonzero(known)
    offsets = corners[:, None] + (ky * width + kx)[None, :]  # (N, K) flat pixel indices
    patches = np.take(flat, offsets, axis=0)  # (N, K, C)
    error = np.square(patches - old[ky, kx][None]).sum(axis=(1, 2))
    error[banned] = np.inf
    good = np.flatnonzero(error <= error.min() * (1 + tolerance) + 1e-12)
    return int(good[rng.integers(good.size)])


def _seam_cut(new: np.ndarray, old: np.ndarray, sides: dict[str, bool], overlap: int) -> np.ndarray:
    """(bh, bw) mask of the pixels the new block gives: all but what lies beyond the minimum-error cut
    through each overlap with a placed neighbour."""
    take = np.ones(new.shape[:2], dtype=bool)
    diff = np.square(new - old).sum(axis=2)  # (bh, bw)
    if sides["left"]:
        take[:, :overlap] &= _min_cut(diff[:, :overlap])
    if sides["right"]:
        take[:, -overlap:] &= _min_cut(diff[:, -overlap:][:, ::-1])[:, ::-1]
    if sides["top"]:
        take[:overlap, :] &= _min_cut(diff[:overlap, :].T).T
    if sides["bottom"]:
        take[-overlap:, :] &= _min_cut(diff[-overlap:, :][::-1].T).T[::-1]
    return take


def _candidates(rows: int, cols: int, limit: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners to score: every valid one, or ``limit`` of them drawn without replacement."""
    total = rows * cols
    flat = np.arange(total) if total <= limit else rng.choice(total, size=limit, replace=False)
    return flat // cols, flat % cols


def _near(ys: np.ndarray, xs: np.ndarray, source: np.ndarray, radius: int) -> np.ndarray:
    """Candidates within ``radius`` of ``source``: they would continue the neighbour's exemplar region."""
    return (np.abs(ys - source[0]) <= radius) & (np.abs(xs - source[1]) <= radius)
