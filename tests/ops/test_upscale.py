"""The plain-resampling baseline."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tifffile

from ops.image_io import Image, read_image, write_image
from ops.registry import SINGLE_OUTPUT, OpContext
from ops.upscale import UpscaleParams, resize, run, upscale

from helpers import traced_peak


@pytest.mark.parametrize("filter", ["nearest", "bicubic", "lanczos"])
@pytest.mark.parametrize("scale", [2, 3, 4, 32])  # any integer: a 16-px icon enlarged 32x is 512 px
def test_sizes_and_alpha(filter, scale):
    image = Image(np.random.default_rng(0).random((5, 7, 3), dtype=np.float32), np.ones((5, 7), np.float32), 16)
    result = upscale(image, scale, filter)
    assert result.color.shape == (5 * scale, 7 * scale, 3)
    assert result.alpha.shape == (5 * scale, 7 * scale) and result.bit_depth == 16
    assert 0 <= result.color.min() and result.color.max() <= 1


@pytest.mark.parametrize("arguments, refused", [
    ({"filter": "box"}, "filter 'box': should be 'nearest', 'bicubic' or 'lanczos'"),  # was KeyError: 'box'
    ({"scale": 0}, "scale 0: should be greater than or equal to 1"),  # was "height and width must be > 0"
    ({"scale": 2.5}, "scale 2.5: should be a valid integer, got a number with a fractional part"),
    ({"scale": True}, "scale True: expected a number, not a boolean"),  # enlarged 1x
    ({"alpha": "mask"}, "alpha 'mask': should be 'auto', 'coverage' or 'data'"),  # taken for data
    ({"wrap": "sometimes"}, "wrap 'sometimes': should be 'auto' or a valid boolean"),
    ({"wrap": (True,)}, "wrap (True,): expected (wraps vertically, wraps horizontally), two booleans"),
])
def test_a_direct_call_is_refused_naming_the_argument_the_op_s_params_would_refuse(arguments, refused):
    image = Image(np.zeros((4, 4, 3), np.float32), np.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match=re.escape(refused)):
        upscale(image, **arguments)
    assert upscale(image, np.int64(3)).color.shape == (12, 12, 3)  # a numpy integer is a whole number


def test_a_filter_is_taken_in_any_case_as_export_dds_takes_a_format():
    """filter: LANCZOS, as Pillow spells its constant, was refused, where export_dds takes format: BC7."""
    image = Image(np.random.default_rng(0).random((6, 6, 3), dtype=np.float32))
    assert [UpscaleParams(filter=name).filter for name in ("LANCZOS", "Bicubic", "nearest")] == [
        "lanczos", "bicubic", "nearest"]
    assert np.array_equal(upscale(image, 2, "LANCZOS").color, upscale(image, 2, "lanczos").color)
    with pytest.raises(ValueError, match=re.escape("filter 'BOX': should be 'nearest', 'bicubic' or 'lanczos'")):
        upscale(image, filter="BOX")  # quoted as written


def test_resize_refuses_an_empty_size_or_an_unknown_filter_by_name():
    plane = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ValueError, match=re.escape("size (0, 8): expected a height and width of 1 pixel or more")):
        resize(plane, (0, 8))
    with pytest.raises(ValueError, match=re.escape("filter 'bilinear': expected one of nearest, box, bicubic, lanczos")):
        resize(plane, (8, 8), "bilinear")  # type: ignore[arg-type]


def test_resize_takes_its_filter_in_any_case_as_upscale_does():
    """resize(plane, size, "LANCZOS") was refused while upscale(image, filter="LANCZOS") was taken."""
    plane = np.random.default_rng(0).random((4, 4, 3), np.float32)
    for written, name in [("LANCZOS", "lanczos"), ("Box", "box"), ("Nearest", "nearest"), ("BICUBIC", "bicubic")]:
        np.testing.assert_array_equal(resize(plane, (8, 8), written), resize(plane, (8, 8), name))
    with pytest.raises(ValueError, match=re.escape("filter 'Bilinear': expected one of nearest, box, bicubic, lanczos")):
        resize(plane, (8, 8), "Bilinear")  # quoted as written


def test_resize_refuses_a_plane_without_channels_or_of_another_scale_by_name():
    plane = np.zeros((4, 4, 3), np.float32)
    with pytest.raises(ValueError, match=re.escape("got shape (4, 4) (plane[..., None] for one)")):
        resize(plane[..., 0], (8, 8))  # was IndexError: tuple index out of range
    with pytest.raises(ValueError, match=re.escape("from 0 to 255 (divide 0-255 values by 255")):
        resize(plane * 255 + np.arange(4)[:, None, None] * 85, (8, 8))  # was clipped to white


def test_a_direct_call_for_a_normal_map_refuses_a_grey_image_by_name():
    with pytest.raises(ValueError, match=re.escape("given normal_map=True but has 1 colour channel")):  # was IndexError
        upscale(Image(np.zeros((4, 4, 1), np.float32)), 2, normal_map=True)


def test_nearest_repeats_pixels_exactly():
    color = np.arange(6, dtype=np.float32).reshape(2, 3, 1) / 6
    result = upscale(Image(color), 2, "nearest")
    np.testing.assert_array_equal(result.color, np.repeat(np.repeat(color, 2, 0), 2, 1))


def test_flat_colour_stays_flat():
    result = upscale(Image(np.full((4, 4, 1), 0.3, np.float32)), 4, "lanczos")
    np.testing.assert_allclose(result.color, 0.3, atol=1e-5)


def test_a_cut_out_keeps_its_colour_up_to_its_edge():
    yy, xx = np.mgrid[0:32, 0:32]
    alpha = ((yy - 15.5) ** 2 + (xx - 15.5) ** 2 < 100).astype(np.float32)
    color = np.zeros((32, 32, 3), np.float32)
    color[..., 0] = alpha  # a red disc on transparent black, as PNG exporters write it
    result = upscale(Image(color, alpha), 4, "bicubic")
    visible = result.alpha > 0.5
    assert result.color[..., 0][visible].min() > 0.99


def test_a_mask_in_alpha_keeps_the_colour_under_it():
    color = np.full((8, 8, 3), 0.25, np.float32)
    color[:, :4] = 0.75  # fully visible colour; alpha holds a specular mask that is 0 on the left
    mask = np.zeros((8, 8), np.float32)
    mask[:, 4:] = 1.0
    kept = upscale(Image(color, mask), 2, "nearest", alpha="data")
    np.testing.assert_array_equal(kept.color, np.repeat(np.repeat(color, 2, 0), 2, 1))
    bled = upscale(Image(color, mask), 2, "nearest")  # auto: coverage, the hidden colour is replaced
    assert np.allclose(bled.color, 0.25)


@pytest.mark.parametrize("filter", ["bicubic", "lanczos"])
def test_a_cut_out_is_exactly_opaque_and_transparent_away_from_its_edge(filter):
    yy, xx = np.mgrid[0:32, 0:32]
    alpha = ((yy - 15.5) ** 2 + (xx - 15.5) ** 2 < 100).astype(np.float32)
    result = upscale(Image(np.full((32, 32, 3), 0.5, np.float32), alpha), 2, filter)
    for value in (1.0, 0.0):
        uniform = np.ones_like(alpha, bool)  # texels whose whole 3x3 neighbourhood has this alpha
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                uniform &= np.roll(alpha == value, (dy, dx), axis=(0, 1))
        cells = uniform.repeat(2, 0).repeat(2, 1)
        assert cells.any() and (result.alpha[cells] == value).all()  # ringing gave 1-15 and 244-254 in 8 bits


@pytest.mark.parametrize("filter", ["bicubic", "lanczos"])
def test_a_wrapped_texture_enlarges_as_its_tiling_does(filter):
    texture = np.random.default_rng(1).random((12, 10, 3), dtype=np.float32)
    wrapped = upscale(Image(texture), 3, filter, wrap=(True, True)).color
    tiled = upscale(Image(np.tile(texture, (3, 3, 1))), 3, filter).color  # the middle copy sees its neighbours
    np.testing.assert_allclose(wrapped, tiled[36:72, 30:60], atol=1e-5)


def _write_normal_map(path, slope: np.ndarray) -> None:
    normal = np.dstack([-slope, np.ones(slope.shape[:2])])
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    write_image(path, Image(((normal + 1) / 2).astype(np.float32)), colorspace="linear")


def test_a_normal_map_taken_as_colour_is_warned_about_naming_it(tmp_path, caplog):
    """Left as kind: color, a normal map was enlarged as colour and not renormalized without a word."""
    _write_normal_map(tmp_path / "n.png", np.random.default_rng(2).normal(0, 0.3, (32, 32, 2)))
    with caplog.at_level("WARNING"):
        run({"image": tmp_path / "n.png"}, tmp_path / "out", UpscaleParams(wrap=False), OpContext())
    assert f"{tmp_path / 'n.png'} looks like a tangent-space normal map, and upscale takes it as colour" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        run({"image": tmp_path / "n.png"}, tmp_path / "normal", UpscaleParams(kind="normal", wrap=False), OpContext())
    assert not caplog.text


def test_a_normal_map_stays_unit_length(tmp_path):
    _write_normal_map(tmp_path / "n.png", np.random.default_rng(2).normal(0, 0.8, (32, 32, 2)))  # rough, every texel
    run({"image": tmp_path / "n.png"}, tmp_path / "out", UpscaleParams(kind="normal", wrap=False), OpContext())
    vectors = read_image(tmp_path / "out" / "output.png", colorspace="linear").color * 2 - 1
    assert np.abs(np.linalg.norm(vectors, axis=2) - 1).max() < 0.01


@pytest.mark.parametrize("grey", [127, 128])
@pytest.mark.parametrize("bit_depth", [8, 16])
def test_a_normal_maps_mid_grey_texels_come_out_straight_up(tmp_path, grey, bit_depth):
    """Mid-grey is the nearest a map stores to a zero vector (where a baker hit nothing): it was stretched to
    unit length along the diagonal, a 55° tilt (201, 201, 201), or from 127 into the surface (54, 54, 54)."""
    stored = np.full((8, 8, 3), 0.5, np.float32)
    stored[:4] = [0.5, 0.5, 1.0]  # a flat half beside it
    stored[4:] = grey / 255
    write_image(tmp_path / "n.png", Image(stored, bit_depth=bit_depth), colorspace="linear")
    run({"image": tmp_path / "n.png"}, tmp_path / "out", UpscaleParams(kind="normal", filter="nearest"), OpContext())
    vectors = read_image(tmp_path / "out" / "output.png", colorspace="linear").color * 2 - 1
    np.testing.assert_allclose(vectors[8:], np.broadcast_to([0, 0, 1], (8, 16, 3)), atol=1.5 / 255)


def test_auto_wraps_the_axes_that_tile(tmp_path):
    x = np.mgrid[0:32, 0:32][1] * (2 * np.pi / 32)
    slope = np.stack([0.4 * np.cos(x), np.zeros_like(x)], axis=2)  # bumps that tile across, a ramp down
    slope[..., 1] = np.linspace(-0.6, 0.6, 32)[:, None]
    _write_normal_map(tmp_path / "n.png", slope)
    meta = run({"image": tmp_path / "n.png"}, tmp_path / "out", UpscaleParams(kind="normal"), OpContext())
    assert (meta["wrap_x"], meta["wrap_y"]) == (1, 0)
    from_python = upscale(read_image(tmp_path / "n.png", colorspace="linear"), wrap="auto", normal_map=True)
    written = read_image(tmp_path / "out" / "output.png", colorspace="linear")
    assert np.abs(from_python.color - written.color).max() <= 0.5 / 255  # wrap: auto from Python too


def test_a_direct_call_takes_wrap_as_the_op_and_super_resolve_do():
    """``wrap="auto"`` and ``wrap=True`` were refused: upscale took only a (y, x) pair, super_resolve never one."""
    texture = Image(np.random.default_rng(0).random((8, 8, 3), dtype=np.float32))
    both = upscale(texture, wrap=(True, True)).color
    np.testing.assert_array_equal(upscale(texture, wrap=True).color, both)
    np.testing.assert_array_equal(upscale(texture, wrap="auto").color, both)  # noise tiles
    ramp = Image(np.broadcast_to(np.linspace(0, 1, 8, dtype=np.float32)[None, :, None], (8, 8, 3)).copy())
    np.testing.assert_array_equal(upscale(ramp, wrap="auto").color, upscale(ramp, wrap=False).color)  # a ramp does not


def test_a_direct_call_with_the_defaults_makes_the_op_s_bytes(tmp_path):
    """The op's wrap is auto, and a direct call's was off: a tiling texture enlarged from a script with the defaults
    came out with seams the op's output has not."""
    texture = Image(np.random.default_rng(0).random((16, 16, 3), dtype=np.float32))  # noise tiles
    write_image(tmp_path / "t.png", texture, colorspace="linear")
    run({"image": tmp_path / "t.png"}, tmp_path / "op", UpscaleParams(), OpContext())
    enlarged = upscale(read_image(tmp_path / "t.png", colorspace="linear"))
    write_image(tmp_path / "script.png", enlarged, colorspace="linear")
    assert (tmp_path / "script.png").read_bytes() == (tmp_path / "op" / "output.png").read_bytes()


@pytest.mark.parametrize("size", [(44, 32), (40, 28), (12, 9), (84, 60)])
def test_a_wrapped_resize_by_any_factor_is_the_middle_of_its_tiling_resized(size):
    """export_dds resamples a tiling texture of 42x30 to 44x32 for its blocks: a wrapped resize took whole
    factors only (the margins it reads across the border must resize to whole texels)."""
    texture = np.random.default_rng(3).random((42, 30, 1), dtype=np.float32)
    tiled = resize(np.tile(texture, (3, 3, 1)), (3 * size[0], 3 * size[1]), "lanczos")
    np.testing.assert_allclose(resize(texture, size, "lanczos", (True, True)),
                               tiled[size[0] : 2 * size[0], size[1] : 2 * size[1]], atol=1e-5)


def test_a_wrapped_resize_to_a_side_of_no_common_factor_pads_a_filter_reach_not_the_texture():
    """255 to 256 (export_dds's resize_to_blocks on an awkward side): margins that resized to whole texels
    were the whole texture each side, nine times its area (1.6 GB and 14 s for a 2047x2047 texture)."""
    
    texture = np.random.default_rng(4).random((255, 255, 3), dtype=np.float32)
    _, peak = traced_peak(lambda: resize(texture, (256, 256), "lanczos", (True, True)))
    assert peak < 4 * texture.nbytes, peak / texture.nbytes


def test_a_grey_texture_marked_as_a_normal_map_is_named(tmp_path):
    from ops.superres.infer import run as super_resolve
    from ops.superres.model import SRCAE, SRCAEConfig
    from ops.superres.params import SuperResolveParams
    from ops.superres.weights import save_srcae

    write_image(tmp_path / "grey.png", Image(np.full((8, 8, 1), 0.5, np.float32)))
    save_srcae(tmp_path / "m.pth", SRCAE(SRCAEConfig()))
    with pytest.raises(ValueError, match="grey.png is marked kind: normal but has 1 colour channel"):
        run({"image": tmp_path / "grey.png"}, tmp_path / "up", UpscaleParams(kind="normal"), OpContext())
    with pytest.raises(ValueError, match="grey.png is marked kind: normal but has 1 colour channel"):
        super_resolve({"image": tmp_path / "grey.png"}, tmp_path / "sr", SuperResolveParams(model="m", kind="normal"),
                      OpContext(device="cpu", model=tmp_path / "m.pth"))


def _stripes(low: float, high: float) -> np.ndarray:
    """(32, 32, 1) stored values: rows of ``high`` four texels tall every eight, on ``low``."""
    rows = np.where(np.arange(32) % 8 < 4, high, low).astype(np.float32)
    return np.broadcast_to(rows[:, None, None], (32, 32, 1)).copy()


def test_a_bright_edge_gets_no_black_outline(tmp_path):
    write_image(tmp_path / "slats.png", Image(_stripes(0.26, 1.0).repeat(3, axis=2)), colorspace="linear")
    run({"image": tmp_path / "slats.png"}, tmp_path / "out", UpscaleParams(scale=4), OpContext())
    stored = read_image(tmp_path / "out" / "output.png", colorspace="linear").color
    # Enlarged in linear light, Lanczos' undershoot took the dark side of each edge to 0 (black).
    assert stored.min() > 0.15  # Lanczos still rings, by a tenth of the step


def test_a_grey_height_map_keeps_its_mean_level(tmp_path):
    write_image(tmp_path / "height.png", Image(_stripes(0.2, 0.8), bit_depth=16), colorspace="linear")
    run({"image": tmp_path / "height.png"}, tmp_path / "out", UpscaleParams(scale=4), OpContext())
    stored = read_image(tmp_path / "out" / "output.png", colorspace="linear").color
    assert abs(float(stored.mean()) - 0.5) < 1e-3  # was 0.494: a data map decoded as sRGB colour


def test_a_role_it_cannot_use_is_named_and_the_output_folder_may_be_a_string(tmp_path):
    write_image(tmp_path / "t.png", Image(np.full((8, 8, 3), 0.5, np.float32)))
    with pytest.raises(ValueError, match="upscale takes one input role, 'image'; got flash"):  # was KeyError: 'image'
        run({"flash": tmp_path / "t.png"}, tmp_path / "out", UpscaleParams(), OpContext())
    run({"image": tmp_path / "t.png"}, str(tmp_path / "out"), UpscaleParams(), OpContext())  # was a TypeError
    assert read_image(tmp_path / "out" / "output.png").width == 16


def test_a_result_no_engine_can_load_is_refused_before_it_is_made(tmp_path):
    write_image(tmp_path / "strip.png", Image(np.full((4, 5000, 3), 0.5, np.float32)))
    with pytest.raises(ValueError, match=r"strip.png: the result would be 20000x16 px, and engines and GPUs load "
                                         r"textures of at most 16384 px a side"):
        run({"image": tmp_path / "strip.png"}, tmp_path / "out", UpscaleParams(scale=4), OpContext())
    with pytest.raises(ValueError, match="the texture: the result would be 32768x32768 px"):  # tried for 12 GiB
        upscale(Image(np.zeros((1024, 1024, 3), np.float32)), 32)


def test_a_16_bit_photo_from_a_raw_developer_enlarges_to_a_16_bit_png(tmp_path):
    texels = np.random.default_rng(0).integers(0, 65536, (6, 6, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "photo.tif", texels, photometric="rgb", compression="lzw")
    run({"image": tmp_path / "photo.tif"}, tmp_path / "out", UpscaleParams(filter="nearest"), OpContext())
    enlarged = read_image(tmp_path / "out" / SINGLE_OUTPUT, colorspace="linear")
    assert enlarged.bit_depth == 16
    np.testing.assert_array_equal(np.rint(enlarged.color[::2, ::2] * 65535), texels)
