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
    ``distance`` is in any unit: every length scales with it, so a render depends on it
    only through ``intensity / distance**2``.
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
    """The scene of ``photo``: its sidecar if there is one, else defaults (``fov_deg`` if given).

    Raises ``ValueError`` naming the sidecar and the key where a value is no number or out of range: a
    distance of 0 or an angle of 180 degrees fitted NaN, and a flash of no power failed deep in the fit.
    """
    path = sidecar_for(photo)
    if not path.is_file():
        return Scene(fov_deg=fov_deg or DEFAULT_FOV_DEG, fov_across_longer=fov_deg is None)
    try:
        # From bytes json reads UTF-8 (a BOM too, as Notepad writes) and UTF-16 (PowerShell's `>`); text would be
        # decoded in the system's code page, cp1252 on Windows, which garbles any note in another script
        data = json.loads(path.read_bytes())
        _check_sections(data)
        _check_spelling(data)
        camera, flash, guide = (data.get(section, {}) for section in SCENE_KEYS)
        given = {"camera.fov_deg": camera.get("fov_deg", fov_deg or DEFAULT_FOV_DEG),
                 "camera.distance": camera.get("distance", 1.0),
                 "flash.intensity": flash.get("intensity"), "guide.radiance": guide.get("radiance")}
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a valid scene description ({exc}); {_keys_read(fov_deg)}") from exc
    _check_places(path, data)
    return Scene(
        fov_deg=_number(path, "camera.fov_deg", given["camera.fov_deg"]),
        fov_across_longer="fov_deg" not in camera and fov_deg is None,
        distance=_number(path, "camera.distance", given["camera.distance"]),
        intensity=_optional_number(path, "flash.intensity", given["flash.intensity"]),
        guide_radiance=_optional_number(path, "guide.radiance", given["guide.radiance"]),
    )


SCENE_KEYS = {"camera": ("fov_deg", "distance"), "flash": ("intensity",), "guide": ("radiance",)}


def _keys_read(fov_deg: float | None) -> str:
    """The keys a sidecar may give, each with what stands for it left out: "expected camera.fov_deg,
    camera.distance and optionally ..." read as if the first two were required, where a sidecar without them
    loads with defaults."""
    defaults = f"{fov_deg or DEFAULT_FOV_DEG:g} degrees and 1 where left out"
    return (f"it reads camera.fov_deg and camera.distance ({defaults}), flash.intensity and guide.radiance (fitted "
            "where left out), all optional. Correct it in scene.json.")


def _check_sections(data: object) -> None:
    """Raise, naming the section, where the sidecar or one of its sections is not an object of keys (``"camera":
    45``): Python's "'int' object has no attribute 'get'" said neither where nor what to write."""
    if not isinstance(data, dict):
        raise ValueError(f"it holds {_shown(data)}, where an object of sections is expected, such as "
                         f"{json.dumps(_EXAMPLE)}")
    for section, keys in SCENE_KEYS.items():
        if section in data and not isinstance(data[section], dict):
            raise ValueError(f"{section!r} is {_shown(data[section])}, where an object of its keys "
                             f"({', '.join(keys)}) is expected, such as {json.dumps({section: _EXAMPLE[section]})}")


def _shown(value: object, longest: int = 60) -> str:
    """``value`` as the sidecar writes it, cut to ``longest`` characters: a renderer's sidecar that is a list of
    every frame's camera would fill the build's log with it, where its start says what it is."""
    text = json.dumps(value)
    return text if len(text) <= longest else f"{text[: longest - 3]}..."


_EXAMPLE = {"camera": {"fov_deg": 45, "distance": 2.2}, "flash": {"intensity": 9.68}, "guide": {"radiance": 1.0}}


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


_SECTION_OF = {key: section for section, keys in SCENE_KEYS.items() for key in keys}


def _check_places(path: Path, data: dict) -> None:
    """A key this reads, at a level where it is not read (``fov_deg`` at the top level, ``camera.intensity``), is
    an error naming where it belongs: taken for a renderer's note, it was left alone and the fit used the
    default angle or fitted the flash, without a word."""
    levels = [((), data)] + [((section,), data[section]) for section in SCENE_KEYS if section in data]
    for at, given in levels:
        for key, value in given.items():
            home = (_SECTION_OF[key],) if key in _SECTION_OF else () if _is_section(key, value) else None
            if home is not None and home != at:
                placed = {home[0]: {key: value}} if home else {key: value}
                raise ValueError(f"{path}: {key!r} {_level(at)} is not read there; it belongs {_level(home)}, as "
                                 f"{json.dumps(placed)}. Move it there in scene.json.")


def _is_section(key: str, value: object) -> bool:
    """Whether ``key`` and ``value`` are a section of the sidecar's (``"flash": {...}``): a section's name holding
    a note instead (``"guide": {"flash": "off"}``) is a note, which the README promises is left alone."""
    return key in SCENE_KEYS and isinstance(value, dict)


def _level(at: tuple[str, ...]) -> str:
    """Where in a sidecar ``at`` (a section's name, or none) is, in words."""
    return f"in {at[0]!r}" if at else "at the top level"


# What each value of a sidecar may be: above the first bound and below the second (the op's own fov_deg
# bounds), and what to write there instead.
_RANGES: dict[str, tuple[float, float, str]] = {
    "camera.fov_deg": (1.0, 170.0, "a number of degrees above 1 and below 170, the camera's horizontal field of view"),
    "camera.distance": (0.0, math.inf, "a positive number, the camera's distance from the photographed surface"),
    "flash.intensity": (0.0, math.inf, "a positive number, the flash's power, or left out to have it fitted"),
    "guide.radiance": (0.0, math.inf, "a positive number, the guide photo's sky brightness, or left out to have it "
                                      "fitted"),
}


def _number(path: Path, key: str, value: object) -> float:
    """``value`` of ``key`` as a float; one the fit cannot use (no number, not finite, out of range) is
    refused by name, as the op's own params are."""
    low, high, meaning = _RANGES[key]
    try:
        number = math.nan if isinstance(value, bool) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past a float's range
        number = math.nan
    if not low < number < high:  # NaN fails every comparison
        raise ValueError(f"{path}: {key} is {json.dumps(value)}; it must be {meaning}. Correct it in scene.json.")
    return number


def _optional_number(path: Path, key: str, value: object) -> float | None:
    """As :func:`_number`, but None where the sidecar leaves the value out (or gives null): it is fitted."""
    return None if value is None else _number(path, key, value)
