"""What ``export_dds`` costs: seconds a texture and the block compression's PSNR, per format.

Prints one JSON object: for scikit-image's textures and colour photos at each size (colour as
``auto`` picks, BC1, and as BC7; the grey textures also as BC4 maps, ``kind: data``), a normal map made from
brick's heights (BC5), and freedoom's wall patches and sprites with transparency (BC3, and BC1 with 1-bit alpha): the
median seconds of one export with its whole mip chain, and the median and lowest ``block_psnr_db``. And flat colours: the
largest error, in 8-bit levels of any channel, of 4,096 random flat colours stored in BC1 by etcpak alone and by
``export_dds``, which keeps a flat block's colour by ends picked for it.

    python bench/bench_dds.py [--sizes 512 1024]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import etcpak
import numpy as np
from PIL import Image as PILImage
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.export_dds import Kind, block_psnr, export_dds  # noqa: E402
from ops.image_io import Image, read_image, srgb_to_linear  # noqa: E402
from ops.normal_map import renormalize  # noqa: E402
from ops.upscale import resize  # noqa: E402

FREEDOOM = Path(__file__).resolve().parents[2] / "shared" / "data" / "legacy" / "freedoom"
GREY = ("brick", "grass", "gravel")
COLOUR = ("astronaut", "coffee", "chelsea")


def stored(name: str, size: int) -> np.ndarray:
    """scikit-image's ``name`` resized to ``size``², as stored (sRGB-encoded), (H, W, C) in [0, 1]."""
    image = np.asarray(getattr(skdata, name)(), np.float32) / 255
    image = image[..., None] if image.ndim == 2 else image[..., :3]
    return resize(image, (size, size), "lanczos")


def normal_map(size: int) -> Image:
    """Brick's grey levels taken as heights, their slopes as tangent-space normals."""
    height = stored("brick", size)[..., 0] * 4.0
    dy, dx = np.gradient(height)
    return Image(renormalize(np.stack([0.5 - dx / 2, 0.5 - dy / 2, np.full_like(dx, 0.5)], axis=2)))


def measure(images: list[Image], kind: Kind, format: str = "auto") -> dict[str, object]:
    seconds, psnrs, chosen = [], [], set()
    for image in images:
        start = time.perf_counter()
        exported = export_dds(image, format=format, kind=kind)
        seconds.append(time.perf_counter() - start)
        psnrs.append(block_psnr(exported))
        chosen.add(exported.format)
    return {"format": "/".join(sorted(chosen)), "textures": len(images), "median_seconds": round(statistics.median(seconds), 3),
            "median_psnr_db": round(statistics.median(psnrs), 2), "lowest_psnr_db": round(min(psnrs), 2)}


def sprites() -> list[Image]:
    """freedoom's wall patches and sprites that have transparency, cut to multiples of 4 texels a side."""
    found = []
    for path in sorted((FREEDOOM / "patches").glob("*.png")):
        image = read_image(path)
        h, w = image.height // 4 * 4, image.width // 4 * 4
        if image.alpha is not None and h and w and (image.alpha[:h, :w] < 1).any():
            found.append(Image(image.color[:h, :w], image.alpha[:h, :w]))
    return found


def flat_colours(count: int = 4096) -> dict[str, int]:
    """The largest channel error of ``count`` random flat colours, each a 4x4 block, stored in BC1."""
    colours = np.random.default_rng(0).integers(0, 256, (count, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(colours.reshape(64, 64, 3), 4, axis=0), 4, axis=1)  # (256, 256, 3)
    rgba = np.concatenate([texture, np.full((256, 256, 1), 255, np.uint8)], axis=2)
    alone = etcpak.compress_bc1(rgba.tobytes(), 256, 256)
    exported = export_dds(Image(texture.astype(np.float32) / 255), format="bc1", kind="data", mipmaps=False)
    errors = {}
    for name, blocks in (("etcpak_max_error", alone), ("export_dds_max_error", exported.data[exported.header_bytes:])):
        decoded = np.asarray(PILImage.frombytes("RGBA", (256, 256), blocks, "bcn", 1))[..., :3]
        errors[name] = int(np.abs(decoded.astype(int) - texture).max())
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    args = parser.parse_args()
    results: dict[str, object] = {}
    for size in args.sizes:
        colour = [Image(srgb_to_linear(stored(n, size))) for n in COLOUR + GREY]
        results[f"colour_{size}"] = measure(colour, "color")
        results[f"colour_bc7_{size}"] = measure(colour, "color", "bc7")
        results[f"grey_maps_{size}"] = measure([Image(stored(n, size)) for n in GREY], "data")
        results[f"normal_map_{size}"] = measure([normal_map(size)], "normal")
    results["sprites"] = measure(sprites(), "color")
    results["sprites_bc1a"] = measure(sprites(), "color", "bc1a")
    results["flat_colours"] = flat_colours()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
