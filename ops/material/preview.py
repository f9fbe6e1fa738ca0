"""A picture of the material under a raking light, so a build's result can be judged at a glance."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ops.material.render import Svbrdf, render_guide, render_point_light
from ops.material.scene import Scene
from ops.tensors import to_chw, to_hwc

PREVIEW_SIZE = 256


def render_preview(
    albedo: np.ndarray, normal: np.ndarray, roughness: np.ndarray, specular: np.ndarray, ao: np.ndarray
) -> np.ndarray:
    """Linear RGB (h, w, 3), longer side at most 256: the maps on a plane lit from the upper left, plus soft fill.

    Inputs are (H, W, C) or (H, W) numpy maps; normals unit with +Y up.
    """
    h, w = albedo.shape[:2]
    scale = min(1.0, PREVIEW_SIZE / max(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))

    def plane(x: np.ndarray) -> torch.Tensor:
        t = to_chw(x if x.ndim == 3 else x[..., None])
        return F.interpolate(t.unsqueeze(0).float(), size=size, mode="area")

    maps = Svbrdf(
        albedo=plane(albedo),
        normal=F.normalize(plane(normal), dim=1),
        roughness=plane(roughness),
        specular=plane(specular),
    )
    scene = Scene(fov_deg=40.0, distance=2.0)
    points = torch.from_numpy(scene.plane_points(*size))
    light = torch.tensor([-0.8, 0.8, 1.0])
    with torch.no_grad():
        key = render_point_light(maps, points, light=light, camera=torch.from_numpy(scene.camera()), intensity=2.0)
        fill = 0.15 * render_guide(maps) * plane(ao)
        image = key + fill
    return to_hwc((image / (1.0 + image))[0]) * 1.6
