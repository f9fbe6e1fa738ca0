"""Benchmark how much of its exemplar's contrast each `patch` variant keeps: quilting can collapse into a
flat variant on an exemplar with big flat areas (a brick's faces), which no guard of the op catches.

Prints one JSON object: over scikit-image's brick[:64, :64] at 64 px (the case that collapsed) and random
64 and 128 px crops of brick, grass and gravel quilted to 64 and 256 px, four variants each, the grey
standard deviation of each variant over its exemplar's ("contrast ratio"): the worst, how many cases have
a variant under a quarter, the median of each case's worst, and the median texture distance.

    python bench/bench_multiply_contrast.py          # 49 cases, about 90 s on one core
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import skimage.data

from ops.image_io import Image, srgb_to_linear
from ops.multiply import metrics
from ops.multiply.patch import QuiltConfig, default_block, quilt
from ops.multiply.run import exemplar_planes

FLAT_RATIO = 0.25  # a variant with under a quarter of its exemplar's contrast reads as flat


def exemplar(grey: np.ndarray) -> np.ndarray:
    """(H, W, C) planes the op quilts, from an 8-bit grey texture."""
    return exemplar_planes(Image(color=srgb_to_linear(grey.astype(np.float32)[..., None] / 255)))


def cases(crops: int, seed: int) -> list[tuple[str, np.ndarray, int]]:
    """(name, exemplar planes, output size): the collapsing brick corner, then ``crops`` random crops a size
    of each texture, each quilted to 64 and 256 px."""
    rng = np.random.default_rng(seed)
    found = [("brick[:64,:64]", exemplar(skimage.data.brick()[:64, :64]), 64)]
    for name in ("brick", "grass", "gravel"):
        image = getattr(skimage.data, name)()
        for side in (64, 128):
            for _ in range(crops):
                y, x = rng.integers(0, 512 - side, 2)
                planes = exemplar(image[y : y + side, x : x + side])
                found += [(f"{name}[{y}:{y + side},{x}:{x + side}]", planes, size) for size in (64, 256)]
    return found


def measure(planes: np.ndarray, size: int, count: int) -> tuple[list[float], float]:
    """Each variant's contrast ratio, and their mean texture distance to the exemplar."""
    config = QuiltConfig(block=default_block(*planes.shape[:2]))
    variants = [quilt(planes, size, config, np.random.default_rng(i)) for i in range(count)]
    contrast = float(planes.mean(axis=2).std())
    ratios = [float(v.mean(axis=2).std()) / contrast for v in variants]
    return ratios, float(np.mean([metrics.texture_distance(v, planes) for v in variants]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crops", type=int, default=4, help="random crops per texture and crop size")
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    worst, distances, flat = [], [], []
    for name, planes, size in cases(args.crops, args.seed):
        ratios, distance = measure(planes, size, args.variants)
        worst.append(min(ratios))
        distances.append(distance)
        if min(ratios) < FLAT_RATIO:
            flat.append(f"{name}@{size}")
    print(json.dumps({
        "cases": len(worst),
        "variants_each": args.variants,
        "worst_contrast_ratio": round(min(worst), 3),
        "cases_with_a_flat_variant": flat,
        "median_worst_contrast_ratio": round(statistics.median(worst), 3),
        "median_texture_distance": round(statistics.median(distances), 4),
        "seconds": round(time.perf_counter() - start, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
