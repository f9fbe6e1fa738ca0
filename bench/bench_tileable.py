"""How well ``wrap: auto`` (ops/tileable.py) tells tiling textures from the rest.

Prints one JSON object:
- freedoom's flats, which a Doom engine tiles on a 64-unit grid: how many are found tiling on both
  axes (what material from_texture needs) and on at least one;
- random crops of scikit-image's photos and textures, which do not tile: the axes taken for tiling,
  and the same crops rolled by a third of their side, whose wrap edge is an inner seam: the axes missed;
- freedoom's sprites and wall patches with alpha: how many wrap on some axis, and how many of those
  bring alpha across the wrap into a texel whose own neighbourhood is fully transparent.

    python bench/bench_tileable.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.alpha import color_to_resample  # noqa: E402
from ops.image_io import read_image  # noqa: E402
from ops.tileable import texture_wrap  # noqa: E402

FREEDOOM = Path(__file__).resolve().parents[2] / "shared" / "data" / "legacy" / "freedoom"
PHOTOS = ("brick", "grass", "gravel", "astronaut", "coffee", "chelsea", "rocket", "camera", "moon")
SIDES = (32, 64, 128)
CROPS_PER_SIDE = 20


def flats() -> dict[str, int]:
    found = [texture_wrap(read_image(path, colorspace="linear").color, None) for path in sorted((FREEDOOM / "flats").glob("*.png"))]
    return {"flats": len(found), "both_axes": sum(map(all, found)), "any_axis": sum(map(any, found))}


def crops() -> dict[str, object]:
    rng = np.random.default_rng(0)
    taken: dict[int, int] = dict.fromkeys(SIDES, 0)
    missed: dict[int, int] = dict.fromkeys(SIDES, 0)
    for name in PHOTOS:
        image = np.asarray(getattr(skdata, name)(), np.float32) / 255
        image = (image[..., None] if image.ndim == 2 else image)[..., :3]
        for side in SIDES:
            for _ in range(CROPS_PER_SIDE):
                y, x = rng.integers(0, image.shape[0] - side), rng.integers(0, image.shape[1] - side)
                crop = image[y : y + side, x : x + side]
                taken[side] += sum(texture_wrap(crop, None))
                missed[side] += 2 - sum(texture_wrap(np.roll(crop, (side // 3, side // 3), axis=(0, 1)), None))
    axes = 2 * CROPS_PER_SIDE * len(PHOTOS)
    return {"axes_per_side": axes, "taken_for_tiling": taken, "tiling_missed": missed}


def bleeds(alpha: np.ndarray, wrap: tuple[bool, bool]) -> bool:
    """Whether some texel's 3x3 neighbourhood is fully transparent but, read across the wrap, is not."""

    def neighbourhood_max(modes: list[str]) -> np.ndarray:
        padded = np.pad(np.pad(alpha, ((1, 1), (0, 0)), mode=modes[0]), ((0, 0), (1, 1)), mode=modes[1])
        return np.lib.stride_tricks.sliding_window_view(padded, (3, 3)).max(axis=(2, 3))

    wrapped = neighbourhood_max(["wrap" if w else "edge" for w in wrap])
    return bool(((neighbourhood_max(["edge", "edge"]) == 0) & (wrapped > 0)).any())


def sprites() -> dict[str, int]:
    counts = {"with_alpha": 0, "wrapping": 0, "bleeding": 0, "wrapping_by_colour_alone": 0, "bleeding_by_colour_alone": 0}
    for path in sorted((FREEDOOM / "patches").glob("*.png")):
        image = read_image(path, colorspace="linear")
        if image.alpha is None:
            continue
        color = color_to_resample(image.color, image.alpha, "auto")  # as the ops fill it
        counts["with_alpha"] += 1
        for suffix, wrap in (("", texture_wrap(color, image.alpha)), ("_by_colour_alone", texture_wrap(color, None))):
            counts[f"wrapping{suffix}"] += any(wrap)
            counts[f"bleeding{suffix}"] += bleeds(image.alpha, wrap)
    return counts


def main() -> None:
    print(json.dumps({"flats": flats(), "crops": crops(), "sprites": sprites()}, indent=1))


if __name__ == "__main__":
    main()
