"""A full PBR material guessed from one legacy colour texture (as Materialize or RTX Remix's tools do).

Nothing measures the relief here, so every map is a heuristic: baked
shading is taken to be the low frequencies of luminance, relief the band-pass
of luminance at several scales (darker = deeper), roughness the inverse of
local brightness. Borders wrap when the texture tiles, so the maps tile too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ops.alpha import bleed
from ops.image_io import Image, check_unit_floats, linear_to_srgb
from ops.material.maps import ambient_occlusion, normal_from_height, normalize01
from ops.material.params import MaterialParams
from ops.tileable import texture_wrap


# Below these, a texture is taken to be flat with noise, and its relief and roughness are not stretched to
# the full range: a grey dithered by one 8-bit level came out tilted 7° on average, with AO down to 0.32.
# The least of 1,092 textures and photos under ../shared/data (a flat ceiling, ceil4_1) has 0.12 and 0.035,
# scikit-image's brick 1.9 and 0.44; that dither 0.017 and 0.010.
LEAST_RELIEF = 0.1  # range of the band-pass of log luminance
LEAST_DETAIL = 0.03  # standard deviation of log luminance less its shading


@dataclass
class TextureMaterial:
    """The maps guessed from one texture, where no photo pair was shot: shading read as relief, not measured."""

    albedo: np.ndarray  # (H, W, 3) linear
    normal: np.ndarray  # (H, W, 3) unit, +Y up
    height: np.ndarray  # (H, W) [0, 1]
    roughness: np.ndarray  # (H, W)
    specular: np.ndarray  # (H, W)
    ao: np.ndarray  # (H, W)
    tileable: bool


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of linear RGB (H, W, 3)."""
    return (rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)).astype(np.float32)


def texture_tiles(rgb: np.ndarray, coverage: np.ndarray | None, tileable: bool | None) -> bool:
    """Whether the maps of the linear colour texture ``rgb`` (H, W, 3) wrap: ``tileable`` where it is given, else
    detected on its colour and its ``coverage`` alpha. Apart from the maps, so that the op finds it again for the glTF
    of a renamed texture whose maps it keeps."""
    if tileable is not None:
        return tileable
    return all(texture_wrap(linear_to_srgb(np.ascontiguousarray(rgb, np.float32)), coverage))


def material_from_texture(
    rgb: np.ndarray,
    *,
    strength: float = 1.0,
    delight: float = 1.0,
    tileable: bool | None = None,
    coverage: np.ndarray | None = None,
) -> TextureMaterial:
    """All maps for a linear colour texture (H, W, 3). ``coverage`` (H, W), a cut-out's alpha, decides
    tileability with the colour: a sprite opaque at the top and empty at the bottom does not wrap; and the colour
    under its transparent texels is filled from the visible ones first, as the op fills it: the black there was
    read as deep grooves, so a script's maps of a cut-out were not the op's.
    ``strength``, ``delight`` and ``tileable`` are the op's ``normal_strength``, ``delight`` and ``tileable``: a
    value its params refuse is a ``ValueError`` naming it as the call does (the maps came out NaN or infinite)."""
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"rgb is a numpy array (height, width, 3); got {type(rgb).__module__}.{type(rgb).__name__} "
                        "(image.rgb(), and image.alpha as coverage)")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected linear colour (height, width, 3); got shape {rgb.shape} (Image.rgb() repeats a grey "
                         "texture's channel)")
    check_unit_floats("the colour", rgb)
    params = MaterialParams.from_arguments({"normal_strength": "strength"}, method="from_texture",
                                           normal_strength=strength, delight=delight, tileable=tileable)
    if isinstance(coverage, Image):
        raise TypeError("coverage is the texture's alpha, an array (height, width); got ops.image_io.Image "
                        "(image.alpha)")
    if coverage is not None:
        coverage = np.asarray(coverage)  # a list of rows: check_unit_floats read its dtype
        if coverage.shape != rgb.shape[:2]:
            raise ValueError(f"coverage is (height, width) = {rgb.shape[:2]}, as rgb; got shape {coverage.shape}")
        check_unit_floats("coverage", coverage)
    rgb = np.ascontiguousarray(rgb, np.float32)  # a view's or float64's luminance was summed otherwise: a ulp off
    if coverage is not None:
        rgb = bleed(rgb, coverage)
    strength, delight = params.normal_strength, params.delight
    wrap = texture_tiles(rgb, coverage, params.tileable)
    mode = "wrap" if wrap else "reflect"
    size = max(rgb.shape[:2])
    lum = np.maximum(luminance(rgb), 1e-4)
    log_lum = np.log(lum)

    shading = ndimage.gaussian_filter(log_lum, sigma=max(size / 8, 2.0), mode=mode)
    albedo = rgb * np.exp(-delight * (shading - shading.mean()))[..., None]
    albedo = np.clip(albedo, 0.0, 1.0)

    relief = np.zeros_like(log_lum)
    for weight, sigma in ((1.0, 1.0), (1.0, 2.0), (0.8, 4.0), (0.6, 8.0)):
        relief += weight * (ndimage.gaussian_filter(log_lum, sigma, mode=mode) - ndimage.gaussian_filter(log_lum, 2 * sigma, mode=mode))
    height = normalize01(relief, LEAST_RELIEF)
    normal = normal_from_height(height, strength * size / 64, wrap=wrap)

    detail = log_lum - shading
    roughness = np.clip(0.7 - 0.25 * detail / (max(float(detail.std()), LEAST_DETAIL) + 1e-6) * 0.5, 0.25, 1.0)
    return TextureMaterial(
        albedo=albedo.astype(np.float32),
        normal=normal,
        height=height,
        roughness=roughness.astype(np.float32),
        specular=np.full(lum.shape, 0.5, dtype=np.float32),
        ao=ambient_occlusion(height, wrap=wrap),
        tileable=wrap,
    )
