"""Benchmark the multiply op: seconds per variant, texture statistics, seams and copying, per method.

Prints one JSON object. Each method is scored against two baselines on the
same exemplar: a random crop (the floor of the texture distance: the real
material) and the exemplar tiled at a random offset (a "variant" that costs
nothing but is a copy, which the NCC guard must catch).

    python bench/bench_multiply.py                   # 512² outputs, brick/grass/gravel + 2 freedoom flats
    python bench/bench_multiply.py --quick           # 256², fewer gram steps: about a minute
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import skimage.data
import torch

from ops.image_io import Image, read_image, srgb_to_linear
from ops.multiply import metrics
from ops.multiply.params import MIN_VARIANT_DIFFERENCE, NCC_BOUND, SEAM_BOUND, MultiplyParams
from ops.multiply.patch import default_block
from ops.multiply.run import exemplar_planes, feature_parts, synthesize

FLATS = Path(__file__).resolve().parents[2] / "shared" / "data" / "legacy" / "freedoom" / "flats"
DEFAULT_FLATS = ("aqf001.png", "aqf016.png")
NATURAL = ("brick", "grass", "gravel")


def load_exemplars(natural: list[str], flats: list[str]) -> dict[str, Image]:
    exemplars = {
        name: Image(color=srgb_to_linear(getattr(skimage.data, name)().astype(np.float32)[..., None] / 255))
        for name in natural
    }
    for flat in flats:
        exemplars[f"freedoom/{flat}"] = read_image(FLATS / flat)
    return exemplars


def baselines(exemplar: np.ndarray, size: int, rng: np.random.Generator) -> dict[str, float]:
    h, w = exemplar.shape[:2]
    side = min(h, w) // 2
    y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = exemplar[y : y + side, x : x + side]
    reps = (-(-size // h) + 1, -(-size // w) + 1, 1)
    oy, ox = rng.integers(0, h), rng.integers(0, w)
    tiled = np.tile(exemplar, reps)[oy : oy + size, ox : ox + size]
    return {
        "crop_distance": metrics.texture_distance(crop, exemplar),
        "tiled_distance": metrics.texture_distance(tiled, exemplar),
        "tiled_max_ncc": metrics.max_ncc(tiled, exemplar),
        "tiled_seam_ratio": metrics.seam_ratio(tiled),
    }


def bench(args: argparse.Namespace) -> dict[str, object]:
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    device = torch.device("cpu")
    rows, base = [], {}
    for name, image in load_exemplars(args.natural, args.flats).items():
        exemplar = exemplar_planes(image)
        base[name] = baselines(exemplar, args.size, rng)
        for method in args.methods:
            params = MultiplyParams(method=method, count=args.count, size=args.size, steps=args.steps, tileable=True)
            parts = feature_parts(params, exemplar.shape[2], image.channels, device) if method == "gram" else []
            block = default_block(*exemplar.shape[:2]) if method == "patch" else None
            variants, started = [], time.perf_counter()
            for index in range(args.count):
                variants.append(synthesize(exemplar, params, index, block=block, device=device, parts=parts))
            seconds = (time.perf_counter() - started) / args.count
            rows.append(
                {
                    "texture": name,
                    "method": method,
                    "seconds_per_variant": round(seconds, 2),
                    **metrics.measure(variants, exemplar, tileable=params.tileable),
                }
            )
            if args.verbose:
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    summary = {}
    for method in args.methods:
        mine = [r for r in rows if r["method"] == method]
        summary[method] = {
            "median_seconds_per_variant": statistics.median(r["seconds_per_variant"] for r in mine),
            "median_distance_over_crop": statistics.median(
                r["texture_distance"] / base[r["texture"]]["crop_distance"] for r in mine
            ),
            "median_distance_over_tiled": statistics.median(
                r["texture_distance"] / base[r["texture"]]["tiled_distance"] for r in mine
            ),
            "max_seam_ratio": max(r["seam_ratio"] for r in mine),
            "max_ncc": max(r["max_ncc"] for r in mine),
        }
    return {
        "config": {k: v for k, v in vars(args).items() if k != "verbose"},
        "bounds": {"ncc": NCC_BOUND, "seam": SEAM_BOUND, "min_variant_difference": MIN_VARIANT_DIFFERENCE},
        "summary": summary,
        "results": rows,
        "baselines": base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="output side in pixels")
    parser.add_argument("--count", type=int, default=1, help="variants per texture and method")
    parser.add_argument("--steps", type=int, default=MultiplyParams().steps, help="gram optimiser steps (coarsest scale)")
    parser.add_argument("--methods", nargs="+", default=["patch", "gram"], choices=["patch", "gram"])
    parser.add_argument(
        "--natural", nargs="*", default=list(NATURAL), choices=NATURAL, help="512² scikit-image textures to include"
    )
    parser.add_argument("--flats", nargs="*", default=list(DEFAULT_FLATS), help="freedoom flats to include")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    parser.add_argument("--quick", action="store_true", help="256² outputs, 40 gram steps, one flat")
    parser.add_argument("--verbose", action="store_true", help="also print each row as it finishes")
    args = parser.parse_args()
    if args.quick:
        args.size, args.steps, args.flats = 256, 40, args.flats[:1]
    print(json.dumps(bench(args), indent=2))


if __name__ == "__main__":
    main()
