"""Known materials: procedural ones rendered with our own renderer, and captures rendered by Mitsuba 3.

Tests recover these known maps; the demo generator uses
:func:`render_demo_pair` to make a small two-shot capture without a camera.
:func:`load_mitsuba_truth` brings the ground truth of a Mitsuba capture into
the frame of its photos, where the fitted maps are, for tests and the bench.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from ops.atomic import write_bytes_atomic
from ops.image_io import Image, read_image, write_image
from ops.material.maps import decode_normal
from ops.material.render import Svbrdf, render_guide, render_point_light
from ops.material.scene import Scene
from ops.tensors import to_chw, to_hwc

DEMO_SCENE = Scene(fov_deg=45.0, distance=2.2, intensity=9.68, guide_radiance=1.0)


@dataclass
class ProceduralMaterial:
    """Known maps, numpy: albedo (H,W,3) linear, normal (H,W,3) unit +Y up, roughness and specular (H,W)."""

    albedo: np.ndarray
    normal: np.ndarray
    roughness: np.ndarray
    specular: np.ndarray

    def torch(self) -> Svbrdf:
        def t(x: np.ndarray) -> torch.Tensor:
            x = x if x.ndim == 3 else x[..., None]
            return to_chw(x).unsqueeze(0).float()

        return Svbrdf(t(self.albedo), t(self.normal), t(self.roughness), t(self.specular))


def tiles_material(size: int = 128, *, tiles: int = 4, seed: int = 0) -> ProceduralMaterial:
    """Glossy coloured tiles with bevelled, rough grout: two materials that share little but their lighting."""
    rng = np.random.default_rng(seed)
    period = size / tiles
    coord = (np.arange(size) + 0.5) % period / period  # 0..1 inside a tile
    dist_x = np.minimum(coord, 1 - coord)[None, :].repeat(size, 0)
    dist_y = np.minimum(coord, 1 - coord)[:, None].repeat(size, 1)
    edge = np.minimum(dist_x, dist_y)
    grout = edge < 0.06
    # Height: a flat top that bevels down to the grout; slopes give the normal map.
    height = np.clip((edge - 0.06) / 0.08, 0, 1) * 0.04 * size / tiles
    height = ndimage.gaussian_filter(height, 0.7, mode="wrap")
    noise = ndimage.gaussian_filter(rng.normal(size=(size, size)), 3, mode="wrap")
    noise = noise / (noise.std() + 1e-8)
    tile_colour = np.array([0.55, 0.30, 0.18])
    grout_colour = np.array([0.12, 0.12, 0.11])
    albedo = np.where(grout[..., None], grout_colour, tile_colour * (1 + 0.08 * noise[..., None]))
    roughness = np.where(grout, 0.85, 0.3 + 0.04 * noise)
    specular = np.where(grout, 0.3, 0.6)
    drow, dx = np.gradient(height)
    normal = np.stack([-dx, drow, np.ones_like(height)], axis=2)
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    return ProceduralMaterial(
        albedo=np.clip(albedo, 0, 1).astype(np.float32),
        normal=normal.astype(np.float32),
        roughness=np.clip(roughness, 0.05, 1).astype(np.float32),
        specular=specular.astype(np.float32),
    )


def render_photos(material: ProceduralMaterial, scene: Scene = DEMO_SCENE) -> tuple[np.ndarray, np.ndarray]:
    """Flash and guide photos (H, W, 3), linear, clipped at 1 as a camera would."""
    maps = material.torch()
    h, w = material.albedo.shape[:2]
    points = torch.from_numpy(scene.plane_points(h, w))
    camera = torch.from_numpy(scene.camera())
    with torch.no_grad():
        flash = render_point_light(maps, points, light=camera, camera=camera, intensity=scene.intensity or 1.0)
        guide = render_guide(maps, scene.guide_radiance or 1.0)
    return tuple(np.clip(to_hwc(x[0]), 0, 1).astype(np.float32) for x in (flash, guide))


def render_demo_pair(folder: Path, *, size: int = 128, seed: int = 0) -> tuple[Path, Path]:
    """Write ``flash.png``, ``guide.png`` and ``scene.json`` of a tiled material into ``folder``.

    Returns the flash and guide paths, ready for the ``photo_pairs`` source.
    """
    flash, guide = render_photos(tiles_material(size, seed=seed))
    folder = Path(folder)
    paths = folder / "flash.png", folder / "guide.png"
    for path, pixels in zip(paths, (flash, guide)):
        write_image(path, Image(color=pixels))
    write_demo_scene(folder)
    return paths


def write_demo_scene(folder: Path) -> Path:
    """Write the ``scene.json`` sidecar of photos rendered with :data:`DEMO_SCENE` into ``folder``."""
    scene = {
        "renderer": "remaster ops.material.render (Lambert + GGX)",
        "camera": {"fov_deg": DEMO_SCENE.fov_deg, "distance": DEMO_SCENE.distance},
        "flash": {"kind": "point light at the camera centre", "intensity": DEMO_SCENE.intensity},
        "guide": {"kind": "uniform environment light", "radiance": DEMO_SCENE.guide_radiance},
    }
    path = Path(folder) / "scene.json"
    write_bytes_atomic(path, json.dumps(scene, indent=2).encode("utf-8"))
    return path


def load_mitsuba_truth(folder: Path) -> ProceduralMaterial:
    """The ground-truth maps of a Mitsuba capture (``ground_truth/`` and ``scene.json`` in ``folder``), photo frame.

    Mitsuba maps a bitmap's first row to v = 0 and its rectangle's v grows
    along +y, which the camera shows as up: the photos show each map upside
    down. The normals' +Y is +v, so once the rows are flipped it is up in the
    photo, as in our frame, and the components stay as decoded. Rendered by
    our renderer, the maps loaded here reproduce ``flash.png`` to an RMSE of
    0.001-0.003; left unflipped (0.015-0.034, no better than flat normals) they
    scored the fitted maps against the wrong texels.
    """
    folder = Path(folder)
    truth = folder / "ground_truth"
    scene_path = folder / "scene.json"
    try:
        specular = float(json.loads(scene_path.read_bytes())["specular"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{scene_path} does not give the capture's principled specular level ({exc})") from exc
    albedo = read_image(truth / "albedo.png").rgb()[::-1]
    normal = decode_normal(read_image(truth / "normal.png", colorspace="linear").rgb())[::-1]
    roughness = read_image(truth / "roughness.png", colorspace="linear").color[::-1, :, 0]
    return ProceduralMaterial(
        albedo=np.ascontiguousarray(albedo),
        normal=np.ascontiguousarray(normal),
        roughness=np.ascontiguousarray(roughness),
        specular=np.full_like(roughness, specular),
    )
