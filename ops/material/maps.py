"""Turning fitted quantities into the files artists use: encodings, height from normals, ORM packing."""

from __future__ import annotations

from typing import get_args

import numpy as np

from ops.material.params import NormalConvention
from ops.registry import check_choice


_FLIP_GREEN = np.array([1.0, -1.0, 1.0], dtype=np.float32)  # DirectX's +Y is down, OpenGL's and these maps' up


def encode_normal(normal: np.ndarray, convention: NormalConvention) -> np.ndarray:
    """Unit normals (H, W, 3), +Y up, to [0, 1] RGB; DirectX flips green (+Y down)."""
    check_choice("convention", convention, get_args(NormalConvention))  # 'DirectX' was written as OpenGL
    n = _unit(normal)
    if convention == "directx":
        n = n * _FLIP_GREEN
    return (n * 0.5 + 0.5).astype(np.float32)


def decode_normal(rgb: np.ndarray, convention: NormalConvention = "opengl") -> np.ndarray:
    """[0, 1] RGB to unit normals (H, W, 3) with +Y up."""
    check_choice("convention", convention, get_args(NormalConvention))
    n = rgb * 2.0 - 1.0
    if convention == "directx":
        n = n * _FLIP_GREEN
    return _unit(n).astype(np.float32)


def _unit(n: np.ndarray) -> np.ndarray:
    """Vectors (H, W, 3) scaled to unit length; a zero one stays zero."""
    return n / np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-8)


def height_from_normal(normal: np.ndarray) -> np.ndarray:
    """Height (H, W) in [0, 1] whose slopes best match the normals: Poisson integration in Fourier space.

    Slopes are per pixel with image rows going down, +Y up; the result is
    periodic, which is what a tiling material wants.
    """
    nz = np.maximum(normal[..., 2], 0.1)
    gx = -normal[..., 0] / nz  # dh/dx (x to the right)
    gy = normal[..., 1] / nz  # dh/drow: +Y up means height grows upwards, rows grow downwards
    h, w = gx.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    denom = (2j * np.pi * fx) * np.conj(2j * np.pi * fx) + (2j * np.pi * fy) * np.conj(2j * np.pi * fy)
    denom[0, 0] = 1.0
    spectrum = (np.conj(2j * np.pi * fx) * np.fft.fft2(gx) + np.conj(2j * np.pi * fy) * np.fft.fft2(gy)) / denom
    spectrum[0, 0] = 0.0
    height = np.real(np.fft.ifft2(spectrum))
    return normalize01(height)


def normal_from_height(height: np.ndarray, strength: float, *, wrap: bool) -> np.ndarray:
    """Unit normals (H, W, 3), +Y up, of a height map (H, W) in pixel units scaled by ``strength``."""
    if wrap:
        dx = (np.roll(height, -1, 1) - np.roll(height, 1, 1)) / 2
        drow = (np.roll(height, -1, 0) - np.roll(height, 1, 0)) / 2
    else:
        drow, dx = (np.gradient(height, axis=a) if height.shape[a] > 1 else np.zeros_like(height) for a in (0, 1))
    n = np.stack([-dx * strength, drow * strength, np.ones_like(height)], axis=2)
    return (n / np.linalg.norm(n, axis=2, keepdims=True)).astype(np.float32)


def ambient_occlusion(height: np.ndarray, *, wrap: bool, depth: float = 4.0) -> np.ndarray:
    """Cavity occlusion (H, W) in (0, 1]: texels below their neighbourhood's height see less sky. It falls
    off as 1 / (1 + depth * cavity), never to 0: a linear ramp clipped at 0 turned a fifth of a planked
    floor's texels (freedoom aqf005) black, a mask rather than shading."""
    from scipy import ndimage

    mode = "wrap" if wrap else "reflect"
    occlusion = np.zeros_like(height)
    for sigma in (2.0, 6.0, 16.0):
        occlusion += np.maximum(ndimage.gaussian_filter(height, sigma, mode=mode) - height, 0.0)
    return (1.0 / (1.0 + depth * occlusion / 3.0)).astype(np.float32)


def pack_orm(ao: np.ndarray, roughness: np.ndarray) -> np.ndarray:
    """glTF occlusion-roughness-metalness (H, W, 3): R = AO, G = roughness, B = metalness (0, dielectric)."""
    return np.stack([ao, roughness, np.zeros_like(ao)], axis=2).astype(np.float32)


def normalize01(x: np.ndarray, least_range: float = 0.0) -> np.ndarray:
    """Stretch ``x`` to [0, 1]; a flat input gives 0.5. A range under ``least_range`` is stretched only as
    far as ``least_range`` would be, about 0.5: what is nearly flat stays nearly flat."""
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 1e-8:
        return np.full_like(x, 0.5, dtype=np.float32)
    if hi - lo < least_range:
        return (0.5 + (x - (lo + hi) / 2) / least_range).astype(np.float32)
    return ((x - lo) / (hi - lo)).astype(np.float32)
