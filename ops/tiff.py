"""TIFF, as photos leave a RAW developer and scans leave a scanner: often 16 bits a channel.

Pillow decodes 8-bit TIFFs in every layout (palette, CMYK, JPEG-compressed) and 16-bit grey, but reads
16-bit colour as 8-bit and cannot open 16-bit grey with alpha. Those are decoded here with tifffile (and
imagecodecs for LZW and the other compressions), so that a 16-bit photo gives 16-bit outputs, as a 16-bit
PNG does. A floating-point TIFF (HDR, or linear scan data) is refused by name rather than clipped.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import tifffile
from PIL.Image import DecompressionBombError

_MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # little/big-endian TIFF and BigTIFF
_GREY, _RGB = tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB
_ASSOCIATED, _UNASSOCIATED = tifffile.EXTRASAMPLE.ASSOCALPHA, tifffile.EXTRASAMPLE.UNASSALPHA
_ORIENTATION = 274


def is_tiff(data: bytes) -> bool:
    return data[:4] in _MAGICS


def tiff_problem(data: bytes) -> str | None:
    """Why the TIFF ``data`` is not an image remaster reads, as the rest of a sentence that starts with the
    file's name; None when it is one, or when its header cannot be read (decoding then says so)."""
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            floating = page.sampleformat == tifffile.SAMPLEFORMAT.IEEEFP
    except (ValueError, KeyError, IndexError, OSError):
        return None
    if floating:
        return ("holds floating-point (HDR or linear) values, which remaster would clip; it reads 8- and 16-bit "
                "images: export it as a 16-bit TIFF or PNG")
    return None


def decode_tiff16(data: bytes, max_pixels: int) -> tuple[np.ndarray, int] | None:
    """(H, W, planes) uint16 texels of a 16-bit colour or grey+alpha TIFF's first page (a layered file's
    composite), alpha unassociated and last, with its EXIF-style orientation (1-8); None for a TIFF
    that Pillow reads in full (8-bit, 16-bit grey alone). Raises Pillow's ``DecompressionBombError`` for
    more than ``max_pixels``, as Pillow does, so that the reader says it once."""
    try:
        return _decode16(data, max_pixels)
    except (tifffile.TiffFileError, KeyError, IndexError, struct.error) as exc:  # a damaged or cut-short file
        raise ValueError(str(exc)) from exc


def _decode16(data: bytes, max_pixels: int) -> tuple[np.ndarray, int] | None:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        samples = page.samplesperpixel
        if page.bitspersample != 16 or page.photometric not in (_GREY, _RGB) or samples < 2:
            return None
        if page.imagelength * page.imagewidth > max_pixels:
            raise DecompressionBombError(f"{page.imagewidth}x{page.imagelength} pixels")
        texels = page.asarray()
        orientation = int(page.tags[_ORIENTATION].value) if _ORIENTATION in page.tags else 1
        colour = 3 if page.photometric == _RGB else 1
        alpha = page.extrasamples[0] if samples > colour and page.extrasamples else None
    if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
        texels = np.moveaxis(texels, 0, -1)  # (S, H, W) -> (H, W, S)
    texels = texels.reshape(page.imagelength, page.imagewidth, samples)
    if alpha not in (_ASSOCIATED, _UNASSOCIATED):  # an unspecified extra sample is not transparency
        return np.ascontiguousarray(texels[..., :colour]), orientation
    texels = np.ascontiguousarray(texels[..., : colour + 1])
    if alpha == _ASSOCIATED:  # premultiplied, as compositing software writes it: colour divided back out
        coverage = texels[..., colour:].astype(np.float64)
        colour_part = texels[..., :colour] * np.divide(65535.0, coverage, out=np.zeros_like(coverage), where=coverage > 0)
        texels[..., :colour] = np.rint(np.clip(colour_part, 0, 65535))
    return texels, orientation
