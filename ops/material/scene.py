"""Where the camera, flash and photographed plane are: defaults or a ``scene.json`` sidecar.

Only ratios matter for a flash fit (a farther flash looks like a weaker one),
so without a sidecar the camera sits at distance 1 and the flash power is
fitted. A sidecar in the form the synthetic captures use, e.g.
``{"camera": {"fov_deg": 45, "distance": 2.2}, "flash": {"intensity": 9.68},
"guide": {"radiance": 1.0}}``, fixes the geometry and, when given, the power.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ops.material.params import sidecar_for

DEFAULT_FOV_DEG = 60.0  # a phone's main camera is about 65-70 degrees across its longer side


@dataclass(frozen=True)
class Scene:
    """A camera looking straight down at the plane z = 0, the flash at its centre.

    ``fov_deg`` spans the image width, or its longer side when ``fov_across_longer``
    (the default angle, which is a phone's: an upright photo must not widen it).
    ``intensity`` (radiant intensity of the
    flash, W/sr in render units) and ``guide_radiance`` (uniform sky of the
    guide photo) are None when unknown and then fitted.
    """

    fov_deg: float = DEFAULT_FOV_DEG
    distance: float = 1.0
    intensity: float | None = None
    guide_radiance: float | None = None
    fov_across_longer: bool = False

    def half_width(self, height: int, width: int) -> float:
        half = self.distance * math.tan(math.radians(self.fov_deg) / 2)
        return half * width / height if self.fov_across_longer and height > width else half

    def plane_points(self, height: int, width: int) -> np.ndarray:
        """World position (H, W, 3) of each pixel's centre; image up is +y, so tangent +Y is up (OpenGL)."""
        half_w = self.half_width(height, width)
        half_h = half_w * height / width
        x = ((np.arange(width) + 0.5) / width * 2 - 1) * half_w
        y = -((np.arange(height) + 0.5) / height * 2 - 1) * half_h
        xx, yy = np.meshgrid(x, y)
        return np.stack([xx, yy, np.zeros_like(xx)], axis=-1).astype(np.float32)

    def camera(self) -> np.ndarray:
        return np.array([0.0, 0.0, self.distance], dtype=np.float32)


def load_scene(photo: Path, fov_deg: float | None = None) -> Scene:
    """The scene of ``photo``: its sidecar if there is one, else defaults (``fov_deg`` if given)."""
    path = sidecar_for(photo)
    if not path.is_file():
        return Scene(fov_deg=fov_deg or DEFAULT_FOV_DEG, fov_across_longer=fov_deg is None)
    try:
        # From bytes json reads UTF-8 (a BOM too, as Notepad writes) and UTF-16 (PowerShell's `>`); text would be
        # decoded in the system's code page, cp1252 on Windows, which garbles any note in another script
        data = json.loads(path.read_bytes())
        _check_spelling(data)
        camera = data.get("camera", {})
        return Scene(
            fov_deg=float(camera.get("fov_deg", fov_deg or DEFAULT_FOV_DEG)),
            fov_across_longer="fov_deg" not in camera and fov_deg is None,
            distance=float(camera.get("distance", 1.0)),
            intensity=_optional_float(data.get("flash", {}).get("intensity")),
            guide_radiance=_optional_float(data.get("guide", {}).get("radiance")),
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{path} is not a valid scene description ({exc}); expected camera.fov_deg, camera.distance "
            "and optionally flash.intensity and guide.radiance"
        ) from exc


SCENE_KEYS = {"camera": ("fov_deg", "distance"), "flash": ("intensity",), "guide": ("radiance",)}


def _check_spelling(data: dict) -> None:
    """A key one typo away from one this reads (``camera.fov``) is an error, not a silent default, where
    that key is missing. Other keys are left alone: a renderer's sidecar carries notes of its own
    (``renderer``, ``maps``, ``distance_unit`` beside ``distance``)."""
    found = [(key, (), data) for key in data] + [
        (key, (section,), data[section]) for section in SCENE_KEYS if isinstance(data.get(section), dict)
        for key in data[section]
    ]
    for key, at, given in found:
        known = SCENE_KEYS[at[0]] if at else tuple(SCENE_KEYS)
        missing = [k for k in known if k not in given]  # beside its real key, ``distance_unit`` is a note
        close = difflib.get_close_matches(key, missing, n=1, cutoff=0.6)
        if key not in known and close:
            where = ".".join((*at, key))
            raise ValueError(f"unknown key {where!r}; did you mean {'.'.join((*at, close[0]))!r}?")


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
