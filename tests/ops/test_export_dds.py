"""export_dds: DDS files an engine loads, checked by decoding them again with Pillow's reader."""

from __future__ import annotations

import io
import re
import struct
import tracemalloc

import etcpak
import numpy as np
import pytest
from PIL import Image as PILImage
from pydantic import ValidationError
from skimage import data

from ops import bc1, bc4
from ops.alpha import share_passing, with_coverage
from ops.atomic import write_bytes_atomic
from ops.dds import header
from ops.export_dds import ExportDdsParams, block_psnr, export_dds, mip_chain, run, to_block_sides
from ops.image_io import Image, linear_to_srgb, read_image, srgb_to_linear, write_image
from ops.normal_map import renormalize
from ops.registry import OpContext
from ops.upscale import UpscaleParams, resample
from ops.upscale import run as upscale

from helpers import SHARED


def brick(size: int = 64) -> Image:
    """scikit-image's brick as a colour texture in linear light."""
    grey = data.brick()[:size, :size].astype(np.float32) / 255
    return Image(srgb_to_linear(np.repeat(grey[..., None], 3, axis=2)))


def levels(file: bytes) -> list[np.ndarray]:
    """Every mip level of a block-compressed DDS, decoded (RGBA uint8), by reading each as a file of its own."""
    height, width, _, _, count = struct.unpack_from("<5I", file, 12)
    fourcc = file[84:88]
    block_bytes = 8 if fourcc in (b"DXT1", b"ATI1") else 16
    decoded, offset = [], 128
    for _ in range(count):
        size = max(1, (width + 3) // 4) * max(1, (height + 3) // 4) * block_bytes
        alone = header(width, height, 1, fourcc=fourcc, top_level_bytes=size, alpha=False) + file[offset : offset + size]
        decoded.append(np.asarray(PILImage.open(io.BytesIO(alone)).convert("RGBA")))
        offset += size
        width, height = max(1, width // 2), max(1, height // 2)
    assert offset == len(file), "the levels fill the file exactly"
    return decoded


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_a_colour_texture_is_bc1_with_every_mip_level_the_average_of_the_one_before():
    exported = export_dds(brick())
    assert (exported.format, exported.mip_levels) == ("bc1", 7)
    decoded = levels(exported.data)
    assert [level.shape[:2] for level in decoded] == [(64 >> i, 64 >> i) for i in range(7)]
    expected = [np.rint(linear_to_srgb(level.color) * 255) for level in mip_chain(brick())]
    assert psnr(decoded[0][..., :3], expected[0]) > 30  # block compression's loss, no more
    assert psnr(decoded[3][..., :3], expected[3]) > 30
    assert abs(float(decoded[-1][0, 0, 0]) - expected[-1][0, 0, 0]) <= 3  # 1x1: the mean in linear light, encoded


def test_mips_average_in_linear_light_not_as_stored():
    """A black and white checker halves to the grey of half the light (188 as stored), not to 128."""
    checker = Image(np.indices((8, 8)).sum(axis=0)[..., None].repeat(3, axis=2).astype(np.float32) % 2)
    second = mip_chain(checker)[1]
    stored = levels(export_dds(checker).data)[1]
    np.testing.assert_allclose(second.color, 0.5)
    assert abs(int(stored[0, 0, 0]) - 188) <= 2


def test_a_normal_map_is_bc5_and_its_mips_stay_unit_vectors():
    y, x = np.indices((32, 32)) / 32 * 2 * np.pi
    bumps = np.stack([0.5 + 0.3 * np.sin(x), 0.5 + 0.3 * np.cos(y), np.ones_like(x)], axis=2)  # smooth hills
    normals = Image(renormalize(bumps.astype(np.float32)))
    exported = export_dds(normals, kind="normal")
    assert exported.format == "bc5"
    for level in mip_chain(normals, kind="normal"):
        np.testing.assert_allclose(np.linalg.norm(level.color * 2 - 1, axis=2), 1, atol=1e-5)
    assert block_psnr(exported) > 30


def hills(size: int = 32) -> Image:
    """A normal map of smooth hills, its vectors of unit length, as stored (0 to 1 for -1 to 1)."""
    y, x = np.indices((size, size)) / size * 2 * np.pi
    bumps = np.stack([0.5 + 0.3 * np.sin(x), 0.5 + 0.3 * np.cos(y), np.ones_like(x)], axis=2)
    return Image(renormalize(bumps.astype(np.float32)))


def test_bc3n_is_dxt5nm_its_x_in_alpha_and_y_in_green_and_z_rebuilt_from_them_as_a_shader_does():
    """DXT5nm, for engines that load a normal map from DXT5 but not BC5: X in alpha and Y in green, red 255 and blue
    0 as NVIDIA's tools write them. X comes back as BC5 keeps it (BC3's alpha is a BC4 block), Y at most half as far
    off as BC3's green with the normal in red, green and blue (64² hills: 1.4 against 3.9 levels RMS)."""
    normals = hills(64)
    exported = export_dds(normals, format="DXT5nm", kind="normal")
    assert exported.format == "bc3n" and exported.data[84:88] == b"DXT5" and exported.mip_levels == 7
    # DDPF_FOURCC: a plain DXT5, as engines load it; DDPF_NORMAL: DXT5nm, as NVIDIA's tools mark it
    assert struct.unpack_from("<I", exported.data, 80)[0] == 0x80000004
    as_bc5, as_bc3 = (levels(export_dds(normals, format=format, kind="normal").data) for format in ("bc5", "bc3"))
    chain = mip_chain(normals, kind="normal")
    for level, bc5_level, bc3_level, source in zip(levels(exported.data), as_bc5, as_bc3, chain, strict=True):
        stored = np.rint(source.color * 255)  # x, y, z as stored in 8 bits
        assert (level[..., 0] == 255).all() and (level[..., 2] == 0).all()
        assert rms(level[..., 3], stored[..., 0]) <= rms(bc5_level[..., 0], stored[..., 0]) + 0.01
        assert rms(level[..., 1], stored[..., 1]) <= rms(bc3_level[..., 1], stored[..., 1]) / 2 + 0.01
        xy = np.stack([level[..., 3], level[..., 1]], axis=2) / 127.5 - 1
        z = np.sqrt(np.clip(1 - (xy**2).sum(axis=2), 0, 1))
        assert np.abs(z - (source.color[..., 2] * 2 - 1)).max() < 0.07  # 0.02 on the top level, 0.066 on 8x8
    top = levels(exported.data)[0]
    assert np.abs(top[..., 3] - np.rint(normals.color[..., 0] * 255)).max() <= 2
    assert np.abs(top[..., 1] - np.rint(normals.color[..., 1] * 255)).max() <= 5
    assert block_psnr(exported) > 45  # over X and Y, the planes it keeps: 47.4 dB
    assert export_dds(normals, kind="normal").format == "bc5"  # auto still picks BC5 for a normal map


@pytest.mark.parametrize(("format", "flags"), [
    ("bc5", 0x80000004), ("bc3n", 0x80000004), ("bc1", 0x80000004), ("bc7", 0x80000004),
    ("uncompressed", 0x80000040),  # DDPF_RGB beside it
    ("bc3", 0x4),  # its alpha holds data beside X, Y and Z, where the flag on a DXT5 means X in alpha
    ("bc1a", 0x5),  # DDPF_ALPHAPIXELS: its cut-out, which NVIDIA's reader drops from a FourCC file with the flag
])
def test_every_normal_map_dds_but_a_bc3_one_sets_nvidia_s_normal_map_flag(format, flags):
    """A bc3n file read back was a colour texture (X as its alpha, red a flat 255): DXT5 has no format of its own for
    DXT5nm, and the pixel format's DDPF_NORMAL (0x80000000) is how NVIDIA's tools mark a normal map."""
    assert struct.unpack_from("<I", export_dds(hills(8), format=format, kind="normal").data, 80)[0] == flags
    assert struct.unpack_from("<I", export_dds(brick(8), format="bc3").data, 80)[0] == 0x4  # colour: unmarked


def test_a_bc3n_file_read_back_is_the_normal_map_again_and_unmarked_it_is_colour(tmp_path):
    """X from alpha, Y from green and Z rebuilt, as a shader and NVIDIA's reader take a DXT5nm: as BC5 reads back."""
    normals = hills(64)
    data = export_dds(normals, format="bc3n", kind="normal").data
    write_bytes_atomic(tmp_path / "normal.dds", data)
    read = read_image(tmp_path / "normal.dds", colorspace="linear")
    assert read.channels == 3 and read.alpha is None
    error = np.abs(np.rint(read.color * 255) - np.rint(normals.color * 255))  # in levels of 8 bits
    assert error[..., 0].max() <= 2 and error[..., 1].max() <= 5 and error[..., 2].max() <= 3
    unmarked = data[:80] + struct.pack("<I", 0x4) + data[84:]  # a DXT5 without the flag: colour and alpha
    write_bytes_atomic(tmp_path / "colour.dds", unmarked)
    colour = read_image(tmp_path / "colour.dds", colorspace="linear")
    assert colour.alpha is not None and (colour.color[..., 0] == 1).all() and (colour.color[..., 2] == 0).all()


def rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


def test_a_normal_map_exported_as_colour_is_warned_about_naming_it(tmp_path, caplog):
    """A normal map in a folder of colour textures was exported as colour without a word (bc1, its mips averaged as
    light), and the artist saw it shade wrong in the engine. The op says so; a colour texture or kind: normal does
    not set it off (nor, measured, any of freedoom's 1,300 textures or scikit-image's photos)."""
    y, x = np.indices((32, 32)) / 32 * 2 * np.pi
    bumps = np.stack([0.5 + 0.3 * np.sin(x), 0.5 + 0.3 * np.cos(y), np.ones_like(x)], axis=2)
    stored = renormalize(bumps.astype(np.float32))
    write_image(tmp_path / "wall_normal.png", Image(stored), colorspace="linear")
    with caplog.at_level("WARNING"):
        run({"image": tmp_path / "wall_normal.png"}, tmp_path / "out", ExportDdsParams(), OpContext())
    assert f"{tmp_path / 'wall_normal.png'} looks like a tangent-space normal map, and export_dds takes it as " \
           "colour" in caplog.text and "set kind: normal on the asset" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        export_dds(Image(stored), kind="normal")
        export_dds(brick())
        export_dds(Image(srgb_to_linear(np.asarray(data.astronaut()[:64, :64], np.float32) / 255)))
    assert not caplog.text


def test_a_colour_texture_marked_kind_normal_is_warned_about_naming_it(tmp_path, caplog):
    """A colour texture in a source given kind: normal was exported as a normal map without a word: its colours
    made into unit vectors, BC5 keeping two of them. The op says so, naming the file and the fix; a normal map, its
    slopes steep or gentle, does not set it off."""
    write_image(tmp_path / "wall.png", brick(), colorspace="linear")
    with caplog.at_level("WARNING"):
        run({"image": tmp_path / "wall.png"}, tmp_path / "out", ExportDdsParams(kind="normal"), OpContext())
    assert f"{tmp_path / 'wall.png'} is marked kind: normal but does not look like a tangent-space normal map: 0% " \
           "of its texels hold a unit vector pointing out of the surface" in caplog.text and "If it is a colour texture, leave kind out" in caplog.text
    caplog.clear()
    y, x = np.indices((32, 32)) / 32 * 2 * np.pi
    steep = np.stack([0.5 + 0.45 * np.sin(x), 0.5 + 0.45 * np.cos(y), np.ones_like(x)], axis=2)  # slopes up to 52°
    with caplog.at_level("WARNING"):
        export_dds(hills(), kind="normal")
        export_dds(Image(renormalize(steep.astype(np.float32))), kind="normal")
    assert not caplog.text


def test_a_script_writes_the_op_s_dds_from_the_result_s_data_and_write_image_points_it_there(tmp_path):
    """The README's script: export_dds's data is the op's file byte for byte. write_image("x.dds") said only
    "use one of .png, .jpg, .jpeg, .tga", leaving a scripter to find that export_dds makes DDS files."""
    write_image(tmp_path / "wall.png", brick(32))
    run({"image": tmp_path / "wall.png"}, tmp_path / "op", ExportDdsParams(), OpContext())
    write_bytes_atomic(tmp_path / "wall.dds", export_dds(read_image(tmp_path / "wall.png")).data)
    assert (tmp_path / "wall.dds").read_bytes() == (tmp_path / "op" / "output.dds").read_bytes()
    with pytest.raises(ValueError, match=re.escape("a DDS is made by ops.export_dds.export_dds, whose result's data")):
        write_image(tmp_path / "x.dds", brick(8))
    assert not (tmp_path / "x.dds").exists()


def test_a_grey_map_is_bc4_and_reads_back_grey(tmp_path):
    roughness = Image(data.brick()[:32, :32, None].astype(np.float32) / 255)
    exported = export_dds(roughness, kind="data")
    assert exported.format == "bc4"
    assert block_psnr(exported) > 30
    (tmp_path / "r.dds").write_bytes(exported.data)
    assert read_image(tmp_path / "r.dds", colorspace="linear").channels == 1


def test_transparency_picks_bc3_and_keeps_alpha(tmp_path):
    alpha = np.zeros((16, 16), np.float32)
    alpha[4:12, 4:12] = 1
    sprite = Image(np.full((16, 16, 3), 0.5, np.float32), alpha)
    exported = export_dds(sprite)
    assert exported.format == "bc3"
    (tmp_path / "s.dds").write_bytes(exported.data)
    np.testing.assert_array_equal(read_image(tmp_path / "s.dds").alpha, alpha)


@pytest.mark.parametrize(("format", "alpha", "fields"), [
    # flags, height, width, pitch or linear size, depth, mip count; pixel format: size, flags, fourcc, bits,
    # masks R, G, B, A; caps
    ("bc1", False, (0xA1007, 8, 12, 48, 0, 4, 32, 0x4, b"DXT1", 0, 0, 0, 0, 0, 0x401008)),
    # DXT1a says it holds alpha (DDPF_ALPHAPIXELS), where loaders (texconv, Paint.NET) took its cut-out for opaque
    ("bc1a", True, (0xA1007, 8, 12, 48, 0, 4, 32, 0x5, b"DXT1", 0, 0, 0, 0, 0, 0x401008)),
    ("bc3", True, (0xA1007, 8, 12, 96, 0, 4, 32, 0x4, b"DXT5", 0, 0, 0, 0, 0, 0x401008)),  # as Microsoft's DXT5
    ("bc7", True, (0xA1007, 8, 12, 96, 0, 4, 32, 0x4, b"DX10", 0, 0, 0, 0, 0, 0x401008)),  # DX10: its FourCC alone
    ("uncompressed", True, (0x2100F, 8, 12, 48, 0, 4, 32, 0x41, bytes(4), 32, 0xFF0000, 0xFF00, 0xFF, 0xFF000000, 0x401008)),
    ("uncompressed", False, (0x2100F, 8, 12, 48, 0, 4, 32, 0x40, bytes(4), 32, 0xFF0000, 0xFF00, 0xFF, 0, 0x401008)),
])
def test_the_header_says_what_microsoft_s_dds_documentation_asks(format, alpha, fields):
    texture = Image(np.full((8, 12, 3), 0.5, np.float32), np.ones((8, 12), np.float32) if alpha else None)
    data = export_dds(texture, format=format).data
    assert data[:8] == b"DDS |\x00\x00\x00"  # magic, header size 124
    assert struct.unpack_from("<6I", data, 8) + struct.unpack_from("<2I4s5I", data, 76) + (
        struct.unpack_from("<I", data, 108)) == fields
    assert not any(data[32:76]) and not any(data[112:128])  # reserved, caps 2 to 4


def test_uncompressed_keeps_every_texel_and_any_size(tmp_path):
    texture = Image(np.random.default_rng(1).random((6, 10, 3)).astype(np.float32))
    write_image(tmp_path / "t.png", texture)
    exported = export_dds(read_image(tmp_path / "t.png"), format="uncompressed")
    (tmp_path / "t.dds").write_bytes(exported.data)
    assert exported.mip_levels == 4  # 10x6, 5x3, 2x1, 1x1
    np.testing.assert_array_equal(read_image(tmp_path / "t.dds").color, read_image(tmp_path / "t.png").color)
    alpha = np.random.default_rng(2).random((6, 10)).astype(np.float32)
    write_image(tmp_path / "a.png", Image(texture.color, alpha))
    (tmp_path / "a.dds").write_bytes(export_dds(read_image(tmp_path / "a.png"), format="uncompressed").data)
    np.testing.assert_array_equal(read_image(tmp_path / "a.dds").alpha, read_image(tmp_path / "a.png").alpha)


@pytest.mark.parametrize(("image", "params", "message"), [
    (Image(np.zeros((6, 8, 3), np.float32)), {}, "is 8x6 px, and engines load a block-compressed (bc1)"),
    (Image(np.zeros((6, 8, 3), np.float32)), {}, "set resize_to_blocks=True to resample it to the nearest such sides"),
    (Image(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.float32)), {"format": "bc1"},
     "transparent texels, which bc1 cannot keep: set format=\"bc3\" (or \"auto\"), \"bc1a\" (a cut-out's 1-bit alpha"),
    (Image(np.zeros((8, 8, 3), np.float32)), {"format": "bc4", "kind": "data"}, "is a colour texture, and bc4"),
    (Image(np.full((8, 8, 3), 0.5, np.float32), np.zeros((8, 8), np.float32)), {"format": "bc3n", "kind": "normal"},
     "transparent texels, which bc3n cannot keep (its alpha holds the normal's X): set format=\"bc3\" (or \"auto\")"),
    (Image(np.zeros((8, 8, 1), np.float32)), {"kind": "normal"}, "is given kind=\"normal\" but has 1 colour channel"),
    (Image(np.zeros((6, 8, 1), np.float32)), {"kind": "normal", "resize_to_blocks": True},  # IndexError, resampled
     "is given kind=\"normal\" but has 1 colour channel"),
])
def test_what_a_format_cannot_hold_is_refused_by_name(image, params, message):
    with pytest.raises(ValueError) as caught:
        export_dds(image, source="walls/brick.png", **params)
    assert "walls/brick.png" in str(caught.value) and message in str(caught.value)


@pytest.mark.parametrize(("params", "message"), [
    ({"format": "bc5"}, "set kind: normal"),
    ({"format": "bc4"}, "set kind: data"),
    ({"format": "bc3n"}, "format bc3n (DXT5nm) moves a normal map's X into alpha and keeps its Y in green, which only "
                         "a normal map's shader reads back: set kind: normal for a normal map, or choose bc3"),
    ({"format": "DXT5nm", "kind": "data"}, "format bc3n (DXT5nm) moves a normal map's X into alpha"),
    ({"format": "bc3n", "maps": ["albedo", "normal"]}, "with maps, format bc3n would fit only some of them: leave "
     "format out (auto picks per map: bc5 for the normal map, bc4 for grey maps, bc1 or bc3 for the rest), give bc7 or "
     "uncompressed, or give it to the maps it fits: maps: [albedo, normal: bc3n]"),
    ({"format": "bc4", "maps": ["albedo", "roughness"]}, "give it to the maps it fits: maps: [albedo, roughness: bc4]"),
    ({"maps": ["albedo", {"normal": "bc9"}]}, "map normal: format 'bc9' is none export_dds writes; give one of auto, "
     "bc1, bc1a, bc3, bc3n, bc4, bc5, bc7, uncompressed (or a Direct3D 9 name, such as DXT5nm)"),
    ({"maps": [{"albedo": "bc5"}]}, "map albedo: bc5 fits only the normal map (normal), and albedo is exported as colour: give "
     "albedo bc1, bc3, bc7 or uncompressed, or leave its format out (auto)"),
    ({"maps": [{"normal": "ati1"}]}, "map normal: bc4 fits only a grey data map (roughness, ao, height), and normal is "
     "exported as a normal map: give normal bc5, bc3n, bc3, bc7 or uncompressed"),
    ({"maps": [{"roughness": "bc3n"}]}, "give roughness bc4 (a grey map), bc1, bc3, bc7 or uncompressed"),
    ({"maps": [{"albedo": "bc1", "normal": "bc3n"}]}, "maps takes a map's name (albedo) or a name and its format "
     "(normal: bc3n), not {'albedo': 'bc1', 'normal': 'bc3n'}"),
    ({"maps": ["normal", {"normal": "bc3n"}]}, "maps ['normal', 'normal'] names a map twice"),
    ({"format": "bc6h"}, "'auto', 'bc1', 'bc1a', 'bc3', 'bc3n', 'bc4', 'bc5', 'bc7' or 'uncompressed'"),  # KeyError
    ({"alpha_cutoff": 0.5, "kind": "normal"}, "this alpha holds data"),
    ({"alpha_cutoff": 1.5}, "less than 1"),
])
def test_params_refuse_a_format_for_the_wrong_kind(params, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        ExportDdsParams(**params)


def test_the_direct3d_9_names_and_names_in_capitals_are_taken_for_the_formats():
    named = [("DXT1", "color"), ("DXT1a", "color"), ("dxt5", "color"), ("ATI1", "data"), ("ATI2", "normal"),
             ("BC7", "color"), ("Auto", "color")]
    assert [ExportDdsParams(format=name, kind=kind).format for name, kind in named] == ["bc1", "bc1a", "bc3", "bc4",
                                                                                       "bc5", "bc7", "auto"]
    assert export_dds(brick(8), format="DXT5").format == "bc3"  # a direct call too: was KeyError: 'DXT5'


@pytest.mark.parametrize(("arguments", "message"), [
    ({"format": "bc6h"}, "format 'bc6h': should be 'auto', 'bc1', 'bc1a', 'bc3', 'bc3n', 'bc4', 'bc5', 'bc7' or "
                         "'uncompressed'"),  # KeyError
    ({"format": "BC6H"}, "format 'BC6H': should be"),  # quoted as 'bc6h', which the caller never wrote
    ({"kind": "colour"}, "kind 'colour': should be 'color', 'normal' or 'data'"),  # mipmaps averaged as stored
    ({"alpha": "Coverage"}, "alpha 'Coverage': should be 'auto', 'coverage' or 'data'"),  # taken for data
    ({"alpha_cutoff": 1.5}, "alpha_cutoff 1.5: should be less than 1"),
    ({"mipmaps": "maybe"}, "mipmaps 'maybe': should be a valid boolean"),  # taken as true
    ({"format": "bc5"}, "format bc5 keeps only red and green"),  # a colour texture's blue dropped
    ({"format": "bc3n"}, "format bc3n (DXT5nm) moves a normal map's X into alpha"),  # its red shown as its alpha
    ({"format": "bc1a", "alpha": "data", "alpha_cutoff": 0.3}, "alpha_cutoff keeps an alpha test's coverage"),  # cut at 0.3
])
def test_a_direct_call_is_refused_naming_the_argument_the_params_would_refuse(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        export_dds(brick(8), **arguments)


def test_the_op_writes_output_dds_and_reports_what_it_stored(tmp_path):
    write_image(tmp_path / "brick.png", brick(32))
    params = ExportDdsParams()
    metadata = run({"image": tmp_path / "brick.png"}, tmp_path / "out", params, OpContext())
    written = (tmp_path / "out" / "output.dds").read_bytes()
    assert metadata["format"] == "bc1" and metadata["mip_levels"] == 6 and metadata["bytes"] == len(written)
    assert metadata["block_psnr_db"] > 30
    assert written == export_dds(read_image(tmp_path / "brick.png")).data  # the same bytes again


def test_a_texture_over_16384_px_a_side_is_refused_from_its_header_before_it_is_decoded(tmp_path):
    """Direct3D 11 and 12 load no texture over 16384 px a side, which upscale refuses to make: a DDS of one was
    written without a word, after its floats were decoded."""
    PILImage.new("L", (16388, 1024)).save(tmp_path / "strip.png")
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=re.escape(
                "strip.png: the result would be 16388x1024 px, and engines and GPUs load textures of at most 16384 px a "
                "side; export a smaller texture (downscale it, or make it with a smaller scale), or split the texture "
                "into tiles")):
            run({"image": tmp_path / "strip.png"}, tmp_path / "out", ExportDdsParams(), OpContext())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16388 * 1024  # less than its texels in 8 bits: none was decoded
    assert not (tmp_path / "out" / "output.dds").exists()
    with pytest.raises(ValueError, match="walls/strip.png: the result would be 16388x4 px"):
        export_dds(Image(np.zeros((4, 16388, 1), np.float32)), kind="data", source="walls/strip.png")


def test_a_texture_resize_to_blocks_brings_to_16384_px_a_side_is_exported(tmp_path):
    PILImage.new("L", (16385, 4)).save(tmp_path / "strip.png")
    metadata = run({"image": tmp_path / "strip.png"}, tmp_path / "out", ExportDdsParams(kind="data", resize_to_blocks=True),
                   OpContext())
    assert (metadata["width"], metadata["resized_from"]) == (16384, "16385x4")
    with pytest.raises(ValueError, match="strip.png: the result would be 16385x4 px"):  # no blocks: its own sides
        run({"image": tmp_path / "strip.png"}, tmp_path / "out", ExportDdsParams(kind="data", format="uncompressed",
                                                                                 resize_to_blocks=True), OpContext())


def test_maps_missing_from_the_inputs_are_named(tmp_path):
    write_image(tmp_path / "albedo.png", brick(8))
    params = ExportDdsParams(maps=("albedo", "roughness"))
    with pytest.raises(ValueError, match="takes the input roles albedo.png, roughness.png, the maps' files; got "
                                         "albedo.png"):  # was KeyError: 'roughness.png'
        run({"albedo.png": tmp_path / "albedo.png"}, tmp_path / "out", params, OpContext())


def test_a_material_s_cut_out_keeps_its_alpha_cutoff_beside_its_normal_map(tmp_path):
    """maps with alpha_cutoff passed validate, and then every build failed on normal.png, whose alpha a normal
    map holds as data: 'alpha_cutoff keeps an alpha test's coverage, and this alpha holds data', naming no map.
    The cut-off is the albedo's, whose alpha is coverage."""
    alpha = np.zeros((16, 16), np.float32)
    alpha[4:12, 4:12] = 0.6  # a leaf just past the cut-off on an empty card
    write_image(tmp_path / "albedo.png", Image(brick(16).color, alpha))
    write_image(tmp_path / "normal.png", Image(np.full((16, 16, 3), (0.5, 0.5, 1.0), np.float32)), colorspace="linear")
    params = ExportDdsParams(maps=("albedo", "normal"), format="bc1a", alpha_cutoff=0.7)
    run({f"{name}.png": tmp_path / f"{name}.png" for name in params.maps}, tmp_path / "out", params, OpContext())
    albedo = levels((tmp_path / "out" / "albedo.dds").read_bytes())[0]
    assert (albedo[..., 3] == 0).all()  # 0.6 is short of the cut-off of 0.7, which bc1a stores transparent
    assert (tmp_path / "out" / "normal.dds").is_file()


def test_resize_to_blocks_resamples_a_sprite_to_the_nearest_sides_a_block_format_takes(tmp_path):
    """A legacy sprite of 44x42 px failed every build (freedoom has hundreds of such sides): resampled to
    44x44 it loads, its figure opaque and its card empty as before."""
    alpha = np.zeros((42, 44), np.float32)
    alpha[6:36, 8:38] = 1.0  # an opaque figure on an empty card
    write_image(tmp_path / "sprite.png", Image(brick(64).color[:42, :44], alpha))
    metadata = run({"image": tmp_path / "sprite.png"}, tmp_path / "out", ExportDdsParams(resize_to_blocks=True),
                   OpContext())
    assert (metadata["format"], metadata["width"], metadata["height"], metadata["resized_from"]) == ("bc3", 44, 44, "44x42")
    top = levels((tmp_path / "out" / "output.dds").read_bytes())[0]
    assert top.shape == (44, 44, 4) and (top[:4, :, 3] == 0).all() and (top[-4:, :, 3] == 0).all()
    assert (top[12:30, 14:32, 3] == 255).all()
    kept = run({"image": tmp_path / "sprite.png"}, tmp_path / "as_is", ExportDdsParams(format="uncompressed",
                                                                                      resize_to_blocks=True), OpContext())
    assert (kept["width"], kept["height"]) == (44, 42) and "resized_from" not in kept  # no blocks, no resampling


def test_resize_to_blocks_wraps_the_axes_upscale_wraps(tmp_path):
    """export_dds holds a colour texture in linear light, and judged its tiling on those values decoded from
    sRGB once more: freedoom's tscrn1 (55x54), which upscale, super_resolve and material find does not tile
    vertically, was resampled to 56x56 with its top and bottom rows read as neighbours."""
    path = SHARED / "legacy" / "freedoom" / "patches" / "tscrn1.png"
    enlarged = upscale({"image": path}, tmp_path / "up", UpscaleParams(), OpContext())
    image = read_image(path)
    wrap = (bool(enlarged["wrap_y"]), bool(enlarged["wrap_x"]))
    assert wrap == (False, True)
    expected = resample(image, image.color, (56, 56), "lanczos", wrap, False)
    assert np.array_equal(to_block_sides(image).color, expected.color)


def test_resize_to_blocks_joins_the_cache_key_only_when_on_so_outputs_built_before_it_keep_theirs():
    """Added with its default in every key, it made upgrading recompute every DDS file byte for byte."""
    assert "resize_to_blocks" not in ExportDdsParams().key_params()
    assert ExportDdsParams(resize_to_blocks=True).key_params()["resize_to_blocks"] is True


def test_only_a_normal_map_s_export_gets_a_new_cache_key_with_its_flag():
    """The header of every normal map's DDS changed; the other DDS files are byte for byte as before, and their keys
    (every default, and the list of maps) are pinned as they were, so that an upgrade exports only the normal maps
    again, where a version bump would have exported every DDS."""
    before = {"format": "auto", "kind": "color", "mipmaps": True, "alpha": "auto", "alpha_cutoff": None}
    assert ExportDdsParams().key_params() == {**before, "maps": []}
    assert ExportDdsParams(maps=("albedo", "roughness")).key_params() == {**before, "maps": ["albedo", "roughness"]}
    assert ExportDdsParams(kind="normal").key_params() == {
        **before, "kind": "normal", "maps": [], "normal_flag": "DDPF_NORMAL"}
    assert ExportDdsParams(maps=("albedo", "normal")).key_params() == {
        **before, "maps": ["albedo", "normal"], "normal_flag": "DDPF_NORMAL"}


def test_a_map_given_its_own_format_is_exported_in_it_and_the_others_in_format_s():
    """maps could not give bc3n to the normal map alone (format: bc3n is refused with maps, fitting only it). Each
    entry is a map's name or ``name: format``, YAML's one-key mapping in a list (``[albedo, normal: bc3n]``); a
    mapping of every map (``{albedo: bc7, normal: bc3n}``) is that list. The key holds each format's own name."""
    params = ExportDdsParams(maps=("albedo", {"normal": "DXT5nm"}, {"roughness": None}, "ao"), format="bc7")
    assert params.map_formats() == {"albedo": "bc7", "normal": "bc3n", "roughness": "bc7", "ao": "bc7"}
    assert params.input_roles() == {"albedo.png", "normal.png", "roughness.png", "ao.png"}
    assert params.output_names() == ("albedo.dds", "normal.dds", "roughness.dds", "ao.dds")
    assert params.key_params()["maps"] == ["albedo", {"normal": "bc3n"}, "roughness", "ao"]
    mapping = ExportDdsParams(maps={"albedo": "BC1", "normal": "bc3n", "ao": None})
    assert mapping.maps == ({"albedo": "bc1"}, {"normal": "bc3n"}, "ao")
    assert mapping.map_formats() == {"albedo": "bc1", "normal": "bc3n", "ao": "auto"}


def test_bc7_keeps_far_more_of_a_texture_in_a_dx10_file(tmp_path):
    texture = brick()
    exported = export_dds(texture, format="bc7")
    assert exported.data[84:88] == b"DX10" and struct.unpack_from("<2I", exported.data, 128) == (99, 3)  # sRGB, 2D
    assert block_psnr(exported) > block_psnr(export_dds(texture)) + 5
    (tmp_path / "b.dds").write_bytes(exported.data)
    read = read_image(tmp_path / "b.dds")
    assert psnr(np.rint(linear_to_srgb(read.color) * 255), np.rint(linear_to_srgb(texture.color) * 255)) > 40
    assert read.alpha is None  # every texel stored opaque (etcpak's alpha modes gave many 254)
    grey = Image(texture.color[..., :1])
    assert struct.unpack_from("<I", export_dds(grey, format="bc7", kind="data").data, 128)[0] == 98  # values as stored


def test_a_hidden_key_colour_does_not_pull_the_visible_texels_of_its_block():
    """Magenta under alpha 0 beside two greys in one 4x4 block: filled first, it leaves the block's end
    colours to the visible texels; kept (``alpha: data``), it drags them toward itself."""
    color = np.zeros((4, 4, 3), np.float32)
    color[:, :2] = [1, 0, 1]  # hidden
    color[:, 2], color[:, 3] = srgb_to_linear(np.float32(0.4)), srgb_to_linear(np.float32(0.6))
    alpha = np.ones((4, 4), np.float32)
    alpha[:, :2] = 0
    sprite = Image(color, alpha)
    visible = np.rint(linear_to_srgb(color[:, 2:]) * 255)

    def error(meaning: str) -> float:
        decoded = levels(export_dds(sprite, mipmaps=False, alpha=meaning).data)[0]
        return float(np.abs(decoded[:, 2:, :3] - visible).max())

    assert error("auto") <= 6 and error("data") > 50  # 5 and 94 grey levels


@pytest.mark.parametrize("format", ["bc1", "bc3"])
def test_a_flat_colour_comes_back_within_a_level(format):
    """etcpak alone turns (200, 120, 40) into (206, 121, 41); the flat block's ends are picked for it."""
    values = np.arange(256)
    sweep = np.stack([values, 255 - values, values * 7 % 256], axis=1) / 255  # 256 flat 4x4 blocks in a row
    texture = Image(np.repeat(np.repeat(sweep[None], 4, axis=0), 4, axis=1).astype(np.float32))
    stored = levels(export_dds(texture, format=format, kind="data", mipmaps=False).data)[0][..., :3]
    assert np.abs(stored.astype(int) - np.rint(texture.color * 255)).max() <= 1


def test_refining_never_leaves_a_block_further_from_its_texels():
    photo = np.ascontiguousarray(np.concatenate([data.astronaut()[:128, :128], np.full((128, 128, 1), 255, np.uint8)],
                                                axis=2))
    photo[:32, :32, :3] = (200, 120, 40)  # some flat blocks among the photo's
    etcpak_blocks = np.frombuffer(etcpak.compress_bc1(photo.tobytes(), 128, 128), np.uint8).reshape(-1, 8)
    refined = etcpak_blocks.copy()
    bc1.refine(refined, bc1.texel_blocks(photo))

    def block_errors(blocks: np.ndarray) -> np.ndarray:
        decoded = np.asarray(PILImage.frombytes("RGBA", (128, 128), blocks.tobytes(), "bcn", 1))
        squared = (decoded[..., :3].astype(int) - photo[..., :3]) ** 2
        return bc1.texel_blocks(squared).sum(axis=(1, 2))

    before, after = block_errors(etcpak_blocks), block_errors(refined)
    assert (after <= before).all() and (after < before).sum() >= 64  # the flat corner's 64 blocks at least


def leaves(size: int = 64, opacity: float = 1.0) -> Image:
    """Grey leaves cut out of transparency, a texel each, covering 30% of the texture, as a hedge's card."""
    alpha = (np.random.default_rng(3).random((size, size)) < 0.3).astype(np.float32) * np.float32(opacity)
    return Image(np.full((size, size, 3), 0.3, np.float32), alpha)


def test_bc1a_keeps_cut_outs_transparent_in_half_a_bc3_s_bytes():
    texture = leaves()
    exported = export_dds(texture, format="bc1a")
    assert exported.data[84:88] == b"DXT1" and len(exported.data) == len(export_dds(Image(texture.color)).data)
    for level, chain in zip(levels(exported.data), mip_chain(texture)):
        np.testing.assert_array_equal(level[..., 3], np.where(chain.alpha >= 0.5, 255, 0))
    top = levels(exported.data)[0]
    shown = texture.alpha > 0
    assert np.abs(top[shown][:, :3].astype(int) - np.rint(linear_to_srgb(np.float32(0.3)) * 255)).max() <= 1
    assert block_psnr(exported) > 50  # the colour of a texel stored transparent is not compared: it is never seen


def test_alpha_cutoff_keeps_a_hedge_s_coverage_in_every_mip_level():
    texture = leaves()
    top_share = float((texture.alpha > 0.5).mean())  # 0.3

    def shares(**params: object) -> list[float]:
        return [float((level.alpha > 0.5).mean()) for level in mip_chain(texture, **params)[1:5]]

    assert max(shares()) < 0.1  # averaged, the leaves fall under the cut-off: the hedge goes bald at a distance
    assert np.allclose(shares(alpha_cutoff=0.5), top_share, atol=0.1)  # as near as the levels' tied alphas allow
    kept = levels(export_dds(texture, format="bc1a", alpha_cutoff=0.5).data)[1:5]
    assert np.allclose([float((level[..., 3] == 255).mean()) for level in kept], top_share, atol=0.1)


def test_a_soft_edge_keeps_the_alpha_between_its_0_and_255():
    """etcpak spreads a block's alpha steps from 0 to 255 and brings 128 back as 145; the six-value mode keeps
    0 and 255 apart from its steps."""
    alpha = np.array([0] * 5 + [128] * 6 + [255] * 5, np.float32).reshape(4, 4) / 255
    edge = Image(np.full((4, 4, 3), 0.5, np.float32), alpha)
    stored = levels(export_dds(edge, mipmaps=False).data)[0][..., 3]
    np.testing.assert_array_equal(stored, np.rint(alpha * 255))


def test_refining_bc4_never_leaves_a_block_further_from_its_values():
    """A disc's soft edge enlarged 4x, as BC3 keeps alpha, BC4 a grey map and BC5 each normal channel."""
    y, x = np.indices((128, 128))
    disc = np.clip((40 - np.hypot(y - 64, x - 64)) / 6, 0, 1)  # 0 outside, 1 inside, a ramp between
    values = np.rint(disc * 255).astype(np.uint8)
    rgba = np.ascontiguousarray(np.repeat(values[..., None], 4, axis=2))
    etcpak_blocks = np.frombuffer(etcpak.compress_bc4(rgba.tobytes(), 128, 128), np.uint8).reshape(-1, 8)
    refined = etcpak_blocks.copy()
    bc4.refine(refined, bc1.texel_blocks(rgba)[..., 0])

    def block_errors(blocks: np.ndarray) -> np.ndarray:
        decoded = np.asarray(PILImage.frombytes("L", (128, 128), blocks.tobytes(), "bcn", 4))
        return bc1.texel_blocks(((decoded.astype(int) - values) ** 2)[..., None]).sum(axis=(1, 2))

    before, after = block_errors(etcpak_blocks), block_errors(refined)
    assert (after <= before).all() and (after < before).sum() >= 16


def test_an_alpha_at_the_cut_off_passes_as_an_alpha_test_passes_it():
    """Direct3D's GREATEREQUAL test and a shader's clip(alpha - cutoff) draw a texel whose alpha is the cut-off."""
    texture = leaves(opacity=51 / 255)  # 0.2, stored as 51
    assert share_passing(texture.alpha, 0.2) == pytest.approx(0.3, abs=0.02)
    stored = levels(export_dds(texture, format="bc1a", alpha_cutoff=0.2).data)
    shares = [float((level[..., 3] == 255).mean()) for level in stored]
    assert shares[0] == share_passing(texture.alpha, 0.2) and np.allclose(shares[1:5], shares[0], atol=0.1)


def test_an_alpha_short_of_the_cut_off_in_every_texel_stays_transparent_in_every_level():
    """Levels averaging 126 and 127 land on 126.5: scaled to the cut-off itself, it was stored as 128, visible."""
    alpha = np.tile(np.array([[127, 126], [126, 127]], np.float32), (16, 16)) / 255  # short of 0.5's 128
    texture = Image(np.full((32, 32, 3), 0.5, np.float32), alpha)
    for cutoff in (None, 0.5):
        assert all((level[..., 3] == 0).all() for level in levels(export_dds(texture, format="bc1a", alpha_cutoff=cutoff).data))


@pytest.mark.parametrize(("alpha", "share", "passing"), [
    (np.full((4, 4), 0.3), 0.0, 0.0),
    (np.full((4, 4), 0.3), 1.0, 1.0),
    (np.linspace(0, 1, 16).reshape(4, 4), 1.0, 15 / 16),  # an alpha of 0 passes at no scale
    (np.linspace(0, 1, 16).reshape(4, 4), 0.25, 0.25),
    (np.zeros((4, 4)), 0.5, 0.0),
])
def test_coverage_is_kept_as_near_as_the_stored_values_allow(alpha, share, passing):
    scaled = with_coverage(alpha.astype(np.float32), 0.5, share)
    assert share_passing(scaled, 0.5) == passing and np.isfinite(scaled).all() and scaled.max() <= 1


def test_refining_reads_a_bc3_colour_block_in_the_four_colour_mode():
    """BC3's colour half has no three-colour mode: a block whose first end is the smaller still holds thirds,
    and a block that keeps its texels exactly is not replaced by a flat one."""
    word = sum(0b10 << 2 * texel for texel in range(1, 16))  # texel 0 the first end, the rest two thirds of it
    block = struct.pack("<2HI", 0x0000, 0xF800, word)  # black, then red: in BC1 the three-colour order
    texels = np.asarray(PILImage.frombytes("RGBA", (4, 4), bytes(8) + block, "bcn", 3))
    assert tuple(texels[0, 1, :3]) == (85, 0, 0)
    colour = np.frombuffer(block, np.uint8).reshape(1, 8).copy()
    bc1.refine(colour, bc1.texel_blocks(texels), beside_alpha=True)
    assert colour.tobytes() == block


@pytest.mark.parametrize(("spelled", "shortest"), [
    ({"maps": ["albedo", {"normal": "auto"}]}, {"maps": ["albedo", "normal"]}),
    ({"maps": {"albedo": "auto", "normal": None}}, {"maps": ["albedo", "normal"]}),
    ({"format": "BC7", "maps": [{"albedo": "bc7"}, {"normal": "BC7"}]}, {"format": "bc7", "maps": ["albedo", "normal"]}),
    ({"format": "DXT1", "maps": {"albedo": "bc1", "normal": "DXT5nm"}},
     {"format": "bc1", "maps": ["albedo", {"normal": "bc3n"}]}),
    ({"format": "auto", "kind": "color", "mipmaps": True, "resize_to_blocks": False}, {}),
])
def test_a_redundant_spelling_of_maps_or_format_keys_the_export_as_the_shortest_one_does(spelled, shortest):
    """``maps: [albedo, normal: auto]`` means ``maps: [albedo, normal]``, yet keyed apart it exported the same files
    again. Each is keyed as the shortest spelling, whose key is as it was, so that specs written so keep theirs."""
    assert ExportDdsParams.model_validate(spelled).key_params() == ExportDdsParams.model_validate(shortest).key_params()


def test_a_map_s_own_format_that_differs_from_format_stays_in_the_key():
    """``normal: auto`` beside ``format: bc7`` gives the normal map auto's bc5, not bc7: not a redundant spelling."""
    params = ExportDdsParams(format="bc7", maps=("albedo", {"normal": "auto"}))
    assert params.key_params()["maps"] == ["albedo", {"normal": "auto"}]
    assert params.map_formats() == {"albedo": "bc7", "normal": "auto"}
