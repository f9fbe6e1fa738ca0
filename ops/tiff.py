"""TIFF, as photos leave a RAW developer and scans leave a scanner: often 16 bits a channel.

Pillow reads 16-bit colour as 8-bit without a word, cannot open 16-bit grey with alpha, and reads 16-bit
white-is-zero grey inverted. So grey and colour TIFFs, 8- or 16-bit, are decoded here with tifffile (and
imagecodecs for LZW and the other compressions); palette, CMYK, YCbCr (JPEG-compressed) and 1-bit files,
which Pillow reads in full, are left to it. A layout neither reads right (floating point, 32-bit or signed
integers, 16-bit CMYK, Lab) is refused by name rather than clipped or wrapped.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import tifffile
from PIL.Image import DecompressionBombError

_MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # little/big-endian TIFF and BigTIFF
_PHOTOMETRIC = tifffile.PHOTOMETRIC
_READ_HERE = (_PHOTOMETRIC.MINISWHITE, _PHOTOMETRIC.MINISBLACK, _PHOTOMETRIC.RGB)  # at 8 or 16 bits
_PILLOW_READS = (_PHOTOMETRIC.PALETTE, _PHOTOMETRIC.SEPARATED, _PHOTOMETRIC.YCBCR)  # at 8 bits
_ASSOCIATED, _UNASSOCIATED = tifffile.EXTRASAMPLE.ASSOCALPHA, tifffile.EXTRASAMPLE.UNASSALPHA
_ORIENTATION = 274
# What a damaged or cut-short file raises from tifffile and its codecs (imagecodecs' errors are RuntimeErrors).
_DAMAGED = (tifffile.TiffFileError, ValueError, KeyError, IndexError, OSError, RuntimeError, struct.error)


def is_tiff(data: bytes) -> bool:
    return data[:4] in _MAGICS


def tiff_problem(data: bytes) -> str | None:
    """Why the TIFF ``data`` is not an image remaster reads, as the rest of a sentence that starts with the
    file's name; None when it is one, or when its header cannot be read (decoding then says so)."""
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = _full_size(tif)
            bits, form, photometric = page.bitspersample, page.sampleformat, page.photometric
    except _DAMAGED:
        return None
    if form == tifffile.SAMPLEFORMAT.IEEEFP:
        return ("holds floating-point (HDR or linear) values, which remaster would clip; it reads 8- and 16-bit "
                "images: export it as a 16-bit TIFF or PNG")
    if form != tifffile.SAMPLEFORMAT.UINT or bits not in (1, 8, 16):
        signed = "signed " if form == tifffile.SAMPLEFORMAT.INT else ""
        return (f"holds {bits}-bit {signed}integers, which remaster would misread; it reads 8- and 16-bit images: "
                "export it as a 16-bit TIFF or PNG")
    if bits != 1 and photometric not in _READ_HERE and not (bits == 8 and photometric in _PILLOW_READS):
        name = getattr(photometric, "name", photometric)
        return (f"is a TIFF in a layout remaster cannot read ({bits}-bit {name}); export it as 8- or 16-bit "
                "grey, RGB or RGBA")
    return None


def decode_tiff(data: bytes, max_pixels: int) -> tuple[np.ndarray, int, int] | None:
    """(H, W, planes) texels of a grey or colour TIFF's full-size image (a layered file's composite, not its
    thumbnail), with unassociated alpha last, their bit depth (8 or 16) and the file's EXIF-style
    orientation (1-8); None for a layout Pillow reads in full (palette, CMYK, YCbCr, 1-bit). Raises
    Pillow's ``DecompressionBombError`` for more than ``max_pixels``, as Pillow does, so that the reader
    says it once, and ``ValueError`` for a damaged file."""
    try:
        return _decode(data, max_pixels)
    except DecompressionBombError:
        raise
    except _DAMAGED as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc


def _decode(data: bytes, max_pixels: int) -> tuple[np.ndarray, int, int] | None:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = _full_size(tif)
        if page.bitspersample not in (8, 16) or page.photometric not in _READ_HERE:
            return None
        if page.imagelength * page.imagewidth > max_pixels:
            raise DecompressionBombError(f"{page.imagewidth}x{page.imagelength} pixels")
        texels = page.asarray()
        orientation = int(page.tags[_ORIENTATION].value) if _ORIENTATION in page.tags else 1
        samples, depth, photometric = page.samplesperpixel, page.bitspersample, page.photometric
        colour = 3 if photometric == _PHOTOMETRIC.RGB else 1
        alpha = page.extrasamples[0] if samples > colour and page.extrasamples else None
        separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
        height, width = page.imagelength, page.imagewidth
    if separate and samples > 1:
        texels = np.moveaxis(texels, 0, -1)  # (S, H, W) -> (H, W, S)
    texels = texels.reshape(height, width, samples)
    planes = colour + 1 if alpha in (_ASSOCIATED, _UNASSOCIATED) else colour  # an unspecified extra: not alpha
    texels = np.array(texels[..., :planes], dtype=np.uint16 if depth == 16 else np.uint8)
    full = (1 << depth) - 1
    if photometric == _PHOTOMETRIC.MINISWHITE:
        texels[..., :colour] = full - texels[..., :colour]
    if alpha == _ASSOCIATED:  # premultiplied, as compositing software writes it: colour divided back out
        coverage = texels[..., colour:].astype(np.float64)
        scale = np.divide(full, coverage, out=np.zeros_like(coverage), where=coverage > 0)
        texels[..., :colour] = np.rint(np.clip(texels[..., :colour] * scale, 0, full))
    return texels, depth, orientation


def _full_size(tif: tifffile.TiffFile) -> tifffile.TiffPage:
    """The first page that is not a reduced-resolution copy (a thumbnail a scanner put first)."""
    pages = [page for page in tif.pages if isinstance(page, tifffile.TiffPage)]
    return next((page for page in pages if not page.is_reduced), pages[0])
