"""Read and write textures as linear-light float32 arrays.

Legacy textures come in every shape a 1990s pipeline produced: palette PNGs
with a transparent index, 1-bit masks, grey+alpha sprites, 16-bit height maps,
TGA and JPEG, DDS from the game itself, 16-bit TIFF from a RAW developer. Everything is decoded to one internal form, :class:`Image`, and
written back at the bit depth and with the alpha the input had, so that a
remastered texture drops into the engine where the old one was.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import os
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Literal, cast, get_args

import imagecodecs
import numpy as np
import png
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps, UnidentifiedImageError

from ops.atomic import atomic_path
from ops.dds import MAGIC as DDS_MAGIC
from ops.dds import as_pillow_reads, dds_problem, level_at_least, says_normal_map, stored_texels, unreadable_format
from ops.formats import WRITABLE_SUFFIXES
from ops.tiff import FLOATING_POINT, TiffLayout, decode_tiff, is_tiff, tiff_layout, wide_integers

log = logging.getLogger(__name__)
_READING: contextvars.ContextVar[Path | None] = contextvars.ContextVar("reading", default=None)


class _NamesTheFile(logging.Filter):
    """Puts the file being read before a warning of libpng's, which imagecodecs logs as "PNG warning: gAMA: CRC
    error", naming no file."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (path := _READING.get()) is not None:
            record.msg, record.args = f"{path}: {record.getMessage()}", None
        return True


logging.getLogger("imagecodecs").addFilter(_NamesTheFile())


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """``path`` is the file being read, for ``_NamesTheFile``, within this block (of this thread)."""
    token = _READING.set(path)
    try:
        yield
    finally:
        _READING.reset(token)

ColorSpace = Literal["srgb", "linear"]


def colorspace_of_kind(kind: str) -> ColorSpace:
    """How a texture of ``kind`` (an op's ``kind`` param) is held in an :class:`Image`: colour decoded to linear
    light, a normal or data map as stored, since its values are vectors or figures and not light."""
    return "srgb" if kind == "color" else "linear"

# What Pillow refuses as a possible decompression bomb (~179 MP); Pillow's default where a script turned its
# check off (MAX_IMAGE_PIXELS = None) before importing this: remaster's own checks still refuse past it
MAX_PIXELS = 2 * (PILImage.MAX_IMAGE_PIXELS or 1024 * 1024 * 1024 // 4 // 3)
MAX_SIDE = 16384  # px: the largest texture side Direct3D 11 and 12 load, and most GPUs under Vulkan or OpenGL


def refuse_oversized(source: Path, height: int, width: int, fix: str = "use a smaller scale") -> None:
    """Raise, naming ``source``, before an op makes a result of ``height`` x ``width`` that no engine loads
    and a build machine may not hold (a 32768² result takes 12 GiB a float plane); ``fix`` names the op's own
    keys that set the size."""
    if max(height, width) > MAX_SIDE:
        raise ValueError(f"{source}: the result would be {width}x{height} px, and engines and GPUs load textures "
                         f"of at most {MAX_SIDE} px a side; {fix}, or split the texture into tiles")


def image_sides(path: str | Path) -> tuple[int, int] | None:
    """(height, width) of the texture at ``path`` as its header gives them, no texel decoded, so that an op can
    refuse a size before the decoded floats take gigabytes; None where Pillow cannot tell (``read_image`` then
    says why). Pillow's warnings on a header (a corrupt EXIF, a size past its bomb check) are not shown: the
    caller wants only the size, and ``read_image`` refuses what it cannot decode, naming the file."""
    try:
        with warnings.catch_warnings(action="ignore"), PILImage.open(path) as opened:
            width, height = opened.size
    except (OSError, ValueError, SyntaxError, NotImplementedError, PILImage.DecompressionBombError):
        return None
    return height, width


class ImageReadError(ValueError):
    """A file could not be decoded as an image; the message names the file."""


@dataclass(frozen=True)
class Image:
    """A decoded texture.

    ``color`` is a float array (H, W, C), C = 1 (grey) or 3 (RGB), in [0, 1], in linear
    light when read with ``colorspace="srgb"`` (colour textures) and as stored
    when read with ``colorspace="linear"`` (data maps: normals, roughness).
    ``alpha`` is a float array (H, W), coverage in [0, 1], or None; it is never
    colour-converted. ``bit_depth`` (8 or 16) is the depth of the source file.
    ``read_image`` gives float32, as ``with_color`` does for the colour; arrays
    given here are kept as they are, in their own float type (``pixels / 255``
    stays float64).
    Made from a picture's stored values (skimage's, Pillow's, divided by 255), it
    is written with ``colorspace="linear"``: the default, ``"srgb"``, encodes the
    colour as light, and those values would come out paler.
    """

    color: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8

    def __post_init__(self) -> None:
        """Refuse what would otherwise be written wrong without a word: 0-255 integers clipped to white,
        a (C, H, W) array enlarged as a tall image, two colour planes written as grey and alpha, 0-255 floats
        written white and NaN written black."""
        color, alpha = self.color, self.alpha
        for name, plane in (("colour", color), ("alpha", alpha)):
            if plane is not None and not isinstance(plane, np.ndarray):
                raise TypeError(f"an Image's {name} is a numpy array; got {type(plane).__module__}."
                                f"{type(plane).__name__} ({_as_array(plane)})")
        if color.ndim != 3 or color.shape[2] not in (1, 3):
            raise ValueError(f"an Image's colour is (height, width, 1 or 3); got shape {color.shape}"
                             f"{_shape_hint(color.shape)}")
        if color.size == 0:
            raise ValueError(f"an Image has at least one texel; got shape {color.shape}")
        if alpha is not None and alpha.shape != color.shape[:2]:
            one = " (one plane: alpha[..., 0])" if alpha.shape[:2] == color.shape[:2] and alpha.ndim == 3 else ""
            raise ValueError(f"an Image's alpha is (height, width) = {color.shape[:2]}; got shape {alpha.shape}{one}")
        for name, plane in (("colour", color), ("alpha", alpha)):
            if plane is not None:
                check_unit_floats(f"an Image's {name}", plane)
        if self.bit_depth not in (8, 16):
            raise ValueError(f"an Image's bit_depth is 8 or 16; got {self.bit_depth}")

    @property
    def height(self) -> int:
        return int(self.color.shape[0])

    @property
    def width(self) -> int:
        return int(self.color.shape[1])

    @property
    def channels(self) -> int:
        return int(self.color.shape[2])

    def rgb(self) -> np.ndarray:
        """The colour as (H, W, 3), repeating a grey channel."""
        return np.repeat(self.color, 3, axis=2) if self.channels == 1 else self.color

    def with_color(self, color: np.ndarray, alpha: np.ndarray | None = None) -> Image:
        """A new image with other pixels and this one's bit depth (and alpha if none given)."""
        return replace(self, color=color.astype(np.float32), alpha=self.alpha if alpha is None else alpha)


def _as_array(plane: object) -> str:
    """How to make a numpy array of what a script gave an Image for a plane: a torch tensor, a Pillow image (whose
    class shares the name), a list of rows."""
    if type(plane).__module__.startswith("torch"):
        return "a torch tensor's: tensor.cpu().numpy(), a (C, H, W) one permuted to (H, W, C) first"
    if isinstance(plane, PILImage.Image):
        return "a Pillow image's: np.asarray(picture) / 255, or read_image(path) for the file with its alpha"
    return "np.asarray(values, np.float32)"


def _shape_hint(shape: tuple[int, ...]) -> str:
    """How to make an Image of colour planes a script holds in another shape: a grey (H, W) array, RGBA or grey and
    alpha in one array, a batch, a torch-style (C, H, W) array, each refused with the bare shape before."""
    channels = shape[-1] if shape else 0
    if len(shape) == 2:
        return " (a grey (height, width) array: pixels[..., None])"
    if len(shape) == 4:
        return " (a batch: one Image for each picture)"
    if len(shape) == 3 and channels in (2, 4):
        colour = "rgba[..., :3], rgba[..., 3]" if channels == 4 else "pixels[..., :1], pixels[..., 1]"
        return f" (colour and alpha in one array: Image({colour}))"
    if len(shape) == 3 and shape[0] in (1, 3, 4):
        return " (a (channels, height, width) array: pixels.transpose(1, 2, 0))"
    return ""


def check_image(value: object, argument: str = "image", colorspace: ColorSpace = "srgb") -> None:
    """Refuse, naming ``argument``, what a script passes where an op takes an :class:`Image`: pixels as a numpy
    array or a torch tensor, or a list of images, which failed deep inside the op as "'numpy.ndarray' object has
    no attribute 'height'". ``colorspace`` is how the op holds an Image's values, as ``read_image`` takes it: the
    fix reads a file or makes an Image of pixels so (a normal map read in linear light for export_dds's kind:
    normal, as ``read_image(path)`` alone reads it, was exported with wrong vectors)."""
    if isinstance(value, Image):
        return
    read = "read_image(path)" if colorspace == "srgb" else 'read_image(path, colorspace="linear")'
    if isinstance(value, (list, tuple)):
        fix = "one Image a call: call the op once for each"
    elif isinstance(value, (str, os.PathLike)):
        fix = f"{read} reads the file into one"
    elif isinstance(value, PILImage.Image):
        fix = (f"a Pillow image, not remaster's: {read} reads the file with its alpha, 16 bits and EXIF turn, or "
               f"{_image_of('np.asarray(picture)', 'uint8', colorspace)} takes its RGB or L pixels")
    else:
        array = "pixels.cpu().numpy()" if type(value).__module__.startswith("torch") else "pixels"
        made = _image_of(array, str(getattr(value, "dtype", "")), colorspace)
        fix = (f"{read} reads a file into one; pixels go in as {made}: floats (height, width, 1 or 3) in [0, 1], "
               "alpha (height, width) as Image's second argument")
    raise TypeError(f"{argument} is an ops.image_io.Image; got {type(value).__module__}.{type(value).__name__} ({fix})")


def _image_of(array: str, dtype: str, colorspace: ColorSpace) -> str:
    """The call that makes an Image of pixels as a script holds them (``array`` of ``dtype``, sRGB-encoded as files
    store them) for an op that holds ``colorspace`` values: floats as they are, 8-bit values / 255 and 16-bit ones
    / 65535, decoded to linear light where the op takes that. Told ``/ 255`` of floats in [0, 1], a script made a
    black texture, which Image cannot tell from a dark one."""
    scale = "" if "float" in dtype else " / 65535" if "uint16" in dtype else " / 255"
    values = f"{array}{scale}"
    return f"Image(srgb_to_linear({values}))" if colorspace == "srgb" else f"Image({values})"


def path_argument(value: object, argument: str, fix: str) -> Path:
    """``value``, an op's file ``argument``, as a path; what a script holds in memory instead (pixels, a model),
    which failed in pathlib as "expected str, bytes or os.PathLike object", is a TypeError naming the argument and
    what it got, with ``fix``."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{argument}; got {type(value).__module__}.{type(value).__name__} ({fix})")
    return Path(value)


OUT_OF_SCALE = 0.5
"""How far past [0, 1] an :class:`Image`'s values may lie. A little past (a sharpening filter's overshoot, float
rounding) is clipped when written, as image libraries clip; further is values on another scale (0-255 or 0-65535
held as floats, a normal map's vectors in [-1, 1] not yet stored as (v + 1) / 2, light brighter than white),
which clipping wrote white or black without a word."""


def check_unit_floats(what: str, values: np.ndarray) -> None:
    """Refuse ``values`` (``what`` names them) that are not floats within ``OUT_OF_SCALE`` of [0, 1], saying how to
    bring them there. ``min`` and ``max`` hold no copy of them, and NaN carries through both."""
    if not np.issubdtype(values.dtype, np.floating):
        fix = "a mask's .astype(np.float32)" if values.dtype == bool else "divide by 255 or 65535"
        raise ValueError(f"{what} holds floats in [0, 1]; got {values.dtype} ({fix})")
    low, high = float(values.min()), float(values.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{what} holds floats in [0, 1]; got NaN or infinity (np.nan_to_num replaces them)")
    if low < -OUT_OF_SCALE or high > 1 + OUT_OF_SCALE:
        hint = ("divide 0-255 values by 255, 16-bit ones by 65535; tone-map light brighter than white" if high > 1
                else "store a normal map's vectors in [-1, 1] as (v + 1) / 2")
        raise ValueError(f"{what} holds floats in [0, 1]; got values from {low:g} to {high:g} ({hint})")


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding, for values in [0, 1]; worked in place as the encoding is."""
    shape = np.shape(x)
    x = np.clip(np.reshape(x, -1), 0.0, 1.0)
    decoded = x + 0.055
    decoded /= 1.055
    np.power(decoded, 2.4, out=decoded)
    dark = x <= 0.04045
    decoded[dark] = x[dark] / 12.92
    return decoded.astype(np.float32, copy=False).reshape(shape)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding, for values in [0, 1]. Worked in place after a clipped copy and the
    result: an enlarged texture is the largest array a build holds, and each temporary of it costs as much
    again."""
    shape = np.shape(x)
    x = np.clip(np.reshape(x, -1), 0.0, 1.0)
    encoded = np.power(x, 1 / 2.4)
    encoded *= 1.055
    encoded -= 0.055
    dark = x <= 0.0031308
    encoded[dark] = x[dark] * 12.92
    return encoded.astype(np.float32, copy=False).reshape(shape)


_LFS_POINTER = b"version https://git-lfs.github.com/spec/"


def read_image(path: str | Path, *, colorspace: ColorSpace = "srgb") -> Image:
    """Decode ``path`` (PNG and TIFF 8/16-bit, JPEG, TGA, DDS; any mode) to an :class:`Image`.

    Raises :class:`ImageReadError` naming the file when it is empty, truncated
    or not an image, and ``TypeError`` for what is no path (pixels, an Image), which
    failed in pathlib as "expected str, bytes or os.PathLike object".
    """
    _check_encoding(colorspace)
    return as_image(*read_pixels(path), colorspace)


def read_pixels(path: str | Path, *, at_least: int = 0) -> tuple[np.ndarray, int]:
    """The integers (H, W, planes) ``read_image`` decodes ``path`` to, alpha last, and their bit depth (8 or 16):
    one who reduces a huge texture (a preview) makes floats of a band of rows at a time (``as_image``), where
    a whole 8192 px RGBA texture's floats take 1 GB. ``at_least``: of a DDS with mips, its smallest level whose
    longer side is that many px or more (``level_at_least``). Raises as ``read_image`` does."""
    path = path_argument(path, "read_image's path is the path of an image file",
                         "an Image, or pixels as Image(pixels / 255), goes to an op as it is, with nothing to read")
    data = _file_bytes(path)
    dds = data.startswith(DDS_MAGIC)
    tiff = tiff_layout(data) if is_tiff(data) else None
    problem = dds_problem(data) if dds else tiff.problem if tiff else None
    if problem:
        raise ImageReadError(f"{path} {problem}.")
    if dds:
        data = as_pillow_reads(data)
    if dds and at_least:
        data = level_at_least(data, at_least)
    decoded = _decoded(path, data, tiff, dds=dds)
    _warn_of_other_profile(path, data)
    return decoded


def _file_bytes(path: Path) -> bytes:
    """The bytes of ``path``, refused by name where they cannot hold a texture: unreadable, empty, or a Git LFS
    pointer, as a checkout without Git LFS leaves in place of a texture whose own bytes were never fetched."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data:
        raise ImageReadError(f"{path} is empty (0 bytes); re-export the texture.")
    if data.startswith(_LFS_POINTER):
        raise ImageReadError(f"{path} is a Git LFS pointer, not the image: fetch the images with `git lfs pull` "
                             "(in CI, check the repository out with LFS).")
    return data


def _decoded(path: Path, data: bytes, tiff: TiffLayout | None, *, dds: bool) -> tuple[np.ndarray, int]:
    """``_decode``'s texels of ``path``'s ``data``, or an :class:`ImageReadError` that says in a texture artist's
    words what the decoder's error means (a damaged header, a format remaster does not read, a file still being
    saved) and what to do about it."""
    too_large = f"{path} has more pixels than remaster reads ({MAX_PIXELS / 1e6:.0f} megapixels); split it into tiles or reduce it."
    if _png_pixels(data) > MAX_PIXELS:  # the 16-bit PNG readers have no such guard of their own
        raise ImageReadError(too_large)
    try:
        with _reading(path):
            return _decode(data, tiff)
    except PILImage.DecompressionBombError as exc:
        raise ImageReadError(too_large) from exc
    except _Unreadable as exc:
        raise ImageReadError(f"{path} {exc}.") from exc
    except UnidentifiedImageError as exc:
        if kind := _signature(data):  # Pillow calls a damaged header unidentified, and so did this message
            raise ImageReadError(f"cannot decode {path}: it begins as a {kind} file, but its header is damaged or cut "
                                 "short. If it was still being saved or copied, build again once it is; else re-export "
                                 "it.") from exc
        raise ImageReadError(f"{path} is not a PNG, JPEG, TGA, DDS or TIFF image: if it is no texture, leave it out "
                             "of the source (its glob, or exclude); else re-export it in one of those formats.") from exc
    except NotImplementedError as exc:  # Pillow's word for a DDS pixel format it does not decode (and a BLP's)
        if not dds:
            raise ImageReadError(f"cannot decode {path}: {exc}; re-export it as PNG, JPEG, TGA, DDS or TIFF.") from exc
        raise ImageReadError(f"{path} {unreadable_format(data)}.") from exc
    except (OSError, ValueError, SyntaxError, png.Error, imagecodecs.PngError) as exc:
        said = f"its data is damaged or cut short ({exc})" if isinstance(exc, imagecodecs.PngError) else str(exc)
        raise ImageReadError(
            f"cannot decode {path}: {said.rstrip('.')}. If it was still being saved or copied, build again once "
            "it is; else re-export it as PNG, JPEG, TGA, DDS or TIFF."
        ) from exc


def _warn_of_other_profile(path: Path, data: bytes) -> None:
    """Warn, once per profile (the CLI counts the rest), where ``path`` carries a colour profile other than sRGB:
    its values are read as sRGB and written with no profile."""
    if (profile := _other_profile(data)) is None:
        return
    carried = f"the colour profile {profile!r}" if profile else "a colour profile with no name"
    log.warning("%s carries %s, not sRGB; remaster reads its values as sRGB and writes no profile, so a colour "
                "texture's colours shift (a data map, a normal or roughness map, is read right): export colour "
                "textures in sRGB", path, carried, extra={"once_per": carried, "file": str(path)})


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Greys, which a profile's tone curve moves (a linear one, gamma 1.0, by 60 levels), and colours inside every
# gamut, which its primaries move (Display P3's and Adobe RGB's reds and greens, by 10 to 60 levels), at 8 bits.
_PROBE = PILImage.frombytes("RGB", (6, 1), bytes([64, 64, 64, 128, 128, 128, 192, 192, 192,
                                                  160, 96, 64, 64, 160, 96, 96, 64, 160]))
_SAME_AS_SRGB = 3  # levels: sRGB profiles differ by a level or two (a compact one's curve, rounded primaries)


def _other_profile(data: bytes) -> str | None:
    """The name ('' where it has none) of the RGB colour profile embedded in a PNG, JPEG, TIFF or WebP where it is
    not sRGB (Display P3 from a phone, Adobe RGB from a camera or Photoshop, a linear one); None for sRGB, no
    profile, a grey one, or one that cannot be read. Judged by what it does to a few colours, not by its name:
    compact sRGB profiles have other names ('c2'), and a linear one may have sRGB in its name."""
    try:
        with PILImage.open(io.BytesIO(data)) as opened:
            embedded = opened.info.get("icc_profile")
        if not embedded:
            return None
        profile = ImageCms.ImageCmsProfile(io.BytesIO(embedded))
        if profile.profile.xcolor_space != "RGB ":
            return None
        seen = ImageCms.profileToProfile(_PROBE, profile, _SRGB, ImageCms.Intent.RELATIVE_COLORIMETRIC)
    except (OSError, ValueError, ImageCms.PyCMSError):
        return None
    if np.abs(np.asarray(seen, np.int16) - np.asarray(_PROBE, np.int16)).max() <= _SAME_AS_SRGB:
        return None
    return (profile.profile.profile_description or "").strip()


def write_image(
    path: str | Path,
    image: Image,
    *,
    colorspace: ColorSpace = "srgb",
    bit_depth: int | None = None,
) -> None:
    """Encode ``image`` to ``path`` atomically, keeping its bit depth and alpha.

    The format follows the suffix (PNG, JPEG, TGA). JPEG and TGA hold 8 bits: a 16-bit image is written at 8
    there, as a texture saved for an engine that reads TGA is meant to be. What the format would drop without a
    word is refused, naming the format that keeps it: alpha in a JPEG, ``bit_depth=16`` asked of a JPEG or TGA.
    """
    if isinstance(path, Image):
        raise TypeError("write_image takes the path first: write_image(path, image)")
    check_image(image, colorspace=colorspace)
    _check_encoding(colorspace, bit_depth)
    suffix = _writable_suffix(path)
    _check_format_keeps(path, suffix, image, bit_depth)
    depth = 8 if suffix != ".png" else bit_depth or image.bit_depth
    if depth == 16:
        _write_png16(path, image, colorspace)
    else:
        _write_8_bit(path, image, colorspace, suffix)


_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".tga": "TGA"}


def _check_format_keeps(path: str | Path, suffix: str, image: Image, bit_depth: int | None) -> None:
    """Refuse what the format of ``suffix`` cannot hold: a JPEG was written without the image's alpha (a cut-out
    became its hidden colour, black or garbage, edge to edge) and a JPEG or TGA at 8 bits where 16 were asked,
    neither with a word."""
    if image.alpha is not None and suffix in (".jpg", ".jpeg"):
        raise ValueError(f"cannot write {path} with its alpha: JPEG holds no alpha. Write a .png or .tga to keep "
                         "it, or write Image(image.color) to leave the alpha out")
    if bit_depth == 16 and suffix != ".png":
        raise ValueError(f"cannot write {path} at bit_depth=16: {_FORMATS[suffix]} holds 8 bits. Write a .png to "
                         "keep 16 bits, or leave bit_depth out to write 8")


def _write_png16(path: str | Path, image: Image, colorspace: ColorSpace) -> None:
    """``image`` as a 16-bit PNG, its rows quantized a band at a time as pypng encodes them: the whole texture's
    integers, which Pillow's encoders need and pypng does not, took 384 MB for an 8192² RGB texture."""
    height, width, _ = image.color.shape
    planes = image.channels + int(image.alpha is not None)
    bands = (values.astype(np.uint16) for _, values in _quantized_bands(image, colorspace, 16))
    rows = (row for values in bands for row in values.reshape(-1, width * planes))
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        _png16_writer(width, height, planes).write(file, rows)


def _write_8_bit(path: str | Path, image: Image, colorspace: ColorSpace, suffix: str) -> None:
    """``image`` as an 8-bit file of ``suffix``, each band of rows quantized into Pillow's image as it is made:
    Pillow holds RGB and grey+alpha at 4 bytes a texel, so the whole texture's integers, made first, were a
    copy beside it (192 MB for an 8192² RGB texture)."""
    planes = image.channels + int(image.alpha is not None)
    picture = PILImage.new(_PILLOW_MODES[planes], (image.width, image.height))
    for band, values in _quantized_bands(image, colorspace, 8):
        picture.paste(_pillow_image(values.astype(np.uint8)), (0, band.start))
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        _save(picture, suffix, file)


def write_pixels(path: str | Path, pixels: np.ndarray) -> None:
    """Encode (H, W, planes) integers (``quantize``'s) to ``path`` atomically: 1 to 4 planes, grey or
    colour with or without alpha; uint16 pixels as a 16-bit PNG."""
    suffix = _writable_suffix(path)
    if pixels.dtype == np.uint16 and suffix != ".png":
        raise ValueError(f"cannot write {path}: only PNG holds 16-bit pixels")
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        _encode(pixels, suffix, file)  # straight into the file: an encoded copy in memory costs as much again


def _writable_suffix(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".dds":  # a DDS needs a format and a mip chain, which export_dds chooses and makes
        raise ValueError(f"cannot write {path} as an image: a DDS is made by ops.export_dds.export_dds, whose "
                         "result's data is the file's bytes (write them with ops.atomic.write_bytes_atomic)")
    if suffix not in WRITABLE_SUFFIXES:
        raise ValueError(f"cannot write {path}: use one of {', '.join(WRITABLE_SUFFIXES)}")
    return suffix


def _check_encoding(colorspace: str, bit_depth: int | None = None) -> None:
    """A direct call's ``colorspace`` and ``bit_depth`` are checked on entry: any other word was taken for
    ``linear`` and any other depth for 8 bits, without a word."""
    if colorspace not in get_args(ColorSpace):
        raise ValueError(f"colorspace {colorspace!r}: expected 'srgb' (colour, decoded to linear light) or 'linear' "
                         "(values as stored: normal, roughness and other data maps)")
    if bit_depth not in (None, 8, 16):
        raise ValueError(f"bit_depth {bit_depth!r}: expected 8 or 16 (or None, the image's own)")


_BAND_VALUES = 1 << 22  # floats converted at a time by ``quantize`` and ``as_image`` (16 MiB)


def _bands(height: int, width: int, planes: int) -> Iterator[slice]:
    """The rows of a texture of ``planes`` planes, ``_BAND_VALUES`` values at a time: converted whole, a float
    copy of an enlarged texture and its temporaries cost several times its integers."""
    rows = max(1, _BAND_VALUES // (width * planes))
    return (slice(top, top + rows) for top in range(0, height, rows))


def quantize(image: Image, colorspace: ColorSpace = "srgb", depth: int = 8) -> np.ndarray:
    """(H, W, C, or C + 1 with alpha) integers of ``depth`` bits, as ``write_image`` stores them; a band of
    rows at a time, since a float copy of a whole enlarged texture would cost four times the integers."""
    _check_encoding(colorspace, depth)
    height, width, channels = image.color.shape
    with_alpha = image.alpha is not None
    planes = channels + int(with_alpha)
    quantized = np.empty((height, width, planes), np.uint16 if depth == 16 else np.uint8)
    for band, values in _quantized_bands(image, colorspace, depth):
        quantized[band] = values
    return quantized


def _quantized_bands(image: Image, colorspace: ColorSpace, depth: int) -> Iterator[tuple[slice, np.ndarray]]:
    """``quantize``'s integers a band of rows at a time, each with its rows, for a writer that takes them so; as
    floats, rounded, which the writer casts as it stores them."""
    height, width, channels = image.color.shape
    planes = channels + int(image.alpha is not None)
    for band in _bands(height, width, planes):
        color = linear_to_srgb(image.color[band]) if colorspace == "srgb" else np.clip(image.color[band], 0, 1)
        stacked = np.concatenate([color, image.alpha[band, :, None]], axis=2) if image.alpha is not None else color
        np.clip(stacked, 0.0, 1.0, out=stacked)
        stacked *= 65535.0 if depth == 16 else 255.0
        yield band, np.rint(stacked, out=stacked)


def _decode(data: bytes, tiff: TiffLayout | None) -> tuple[np.ndarray, int]:
    """(H, W, planes) integers and their bit depth: 16-bit PNG and grey or colour TIFF by their own readers,
    which keep the 16 bits that Pillow cuts to 8; the rest by Pillow, a TIFF at its full-size page."""
    if _is_png16(data):
        return _decode_png16(data)
    if tiff is not None and tiff.by_tifffile:
        texels, depth, orientation = decode_tiff(data, tiff, MAX_PIXELS)
        return _oriented(texels, orientation), depth
    return _decode_pillow(data, frame=tiff.page if tiff else 0)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIGNATURES = {_PNG_SIGNATURE: "PNG", b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF", b"GIF89a": "GIF", b"BM": "BMP"}


def _signature(data: bytes) -> str | None:
    """The format whose signature ``data`` begins with (PNG, JPEG, GIF, BMP, WebP), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _SIGNATURES.items() if data.startswith(magic)), None)


def _png_pixels(data: bytes) -> int:
    """Width x height from a PNG's IHDR (0 for anything else), read before decoding anything."""
    if not data.startswith(_PNG_SIGNATURE) or len(data) < 24:
        return 0
    width, height = struct.unpack(">II", data[16:24])
    return width * height


def _is_png16(data: bytes) -> bool:
    # IHDR is always the first chunk: signature(8) length(4) type(4) w(4) h(4) depth(1).
    return data.startswith(_PNG_SIGNATURE) and len(data) > 24 and data[24] == 16


def _decode_png16(data: bytes) -> tuple[np.ndarray, int]:
    """libpng (through imagecodecs) reads the rows a paint program filters 90x as fast as pypng (2048² RGBA:
    0.17 s against 14.5 s); pypng reads the rare interlaced file, for which libpng as imagecodecs calls it
    prints a warning of its own. Both add the alpha a tRNS colour key gives, and neither shifts the samples
    down to the bits an sBIT chunk calls significant: those of a 10- or 12-bit source are stored at full scale."""
    width, height = struct.unpack(">II", data[16:24])
    if data[28]:  # IHDR's interlace method: Adam7
        reader = png.Reader(bytes=data)
        reader.preamble()
        reader.sbit = None  # else asDirect shifts, reading such a file 64x dark
        rows = reader.asDirect()[2]
        array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    else:
        array = imagecodecs.png_decode(data)
    return _oriented(array.reshape(height, width, -1), _png_orientation(data)), 16


_EXIF_ORIENTATION = 0x0112
_EXIF_IN_TEXT = (b"Raw profile type exif", b"XML:com.adobe.xmp")  # ImageMagick's EXIF, XMP: keywords Pillow reads


def _png_orientation(data: bytes) -> int:
    """The EXIF Orientation of PNG ``data``, as Pillow's ``getexif`` gives it, without decoding a texel: Pillow
    decodes the whole image first, in case an eXIf chunk comes after the texels, which for an 8192² 16-bit
    texture meant a second decoding and 256 MB for Pillow's 8-bit copy. Pillow is asked only where a text chunk
    may hold the orientation and no eXIf chunk gives it."""
    exif, in_text = None, False
    for kind, start, end in _png_chunks(data):
        if kind == b"eXIf":
            exif = data[start:end]
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            in_text = in_text or data[start:end].split(b"\0", 1)[0] in _EXIF_IN_TEXT
    if exif is not None:
        parsed = PILImage.Exif()
        parsed.load(b"Exif\x00\x00" + exif)
        if _EXIF_ORIENTATION in parsed:
            return parsed[_EXIF_ORIENTATION]
    if not in_text:
        return 1
    with PILImage.open(io.BytesIO(data)) as opened:
        return opened.getexif().get(_EXIF_ORIENTATION, 1)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """Each chunk of PNG ``data`` as its type and where its payload starts and ends, none copied (an IDAT may
    hold the whole image)."""
    offset = len(_PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        yield kind, offset + 8, offset + 8 + length
        offset += 12 + length


def _oriented(array: np.ndarray, orientation: int) -> np.ndarray:
    """(H, W, C) ``array`` turned upright as its EXIF Orientation (1-8) says, as Pillow's exif_transpose does."""
    turns = {
        2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(turns[orientation](array)) if orientation in turns else array


def _decode_pillow(data: bytes, frame: int = 0) -> tuple[np.ndarray, int]:
    """(H, W, planes) integers and their bit depth, of page ``frame`` of what Pillow reads (a TIFF's full-size
    page), turned upright, 16-bit grey as it is and the rest in the 8-bit mode that holds what the file means."""
    with PILImage.open(io.BytesIO(data)) as opened:
        if frame:
            opened.seek(frame)
        if opened.format == "TGA" and opened.palette is not None and opened.palette.rawmode == "BGRA":
            opened.palette.mode = "RGBA"  # Pillow before 13 reads a 32-bit TGA palette as RGB, which it cannot load
        # a phone photo is stored sideways with an Orientation tag; turned in place, as a copy of an upright
        # texture costs as much as Pillow's own image
        ImageOps.exif_transpose(opened, in_place=True)
        if (problem := _past_16_bits(opened)) is not None:
            raise _Unreadable(problem)
        if opened.mode in ("I;16", "I;16B", "I;16L", "I"):
            return _texels(opened, np.uint16), 16
        array = _texels(_as_meant(opened, opened.format, data), np.uint8)
        if opened.format == "DDS" and array.shape[2] > 1:
            array = stored_texels(array, getattr(opened, "pixel_format", None), says_normal_map(data))
    return array, 8


def _texels(im: PILImage.Image, dtype: type[np.generic]) -> np.ndarray:
    """(H, W, planes) ``dtype`` integers of ``im``, as ``np.asarray(im, dtype)`` gives them but a band of rows at a
    time: numpy takes Pillow's texels as bytes, which Pillow makes in chunks and then joins, so that a whole
    8192² RGBA texture held 512 MB beyond Pillow's image and the array."""
    width, height = im.size
    planes = len(im.getbands())
    texels = np.empty((height, width, planes), dtype)
    for band in _bands(height, width, planes):
        rows = np.asarray(im.crop((0, band.start, width, min(band.stop, height))))
        texels[band] = rows.reshape(-1, width, planes)
    return texels


def _as_meant(im: PILImage.Image, format: str | None, data: bytes) -> PILImage.Image:
    """8-bit ``im``, read from ``data`` (a file of ``format``), as L, LA, RGB or RGBA: with the alpha its file
    means (a colour key's, a palette's, a BMP's fourth byte; none where a TGA's or BMP's is padding), and grey
    where a palette or a WebP stores greys as colours."""
    mode = im.mode
    if format == "TGA" and mode == "RGBA" and _tga_alpha_is_padding(data, im):
        return im.convert("RGB")
    if format == "BMP" and mode == "RGB" and (alpha := _bmp_unused_byte_alpha(data)) is not None:
        return PILImage.merge("RGBA", (*im.split(), alpha))
    if format == "BMP" and mode == "RGBA" and _alpha_all_zero(im):  # an alpha mask over zeros
        return im.convert("RGB")
    if mode == "1":  # a 1-bit cut-out mask, perhaps with a tRNS key
        if "transparency" in im.info:  # Pillow before 12.1 keeps a key of 1 as 1, not as the 255 it reads 1 as
            im.info["transparency"] = 255 if im.info["transparency"] else 0
        return im.convert("LA" if "transparency" in im.info else "L")
    if mode in ("P", "PA"):
        see_through = "transparency" in im.info or mode == "PA" or (im.palette is not None and im.palette.mode == "RGBA")
        im = im.convert("RGBA" if see_through else "RGB")  # a TGA's palette may carry alpha, or padding
        if format == "TGA" and im.mode == "RGBA" and _tga_alpha_is_padding(data, im, colour_mapped=True):
            im = im.convert("RGB")
        if _all_grey(_texels(im, np.uint8)):  # a grey texture (what is hidden does not count): one channel
            im = im.convert("LA" if im.mode == "RGBA" else "L")
        return im
    if format == "WEBP" and _all_grey(_texels(im, np.uint8), green_below=1):  # WebP has no grey mode
        return im.convert("LA" if mode == "RGBA" else "L")
    if mode in ("L", "RGB") and "transparency" in im.info:  # a tRNS colour key, as PNG optimisers write
        if mode == "L" and format == "PNG" and data[24] < 8:  # Pillow widens 2- and 4-bit grey, not the key
            im.info["transparency"] = im.info["transparency"] * 255 // (2 ** data[24] - 1)
        return im.convert({"L": "LA", "RGB": "RGBA"}[mode])
    if mode not in ("L", "LA", "RGB", "RGBA"):
        return im.convert("RGBA" if "A" in mode else "RGB")
    return im


class _Unreadable(Exception):
    """Texels remaster does not read, as the rest of a sentence that starts with the file's name."""


def _past_16_bits(im: PILImage.Image) -> str | None:
    """Why ``im``'s texels are not read where Pillow holds them past 16 bits, which converting to 8 bits or
    to uint16 cut without a word (a PFM's floats read as black, FITS' or IM's 32-bit integers wrapped), as a
    TIFF of them is refused; None where they fit."""
    if im.mode == "F":
        return FLOATING_POINT
    if im.mode == "I":
        low, high = cast(tuple[int, int], im.getextrema())  # Pillow's own pass: no copy of the texels
        if low < 0 or high > 65535:
            return wide_integers(32, signed=True)
    return None


def _tga_alpha_is_padding(data: bytes, im: PILImage.Image, *, colour_mapped: bool = False) -> bool:
    """Whether a 32-bit TGA's (or its palette's) fourth byte is padding, not alpha: its header gives no alpha bits
    (BGRX; a colour-mapped file's header counts the index's bits, so says nothing of the palette), or every
    texel's alpha is 0, as exporters that ignore alpha write it. Read as alpha, the texture would be invisible."""
    return (not colour_mapped and data[17] & 0x0F == 0) or _alpha_all_zero(im)


def _alpha_all_zero(im: PILImage.Image) -> bool:
    """Whether RGBA ``im``'s alpha is 0 in every texel, as exporters that ignore alpha write it (a BMP whose
    alpha mask names an alpha channel left black, which Windows and Photoshop show opaque): read as alpha, the
    texture would be invisible."""
    bands = cast(tuple[tuple[int, int], ...], im.getextrema())  # of every band in one pass: getchannel copied the alpha
    return bands[3][1] == 0


_BI_RGB = 0  # a BMP's compression field: texels stored as they are, with no channel masks


def _bmp_unused_byte_alpha(data: bytes) -> PILImage.Image | None:
    """The alpha of a 32-bit BI_RGB BMP, which Pillow drops: the format calls each texel's fourth byte unused,
    yet writers store alpha in it (Pillow itself, saving RGBA), and web browsers show it as alpha. None where
    that byte is 0 in every texel, as most writers leave it (read as alpha, the texture would be invisible), or
    255 in every texel (opaque either way), and for any other BMP: one with an alpha mask (BI_BITFIELDS, as
    GIMP and Photoshop write alpha) Pillow reads with its alpha."""
    header_size, width, height, _, bits, compression = struct.unpack_from("<IiiHHI", data, 14)
    if header_size < 40 or bits != 32 or compression != _BI_RGB:
        return None
    offset = struct.unpack_from("<I", data, 10)[0]
    texels = np.frombuffer(data, np.uint8, abs(height) * width * 4, offset).reshape(abs(height), width, 4)
    fourth = texels[..., 3] if height < 0 else texels[::-1, :, 3]  # rows run bottom-up unless the height is negative
    if fourth.max() == 0 or fourth.min() == 255:
        return None
    return PILImage.fromarray(np.ascontiguousarray(fourth))


def _all_grey(pixels: np.ndarray, *, green_below: int = 0) -> bool:
    """Whether the visible texels of RGB(A) ``pixels`` are grey: a transparent key colour (freedoom's brown)
    is never seen. A grey texture saved as lossy WebP keeps its colour as luma and neutral chroma, which
    libwebp decodes with green one level below red and blue in about one texel in a hundred, never apart
    otherwise: ``green_below=1`` counts such a texel grey (converted to grey, it takes green's level, which is
    as near the grey saved as red's). A texture with a tint to be seen does not decode so."""
    rgb = pixels[pixels[..., 3] > 0] if pixels.shape[-1] == 4 else pixels
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return bool((red == blue).all() and (green <= red).all() and (red - green <= green_below).all())


def as_image(pixels: np.ndarray, bit_depth: int, colorspace: ColorSpace) -> Image:
    """Integers (H, W, planes) to an :class:`Image`, a band of rows at a time, as ``quantize`` writes them: the
    whole texture in floats at once, and the sRGB decoding's temporaries of it, took four times the image's
    floats (12 GB for a 16384x10900 RGBA PNG, Pillow's largest)."""
    height, width, planes = pixels.shape
    has_alpha = planes in (2, 4)
    channels = planes - int(has_alpha)
    color = np.empty((height, width, channels), np.float32)
    alpha = np.empty((height, width), np.float32) if has_alpha else None
    for band in _bands(height, width, planes):
        values = pixels[band].astype(np.float32) / (65535.0 if bit_depth == 16 else 255.0)
        color[band] = srgb_to_linear(values[..., :channels]) if colorspace == "srgb" else values[..., :channels]
        if alpha is not None:
            alpha[band] = values[..., channels]
    return Image(color=color, alpha=alpha, bit_depth=bit_depth)


def _png16_writer(width: int, height: int, planes: int) -> png.Writer:
    """pypng's writer of a 16-bit PNG of ``planes`` planes (grey or colour, perhaps with alpha)."""
    return png.Writer(width, height, greyscale=planes <= 2, alpha=planes in (2, 4), bitdepth=16)


def _encode(quantized: np.ndarray, suffix: str, file: BinaryIO) -> None:
    height, width, planes = quantized.shape
    if quantized.dtype == np.uint16:
        _png16_writer(width, height, planes).write(file, quantized.reshape(height, width * planes))
    else:
        _save(_pillow_image(quantized), suffix, file)


_PILLOW_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def _pillow_image(quantized: np.ndarray) -> PILImage.Image:
    """(H, W, planes) uint8 ``quantized`` as a Pillow image of the mode its planes make."""
    planes = quantized.shape[2]
    return PILImage.fromarray(quantized[..., 0] if planes == 1 else quantized, mode=_PILLOW_MODES[planes])


def _save(picture: PILImage.Image, suffix: str, file: BinaryIO) -> None:
    """Encode 8-bit ``picture`` into ``file`` as the format of ``suffix`` (PNG, TGA or JPEG) stores it."""
    if suffix == ".png":
        picture.save(file, format="PNG", compress_level=6)
    elif suffix == ".tga":
        picture.save(file, format="TGA")
    else:
        picture.save(file, format="JPEG", quality=95, subsampling=0)
