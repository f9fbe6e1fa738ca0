"""Benchmark how evenly lit `patch`'s (or `gram`'s) variants of unevenly lit photos are, with and without `flatten`.

A photo lit by a flash or by light falling off across it gives each quilted block its own piece of the lighting,
and the grid of blocks shows. Prints one JSON object: for the bundled photos (the 13 flash photos, the towel's
flash photo and the synthetic stone's), each quilted with the op's default blocks, the block spread
(``metrics.block_spread``: the standard deviation of the mean brightness of every block-sided square) of the
exemplar and the worst of its variants, and their worst seam ratio, made both ways; and the medians over the
photos of each variant's spread over the same variant's made without ``flatten``.

    python bench/bench_multiply_lighting.py            # 15 photos, two 512² variants each way, minutes on one core
    python bench/bench_multiply_lighting.py --method gram --size 128 --count 1 --steps 50   # minutes on one core
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from ops.image_io import read_image
from ops.multiply import metrics
from ops.multiply.patch import default_block
from ops.multiply.run import exemplar_planes, multiply

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PHOTOS = (*sorted((DATA / "photos" / "flash_only").glob("*.png")),
          DATA / "photos" / "pairs" / "green_towel" / "flash.jpg",
          DATA / "materials" / "synthetic" / "stone_02" / "flash.png")


def row(path: Path, args: argparse.Namespace) -> dict[str, object]:
    """One photo's block spread and seam ratio, its variants made without and with ``flatten``."""
    image = read_image(path)
    exemplar = exemplar_planes(image)
    block = default_block(*exemplar.shape[:2])
    figures: dict[str, object] = {"photo": f"{path.parent.name}/{path.name}", "block": block,
                                  "exemplar_spread": round(metrics.block_spread(exemplar, block), 4)}
    for flatten in (False, True):
        made = [exemplar_planes(variant) for variant in
                multiply(image, count=args.count, size=args.size, method=args.method, flatten=flatten,
                         steps=args.steps, source=str(path))]
        way = "flattened" if flatten else "as_lit"
        figures[f"{way}_spread"] = round(max(metrics.block_spread(planes, block) for planes in made), 4)
        figures[f"{way}_seam_ratio"] = round(max(metrics.seam_ratio(planes) for planes in made), 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512, help="variant side in pixels")
    parser.add_argument("--count", type=int, default=2, help="variants per photo and way")
    parser.add_argument("--method", choices=("patch", "gram"), default="patch")
    parser.add_argument("--steps", type=int, default=100, help="gram's L-BFGS steps at 128² (patch reads none)")
    args = parser.parse_args()
    rows = [row(path, args) for path in PHOTOS]
    summary = {
        "median_spread_flattened_over_as_lit": round(statistics.median(
            r["flattened_spread"] / r["as_lit_spread"] for r in rows), 3),
        "photos_spread_lower_flattened": sum(r["flattened_spread"] < r["as_lit_spread"] for r in rows),
        "max_seam_ratio_as_lit": max(r["as_lit_seam_ratio"] for r in rows),
        "max_seam_ratio_flattened": max(r["flattened_seam_ratio"] for r in rows),
        "median_seam_ratio_as_lit": statistics.median(r["as_lit_seam_ratio"] for r in rows),
        "median_seam_ratio_flattened": statistics.median(r["flattened_seam_ratio"] for r in rows),
    }
    print(json.dumps({"config": vars(args), "photos": len(rows), "summary": summary, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
