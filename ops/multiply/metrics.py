"""Guards on multiplied textures, and the texture-statistics distance used to measure them.

The pipeline turns the returned numbers into asset checks against the bounds
here. All functions take (H, W) or (H, W, C) float arrays in [0, 1]; colour
is averaged to one plane first, since copying and seams show in luminance.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from skimage.feature import match_template

from ops.image_io import Image
from ops.multiply.params import MIN_VARIANT_DIFFERENCE, NCC_BOUND, SEAM_BOUND
from ops.multiply.patch import block_means

_METRIC_SIDE = 128  # images are low-passed and subsampled to about this before correlating: cost drops 16x
_GRID = 3  # templates on a 3x3 grid over the image, so a copy of any part is found
VISIBLE = 0.5  # the alpha at which an engine's usual alpha test (GREATEREQUAL 0.5) draws a texel


def _check_planes(value: object, argument: str = "image") -> None:
    """Refuse, naming ``argument``, what a script passes for an array of planes: an ``Image`` (``multiply``'s
    variants are Images) failed deep inside as "'Image' object has no attribute 'ndim'"."""
    if isinstance(value, np.ndarray):
        return
    fix = ("ops.multiply.run.exemplar_planes(image) gives the planes the op measures: sRGB-encoded colour, then a "
           "coverage alpha" if isinstance(value, Image) else "np.asarray(values, np.float32)")
    raise TypeError(f"{argument} is a numpy array (height, width) or (height, width, planes) of floats in [0, 1]; "
                    f"got {type(value).__module__}.{type(value).__name__} ({fix})")


def _grey(image: np.ndarray, argument: str = "image") -> np.ndarray:
    _check_planes(image, argument)
    if image.ndim == 3:
        image = image.mean(axis=2)
    if image.ndim != 2:
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got {image.shape}")
    return image.astype(np.float64)


def _shrink(image: np.ndarray, factor: int) -> np.ndarray:
    # A wide low-pass before subsampling, so a copy shifted by a fraction of ``factor`` still correlates.
    if factor == 1:
        return image
    return gaussian_filter(image, sigma=factor, mode="wrap")[::factor, ::factor]


def max_ncc(image: np.ndarray, reference: np.ndarray) -> float:
    """Highest normalized cross-correlation of any window of ``image`` with ``reference`` at any shift.

    Windows half the smaller image's side, on a 3x3 grid over ``image``, are
    searched for in ``reference`` wrapped around (legacy textures tile, so a
    rolled copy counts as a copy): first on low-passed, subsampled copies, then
    at full resolution around the best coarse match. 1.0 for a copy, a crop or
    a rolled copy; 0.0 for flat windows, which carry no evidence either way.
    """
    a, b = _grey(image), _grey(reference, "reference")
    factor = max(1, min(min(a.shape), min(b.shape)) // _METRIC_SIDE)
    small_a, small_b = _shrink(a, factor), _shrink(b, factor)
    window = max(4, min(min(small_a.shape), min(small_b.shape)) // 2)
    wrapped = np.pad(small_b, ((0, window - 1), (0, window - 1)), mode="wrap")
    full_window, margin = window * factor, 2 * factor
    full_wrapped = np.pad(b, ((margin, full_window + margin), (margin, full_window + margin)), mode="wrap")
    best = 0.0
    for y in np.linspace(0, small_a.shape[0] - window, _GRID).astype(int):
        for x in np.linspace(0, small_a.shape[1] - window, _GRID).astype(int):
            template = small_a[y : y + window, x : x + window]
            if template.std() < 1e-6:
                continue
            response = match_template(wrapped, template)
            score = float(np.nanmax(response))
            if factor > 1:
                py, px = np.unravel_index(int(np.nanargmax(response)), response.shape)
                region = full_wrapped[py * factor : py * factor + full_window + 2 * margin,
                                      px * factor : px * factor + full_window + 2 * margin]
                fine = a[y * factor : y * factor + full_window, x * factor : x * factor + full_window]
                score = max(score, float(np.nanmax(match_template(region, fine))))
            best = max(best, score)
    return min(best, 1.0)


def variant_difference(a: np.ndarray, b: np.ndarray) -> float:
    """1 minus the best shift-aligned correlation of two variants, either way round, in [0, 1]."""
    return float(np.clip(1.0 - max(max_ncc(a, b), max_ncc(b, a)), 0.0, 1.0))


def closest_pair(variants: list[np.ndarray], *, max_pairs: int = 28) -> tuple[float, tuple[int, int] | None]:
    """Smallest :func:`variant_difference` over all pairs (all of 8 variants), or over ``max_pairs`` of them
    drawn with a fixed seed, and the indices of the pair that scored it, so that a failed check names the two
    files: pairs grow with count squared, and at about a second a pair of 512 px variants, the 2,016 pairs of
    64 variants would take half an hour. (1.0, None) for fewer than two."""
    pairs = [(i, j) for i in range(len(variants)) for j in range(i + 1, len(variants))]
    if len(pairs) > max_pairs:
        pairs = random.Random(0).sample(pairs, max_pairs)
    scored = [(variant_difference(variants[i], variants[j]), (i, j)) for i, j in pairs]
    return min(scored, default=(1.0, None), key=lambda score: score[0])


def seam_ratio(image: np.ndarray) -> float:
    """Mean squared gradient across the two wrap edges over the interior's, both axes pooled.

    About 1 for a texture that tiles (its edges are just another row and
    column), well above 1 when tiling shows a seam; a seam on one axis only
    still reads (S + 1) / 2 for a seam S times the interior. The edges are two
    lines compared with the mean of all lines, so on small textures with strong
    line structure (grout, planks) a seamless edge can land on a strong line
    and read above 1.3: the statistic is steady on natural textures from 256 px.
    """
    _check_planes(image)
    x = image if image.ndim == 3 else image[..., None]
    if x.ndim != 3 or min(x.shape[:2]) < 3:
        raise ValueError(f"expected an image of at least 3x3 pixels, got {image.shape}")
    x = x.astype(np.float64)
    interior = np.square(np.diff(x, axis=0)).mean() + np.square(np.diff(x, axis=1)).mean()
    wrap = np.square(x[0] - x[-1]).mean() + np.square(x[:, 0] - x[:, -1]).mean()
    if interior <= 1e-12:
        return 1.0 if wrap <= 1e-12 else float("inf")
    return float(wrap / interior)


def block_spread(image: np.ndarray, block: int) -> float:
    """Standard deviation of the mean brightness of every ``block``-sided square of ``image``: how unevenly it is
    lit at the scale of ``patch``'s blocks.

    A photo lit unevenly (a flash's hotspot, light falling off across the frame) gives each quilted block its own
    piece of the lighting: bright and dark blocks land side by side, and the grid shows. A texture evenly lit
    reads the spread of its own detail's block means, small where the detail is finer than a block; a smooth ramp
    reads its rise over the image, and a quilt of it the same rise, broken into blocks. Squares at every position,
    not on one grid, so that it needs no knowledge of where the blocks lie.
    """
    grey = _grey(image)
    if block < 1 or block > min(grey.shape):
        raise ValueError(f"a {block} px block needs an image at least {block} px a side, got {grey.shape}")
    return float(block_means(grey[..., None], block, block).std())


def texture_distance(image: np.ndarray, reference: np.ndarray, *, scales: int = 4, directions: int = 64) -> float:
    """Sliced Wasserstein distance between the 7x7-patch distributions of two textures, over a pyramid.

    Each random direction in patch space is a random filter; comparing the
    sorted responses compares the whole response distribution, not just its
    mean and variance (Heitz et al., CVPR 2021). Fixed seed, independent of the
    synthesis network, so a method cannot score well by overfitting it.
    """
    return _distance(_response_quantiles(image, scales, directions), _response_quantiles(reference, scales, directions))


def _response_quantiles(image: np.ndarray, scales: int = 4, directions: int = 64) -> list[torch.Tensor]:
    """Per pyramid level, finest first, the (256, directions) quantiles of the random filters' responses: one
    side of :func:`texture_distance`, worked out once for an exemplar that all its variants are measured against
    (at 512 px it was half of each variant's distance). Levels stop under 7 px."""
    x = torch.from_numpy(np.ascontiguousarray(_grey(image)))[None, None]
    filters = torch.randn((directions, 1, 7, 7), generator=torch.Generator().manual_seed(1234), dtype=torch.float64)
    filters = filters / filters.flatten(1).norm(dim=1)[:, None, None, None]
    levels: list[torch.Tensor] = []
    for _ in range(scales):
        if min(x.shape[-2:]) < 7:
            break
        levels.append(_quantiles(F.conv2d(x, filters).flatten(2)[0]))
        x = F.avg_pool2d(x, 2)
    return levels


def _distance(levels: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    """The distance of two images' :func:`_response_quantiles`, over the levels both have."""
    total = 0.0
    for mine, theirs in zip(levels, reference):
        total += float((mine - theirs).abs().mean())
    return total


_LEVELS = (torch.arange(256, dtype=torch.float64) + 0.5) / 256


def _quantiles(responses: torch.Tensor) -> torch.Tensor:
    """``torch.quantile(responses, _LEVELS, dim=1)``, (256, rows), bit for bit, with each row sorted by numpy,
    whose vectorized sort takes about half torch's time: the sort was most of a guard's time (a 512 px variant's
    rows hold 256k responses each). The ranks, the two values each falls between and the interpolation are
    torch's own steps, in its tensors' shapes and layout; a row with a NaN, whose quantiles torch makes NaN, goes
    to torch."""
    if responses.isnan().any():
        return torch.quantile(responses, _LEVELS, dim=1)
    rows, count = responses.shape
    ranks = (_LEVELS * (count - 1)).expand(rows, -1).contiguous()
    below = ranks.long()
    weights = ranks - below
    ordered = torch.from_numpy(np.sort(responses.numpy(), axis=1))
    values = ordered.gather(1, below)
    values.lerp_(ordered.gather(1, ranks.ceil().long()), weights)
    return values.T  # torch's layout too: the mean over it adds in this order


def visible_share(planes: np.ndarray) -> float:
    """The share of texels of (H, W, C) ``planes``, alpha last, that an alpha test at ``VISIBLE`` draws."""
    _check_planes(planes, "planes")
    return float((planes[..., -1] >= VISIBLE).mean())


def coverage_ratios(variants: list[np.ndarray], exemplar: np.ndarray) -> list[float] | None:
    """Each variant's share of visible texels over the exemplar's, alpha the last plane of each; None where
    the exemplar shows nothing to keep. Quilting a cut-out can grow a variant out of its transparent parts
    alone, which every other guard passes: an invisible texture has no window to correlate."""
    shown = visible_share(exemplar)
    if shown == 0.0:
        return None
    return [visible_share(variant) / shown for variant in variants]


def measure(
    variants: list[np.ndarray], exemplar: np.ndarray, *, tileable: bool, names: Sequence[str] = ()
) -> dict[str, float | str]:
    """The guard metrics of a set of variants of ``exemplar``, each the worst over the set (the mean for
    ``texture_distance``, a figure rather than a guard); ``seam_ratio`` only where the variants tile.

    With ``names``, the variants' file names, also ``copied``, ``alike`` and (tileable) ``seams``: the
    variants past each guard's bound with their figures, as ``coverage_lost`` names them for
    ``keeps_coverage``. A failed check said "max_ncc 0.98" of four variants and left the artist to find the
    copy by eye. Each is an array of planes, as ``ops.multiply.run.exemplar_planes`` gives them."""
    _check_variants(variants)
    _check_planes(exemplar, "exemplar")
    copies = [max_ncc(v, exemplar) for v in variants]
    difference, pair = closest_pair(variants)
    reference = _response_quantiles(exemplar)
    figures: dict[str, float | str] = {
        "max_ncc": max(copies),
        "min_variant_difference": difference,
        "texture_distance": float(np.mean([_distance(_response_quantiles(v), reference) for v in variants])),
    }
    seams = [seam_ratio(v) for v in variants] if tileable else []
    if seams:
        figures["seam_ratio"] = max(seams)
    if not names:
        return figures
    figures["copied"] = "; ".join(f"{name} correlates {ncc:.3g} with the exemplar"
                                  for name, ncc in zip(names, copies) if ncc >= NCC_BOUND)
    figures["alike"] = (f"{names[pair[0]]} and {names[pair[1]]} differ by {difference:.3g}"
                        if pair is not None and difference <= MIN_VARIANT_DIFFERENCE else "")
    if seams:
        figures["seams"] = "; ".join(f"{name} reads {seam:.3g}" for name, seam in zip(names, seams) if seam >= SEAM_BOUND)
    return figures


def _check_variants(variants: object) -> None:
    """``measure``'s variants as a list of arrays: one variant's array was read as a list of its rows, each
    measured as an image, and gave figures without a word; an Image failed deep inside."""
    if isinstance(variants, np.ndarray) and variants.ndim < 4:
        raise TypeError(f"variants is a list of arrays, one a variant; got one array of shape {variants.shape} "
                        "(a single variant: [variant])")
    if not isinstance(variants, (list, tuple, np.ndarray)):
        raise TypeError(f"variants is a list of arrays, one a variant; got {type(variants).__module__}."
                        f"{type(variants).__name__}")
    for index, variant in enumerate(variants):
        _check_planes(variant, f"variants[{index}]")
