"""TIFF, as photos leave a RAW developer and scans leave a scanner: often 16 bits a channel.

Pillow reads 16-bit colour as 8-bit without a word, cannot open 16-bit grey with alpha, and reads 16-bit
white-is-zero grey inverted. So grey and colour TIFFs of 8 or 16 bits are decoded here with tifffile (and
imagecodecs for LZW and the other compressions); palette, CMYK, YCbCr (JPEG-compressed) files and those of
under 8 bits, which Pillow reads in full, are left to it. A layout neither reads right (floating point,
32-bit or signed integers, 16-bit CMYK, Lab) is refused by name rather than clipped or wrapped. Either way
the full-size page is read where a scanner put a thumbnail first.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import cast

import numpy as np
import tifffile
from PIL.Image import DecompressionBombError

_MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # little/big-endian TIFF and BigTIFF
_PHOTOMETRIC = tifffile.PHOTOMETRIC
_READ_HERE = (_PHOTOMETRIC.MINISWHITE, _PHOTOMETRIC.MINISBLACK, _PHOTOMETRIC.RGB)  # at 8 or 16 bits
_PILLOW_READS = (_PHOTOMETRIC.PALETTE, _PHOTOMETRIC.SEPARATED, _PHOTOMETRIC.YCBCR)  # at 8 bits
_UNDER_8_BITS = (_PHOTOMETRIC.MINISWHITE, _PHOTOMETRIC.MINISBLACK, _PHOTOMETRIC.PALETTE)  # 1 to 4 bits, by Pillow
_ALPHA = (tifffile.EXTRASAMPLE.ASSOCALPHA, tifffile.EXTRASAMPLE.UNASSALPHA)
_ORIENTATION = 274
# What a damaged or cut-short file raises from tifffile and its codecs (imagecodecs' errors are RuntimeErrors).
_DAMAGED = (tifffile.TiffFileError, ValueError, KeyError, IndexError, OSError, RuntimeError, struct.error)


def is_tiff(data: bytes) -> bool:
    return data[:4] in _MAGICS


@dataclass(frozen=True)
class TiffLayout:
    """Where a TIFF's image is, who decodes it, or why nobody can."""

    page: int  # the full-size page: a scanner may put a thumbnail first
    by_tifffile: bool  # grey or colour of 8 or 16 bits, decoded by ``decode_tiff``; else by Pillow
    problem: str | None  # why remaster does not read it, as the rest of a sentence that starts with the file's name


def tiff_layout(data: bytes) -> TiffLayout:
    """The layout of the TIFF ``data``."""
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            index, page = _full_size(tif)
            bits, form, photometric = page.bitspersample, page.sampleformat, page.photometric
    except _DAMAGED:
        return TiffLayout(page=0, by_tifffile=False, problem="is cut short or damaged: its TIFF header cannot be "
                          "read. If it was still being saved or copied, build again once it is; else re-export it")
    by_tifffile = form == tifffile.SAMPLEFORMAT.UINT and bits in (8, 16) and photometric in _READ_HERE
    return TiffLayout(page=index, by_tifffile=by_tifffile,
                      problem=None if by_tifffile else _problem(bits, form, photometric))


_EXPORT_16_BITS = "it reads 8- and 16-bit images: export it as a 16-bit TIFF or PNG"
FLOATING_POINT = f"holds floating-point (HDR or linear) values, which remaster would clip; {_EXPORT_16_BITS}"


def wide_integers(bits: int, *, signed: bool) -> str:
    """Why texels of ``bits``-bit integers are not read, as the rest of a sentence that starts with the file's
    name: a TIFF's, and those Pillow reads from other formats, which would wrap past 16 bits."""
    return f"holds {bits}-bit {'signed ' if signed else ''}integers, which remaster would misread; {_EXPORT_16_BITS}"


def _problem(bits: int, form: int, photometric: int) -> str | None:
    if form == tifffile.SAMPLEFORMAT.IEEEFP:
        return FLOATING_POINT
    if form != tifffile.SAMPLEFORMAT.UINT or bits > 16:
        return wide_integers(bits, signed=form == tifffile.SAMPLEFORMAT.INT)
    pillow_reads = photometric in _PILLOW_READS if bits == 8 else photometric in _UNDER_8_BITS and bits < 8
    if not pillow_reads:
        name = getattr(photometric, "name", photometric)
        return (f"is a TIFF in a layout remaster cannot read ({bits}-bit {name}); export it as 8- or 16-bit "
                "grey, RGB or RGBA")
    return None


def decode_tiff(data: bytes, layout: TiffLayout, max_pixels: int) -> tuple[np.ndarray, int, int]:
    """(H, W, planes) texels of page ``layout.page`` of a grey or colour TIFF (``layout.by_tifffile``), with
    unassociated alpha last, their bit depth (8 or 16) and the file's EXIF-style orientation (1-8). Raises
    Pillow's ``DecompressionBombError`` for more than ``max_pixels``, as Pillow does, so that the reader
    says it once, and ``ValueError`` for a damaged file."""
    try:
        return _decode(data, layout.page, max_pixels)
    except _DAMAGED as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc


def _decode(data: bytes, index: int, max_pixels: int) -> tuple[np.ndarray, int, int]:
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = cast(tifffile.TiffPage, tif.pages[index])  # tiff_layout's index: _full_size picks a TiffPage
        height, width = page.imagelength, page.imagewidth
        if height * width > max_pixels:
            raise DecompressionBombError(f"{width}x{height} pixels")
        texels = page.asarray()
        orientation = int(page.tags[_ORIENTATION].value) if _ORIENTATION in page.tags else 1
        samples, depth, photometric = page.samplesperpixel, page.bitspersample, page.photometric
        colour = 3 if photometric == _PHOTOMETRIC.RGB else 1
        alpha = _alpha_sample(page.extrasamples, samples - colour)
        separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    if separate and samples > 1:
        texels = np.moveaxis(texels, 0, -1)  # (S, H, W) -> (H, W, S)
    texels = texels.reshape(height, width, samples)
    kept = list(range(colour)) + ([colour + alpha[0]] if alpha else [])
    texels = np.array(texels[..., kept], dtype=np.uint16 if depth == 16 else np.uint8)
    full = (1 << depth) - 1
    if photometric == _PHOTOMETRIC.MINISWHITE:
        texels[..., :colour] = full - texels[..., :colour]
    if alpha and alpha[1]:  # premultiplied, as compositing software writes it: colour divided back out
        coverage = texels[..., colour:].astype(np.float64)
        scale = np.divide(full, coverage, out=np.zeros_like(coverage), where=coverage > 0)
        texels[..., :colour] = np.rint(np.clip(texels[..., :colour] * scale, 0, full))
    return texels, depth, orientation


def _alpha_sample(kinds: tuple[int, ...], extra: int) -> tuple[int, bool] | None:
    """Which of the ``extra`` samples after the colour is alpha, and whether it is premultiplied: the first
    marked as alpha; an unspecified one is not (Photoshop's spare channel). With extra samples and no
    ExtraSamples tag at all, the first is taken for straight alpha, as Pillow takes it."""
    if extra <= 0:
        return None
    if not kinds:
        return 0, False
    marked = [i for i, kind in enumerate(kinds[:extra]) if kind in _ALPHA]
    return (marked[0], kinds[marked[0]] == tifffile.EXTRASAMPLE.ASSOCALPHA) if marked else None


def _full_size(tif: tifffile.TiffFile) -> tuple[int, tifffile.TiffPage]:
    """The first page, and its index, that is not a reduced-resolution copy (a thumbnail a scanner put
    first); the first page where every one is. Pages are read only up to it: a stack may hold thousands."""
    for index, page in enumerate(tif.pages):
        if isinstance(page, tifffile.TiffPage) and not page.is_reduced:
            return index, page
    return 0, cast(tifffile.TiffPage, tif.pages[0])  # the first page is always read as a TiffPage
