"""Inputs for the demo project, made from textures that ship with scikit-image or procedurally.

Nothing is downloaded. The "legacy" textures imitate what old games shipped:
small, palette-quantized, some with alpha; the "reference" set is the
high-resolution material the super-resolution model learns from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from skimage import data as skdata

from ops.image_io import Image, srgb_to_linear, write_image
from ops.material.synthetic import render_demo_pair, render_photos, tiles_material, write_demo_scene
from ops.upscale import resize

LEGACY_SIZE = 64
REFERENCE_SIZE = 128


def _exemplars() -> dict[str, np.ndarray]:
    """Named sRGB float images in [0, 1], (H, W, 3)."""
    grey = {name: getattr(skdata, name)() for name in ("brick", "grass", "gravel")}
    colour = {name: getattr(skdata, name)() for name in ("coffee", "chelsea", "astronaut")}
    images = {name: np.repeat(img[..., None], 3, axis=2) for name, img in grey.items()}
    images.update(colour)
    return {name: img.astype(np.float32)[..., :3] / 255.0 for name, img in images.items()}


def _crop(image: np.ndarray, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = int(rng.integers(0, image.shape[0] - size + 1))
    x = int(rng.integers(0, image.shape[1] - size + 1))
    return image[y : y + size, x : x + size]


def _palettize(srgb: np.ndarray, colours: int = 64) -> np.ndarray:
    """Quantize to an adaptive palette, as 8-bit era textures were."""
    pil = PILImage.fromarray(np.rint(srgb * 255).astype(np.uint8)).quantize(colours, dither=PILImage.Dither.NONE)
    return np.asarray(pil.convert("RGB"), dtype=np.float32) / 255.0


def write_legacy_textures(folder: Path) -> list[Path]:
    """Small palette textures, one with alpha and one in a subfolder, as legacy packs look."""
    written = []
    for index, (name, image) in enumerate(sorted(_exemplars().items())):
        patch = resize(_crop(image, 256, seed=index), (LEGACY_SIZE, LEGACY_SIZE), "lanczos")
        color = srgb_to_linear(_palettize(patch))
        alpha = None
        if name == "chelsea":  # a decal with a hard cut-out
            yy, xx = np.mgrid[:LEGACY_SIZE, :LEGACY_SIZE]
            alpha = ((yy - 32) ** 2 + (xx - 32) ** 2 < 28**2).astype(np.float32)
        sub = "walls" if name in ("brick", "grass", "gravel") else "misc"  # stationary textures, and photos
        path = folder / sub / f"{name}.png"
        write_image(path, Image(color, alpha))
        written.append(path)
    return written


def write_reference_textures(folder: Path, count: int = 12) -> list[Path]:
    """High-resolution crops the super-resolution model trains and validates on."""
    written = []
    for name, image in sorted(_exemplars().items()):
        for index in range(count // 6):
            path = folder / f"{name}_{index}.png"
            write_image(path, Image(srgb_to_linear(_crop(image, REFERENCE_SIZE, seed=100 + index))))
            written.append(path)
    return written


def write_photo_pairs(folder: Path, count: int = 1) -> list[Path]:
    """Flash/guide captures of procedural tiles, rendered with the material op's own renderer."""
    return [render_demo_pair(folder / f"tiles_{index}", size=128, seed=index)[0].parent for index in range(count)]


def write_flash_photos(folder: Path, count: int = 1) -> list[Path]:
    """Single flash photos, the input of ``method: one_shot``."""
    paths = []
    for index in range(count):
        flash, _ = render_photos(tiles_material(128, tiles=3, seed=10 + index))
        path = folder / f"flash_{index}.png"
        write_image(path, Image(flash))
        paths.append(path)
    write_demo_scene(folder)  # the op reads the camera geometry beside the photos
    return paths
