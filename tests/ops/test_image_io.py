"""Every legacy format decodes to linear float and writes back at its own depth and alpha."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from helpers import LFS_POINTER, bc1_block, bc4_block, dds, display_p3_profile, fixed, profile_with, traced_peak
from ops import image_io
from ops.image_io import Image, ImageReadError, linear_to_srgb, read_image, srgb_to_linear, write_image

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_png_round_trip_keeps_depth_channels_and_alpha(tmp_path, depth, channels, with_alpha):
    color = RNG.random((7, 5, channels), dtype=np.float32)
    alpha = RNG.random((7, 5), dtype=np.float32) if with_alpha else None
    write_image(tmp_path / "t.png", Image(color, alpha, depth))
    back = read_image(tmp_path / "t.png")
    assert back.bit_depth == depth and back.channels == channels and (back.alpha is not None) == with_alpha
    step = 1 / (255 if depth == 8 else 65535)
    assert np.abs(linear_to_srgb(back.color) - linear_to_srgb(color)).max() <= step / 2 + 1e-6
    if with_alpha:
        assert np.abs(back.alpha - alpha).max() <= step / 2 + 1e-6


def test_palette_with_transparency_becomes_rgba(tmp_path):
    pil = PILImage.new("P", (4, 4))
    pil.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    pil.putpixel((0, 0), 1)
    pil.info["transparency"] = 0
    pil.save(tmp_path / "p.png", transparency=0)
    image = read_image(tmp_path / "p.png")
    assert image.channels == 3 and image.alpha is not None
    assert image.alpha[0, 0] == 1.0 and image.alpha[1, 1] == 0.0
    np.testing.assert_allclose(image.color[0, 0], [0, 1, 0])


@pytest.mark.parametrize("transparent", [False, True])
def test_a_palette_of_greys_is_read_as_grey(tmp_path, transparent):
    pil = PILImage.new("P", (4, 4))
    pil.putpalette([40, 40, 40, 200, 200, 200, 31, 23, 11] + [0] * 759)  # as 115 of freedoom's palette textures are
    if transparent:
        pil.putpixel((3, 3), 2)  # freedoom's brown key colour, never seen
    pil.putpixel((0, 0), 1)
    pil.save(tmp_path / "p.png", **({"transparency": 2} if transparent else {}))
    image = read_image(tmp_path / "p.png", colorspace="linear")
    assert image.channels == 1 and (image.alpha is not None) == transparent
    assert round(float(image.color[0, 0, 0]) * 255) == 200 and round(float(image.color[1, 1, 0]) * 255) == 40


@pytest.mark.parametrize("mode, key", [("L", 0), ("RGB", (0, 0, 0))])
def test_a_transparent_colour_key_becomes_alpha(tmp_path, mode, key):
    pil = PILImage.new(mode, (4, 4))
    pil.putpixel((1, 1), 255 if mode == "L" else (255, 255, 255))
    pil.save(tmp_path / "key.png", transparency=key)
    image = read_image(tmp_path / "key.png")
    assert image.channels == len(mode) and image.alpha is not None
    assert image.alpha[1, 1] == 1.0 and image.alpha[0, 0] == 0.0
    write_image(tmp_path / "out.png", image)
    assert PILImage.open(tmp_path / "out.png").mode == {"L": "LA", "RGB": "RGBA"}[mode]

def test_one_bit_and_grey_alpha(tmp_path):
    PILImage.fromarray(np.eye(4, dtype=bool)).save(tmp_path / "b.png")
    mask = read_image(tmp_path / "b.png")
    assert mask.channels == 1 and mask.alpha is None and mask.color[0, 0, 0] == 1.0 and mask.color[0, 1, 0] == 0.0
    grey_alpha = np.full((3, 3, 2), 128, np.uint8)
    grey_alpha[0, 0, 1] = 0
    PILImage.fromarray(grey_alpha, mode="LA").save(tmp_path / "la.png")
    grey = read_image(tmp_path / "la.png", colorspace="linear")
    assert grey.channels == 1 and grey.alpha is not None
    assert grey.alpha[0, 0] == 0.0 and grey.alpha[1, 1] == pytest.approx(128 / 255)


@pytest.mark.parametrize("suffix, tolerance", [(".tga", 0.01), (".jpg", 0.08)])
def test_tga_and_jpeg(tmp_path, suffix, tolerance):
    color = np.full((16, 16, 3), 0.25, np.float32)
    color[:8, :8] = (1.0, 0.0, 0.0)  # red top-left quarter: orientation and channel order show
    write_image(tmp_path / f"t{suffix}", Image(color))
    back = read_image(tmp_path / f"t{suffix}")
    assert back.bit_depth == 8 and back.color.shape == color.shape
    assert np.abs(back.color[2:6, 2:6] - color[2:6, 2:6]).max() < tolerance
    assert np.abs(back.color[10:, 10:] - color[10:, 10:]).max() < tolerance


def test_a_format_that_would_drop_alpha_or_16_bits_is_refused_naming_the_one_that_keeps_it(tmp_path):
    """A JPEG was written without the alpha, and a JPEG or TGA at 8 bits where bit_depth=16 was asked, without a
    word. A 16-bit image written as TGA without asking is 8-bit, as an engine's TGA is."""
    color = np.full((8, 8, 3), 0.25, np.float32)
    cut_out = Image(color, np.tri(8, dtype=np.float32))
    with pytest.raises(ValueError) as refused:
        write_image(tmp_path / "decal.jpg", cut_out)
    assert str(refused.value) == (f"cannot write {tmp_path / 'decal.jpg'} with its alpha: JPEG holds no alpha. Write a "
                                  ".png or .tga to keep it, or write Image(image.color) to leave the alpha out")
    for suffix, format in ((".tga", "TGA"), (".jpeg", "JPEG")):
        with pytest.raises(ValueError) as refused:
            write_image(tmp_path / f"height{suffix}", Image(color), bit_depth=16)
        assert str(refused.value) == (f"cannot write {tmp_path / f'height{suffix}'} at bit_depth=16: {format} holds 8 "
                                      "bits. Write a .png to keep 16 bits, or leave bit_depth out to write 8")
    assert sorted(path.name for path in tmp_path.iterdir()) == []
    write_image(tmp_path / "decal.tga", cut_out)
    write_image(tmp_path / "decal_rgb.jpg", Image(cut_out.color))
    write_image(tmp_path / "height.tga", Image(color, bit_depth=16))
    write_image(tmp_path / "height.png", Image(color), bit_depth=16)
    assert read_image(tmp_path / "decal.tga").alpha is not None
    assert [read_image(tmp_path / name).bit_depth for name in ("height.tga", "height.png")] == [8, 16]


@pytest.mark.parametrize("channels", [1, 3])
def test_a_16_bit_image_with_alpha_written_as_tga_keeps_its_alpha_at_8_bits(tmp_path, channels):
    """TGA has no 16-bit-per-channel form: a 16-bit texture with alpha (grey or colour) written there is 8-bit,
    its alpha rounded to the nearest of 256 levels as its colour is, not dropped."""
    color = RNG.random((8, 8, channels), dtype=np.float32)
    alpha = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    write_image(tmp_path / "master.png", Image(color, alpha, bit_depth=16))
    write_image(tmp_path / "engine.tga", read_image(tmp_path / "master.png"))
    back = read_image(tmp_path / "engine.tga")
    assert (back.bit_depth, back.channels, back.alpha is not None) == (8, channels, True)
    assert np.abs(back.alpha - alpha).max() <= 0.5 / 255 + 1e-6


def test_srgb_conversion_is_the_standard_curve():
    assert float(srgb_to_linear(np.float32(0.5))) == pytest.approx(0.21404, abs=1e-4)
    x = np.linspace(0, 1, 101, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-6)


def test_unreadable_files_are_named(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.png is empty"):
        read_image(tmp_path / "empty.png")
    write_image(tmp_path / "ok.png", Image(RNG.random((32, 32, 3), dtype=np.float32)))
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cut.png.*If it was still being saved or copied, build again once it is"):
        read_image(tmp_path / "cut.png")
    write_image(tmp_path / "deep.png", Image(RNG.random((32, 32, 3), dtype=np.float32), bit_depth=16))
    deep = (tmp_path / "deep.png").read_bytes()
    (tmp_path / "cut16.png").write_bytes(deep[: len(deep) // 2])
    with pytest.raises(ImageReadError, match="cannot decode .*cut16.png: its data is damaged or cut short"):
        read_image(tmp_path / "cut16.png")
    broken = bytearray(data)
    broken[37:41] = b"IDA\xab"  # the type of the chunk after IHDR, damaged
    for name, damaged in (("header_cut.png", data[:30]), ("broken.png", bytes(broken))):
        (tmp_path / name).write_bytes(damaged)  # was "is not a PNG ...: leave it out of the source"
        with pytest.raises(ImageReadError, match=f"cannot decode .*{name}: it begins as a PNG file, but its header is "
                           "damaged or cut short. If it was still being saved or copied, build again once it is"):
            read_image(tmp_path / name)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageReadError, match="text.png is not a PNG, JPEG, TGA, DDS or TIFF image"):
        read_image(tmp_path / "text.png")
    (tmp_path / "lfs.png").write_text(LFS_POINTER)
    with pytest.raises(ImageReadError, match=r"lfs.png is a Git LFS pointer, not the image: fetch the images with `git lfs pull`"):
        read_image(tmp_path / "lfs.png")


def test_writes_are_atomic(tmp_path, monkeypatch):
    target = tmp_path / "t.png"
    write_image(target, Image(np.zeros((2, 2, 3), np.float32)))
    before = target.read_bytes()

    def half_then_disk_full(picture, suffix, file) -> None:
        file.write(before[: len(before) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(image_io, "_save", half_then_disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_image(target, Image(np.ones((2, 2, 3), np.float32)))
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.png"]


def test_a_phone_photo_is_turned_upright_by_its_orientation_tag(tmp_path):
    pixels = np.zeros((2, 4, 3), np.uint8)
    pixels[0, 0] = 255  # top-left as stored
    exif = PILImage.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    PILImage.fromarray(pixels).save(tmp_path / "photo.png", exif=exif)
    image = read_image(tmp_path / "photo.png", colorspace="linear")
    assert (image.height, image.width) == (4, 2)
    assert image.color[0, 1, 0] == 1.0  # now top-right


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_16_bit_png_is_turned_upright_as_an_8_bit_one_is(tmp_path, orientation):
    values = np.arange(6, dtype=np.uint16).reshape(2, 3) * 40
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    PILImage.fromarray(values.astype(np.uint8)).save(tmp_path / "8.png", exif=exif)
    PILImage.fromarray(values * 257).save(tmp_path / "16.png", exif=exif)  # I;16: a 16-bit grey PNG
    eight, sixteen = (read_image(tmp_path / name, colorspace="linear") for name in ("8.png", "16.png"))
    assert sixteen.bit_depth == 16
    np.testing.assert_array_equal(np.rint(sixteen.color * 255), np.rint(eight.color * 255))


@pytest.mark.parametrize("interlace", [False, True])
@pytest.mark.parametrize("planes", [1, 2, 3, 4])
def test_a_16_bit_png_reads_back_every_value(tmp_path, planes, interlace):
    import png

    stored = RNG.integers(0, 65536, (9, 7, planes)).astype(np.uint16)
    with open(tmp_path / "deep.png", "wb") as file:
        png.Writer(7, 9, greyscale=planes <= 2, alpha=planes in (2, 4), bitdepth=16, interlace=interlace).write(
            file, stored.reshape(9, 7 * planes))
    image = read_image(tmp_path / "deep.png", colorspace="linear")
    read = np.dstack([image.color] + ([image.alpha] if image.alpha is not None else []))
    assert image.bit_depth == 16 and np.array_equal(np.round(read * 65535).astype(np.uint16), stored)


def test_a_16_bit_png_with_fewer_significant_bits_is_read_at_full_scale(tmp_path):
    import png

    ten_bit = RNG.integers(0, 1024, (8, 8, 4)).astype(np.uint16)
    ten_bit[..., 3] = 1023  # opaque
    with open(tmp_path / "sbit.png", "wb") as file:  # 16-bit samples and an sBIT chunk saying 10 bits
        png.Writer(8, 8, greyscale=False, alpha=True, bitdepth=10).write(file, ten_bit.reshape(8, 32))
    image = read_image(tmp_path / "sbit.png", colorspace="linear")
    assert image.bit_depth == 16 and image.alpha is not None and image.alpha.min() == 1.0
    np.testing.assert_allclose(image.color, ten_bit[..., :3] / 1023, atol=1e-4)


def _tga(pixels: np.ndarray, alpha_bits: int) -> bytes:
    """An uncompressed, top-down 32-bit TGA of (H, W, 4) RGBX ``pixels``, its header giving ``alpha_bits``."""
    height, width, _ = pixels.shape
    header = struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, width, height, 32, 0x20 | alpha_bits)
    return header + pixels[..., [2, 1, 0, 3]].tobytes()


@pytest.mark.parametrize("alpha_bits, padding", [(0, 0), (0, 255), (8, 0)])
def test_a_32_bit_tga_whose_fourth_byte_is_padding_is_opaque(tmp_path, alpha_bits, padding):
    pixels = RNG.integers(0, 256, (4, 4, 4)).astype(np.uint8)
    pixels[..., 3] = padding
    (tmp_path / "bgrx.tga").write_bytes(_tga(pixels, alpha_bits))
    image = read_image(tmp_path / "bgrx.tga", colorspace="linear")
    assert image.alpha is None
    np.testing.assert_array_equal(np.rint(image.color * 255), pixels[..., :3])
    pixels[0, 0, 3] = 0
    pixels[1:, :, 3] = 255
    (tmp_path / "bgra.tga").write_bytes(_tga(pixels, 8))  # a real alpha, one texel transparent, stays
    alpha = read_image(tmp_path / "bgra.tga").alpha
    assert alpha is not None and alpha[0, 0] == 0.0 and alpha[1:].min() == 1.0


@pytest.mark.parametrize("depth, key", [(1, 0), (1, 1), (2, 3), (2, 1), (4, 15), (4, 5)])
def test_a_low_bit_grey_png_keeps_its_transparent_key(tmp_path, depth, key):
    import png

    levels = np.arange(16, dtype=np.uint8).reshape(4, 4) % (1 << depth)
    with open(tmp_path / "cutout.png", "wb") as file:
        png.Writer(4, 4, greyscale=True, bitdepth=depth, transparent=key).write(file, levels)
    image = read_image(tmp_path / "cutout.png", colorspace="linear")
    assert image.alpha is not None
    np.testing.assert_array_equal(image.alpha, (levels != key).astype(np.float32))


@pytest.mark.parametrize("alphas, alpha_bits, read", [((0, 255), 8, [[0.0, 1.0]]), ((0, 255), 0, [[0.0, 1.0]]),
                                                       ((0, 0), 8, None)])
def test_a_colour_mapped_tga_keeps_its_palette_s_alpha_unless_it_is_padding(tmp_path, alphas, alpha_bits, read):
    palette = [(255, 0, 0, alphas[0]), (0, 255, 0, alphas[1])]  # index 0 red, 1 green
    header = struct.pack("<BBBHHBHHHHBB", 0, 1, 1, 0, 2, 32, 0, 0, 2, 1, 8, 0x20 | alpha_bits)
    body = b"".join(bytes((b, g, r, a)) for r, g, b, a in palette) + bytes((0, 1))
    (tmp_path / "mapped.tga").write_bytes(header + body)
    image = read_image(tmp_path / "mapped.tga", colorspace="linear")
    assert (image.alpha.tolist() if image.alpha is not None else None) == read
    assert image.color[0, 0].tolist() == [1.0, 0.0, 0.0]


def test_a_file_name_near_the_length_limit_is_written(tmp_path):
    for name in ("b" * 246 + ".png", "\U0001f9f1" * 62 + ".png"):  # 250 bytes; 252 bytes in 66 characters
        path = tmp_path / name  # the temporary beside it must not add to that
        write_image(path, Image(np.zeros((2, 2, 3), np.float32)))
        assert read_image(path).width == 2
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_a_texture_too_large_to_read_is_refused_before_decoding(tmp_path: Path, bit_depth: int) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 20000, 20000, bit_depth, 0, 0, 0, 0)  # a grey 20000²: 400 MP in a few bytes
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    with pytest.raises(ImageReadError, match="huge.png has more pixels than remaster reads .*split it into tiles"):
        read_image(path)


def test_a_script_that_turned_pillows_size_check_off_still_reads_and_refuses_by_name(tmp_path: Path) -> None:
    """Pillow's MAX_IMAGE_PIXELS = None (its decompression-bomb check off) set before importing remaster."""
    header = struct.pack(">IIBBBBB", 20000, 20000, 16, 0, 0, 0, 0)
    body = b"IHDR" + header
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + body
                                        + struct.pack(">I", zlib.crc32(body)))
    write_image(tmp_path / "small.png", Image(np.zeros((2, 2, 3), np.float32)))
    code = ("from PIL import Image; Image.MAX_IMAGE_PIXELS = None\n"
            "from ops.image_io import ImageReadError, read_image\n"
            "print(read_image('small.png').width)\n"
            "try: read_image('huge.png')\n"
            "except ImageReadError as exc: print(exc)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2\nhuge.png has more pixels than remaster reads (179 megapixels)")


def test_pixels_that_a_format_cannot_hold_are_refused(tmp_path):
    from ops.image_io import write_pixels

    with pytest.raises(ValueError, match="only PNG holds 16-bit pixels"):
        write_pixels(tmp_path / "x.jpg", np.zeros((4, 4, 3), np.uint16))


@pytest.mark.parametrize(("color", "alpha", "bit_depth", "said"), [
    (np.full((8, 8, 3), 200, np.uint8), None, 8, "holds floats in \\[0, 1\\]; got uint8 \\(divide by 255"),  # white
    (np.zeros((8, 8, 3), np.float32), np.ones((8, 8), bool), 8, "got bool \\(a mask's .astype\\(np.float32\\)\\)"),
    (np.zeros((3, 8, 8), np.float32), None, 8, "got shape \\(3, 8, 8\\)"),  # was enlarged to (6, 16, 8)
    (np.zeros((8, 8, 2), np.float32), None, 8, "\\(height, width, 1 or 3\\)"),  # was written grey and alpha
    (np.zeros((8, 8, 3), np.float32), np.zeros((5, 8), np.float32), 8, "alpha is \\(height, width\\) = \\(8, 8\\)"),
    (np.zeros((8, 8, 3), np.float32), None, 12, "bit_depth is 8 or 16; got 12"),  # was written 8-bit
    (np.full((8, 8, 3), 200.0, np.float32), None, 8, "from 200 to 200 \\(divide 0-255 values by 255"),  # was white
    (np.zeros((8, 8, 3), np.float32), np.full((8, 8), 128.0, np.float32), 8, "alpha holds .* from 128 to 128"),  # opaque
    (np.full((8, 8, 3), np.nan, np.float32), None, 8, "got NaN or infinity"),  # was written black
    (np.full((8, 8, 3), -0.7, np.float32), None, 8, "store a normal map's vectors in \\[-1, 1\\] as \\(v \\+ 1\\) / 2"),
    (np.zeros((0, 8, 3), np.float32), None, 8, "at least one texel; got shape \\(0, 8, 3\\)"),  # ZeroDivisionError
    (np.zeros((8, 8, 3), np.float32), np.zeros((8, 0), np.float32), 8,
     "alpha is \\(height, width\\) = \\(8, 8\\); got shape \\(8, 0\\)"),  # numpy's "zero-size array to reduction"
])
def test_an_image_that_would_be_written_wrong_is_refused(color, alpha, bit_depth, said):
    with pytest.raises(ValueError, match=said):
        Image(color, alpha, bit_depth)


def test_an_image_takes_values_a_little_past_its_range_and_a_numpy_array_only():
    """A sharpening filter's overshoot is clipped when written, as image libraries clip; a torch tensor failed as
    "Cannot interpret 'torch.float32' as a data type"."""
    overshoot = Image(np.full((2, 2, 3), 1.2, np.float32), np.full((2, 2), -0.1, np.float32))
    assert overshoot.color.max() == np.float32(1.2)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"colour is a numpy array; got torch.Tensor .*tensor.cpu\(\).numpy\(\)"):
        Image(torch.zeros(2, 2, 3))


@pytest.mark.parametrize("call", [
    lambda path: read_image(path, colorspace="sRGB"),  # was read as linear
    lambda path: write_image(path, Image(np.zeros((2, 2, 3), np.float32)), colorspace="Linear"),  # was written linear
    lambda path: image_io.quantize(Image(np.zeros((2, 2, 3), np.float32)), "SRGB"),
], ids=["read_image", "write_image", "quantize"])
def test_a_colour_space_read_or_written_is_one_of_the_two_by_name(tmp_path, call):
    write_image(tmp_path / "t.png", Image(np.full((2, 2, 3), 0.5, np.float32)))
    with pytest.raises(ValueError, match=r"colorspace '\w+': expected 'srgb' \(colour, decoded to linear light\) or 'linear'"):
        call(tmp_path / "t.png")


def test_a_bit_depth_written_is_8_or_16_by_name(tmp_path):
    image = Image(np.full((2, 2, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match="bit_depth 12: expected 8 or 16"):
        write_image(tmp_path / "t.png", image, bit_depth=12)  # was written 8-bit
    with pytest.raises(ValueError, match="bit_depth 10: expected 8 or 16"):
        image_io.quantize(image, depth=10)


RED, GREEN, BLUE = 0xF800, 0x07E0, 0x001F  # RGB565


def _read_dds(folder: Path, data: bytes) -> Image:
    (folder / "t.dds").write_bytes(data)
    return read_image(folder / "t.dds", colorspace="linear")


def test_an_opaque_bc1_texture_reads_as_rgb_block_by_block(tmp_path):
    image = _read_dds(tmp_path, dds(8, 4, b"DXT1", bc1_block(RED, GREEN) + bc1_block(BLUE, 0) + bc1_block(GREEN, 0), mipmaps=2))
    expected = np.zeros((4, 8, 3), np.float32)
    expected[:, :4, 0] = expected[:, 4:, 2] = 1.0  # red block, blue block; the 4x2 mipmap after them is not read
    assert image.alpha is None  # Pillow decodes every BC1 with alpha; an engine would not see one here
    np.testing.assert_array_equal(image.color, expected)


@pytest.mark.parametrize("fourcc, blocks, opaque", [
    (b"DXT1", bc1_block(RED, GREEN) + bc1_block(0, 0xFFFF, 0xFFFFFFFF), [1.0, 0.0]),  # BC1's punch-through texels
    (b"DXT5", bc4_block(255) + bc1_block(RED, GREEN) + bc4_block(255) + bc1_block(BLUE, 0), [1.0, 1.0]),
])
def test_a_dds_alpha_is_kept_where_the_texture_has_one(tmp_path, fourcc, blocks, opaque):
    image = _read_dds(tmp_path, dds(8, 4, fourcc, blocks))
    assert image.channels == 3 and image.alpha is not None  # a BC3 chose its alpha: kept though opaque, as a PNG's
    np.testing.assert_array_equal(image.alpha[:, [0, 4]], [opaque] * 4)


@pytest.mark.parametrize("fourcc, x, flat", [(b"ATI2", 255, 128), (b"BC5S", 127, 0)])
def test_a_bc5_normal_map_gets_its_z_back(tmp_path, fourcc, x, flat):
    image = _read_dds(tmp_path, dds(8, 4, fourcc, bc4_block(x) + bc4_block(flat) + bc4_block(flat) + bc4_block(flat)))
    normals = image.color * 2 - 1  # (4, 8, 3): tilted fully towards +X, then facing straight out
    assert image.channels == 3
    np.testing.assert_allclose(np.linalg.norm(normals, axis=2), 1.0, atol=0.01)
    np.testing.assert_allclose(normals[0, [0, 4]], [[1, 0, 0], [0, 0, 1]], atol=0.01)


def test_a_bc4_texture_reads_as_grey(tmp_path):
    image = _read_dds(tmp_path, dds(4, 4, b"BC4U", bc4_block(200)))
    assert image.channels == 1 and image.alpha is None
    np.testing.assert_allclose(image.color, 200 / 255, atol=1e-6)


@pytest.mark.parametrize("fourcc, caps2, dx10, said", [
    (b"DXT1", 0xFE00, (), "is a cube map (six faces); remaster enlarges 2D textures: export each face as its own file"),
    (b"DX10", 0, (71, 3, 0x4, 1), "is a cube map"),
    (b"DXT1", 0x200000, (), "is a volume (3D) texture"),
    (b"DX10", 0, (71, 4, 0, 1), "is a volume (3D) texture"),
    (b"DX10", 0, (71, 3, 0, 6), "is a texture array of 6 layers"),
    (b"DX10", 0, (95, 3, 0, 1), "holds HDR colour (BC6H), which remaster would clip to 8 bits"),
    (b"DX10", 0, (10, 3, 0, 1), "is stored in a format remaster cannot read (DXGI format 10); re-export it as PNG"),
    (b"DXT2", 0, (), "is stored in a format remaster cannot read ('DXT2')"),
    (b"", 0, (), "is stored in a format remaster cannot read (uncompressed, 8 bits a texel, pixel format flags 0x2)"),
])
def test_a_dds_that_is_not_one_2d_texture_is_refused_by_name(tmp_path, fourcc, caps2, dx10, said):
    # Pillow would read a cube map's first face, or a volume's first slice, as if it were the texture
    masked = None if fourcc else (0x2, 8)  # A8, alpha alone: it was "Direct3D format 0"
    with pytest.raises(ImageReadError, match=re.escape(f"t.dds {said}")):
        _read_dds(tmp_path, dds(4, 4, fourcc, bc1_block(RED, GREEN) * 6, caps2=caps2, dx10=dx10, masked=masked))


@pytest.mark.parametrize("fourcc, dx10, kept", [(b"DXT1", (), 150), (b"DXT1", (), 20), (b"DX10", (87, 3, 0, 1), 140)])
def test_a_truncated_dds_says_to_build_again_once_it_is_saved(tmp_path, fourcc, dx10, kept):
    # cut into the texels, into the header, into the DX10 header (it said: a format remaster cannot read)
    with pytest.raises(ImageReadError, match="t.dds.*If it was still being saved or copied"):
        _read_dds(tmp_path, dds(8, 8, fourcc, bc1_block(RED, GREEN) * 4, dx10=dx10)[:kept])


def test_a_dds_with_no_texels_is_named(tmp_path):
    with pytest.raises(ImageReadError, match=re.escape("t.dds has no texels: its DDS header gives 0x4; re-export it")):
        _read_dds(tmp_path, dds(0, 4, b"DXT1", b""))


def test_srgb_and_bgra_dds_as_texconv_writes_them_read_as_their_texels(tmp_path):
    blocks = bc1_block(RED, GREEN) + bc1_block(BLUE, 0)
    plain = _read_dds(tmp_path, dds(8, 4, b"DX10", blocks, dx10=(71, 3, 0, 1)))  # BC1_UNORM
    srgb = _read_dds(tmp_path, dds(8, 4, b"DX10", blocks, dx10=(72, 3, 0, 1)))  # BC1_UNORM_SRGB: was refused
    np.testing.assert_array_equal(srgb.color, plain.color)
    bgra = np.array([[[0, 0, 255, 128], [255, 0, 0, 255]]], np.uint8)  # red half covered, blue
    for dxgi, alpha in ((87, [[128 / 255, 1.0]]), (88, None)):  # B8G8R8A8, B8G8R8X8
        image = _read_dds(tmp_path, dds(2, 1, b"DX10", bgra.tobytes(), dx10=(dxgi, 3, 0, 1)))
        np.testing.assert_array_equal(image.color, [[[1, 0, 0], [0, 0, 1]]])
        if alpha is None:
            assert image.alpha is None
        else:
            np.testing.assert_allclose(image.alpha, alpha)


def test_an_uncompressed_dds_whose_alpha_is_zero_everywhere_is_opaque(tmp_path):
    texels = np.zeros((2, 2, 4), np.uint8)
    texels[..., 1] = 200  # green, alpha 0 in every texel: padding an exporter wrote, not an invisible texture
    PILImage.fromarray(texels, "RGBA").save(tmp_path / "t.dds", format="DDS")
    image = read_image(tmp_path / "t.dds", colorspace="linear")
    assert image.alpha is None and np.allclose(image.color[..., 1], 200 / 255)


def _tiff(path: Path, texels: np.ndarray, **options: object) -> Path:
    tifffile.imwrite(path, texels, **options)
    return path


@pytest.mark.parametrize("layout", [
    dict(photometric="rgb"), dict(photometric="rgb", compression="lzw"), dict(photometric="rgb", compression="zlib"),
    dict(photometric="rgb", planarconfig="separate"),
])
def test_a_16_bit_colour_tiff_keeps_its_16_bits(tmp_path, layout):
    texels = RNG.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    stored = np.moveaxis(texels, -1, 0) if layout.get("planarconfig") == "separate" else texels
    image = read_image(_tiff(tmp_path / "photo.tif", stored, **layout), colorspace="linear")
    assert image.bit_depth == 16 and image.alpha is None  # Pillow alone read it as 8-bit
    np.testing.assert_array_equal(np.rint(image.color * 65535), texels)


@pytest.mark.parametrize("extra, premultiplied", [("unassalpha", False), ("assocalpha", True)])
@pytest.mark.parametrize("channels", [1, 3])
def test_a_16_bit_tiff_keeps_its_alpha_straight(tmp_path, extra, premultiplied, channels):
    colour = RNG.integers(0, 65536, (4, 6, channels)).astype(np.float64)
    alpha = np.tile([0.0, 16384.0, 65535.0], (4, 2))[..., None]
    stored = np.rint(colour * alpha / 65535) if premultiplied else colour  # as compositing software writes it
    texels = np.concatenate([stored, alpha], axis=2).astype(np.uint16)
    photometric = "rgb" if channels == 3 else "minisblack"  # grey+alpha: Pillow could not open it at all
    image = read_image(_tiff(tmp_path / "cut.tif", texels, photometric=photometric, extrasamples=[extra]), colorspace="linear")
    assert image.bit_depth == 16 and image.channels == channels
    np.testing.assert_array_equal(np.rint(image.alpha * 65535), alpha[..., 0])
    seen = alpha[..., 0] == 65535
    np.testing.assert_allclose(image.color[seen] * 65535, colour[seen], atol=0.5)
    if premultiplied:  # colour divided back out; under alpha 0 nothing is left to divide
        np.testing.assert_allclose(image.color[:, 1::3] * 65535, colour[:, 1::3], atol=65535 / 16384)


def test_an_8_bit_tiff_and_a_16_bit_grey_one_read_as_pillow_reads_them(tmp_path):
    rgb = RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    grey = RNG.integers(0, 65536, (4, 5), dtype=np.uint16)
    image = read_image(_tiff(tmp_path / "rgb.tif", rgb, photometric="rgb"), colorspace="linear")
    assert image.bit_depth == 8 and np.array_equal(np.rint(image.color * 255), rgb)
    image = read_image(_tiff(tmp_path / "grey.tif", grey, photometric="minisblack"), colorspace="linear")
    assert image.bit_depth == 16 and np.array_equal(np.rint(image.color[..., 0] * 65535), grey)


@pytest.mark.parametrize("texels, photometric, said", [
    (RNG.random((4, 5, 3), dtype=np.float32), "rgb", "holds floating-point (HDR or linear) values, which remaster would clip"),
    (RNG.integers(0, 2**31, (4, 5), dtype=np.int32), "minisblack", "holds 32-bit signed integers, which remaster would misread"),
    (RNG.integers(-2**15, 2**15, (4, 5), dtype=np.int16), "minisblack", "holds 16-bit signed integers"),  # they wrapped
    (RNG.integers(0, 65536, (4, 5, 4), dtype=np.uint16), "separated", "is a TIFF in a layout remaster cannot read "
                                                                       "(16-bit SEPARATED); export it as 8- or 16-bit"),
    (RNG.integers(0, 16, (4, 5, 3), dtype=np.uint8), "rgb", "is a TIFF in a layout remaster cannot read (4-bit RGB)"),
])
def test_a_tiff_whose_values_remaster_would_misread_is_named(tmp_path, texels, photometric, said):
    bits = {"bitspersample": 4} if "4-bit" in said else {}  # Pillow said: build again once it is saved
    with pytest.raises(ImageReadError, match=re.escape(f"odd.tif {said}")):  # 16-bit CMYK was cut to 8 bits
        read_image(_tiff(tmp_path / "odd.tif", texels, photometric=photometric, **bits))


@pytest.mark.parametrize("name, texels, said", [
    ("sky.pfm", np.array([[0.25, 0.5], [0.75, 1.0]], np.float32), "holds floating-point (HDR or linear) values"),
    pytest.param("depth.im", np.array([[100, 40000], [70000, -5]], np.int32), "holds 32-bit signed integers",
                 marks=pytest.mark.filterwarnings("ignore:IM image format is deprecated")),  # FITS' too; Pillow saves IM
])
def test_values_past_16_bits_that_pillow_reads_are_named_as_a_tiff_s_are(tmp_path, name, texels, said):
    """A PFM's floats in [0, 1] were read as black (converted to 8-bit RGB), and 32-bit integers wrapped to
    16 bits (70000 read as 4464, -5 as 65531), where a TIFF of either is refused by name."""
    PILImage.fromarray(texels).save(tmp_path / name)
    with pytest.raises(ImageReadError, match=re.escape(f"{name} {said}") + ".*export it as a 16-bit TIFF or PNG"):
        read_image(tmp_path / name)


@pytest.mark.parametrize("compression", [None, "zlib", "packbits"])
@pytest.mark.parametrize("kept", [4, 0.5])  # the header alone, half the file
def test_a_damaged_tiff_says_to_build_again_once_it_is_saved(tmp_path, compression, kept):
    texels = RNG.integers(0, 65536, (40, 37, 3), dtype=np.uint16)  # random: compressed, still most of the file
    data = _tiff(tmp_path / "whole.tif", texels, photometric="rgb", compression=compression).read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: kept if isinstance(kept, int) else int(len(data) * kept)])
    with pytest.raises(ImageReadError, match="cut.tif.*If it was still being saved or copied"):  # was a codec's error
        read_image(tmp_path / "cut.tif")


def test_white_is_zero_grey_premultiplied_grey_and_a_thumbnail_first_read_as_meant(tmp_path):
    grey = RNG.integers(0, 65536, (4, 5), dtype=np.uint16)
    image = read_image(_tiff(tmp_path / "scan.tif", grey, photometric="miniswhite"), colorspace="linear")
    np.testing.assert_array_equal(np.rint(image.color[..., 0] * 65535), 65535 - grey)  # Pillow read it inverted
    straight = np.full((2, 3), 200.0)
    alpha = np.array([[255.0, 128.0, 0.0]] * 2)
    texels = np.dstack([np.rint(straight * alpha / 255), alpha]).astype(np.uint8)
    image = read_image(_tiff(tmp_path / "la.tif", texels, photometric="minisblack", extrasamples=["assocalpha"]),
                       colorspace="linear")  # Pillow could not open 8-bit premultiplied grey+alpha
    np.testing.assert_allclose(image.color[:, :2, 0] * 255, straight[:, :2], atol=1)
    with tifffile.TiffWriter(tmp_path / "scanner.tif") as tif:
        tif.write(np.zeros((2, 2, 3), np.uint8), photometric="rgb", subfiletype=1)  # a thumbnail, first
        tif.write(RNG.integers(0, 256, (8, 9, 3), dtype=np.uint8), photometric="rgb")
    assert read_image(tmp_path / "scanner.tif").color.shape == (8, 9, 3)


def test_a_tiff_under_8_bits_and_one_with_a_thumbnail_first_read_as_pillow_reads_them(tmp_path):
    grey = RNG.integers(0, 16, (4, 6), dtype=np.uint8)
    image = read_image(_tiff(tmp_path / "g4.tif", grey, photometric="minisblack", bitspersample=4), colorspace="linear")
    np.testing.assert_array_equal(np.rint(image.color[..., 0] * 255), grey * 17)  # was refused as "4-bit integers"
    colormap = RNG.integers(0, 65536, (3, 256), dtype=np.uint16)
    with tifffile.TiffWriter(tmp_path / "scanner.tif") as tif:
        tif.write(np.zeros((2, 2, 3), np.uint8), photometric="rgb", subfiletype=1)  # a thumbnail, first
        tif.write(RNG.integers(0, 256, (12, 17), dtype=np.uint8), photometric="palette", colormap=colormap)
    assert read_image(tmp_path / "scanner.tif").color.shape == (12, 17, 3)  # Pillow read the thumbnail


def test_a_tiff_s_alpha_is_the_sample_marked_as_alpha_or_the_first_extra_where_none_is_marked(tmp_path):
    texels = RNG.integers(0, 65536, (3, 4, 5), dtype=np.uint16)  # RGB, a spare channel, then alpha
    image = read_image(_tiff(tmp_path / "spare.tif", texels, photometric="rgb", planarconfig="contig",
                             extrasamples=["unspecified", "unassalpha"]),
                       colorspace="linear")
    np.testing.assert_array_equal(np.rint(image.alpha * 65535), texels[..., 4])  # was opaque: the spare was looked at
    data = _tiff(tmp_path / "rgba.tif", texels[..., :4], photometric="rgb", planarconfig="contig",
                 extrasamples=["unassalpha"]).read_bytes()
    untagged = data.replace(struct.pack("<HH", 338, 3), struct.pack("<HH", 65000, 3))  # no ExtraSamples tag at all
    (tmp_path / "untagged.tif").write_bytes(untagged)
    image = read_image(tmp_path / "untagged.tif", colorspace="linear")  # as Pillow read it: the fourth is alpha
    np.testing.assert_array_equal(np.rint(image.alpha * 65535), texels[..., 3])


def test_a_16_bit_luminance_dds_is_named_as_a_format_not_as_a_file_half_saved(tmp_path):
    with pytest.raises(ImageReadError, match=re.escape("t.dds is stored in a format remaster cannot read (uncompressed, "
                                                       "16 bits a texel, pixel format flags 0x20000)")):
        _read_dds(tmp_path, dds(4, 4, b"", bytes(32), masked=(0x20000, 16)))  # a height map; was "build again"


def test_a_blizzard_texture_pillow_cannot_decode_is_not_called_a_dds(tmp_path):
    header = b"BLP2" + struct.pack("<i", 1) + bytes([9, 0, 0, 0]) + struct.pack("<II", 4, 4)  # encoding 9: none known
    mipmaps = struct.pack("<16I", 1172, *[0] * 15) + struct.pack("<16I", 16, *[0] * 15)
    (tmp_path / "x.blp").write_bytes(header + mipmaps + bytes(1024 + 16))
    with pytest.raises(ImageReadError, match=re.escape("x.blp: Unknown BLP encoding 9; re-export it as PNG")):
        read_image(tmp_path / "x.blp")  # Pillow raises NotImplementedError for it too: it was named a DDS format


@pytest.mark.parametrize("suffix, options", [(".bmp", {}), (".pcx", {}), (".gif", {}), (".webp", {"lossless": True})])
def test_legacy_formats_pillow_reads_come_in_as_8_bit_rgb(tmp_path, suffix, options):
    texels = np.repeat(np.array([[[0, 128, 255]]], np.uint8), 4, axis=1)  # few colours: GIF's palette keeps them
    PILImage.fromarray(texels, "RGB").save(tmp_path / f"old{suffix}", **options)
    image = read_image(tmp_path / f"old{suffix}", colorspace="linear")
    assert image.bit_depth == 8 and image.alpha is None
    np.testing.assert_array_equal(np.rint(image.rgb() * 255), texels)


@pytest.mark.parametrize("with_alpha", [False, True])
@pytest.mark.parametrize("options", [{"lossless": True}, {"quality": 90}], ids=["lossless", "lossy"])
def test_a_grey_webp_is_read_as_grey(tmp_path, options, with_alpha):
    """WebP has no grey mode: a grey texture is stored as colour (by Pillow from mode L, by cwebp from a grey
    PNG), and a lossy one decodes with green a level below red and blue here and there. It came in as RGB."""
    grey = np.add.outer(np.arange(64), np.arange(64)).astype(np.uint8) * 2
    texels = np.stack([grey, np.where(np.arange(64) < 8, 0, 255).astype(np.uint8)[:, None].repeat(64, 1)], axis=2)
    PILImage.fromarray(texels if with_alpha else grey, "LA" if with_alpha else "L").save(tmp_path / "g.webp", **options)
    stored = np.asarray(PILImage.open(tmp_path / "g.webp"))
    image = read_image(tmp_path / "g.webp", colorspace="linear")
    assert image.channels == 1 and (image.alpha is not None) == with_alpha
    read, seen = np.rint(image.color[8:, :, 0] * 255), grey[8:]  # WebP blanks the hidden texels of the top rows
    if "lossless" in options:
        np.testing.assert_array_equal(read, seen)
    else:
        assert (stored[..., 1] != stored[..., 0]).any()  # the case meant: not every texel's channels are equal
        assert np.abs(read - seen).mean() < 2


def test_a_faintly_tinted_webp_stays_colour(tmp_path):
    grey = np.add.outer(np.arange(64), np.arange(64)).astype(np.uint8) * 2
    PILImage.fromarray(np.stack([grey, grey, grey + 3], axis=2)).save(tmp_path / "t.webp", quality=90)
    assert read_image(tmp_path / "t.webp").channels == 3


def _bmp32(rgba: np.ndarray, *, top_down: bool = False, alpha_mask: bool = False) -> bytes:
    """A 32-bit BMP with ``rgba``'s alpha in each texel's fourth byte: BI_RGB with a 40-byte header, or with
    ``alpha_mask`` BI_BITFIELDS with a 124-byte (V5) header whose masks name that byte alpha, as GIMP writes."""
    height, width, _ = rgba.shape
    size = 124 if alpha_mask else 40
    info = struct.pack("<IiiHHIIiiII", size, width, -height if top_down else height, 1, 32, 3 if alpha_mask else 0,
                       rgba.size, 2835, 2835, 0, 0)
    if alpha_mask:
        info += struct.pack("<4I", 0xFF0000, 0xFF00, 0xFF, 0xFF000000) + b"BGRs" + bytes(size - 60)  # then sRGB
    texels = rgba[:, :, [2, 1, 0, 3]] if top_down else rgba[::-1, :, [2, 1, 0, 3]]
    return b"BM" + struct.pack("<IHHI", 14 + size + rgba.size, 0, 0, 14 + size) + info + texels.tobytes()


@pytest.mark.parametrize("top_down", [False, True])
def test_a_32_bit_bmp_keeps_the_alpha_in_its_fourth_byte(tmp_path, top_down):
    """Pillow reads a BI_RGB file's fourth byte as unused, as the format calls it: the alpha Pillow itself
    writes there, saving RGBA, was dropped."""
    rgba = RNG.integers(0, 256, (5, 3, 4), dtype=np.uint8)
    (tmp_path / "a.bmp").write_bytes(_bmp32(rgba, top_down=top_down))
    image = read_image(tmp_path / "a.bmp", colorspace="linear")
    assert image.alpha is not None
    np.testing.assert_array_equal(np.rint(image.alpha * 255), rgba[..., 3])
    np.testing.assert_array_equal(np.rint(image.color * 255), rgba[..., :3])
    PILImage.fromarray(rgba).save(tmp_path / "pillow.bmp")
    np.testing.assert_array_equal(np.rint(read_image(tmp_path / "pillow.bmp").alpha * 255), rgba[..., 3])
    (tmp_path / "masked.bmp").write_bytes(_bmp32(rgba, alpha_mask=True))  # as Pillow read it already
    np.testing.assert_array_equal(np.rint(read_image(tmp_path / "masked.bmp").alpha * 255), rgba[..., 3])


@pytest.mark.parametrize("fourth, alpha_mask", [(0, False), (255, False), (0, True)])
def test_a_32_bit_bmp_whose_fourth_byte_is_the_same_everywhere_is_opaque(tmp_path, fourth, alpha_mask):
    """0 in every texel is the byte left unused, as most writers leave it, or an alpha mask over an alpha
    channel Photoshop left black, which Windows and Photoshop show opaque: read as alpha, the texture would be
    invisible (it was, with a mask)."""
    rgba = RNG.integers(0, 256, (5, 3, 4), dtype=np.uint8)
    rgba[..., 3] = fourth
    (tmp_path / "a.bmp").write_bytes(_bmp32(rgba, alpha_mask=alpha_mask))
    image = read_image(tmp_path / "a.bmp", colorspace="linear")
    assert image.alpha is None
    np.testing.assert_array_equal(np.rint(image.color * 255), rgba[..., :3])


def test_reading_a_large_texture_holds_little_more_than_its_floats(tmp_path):
    """Decoded a band at a time: the whole texture in floats with the sRGB decoding's temporaries took 3.3 times
    the result (4.6 GB at its peak for an 8192² RGBA PNG, 1.4 GB in bands), a band at a time 2.3 times, the
    file's bytes and the decoded integers included."""
    
    texels = np.random.default_rng(0).integers(0, 256, (2048, 2048, 4), dtype=np.uint8)  # 4 bands
    PILImage.fromarray(texels).save(tmp_path / "big.png", compress_level=1)
    image, peak = traced_peak(lambda: read_image(tmp_path / "big.png"))
    assert peak < 2.6 * (image.color.nbytes + image.alpha.nbytes)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_a_colour_profile_other_than_srgb_is_warned_about_naming_it(tmp_path, caplog, suffix):
    """Its values are read as sRGB and the outputs carry no profile: a phone's Display P3 photo shifted colour
    without a word. Told by what the profile does, not by its name."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    named = "sRGB built-in".encode("utf-16-be")
    p3 = display_p3_profile()
    linear = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + fixed(1, 1, 0, 1, 0)  # gamma 1.0
    profiles = {
        "plain": srgb,
        "compact": srgb.replace(named, "c2".ljust(13).encode("utf-16-be")),  # a web service's small sRGB one
        "unnamed": srgb.replace(b"desc", b"xdsc", 1),
        "phone": p3,
        "linear": profile_with(srgb, {b"rTRC": linear, b"gTRC": linear, b"bTRC": linear}).replace(
            named, "sRGB linear  ".encode("utf-16-be")),
        "nameless": p3.replace(b"desc", b"xdsc", 1),
    }
    for name, profile in profiles.items():
        PILImage.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / f"{name}{suffix}", icc_profile=profile)
        read_image(tmp_path / f"{name}{suffix}")
    warned = [record.getMessage().split(" carries")[0] for record in caplog.records]
    assert warned == [str(tmp_path / f"{name}{suffix}") for name in ("phone", "linear", "nameless")]
    assert "carries the colour profile 'Display P3 v4', not sRGB" in caplog.text
    assert "carries the colour profile 'sRGB linear', not sRGB" in caplog.text
    assert "carries a colour profile with no name, not sRGB" in caplog.text


def test_a_warning_of_libpng_names_the_file_it_is_about(tmp_path, caplog):
    """imagecodecs logs them as "PNG warning: sRGB: invalid", naming no file."""
    write_image(tmp_path / "deep.png", Image(RNG.random((4, 4, 3), dtype=np.float32), bit_depth=16))
    data = (tmp_path / "deep.png").read_bytes()
    srgb = b"sRGB\x09"  # a rendering intent that is none of the four
    (tmp_path / "deep.png").write_bytes(data[:33] + struct.pack(">I", 1) + srgb + struct.pack(">I", zlib.crc32(srgb))
                                        + data[33:])  # after IHDR
    read_image(tmp_path / "deep.png")
    assert f"{tmp_path / 'deep.png'}: PNG warning: sRGB: invalid" in caplog.text, caplog.text


def test_an_image_keeps_the_float_type_it_is_given_as_its_docstring_says(tmp_path: Path) -> None:
    """The docstring called colour float32, where a script's pixels / 255 is kept float64."""
    given = np.random.default_rng(1).random((4, 4, 3))
    image = Image(given, given[..., 0])
    assert image.color is given and image.color.dtype == image.alpha.dtype == np.float64
    assert image.with_color(given).color.dtype == np.float32
    write_image(tmp_path / "a.png", image)
    assert read_image(tmp_path / "a.png").color.dtype == read_image(tmp_path / "a.png").alpha.dtype == np.float32
    assert "float64" in Image.__doc__ and "``color`` is float32" not in Image.__doc__


@pytest.mark.parametrize("mode, suffix", [("RGBA", ".png"), ("RGB", ".tga"), ("LA", ".png"), ("L", ".tga"),
                                          ("I;16", ".pgm")])
@pytest.mark.parametrize("orientation", [1, 6])
def test_texels_read_a_band_at_a_time_are_pillow_s_own(tmp_path, mode, suffix, orientation):
    """Pillow's texels are taken into numpy a band of rows at a time, not through one whole copy of them as
    bytes: over several bands, the last one short, and turned as an EXIF Orientation says, they are the very
    texels ``np.asarray`` of Pillow's upright image gives."""
    from PIL import ImageOps

    high = 65535 if mode == "I;16" else 255
    texels = RNG.integers(0, high + 1, (1500, 700, 4), dtype=np.uint16 if high > 255 else np.uint8)
    picture = PILImage.fromarray(texels[..., 0]) if mode == "I;16" else PILImage.fromarray(texels).convert(mode)
    exif = picture.getexif()
    exif[0x0112] = orientation
    picture.save(tmp_path / f"t{suffix}", **({"exif": exif} if suffix == ".png" else {}))
    with PILImage.open(tmp_path / f"t{suffix}") as opened:
        expected = np.asarray(ImageOps.exif_transpose(opened))
    pixels, _ = image_io.read_pixels(tmp_path / f"t{suffix}")
    assert pixels.dtype == (np.uint16 if high > 255 else np.uint8)
    np.testing.assert_array_equal(pixels, expected.reshape(pixels.shape))


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures Linux's peak resident memory")
@pytest.mark.parametrize("mode, suffix", [("RGBA", ".png"), ("RGBA", ".tga"), ("LA", ".png"), ("RGB;16", ".png")])
def test_decoding_holds_pillow_s_image_and_the_texels_and_no_copy_of_them(tmp_path, mode, suffix):
    """An 8192² RGBA texture's decoding held four times its texels: Pillow's image, a copy that turning it
    upright made though it was upright, and numpy's taking of it as bytes, made in chunks and then joined; a
    16-bit one's, besides its texels, an 8-bit copy that Pillow decoded to look for an EXIF Orientation. Now
    Pillow's image where Pillow decodes (4 bytes a texel, grey+alpha too) and the texels alone, with the file's
    bytes."""
    side = 4096
    y, x = np.indices((side, side))
    pattern = np.stack([x % 256, y % 256, (x + y) % 256, (x * y) % 256], axis=2).astype(np.uint8)
    for size, texels in (("big", pattern), ("small", pattern[:8, :8])):
        if mode == "RGB;16":
            (tmp_path / f"{size}{suffix}").write_bytes(imagecodecs.png_encode(texels[..., :3].astype(np.uint16) * 257))
        else:
            PILImage.fromarray(texels).convert(mode).save(tmp_path / f"{size}{suffix}")
    code = """
import sys
from pathlib import Path
from ops.image_io import read_pixels
def status(field):
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) * 1024
read_pixels(sys.argv[2])  # the decoders' own imports and buffers are not what is measured
Path("/proc/self/clear_refs").write_text("5")  # the peak since: what is resident now
before = status("VmRSS")
pixels, _ = read_pixels(sys.argv[1])
print(status("VmHWM") - before, pixels.nbytes)
"""
    files = [str(tmp_path / f"{size}{suffix}") for size in ("big", "small")]
    done = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True, check=True)
    peak, texels = map(int, done.stdout.split())
    pillow = 0 if mode == "RGB;16" else 4 * side * side
    allowed = pillow + texels + (tmp_path / f"big{suffix}").stat().st_size + 32 * 2**20  # bands of rows, zlib
    assert peak < allowed, f"{peak / 2**20:.0f} MiB, {allowed / 2**20:.0f} allowed"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


@pytest.mark.parametrize("where", ["eXIf after the texels", "ImageMagick's raw profile", "XMP"])
def test_a_16_bit_png_s_orientation_is_found_wherever_pillow_finds_it(tmp_path, where):
    """The Orientation of a 16-bit PNG is found without Pillow decoding the texture, and where Pillow finds it
    for an 8-bit one: in an eXIf chunk after the texels, in a text chunk of ImageMagick's raw EXIF profile, in
    XMP; each file is turned as the 8-bit one is."""
    exif = PILImage.Exif()
    exif[0x0112] = 6
    raw = exif.tobytes()
    profile = f"\nexif\n{len(raw):8}\n{raw.hex()}\n".encode()
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    chunk = {
        "eXIf after the texels": _png_chunk(b"eXIf", raw.removeprefix(b"Exif\x00\x00")),
        "ImageMagick's raw profile": _png_chunk(b"tEXt", b"Raw profile type exif\0" + profile),
        "XMP": _png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp),  # keyword, no compression, language
    }[where]
    values = RNG.integers(0, 256, (5, 3), dtype=np.uint16)
    PILImage.fromarray(values.astype(np.uint8)).save(tmp_path / "8.png")
    PILImage.fromarray(values * 257).save(tmp_path / "16.png")
    for name in ("8.png", "16.png"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[:-12] + chunk + data[-12:])  # before IEND
    eight, sixteen = image_io.read_pixels(tmp_path / "8.png")[0], image_io.read_pixels(tmp_path / "16.png")[0]
    np.testing.assert_array_equal(eight[..., 0], np.rot90(values, -1))
    np.testing.assert_array_equal(sixteen, eight.astype(np.uint16) * 257)


def test_a_16_bit_png_is_written_without_the_whole_texture_s_integers(tmp_path, monkeypatch):
    """pypng encodes a row at a time, so each band of rows is quantized as it goes: the whole texture's 16-bit
    integers were made first (384 MB for an 8192² RGB texture). Bands are made small here, so that they are not
    what the peak is made of; the file is the one written before."""
    
    monkeypatch.setattr(image_io, "_BAND_VALUES", 1 << 16)
    image = Image(RNG.random((1024, 2048, 3), dtype=np.float32), None, 16)
    integers = image.color.size * 2
    _, peak = traced_peak(lambda: write_image(tmp_path / "t.png", image, colorspace="linear"))
    assert peak < 0.75 * integers, f"{peak / 2**20:.1f} MiB"
    pixels, depth = image_io.read_pixels(tmp_path / "t.png")
    assert depth == 16
    np.testing.assert_array_equal(pixels, image_io.quantize(image, "linear", 16))


@pytest.mark.parametrize("suffix", [".png", ".tga"])
@pytest.mark.parametrize("channels, with_alpha", [(3, False), (1, True)])
def test_an_8_bit_texture_is_written_without_the_whole_texture_s_integers(tmp_path, monkeypatch, suffix, channels,
                                                                          with_alpha):
    """Each band of rows is quantized into Pillow's image as it is made: the whole texture's integers were made
    first, a copy beside Pillow's image of RGB or grey+alpha, which it holds at 4 bytes a texel (192 MB for an
    8192² RGB texture). Bands are made small here, so that they are not what the peak is made of; the file holds
    the integers ``quantize`` gives."""
    
    monkeypatch.setattr(image_io, "_BAND_VALUES", 1 << 16)
    alpha = RNG.random((1024, 2048), dtype=np.float32) if with_alpha else None
    image = Image(RNG.random((1024, 2048, channels), dtype=np.float32), alpha)
    _, peak = traced_peak(lambda: write_image(tmp_path / f"t{suffix}", image))
    integers = 1024 * 2048 * (channels + with_alpha)
    assert peak < 0.5 * integers, f"{peak / 2**20:.1f} MiB"
    np.testing.assert_array_equal(image_io.read_pixels(tmp_path / f"t{suffix}")[0], image_io.quantize(image))
