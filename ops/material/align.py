"""Register the guide photo onto the flash photo: a hand-held pair is rarely pixel-aligned.

The flash photo has a hot spot and fall-off the guide lacks, so both are
compared as high-passed log luminance, where only texture remains, by phase
correlation (the peak of the normalized cross-power spectrum is the shift).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal


class AlignmentError(ValueError):
    """The two photos do not show the same texture at a small shift."""


@dataclass(frozen=True)
class Shift:
    """Guide-to-flash translation in pixels (dy, dx) and how distinct the correlation peak was."""

    dy: float
    dx: float
    confidence: float


def _texture(rgb: np.ndarray) -> np.ndarray:
    lum = np.log(rgb.mean(axis=2) + 1e-3)
    hp = lum - _gaussian(lum, sigma=max(rgb.shape[:2]) / 32)
    window = np.outer(np.hanning(rgb.shape[0]), np.hanning(rgb.shape[1]))
    return (hp - hp.mean()) * window


def _gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """``ndimage.gaussian_filter(image, sigma)``, its kernel (4 sigma each side) and reflected borders, by FFT along
    each axis: this sigma grows with the photo, and taken directly its kernel of 1,001 taps spent 38 s of a
    12-megapixel phone pair's 70 s (5 iterations) in the two blurs alone. It agrees to float32 rounding, not bit
    for bit, so the shift and the maps of a resampled guide moved with it (material version 12)."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 / (sigma * sigma) * taps**2)
    kernel /= kernel.sum()
    blurred = image
    for axis in (0, 1):
        pad = [(radius, radius) if a == axis else (0, 0) for a in (0, 1)]
        shape = (-1, 1) if axis == 0 else (1, -1)
        padded = np.pad(blurred, pad, mode="symmetric")  # numpy's symmetric is ndimage's reflect
        blurred = signal.fftconvolve(padded, kernel.reshape(shape), mode="valid", axes=axis)
    return blurred.astype(image.dtype)  # as ndimage returns it


def estimate_shift(flash: np.ndarray, guide: np.ndarray) -> Shift:
    """Shift (dy, dx) to apply to ``guide`` so it lies on ``flash``; both (H, W, 3) linear."""
    a = np.fft.fft2(_texture(flash))
    b = np.fft.fft2(_texture(guide))
    cross = a * np.conj(b)
    # Partial whitening: sharp like phase correlation, without letting noisy high frequencies vote equally.
    corr = np.real(np.fft.ifft2(cross / (np.abs(cross) ** 0.7 + 1e-9)))
    peak = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = corr.shape
    dy, dx = [_subpixel(corr, peak, axis) for axis in (0, 1)]
    dy = dy - h if dy > h / 2 else dy
    dx = dx - w if dx > w / 2 else dx
    masked = corr.copy()
    y, x = peak
    masked[np.ix_([(y + k) % h for k in range(-3, 4)], [(x + k) % w for k in range(-3, 4)])] = -np.inf
    runner_up = float(masked.max())
    confidence = float(corr[peak] / max(runner_up, 1e-9))
    return Shift(float(dy), float(dx), confidence)


def _subpixel(corr: np.ndarray, peak: tuple[np.intp, ...], axis: int) -> float:
    """Peak position along ``axis`` refined by a parabola through three samples."""
    n = corr.shape[axis]
    i = peak[axis]
    idx = list(peak)
    values = []
    for k in (-1, 0, 1):
        idx[axis] = (i + k) % n
        values.append(corr[tuple(idx)])
    lo, mid, hi = values
    denom = lo - 2 * mid + hi
    return i + (0.5 * (lo - hi) / denom if abs(denom) > 1e-12 else 0.0)


_NOISE_PX = 0.5  # shifts below this are the estimate's noise, not a moved camera
# An unmoved camera can measure this much: flash and sky light a texture differently, and the synthetic
# pairs, rendered from one camera, measure up to 0.8 px. max_shift 0 (a tripod pair) refuses only more.
_TRIPOD_PX = 1.5


def align_guide(flash: np.ndarray, guide: np.ndarray, *, max_shift: float, names: tuple[str, str]) -> tuple[np.ndarray, Shift]:
    """The guide moved onto the flash photo, and the shift used.

    Raises :class:`AlignmentError` naming both files when the correlation
    peak is not distinct and away from zero (different scenes, or a tilted or
    rotated camera) or the shift is larger than ``max_shift`` of the size.
    """
    shift = estimate_shift(flash, guide)
    limit = max(max_shift * max(flash.shape[:2]), _TRIPOD_PX)  # never below what an unmoved camera measures
    flash_name, guide_name = names
    if shift.confidence < 1.5 and max(abs(shift.dy), abs(shift.dx)) > 1.0:
        # A weak peak right at zero shift is an aligned pair whose flash shading hides the texture.
        raise AlignmentError(
            f"cannot align {guide_name} with {flash_name}: no clear common texture (confidence "
            f"{shift.confidence:.2f}); take both photos from the same position, e.g. on a tripod"
        )
    if max(abs(shift.dy), abs(shift.dx)) > limit:
        raise AlignmentError(
            f"{guide_name} is {_offset(shift)} from {flash_name} (shift_x {shift.dx:.1f}, shift_y {shift.dy:.1f} px "
            f"would align it), more than max_shift allows ({limit:.1f} px); retake the pair without moving the "
            "camera or raise max_shift"
        )
    if not resamples(shift, max_shift):
        return guide, shift
    moved = ndimage.shift(guide, (shift.dy, shift.dx, 0), order=1, mode="nearest")
    return moved.astype(np.float32), shift


def resamples(shift: Shift, max_shift: float) -> bool:
    """Whether ``align_guide`` moves the guide by ``shift``: not for ``max_shift`` 0 (a tripod pair, used as
    taken), nor for a shift within the estimate's noise, where resampling would only blur it. The material op's
    metadata says so beside the shift it measured, which alone read as applied."""
    return max_shift != 0 and (abs(shift.dy) >= _NOISE_PX or abs(shift.dx) >= _NOISE_PX)


def _offset(shift: Shift) -> str:
    """Where the guide's texture lies from the flash photo's, in words to check against the photos: ``shift``
    is the move that would align it, the other way round, which a bare pair of numbers leaves to guess."""
    across = "right" if shift.dx < 0 else "left"
    along = "down" if shift.dy < 0 else "up"
    return f"{abs(shift.dx):.1f} px {across} and {abs(shift.dy):.1f} px {along}"
