"""The multiply op end to end on small textures: outputs, determinism, guards, alpha, VGG weights, errors."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydantic
import pytest
import skimage.data
import torch
from PIL import Image as PILImage
from scipy import ndimage

import ops.multiply.run as multiply_op
from ops.image_io import Image, read_image, srgb_to_linear, write_image
from ops.material.gltf import write_material_gltf
from ops.material.maps import decode_normal, encode_normal, height_from_normal, normal_from_height
from ops.multiply import metrics
from ops.multiply.features import VGG19, RandomFilters, RandomFiltersConfig
from ops.multiply.gram import FeaturePart, texture_statistics, upsample
from ops.multiply.lighting import even_lighting, illumination
from ops.multiply.params import MIN_COVERAGE_RATIO, MIN_VARIANT_DIFFERENCE, NCC_BOUND, SEAM_BOUND, MultiplyParams
from ops.multiply.run import exemplar_planes, run
from ops.registry import OPS, OpContext

from helpers import DEVICES, REPO, SHARED, needs_cuda, traced_peak

FLAT = SHARED / "legacy" / "freedoom" / "flats" / "aqf001.png"


@pytest.fixture(scope="module")
def gravel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exemplars") / "gravel.png"
    PILImage.fromarray(skimage.data.gravel()[:96, :96]).save(path)
    return path


@pytest.fixture(scope="module")
def sprite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64x64 RGBA texture whose alpha is a pattern of holes, like a grate."""
    rgb = np.asarray(PILImage.open(FLAT).convert("RGB"))
    y, x = np.mgrid[0:64, 0:64]
    alpha = np.where((np.hypot((y % 16) - 8, (x % 16) - 8) < 4), 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("exemplars") / "grate.png"
    PILImage.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(path)
    return path


def multiply(src: Path, out: Path | str, device: str = "cpu", **params: object) -> dict[str, float | int | str]:
    return dict(run({"image": src}, out, MultiplyParams(**params), OpContext(device=device)))


def test_registry_names_this_op_and_params_load_without_torch() -> None:
    assert OPS["multiply"].params_model() is MultiplyParams
    assert OPS["multiply"].runner() is run
    code = "import sys, ops.multiply.params; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_params_defaults_names_and_files() -> None:
    params = MultiplyParams.model_validate({"count": 4, "size": 512, "tileable": True, "method": "gram"})
    assert params.output_names() == ("variant_00.png", "variant_01.png", "variant_02.png", "variant_03.png")
    assert params.file_params() == {}
    assert MultiplyParams(vgg_weights=Path("w.pth")).file_params() == {"vgg_weights": Path("w.pth")}
    with pytest.raises(pydantic.ValidationError):
        MultiplyParams.model_validate({"count": 2, "colour": "red"})
    with pytest.raises(pydantic.ValidationError):
        MultiplyParams(method="neural")


def test_cpu_threads_joins_the_key_of_gram_alone_so_patch_variants_built_before_it_keep_theirs() -> None:
    patch, gram = MultiplyParams(method="patch", cpu_threads=4), MultiplyParams(method="gram")
    assert "cpu_threads" not in patch.key_params() and gram.key_params()["cpu_threads"] == 1
    assert all("cpu_threads" not in unit for unit in patch.output_units().values())

    class Mislisted(MultiplyParams):  # a field that changes the outputs, listed as added since by mistake
        def later_neutral_fields(self) -> tuple[str, ...]:
            return ("steps",)

    assert Mislisted(method="gram").key_params()["steps"] == 100  # stays in the key: a changed result is never reused


def test_patch_writes_the_named_variants_and_guards(gravel: Path, tmp_path: Path) -> None:
    meta = multiply(gravel, tmp_path, method="patch", count=3, size=128, patch_size=24)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["variant_00.png", "variant_01.png", "variant_02.png"]
    for name in MultiplyParams(count=3).output_names():
        assert read_image(tmp_path / name).color.shape == (128, 128, 1)
    assert meta["max_ncc"] < NCC_BOUND
    assert meta["min_variant_difference"] >= MIN_VARIANT_DIFFERENCE
    assert meta["seam_ratio"] <= SEAM_BOUND
    assert {"seconds", "texture_distance", "method"} <= set(meta)


def test_patch_keeps_the_contrast_of_an_exemplar_with_big_flat_areas() -> None:
    # A flat overlap is matched best by a flat block: two of these four variants were a brick's face alone,
    # 3% of the exemplar's contrast, which no guard caught (a flat window correlates with nothing).
    bricks = Image(srgb_to_linear(skimage.data.brick()[:64, :64, None].astype(np.float32) / 255))
    made = multiply_op.multiply(bricks, method="patch", count=4, size=64, device="cpu")
    contrast = [round(float(exemplar_planes(v).std() / exemplar_planes(bricks).std()), 2) for v in made]
    assert min(contrast) >= 0.25, contrast


def _write_normal_map(path: Path, height: np.ndarray) -> None:
    """The tangent-space normal map of ``height`` (texels of height per texel), stored as a file holds it."""
    gy, gx = np.gradient(height)
    vectors = np.dstack([-gx, -gy, np.ones_like(gx)])
    vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
    write_image(path, Image(((vectors + 1) / 2).astype(np.float32)), colorspace="linear")


@pytest.fixture(scope="module")
def unevenly_lit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fine-grained texture as a photo lit by a flash off centre (a hotspot falling to a fifth at the far
    corner), and the same texture evenly lit: what the lit one's variants should look like."""
    folder = tmp_path_factory.mktemp("lit")
    noise = ndimage.gaussian_filter(np.random.default_rng(5).standard_normal((192, 192)), 1.5, mode="wrap")
    even = 0.5 + 0.12 * noise / noise.std()
    y, x = np.mgrid[0:192, 0:192] / 191
    light = 0.2 + 0.8 * np.exp(-((x - 0.3) ** 2 + (y - 0.4) ** 2) / 0.15)
    for name, texture in (("even.png", even), ("lit.png", even * light)):
        PILImage.fromarray(np.round(texture * 255).astype(np.uint8)).save(folder / name)
    return folder / "lit.png", folder / "even.png"


def test_flatten_evens_out_a_photo_s_lighting_so_that_its_blocks_do_not_show(
    unevenly_lit: tuple[Path, Path], tmp_path: Path
) -> None:
    """Quilted as lit, each block carries its piece of the flash: the variants' brightness spread over 24 px
    squares is over twice the evenly lit texture's (a dark quilt with bright blotches), and the wrap edge, where
    the lighting cannot meet, reads a seam ratio of about 2. With flatten, the lighting is divided out first:
    the spread is no more than the texture's own (0.7-0.85 of it; the bound allows half again), the variants tile
    under the seam guard's bound, and the same seed gives the same bytes."""
    lit, even = unevenly_lit
    own = metrics.block_spread(exemplar_planes(read_image(even)), 24)

    def spreads(folder: Path) -> list[float]:
        return [metrics.block_spread(exemplar_planes(read_image(folder / f"variant_0{i}.png")), 24) / own
                for i in range(2)]

    as_lit = multiply(lit, tmp_path / "as_lit", method="patch", count=2, size=256, patch_size=24)
    flat = multiply(lit, tmp_path / "flat", method="patch", count=2, size=256, patch_size=24, flatten=True)
    assert max(spreads(tmp_path / "as_lit")) > 2 and as_lit["seam_ratio"] > SEAM_BOUND, as_lit
    flattened = spreads(tmp_path / "flat")
    assert max(flattened) <= 1.5 and flat["seam_ratio"] < SEAM_BOUND, (flattened, flat)
    multiply(lit, tmp_path / "again", method="patch", count=1, size=256, patch_size=24, flatten=True)
    assert (tmp_path / "again" / "variant_00.png").read_bytes() == (tmp_path / "flat" / "variant_00.png").read_bytes()


def test_flatten_evens_out_a_material_s_albedo_alone(unevenly_lit: tuple[Path, Path], tmp_path: Path) -> None:
    """Of a material's maps, flatten divides the light out of the albedo only: a roughness is data, and here holds
    the very pattern of the lit albedo, which its variants keep (quilted in register, over twice the even
    texture's spread), while the albedo's come out evenly lit."""
    lit, even = unevenly_lit
    pattern = read_image(lit, colorspace="linear").color[..., 0]
    write_image(tmp_path / "albedo.png", Image(np.dstack([pattern] * 3)), colorspace="linear")
    write_image(tmp_path / "roughness.png", Image(pattern[..., None]), colorspace="linear")
    write_material_gltf(tmp_path / "material.gltf", "lit", orm=False, normal_map=False)
    maps = ("albedo.png", "roughness.png")
    params = MultiplyParams(method="patch", count=1, size=256, patch_size=24, flatten=True, material_maps=maps)
    run({name: tmp_path / name for name in (*maps, "material.gltf")}, tmp_path / "out", params, OpContext())
    own = metrics.block_spread(read_image(even, colorspace="linear").color, 24)
    folder = tmp_path / "out" / "variant_00"
    assert metrics.block_spread(read_image(folder / "albedo.png", colorspace="linear").color, 24) <= 1.5 * own
    assert metrics.block_spread(read_image(folder / "roughness.png", colorspace="linear").color, 24) > 2 * own


def _hotspot_lit(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grey noise texture lit by a broad hotspot off its centre, as float32 RGB planes, with the light and the
    noise it was made of."""
    y, x = np.mgrid[0:side, 0:side] / (side - 1)
    light = np.exp(-((x - 0.3) ** 2 + (y - 0.4) ** 2) / 0.5)
    noise = np.random.default_rng(3).uniform(0.4, 0.6, (side, side))
    return np.repeat((noise * light)[..., None], 3, axis=2).astype(np.float32), light, noise


def test_flatten_fits_a_large_photo_s_light_on_its_brightness_averaged_down() -> None:
    """Fitted on every texel, the light of a 12 MP photo took 35 s and 1.8 GB, as long as quilting it. The light
    is smooth, so it is fitted on the brightness averaged down to about 256 texels a side and only evaluated at
    every texel: a 1024² photo's fit holds at most four of its texels' worth of float64 at once (it held sixteen),
    and finds the hotspot the photo is lit by as that fit did, within a tenth everywhere (9%: the blur before the
    fit flattens the hotspot's peak)."""
    planes, light, _ = _hotspot_lit(1024)
    fitted, peak = traced_peak(lambda: illumination(planes, slice(0, 3)))
    assert peak <= 4 * light.size * 8, peak / 2**20
    ratio = fitted / light
    assert np.abs(ratio / ratio.mean() - 1).max() < 0.1


def test_flatten_holds_little_beside_the_evened_copy_of_a_large_photo() -> None:
    """The light was evaluated as float64 and the photo scaled by it in float64: a 12 MP photo's flatten held 778 MiB
    beside the photo (5.7 times its float32 planes). In float32, and scaled in place in its copy, it holds that copy
    and one plane of light (183 MiB at 12 MP, every texel within a ten-thousandth of a level of float64's)."""
    planes, _, noise = _hotspot_lit(1024)
    evened, peak = traced_peak(lambda: even_lighting(planes, slice(0, 3)))
    assert peak <= 1.5 * planes.nbytes, peak / planes.nbytes
    left = evened[..., 0] / noise  # the light it did not divide out
    assert evened.dtype == np.float32 and np.abs(left / left.mean() - 1).max() < 0.1


def _with_a_black_quarter(lit: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fine grey texture, evenly lit or by a hotspot off centre falling to a fifth, with its bottom right quarter
    pure black (a void, a cut-out painted black), as float32 RGB planes; with the texture evenly lit and unblacked,
    and which texels are not black."""
    noise = ndimage.gaussian_filter(np.random.default_rng(5).standard_normal((192, 192)), 1.5, mode="wrap")
    even = 0.5 + 0.12 * noise / noise.std()
    y, x = np.mgrid[0:192, 0:192] / 191
    light = 0.2 + 0.8 * np.exp(-((x - 0.3) ** 2 + (y - 0.4) ** 2) / 0.15) if lit else 1.0
    shown = np.ones(even.shape, bool)
    shown[96:, 96:] = False
    return np.repeat((even * light * shown)[..., None], 3, axis=2).astype(np.float32), even, shown


def test_flatten_leaves_a_texture_s_black_areas_out_of_the_light_it_fits() -> None:
    """A black quarter was blurred into the brightness and fitted on as light falling off: flatten darkened an
    evenly lit texture's lit part to 0.78 of its level (the median texel) and brightened the texels beside the black
    up to 2.8 times, into white; under a hotspot, what it left of the light over the lit part spread 0.56 (the
    coefficient of variation of the flattened over the unlit texture), against 0.13 with no black. The black is
    left out of the blur and the fit: the evenly lit texture keeps its level within 3%, and the hotspot's light
    leaves a spread of 0.10, as with no black; the black stays black, and a texture all black as it is."""
    planes, even, shown = _with_a_black_quarter(lit=False)
    evened = even_lighting(planes, slice(0, 3))
    kept = evened[..., 0][shown] / even[shown]
    assert 0.97 < np.percentile(kept, 1) and np.percentile(kept, 99) < 1.03, np.percentile(kept, [1, 50, 99])
    assert not evened[~shown].any()
    planes, even, shown = _with_a_black_quarter(lit=True)
    left = even_lighting(planes, slice(0, 3))[..., 0][shown] / even[shown]  # the light it did not divide out
    assert left.std() / left.mean() < 0.12, left.std() / left.mean()
    black = np.zeros((32, 32, 3), np.float32)
    assert not even_lighting(black, slice(0, 3)).any()  # no light to see, and none to divide out


def test_flatten_evens_a_black_area_no_more_than_the_lit_texels_beside_it() -> None:
    """A texture near black (5/255) but for a corner lit by a hotspot: the light fitted on the corner went on falling
    across the rest, to a hundredth of its level, and the near-black texels divided by it came out up to white (62%
    of them at 50/255 or more). The light over them is held within its range over the lit texels: they stay dark."""
    y, x = np.mgrid[0:256, 0:256] / 255
    corner = (x < 0.2) & (y < 0.2)
    planes = np.full((256, 256, 3), 5 / 255, np.float32)
    planes[corner] = 0.6 * (0.2 + 0.8 * np.exp(-((x[corner] - 0.05) ** 2 + (y[corner] - 0.05) ** 2) / 0.01))[:, None]
    evened = even_lighting(planes, slice(0, 3))
    assert evened[~corner].max() < 10 / 255, evened[~corner].max() * 255
    assert np.array_equal(evened, even_lighting(planes.copy(), slice(0, 3)))


def test_flatten_evens_out_the_blotches_gram_learns_from_a_photo_s_lighting(unevenly_lit: tuple[Path, Path]) -> None:
    """gram took the flash's light for part of the texture and made bright and dark blotches of it: its variants'
    brightness spread over 24 px squares was over three times the evenly lit texture's. flatten was patch's alone,
    and gram's warned of as unread; flattened first, gram's variants spread about as much as the texture's own."""
    lit, even = unevenly_lit
    own = metrics.block_spread(exemplar_planes(read_image(even)), 24)

    def spreads(flatten: bool) -> list[float]:
        made = multiply_op.multiply(read_image(lit), method="gram", count=2, size=128, steps=30, flatten=flatten,
                                    device="cpu")
        return [metrics.block_spread(exemplar_planes(variant), 24) / own for variant in made]

    as_lit, flattened = spreads(False), spreads(True)
    assert min(as_lit) > 2 and max(flattened) <= 1.5, (as_lit, flattened)


def test_flatten_off_keeps_the_keys_of_variants_made_before_it() -> None:
    patch = MultiplyParams(method="patch")
    assert "flatten" not in patch.key_params()
    assert patch.key_params() == MultiplyParams(method="patch", flatten=False).key_params()
    assert MultiplyParams(method="patch", flatten=True).key_params()["flatten"] is True
    assert MultiplyParams(method="patch", flatten=True).key_params() != {**patch.key_params(), "flatten": True}, \
        "variants flattened before the light was worked out in float32 differ by a level: not put back from a cache"
    assert MultiplyParams(method="patch", flatten=True).key_params() != {
        **patch.key_params(), "flatten": True, "light_in": "float32"}, \
        "variants flattened before the light was fitted off a texture's black areas: not put back from a cache"
    assert MultiplyParams(method="patch", flatten=True).key_params() != {
        **patch.key_params(), "flatten": True, "light_in": "float32", "light_fitted_on": "texels_not_black"}, \
        "variants flattened before the light over black areas was held to its range: not put back from a cache"
    assert MultiplyParams(method="gram", flatten=False).key_params() == MultiplyParams(method="gram").key_params()
    assert "flatten" not in MultiplyParams(method="gram").key_params()
    assert MultiplyParams(method="gram", flatten=True).key_params()["flatten"] is True
    assert "flatten" not in MultiplyParams(method="gram", flatten=True).unread_fields()


def test_flatten_of_a_normal_map_is_refused_saying_why() -> None:
    said = "a normal map \\(kind: normal\\) holds directions, not light: leave flatten out"
    with pytest.raises(ValueError, match=said):
        multiply_op.multiply(Image(np.full((32, 32, 3), 0.5, np.float32)), method="patch", kind="normal", flatten=True)


def test_a_normal_map_given_to_gram_as_colour_is_warned_about_naming_it_and_kind_normal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """gram matches colours, so a normal map's variants came out with a fifth of their vectors more than 5% off unit
    length, without a word; the warning named method: patch, the one way out before kind: normal. patch keeps its
    texels as they are, and says nothing; nor does gram of a map marked kind: normal."""
    _write_normal_map(tmp_path / "n.png", np.random.default_rng(2).normal(0, 0.3, (32, 32)).cumsum(axis=1))
    with caplog.at_level("WARNING"):
        multiply(tmp_path / "n.png", tmp_path / "gram", method="gram", count=1, size=32, steps=1)
    assert f"{tmp_path / 'n.png'} looks like a tangent-space normal map, and multiply's method gram takes it as " \
           "colour" in caplog.text and "set kind: normal on the asset" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        multiply(tmp_path / "n.png", tmp_path / "patch", method="patch", count=1, size=32)
        multiply(tmp_path / "n.png", tmp_path / "normal", method="gram", count=1, size=32, steps=1, kind="normal")
    assert not caplog.text


@pytest.mark.parametrize("method", ["patch", "gram"])
def test_variants_of_a_normal_map_are_unit_vectors_facing_out(method: str, tmp_path: Path) -> None:
    """kind: normal reads the map as the vectors it stores and writes unit vectors facing out. As colour, gram's
    variants of this steep gravel came out with 65% of their texels more than 5% off unit length; taken as vectors
    but only renormalized, some pointed into the surface (blue 127, z = -1/255)."""
    _write_normal_map(tmp_path / "n.png", skimage.data.gravel()[:64, :64].astype(np.float32) / 255 * 1000)
    multiply(tmp_path / "n.png", tmp_path / "out", method=method, kind="normal", count=2, size=64, steps=20)
    for name in ("variant_00.png", "variant_01.png"):
        stored = np.asarray(PILImage.open(tmp_path / "out" / name))
        vectors = stored / 255 * 2 - 1
        assert np.abs(np.linalg.norm(vectors, axis=2) - 1).max() < 0.01, name  # 8-bit rounding: 0.007 at most
        assert stored[..., 2].min() >= 128, name  # z >= 0: z = 0 is stored as 127.5, written 128


def test_a_normal_map_from_python_is_the_ops_variant(tmp_path: Path) -> None:
    """multiply(..., kind="normal") takes and gives the map as stored, and gives the op's bytes."""
    _write_normal_map(tmp_path / "n.png", skimage.data.gravel()[:64, :64].astype(np.float32) / 255 * 8)
    multiply(tmp_path / "n.png", tmp_path / "op", method="patch", kind="normal", count=1, size=48)
    [variant] = multiply_op.multiply(read_image(tmp_path / "n.png", colorspace="linear"), method="patch", kind="normal",
                                     count=1, size=48, device="cpu")
    write_image(tmp_path / "script.png", variant, colorspace="linear")
    assert (tmp_path / "script.png").read_bytes() == (tmp_path / "op" / "variant_00.png").read_bytes()


def test_a_grey_texture_marked_kind_normal_is_named(tmp_path: Path) -> None:
    PILImage.fromarray(skimage.data.gravel()[:64, :64]).save(tmp_path / "grey.png")
    with pytest.raises(ValueError, match="grey.png is marked kind: normal but has 1 colour channel"):
        multiply(tmp_path / "grey.png", tmp_path / "out", method="patch", kind="normal", count=1, size=48)


def test_a_colour_texture_marked_kind_normal_is_warned_about_naming_it(
    gravel: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A colour texture in a source given kind: normal had its variants made of its colours as unit vectors without
    a word. The op says so, naming the file and the fix; a normal map does not set it off."""
    PILImage.open(gravel).convert("RGB").save(tmp_path / "gravel_rgb.png")
    with caplog.at_level("WARNING"):
        multiply(tmp_path / "gravel_rgb.png", tmp_path / "out", method="patch", kind="normal", count=1, size=48)
    assert f"{tmp_path / 'gravel_rgb.png'} is marked kind: normal but does not look like a tangent-space normal map" \
           in caplog.text and "multiply takes its values as vectors" in caplog.text
    caplog.clear()
    _write_normal_map(tmp_path / "n.png", np.random.default_rng(2).normal(0, 0.3, (64, 64)).cumsum(axis=1))
    with caplog.at_level("WARNING"):
        multiply(tmp_path / "n.png", tmp_path / "normal", method="patch", kind="normal", count=1, size=48)
    assert not caplog.text


def test_a_materials_variants_keep_its_maps_in_register(tmp_path: Path) -> None:
    """Quilted one map at a time, a material's variants would hold the albedo's pebbles in one place and the normal
    map's in another. Here every map is one pattern stored another way, and every variant's maps are still that:
    the same blocks and cuts for all, each map written as the material op writes it (the height 16-bit, the
    normal map unit vectors), with a glTF naming the variant."""
    pattern = skimage.data.gravel()[:96, :96].astype(np.float32) / 255
    tilt = (pattern - 0.5) * 0.8  # the normal map leans along x by the pattern
    write_image(tmp_path / "albedo.png", Image(np.dstack([pattern] * 3)), colorspace="linear")
    vectors = np.dstack([tilt, np.zeros_like(tilt), np.sqrt(1 - tilt * tilt)])
    write_image(tmp_path / "normal.png", Image(((vectors + 1) / 2).astype(np.float32)), colorspace="linear")
    write_image(tmp_path / "roughness.png", Image(1 - pattern[..., None]), colorspace="linear")
    write_image(tmp_path / "height.png", Image(pattern[..., None]), colorspace="linear", bit_depth=16)
    write_material_gltf(tmp_path / "material.gltf", "gravel", orm=False, normal_map=True)
    maps = ("albedo.png", "height.png", "normal.png", "roughness.png")
    params = MultiplyParams(method="patch", count=2, size=64, material_maps=maps)
    meta = run({name: tmp_path / name for name in (*maps, "material.gltf")}, tmp_path / "out", params, OpContext())
    assert meta["variants_made"] == 2 and meta["max_ncc"] < NCC_BOUND
    for variant in ("variant_00", "variant_01"):
        folder = tmp_path / "out" / variant
        albedo = np.asarray(PILImage.open(folder / "albedo.png"))[..., 0].astype(int)
        assert (255 - np.asarray(PILImage.open(folder / "roughness.png")) == albedo).all()
        assert np.asarray(PILImage.open(folder / "height.png")).dtype == np.uint16  # as the material writes it
        normal = np.asarray(PILImage.open(folder / "normal.png")) / 255 * 2 - 1
        assert np.abs(normal[..., 0] - (albedo / 255 - 0.5) * 0.8).max() < 2 / 255
        assert np.abs(np.linalg.norm(normal, axis=2) - 1).max() < 0.01
        assert json.loads((folder / "material.gltf").read_text())["materials"][0]["name"] == f"gravel_{variant}"
    assert (tmp_path / "out" / "variant_00" / "albedo.png").read_bytes() != (
        tmp_path / "out" / "variant_01" / "albedo.png").read_bytes()


def test_a_materials_variant_s_height_is_its_normal_map_s_without_cliffs_at_the_seam_cuts(tmp_path: Path) -> None:
    """A height is the sum of the slopes under it: quilted as it is, two blocks meet at a seam cut at different
    levels, a cliff that the variant's normal map does not show. Each variant's height is the one its normal map
    integrates to, as the material op makes it: it steps between two texels no more than the material's does."""
    rng = np.random.default_rng(3)
    relief = ndimage.gaussian_filter(rng.standard_normal((96, 96)), 6, mode="wrap") * 400  # smooth hills, in px
    normal = normal_from_height(relief, 1.0, wrap=True)
    height = height_from_normal(normal)
    write_image(tmp_path / "albedo.png", Image(np.dstack([height] * 3)), colorspace="linear")
    write_image(tmp_path / "normal.png", Image(encode_normal(normal, "opengl")), colorspace="linear")
    write_image(tmp_path / "height.png", Image(height[..., None]), colorspace="linear", bit_depth=16)
    write_material_gltf(tmp_path / "material.gltf", "hills", orm=False, normal_map=True)
    maps = ("albedo.png", "normal.png", "height.png")
    params = MultiplyParams(method="patch", count=2, size=64, material_maps=maps)
    run({name: tmp_path / name for name in (*maps, "material.gltf")}, tmp_path / "out", params, OpContext())

    def steepest(image: np.ndarray) -> float:
        """The largest step between neighbouring texels (the wrap included), in typical steps: each variant's
        height is stretched to [0, 1] over its own range."""
        steps = np.concatenate([np.abs(image - np.roll(image, 1, axis)).ravel() for axis in (0, 1)])
        return float(steps.max() / np.median(steps))

    for variant in ("variant_00", "variant_01"):
        folder = tmp_path / "out" / variant
        made = read_image(folder / "height.png", colorspace="linear").color[..., 0]
        expected = height_from_normal(decode_normal(read_image(folder / "normal.png", colorspace="linear").color))
        assert np.abs(made - expected).max() < 1e-3  # from the vectors before they were stored in 8 bits
        assert steepest(made) < 2 * steepest(height), variant  # a quilted height steps 5 times as far


def test_patch_and_gram_are_reproducible_and_seeds_differ(gravel: Path, tmp_path: Path) -> None:
    for method, extra in (("patch", {"patch_size": 24}), ("gram", {"steps": 8})):
        first, second = tmp_path / f"{method}_a", tmp_path / f"{method}_b"
        multiply(gravel, first, method=method, count=2, size=64, **extra)
        multiply(gravel, second, method=method, count=2, size=64, **extra)
        for name in ("variant_00.png", "variant_01.png"):
            assert (first / name).read_bytes() == (second / name).read_bytes(), f"{method} {name}"
        assert (first / "variant_00.png").read_bytes() != (first / "variant_01.png").read_bytes()
        shifted = tmp_path / f"{method}_seed1"
        multiply(gravel, shifted, method=method, count=1, size=64, seed=1, **extra)
        assert (shifted / "variant_00.png").read_bytes() == (first / "variant_01.png").read_bytes()


def test_a_gram_variant_is_the_same_bytes_whatever_torch_s_thread_count_on_the_machine(gravel: Path, tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):  # a CI runner's and a workstation's defaults: the same cache key, so the same bytes
            torch.set_num_threads(count)
            multiply(gravel, tmp_path / str(count), method="gram", count=1, size=128, steps=20)  # 64 px agreed by chance
    finally:
        torch.set_num_threads(threads)
    assert (tmp_path / "1" / "variant_00.png").read_bytes() == (tmp_path / "2" / "variant_00.png").read_bytes()


@pytest.mark.parametrize("device", DEVICES)
def test_gram_matches_texture_statistics_and_tiles(gravel: Path, tmp_path: Path, device: str) -> None:
    meta = multiply(gravel, tmp_path, device, method="gram", count=2, size=96, steps=40)
    exemplar = exemplar_planes(read_image(gravel))
    wrong = skimage.data.brick()[:96, :96].astype(np.float32) / 255
    for name in ("variant_00.png", "variant_01.png"):
        variant = exemplar_planes(read_image(tmp_path / name))
        assert metrics.texture_distance(variant, exemplar) < metrics.texture_distance(wrong, exemplar) / 2
    assert meta["seam_ratio"] <= SEAM_BOUND
    assert meta["max_ncc"] < NCC_BOUND
    assert meta["min_variant_difference"] >= MIN_VARIANT_DIFFERENCE
    assert meta["device"] == device  # as super_resolve's and material's rows say where they ran


def test_untileable_outputs_are_measured_not_guarded(gravel: Path, tmp_path: Path) -> None:
    meta = multiply(gravel, tmp_path, method="patch", count=1, size=80, tileable=False, patch_size=24)
    assert "seam_ratio" not in meta and meta["device"] == "cpu"  # quilting is numpy's, on any machine
    assert meta["min_variant_difference"] == 1.0
    variant = exemplar_planes(read_image(tmp_path / "variant_00.png"))
    assert np.isfinite(metrics.seam_ratio(variant))


@pytest.mark.parametrize(("method", "device"), [("patch", "cpu"), ("gram", "cpu"), pytest.param("gram", "cuda", marks=needs_cuda)])
def test_alpha_is_synthesised_with_the_colour(sprite: Path, tmp_path: Path, method: str, device: str) -> None:
    multiply(sprite, tmp_path, device, method=method, count=1, size=64, steps=10, patch_size=24)
    out = read_image(tmp_path / "variant_00.png")
    assert out.alpha is not None and out.color.shape == (64, 64, 3)
    holes = float((out.alpha < 0.5).mean())
    assert 0.05 < holes < 0.5  # the exemplar is ~20% holes: some, not none and not all


def test_a_variant_quilted_from_a_cut_out_s_holes_alone_fails_its_guard_naming_it(tmp_path: Path) -> None:
    # freedoom's aqmetl17 shows 9% of its texels; patch quilts every variant of it from its transparent parts
    # but for a few blocks, a texture all but invisible that no other guard flags (a flat window correlates
    # with nothing).
    grate = SHARED / "legacy" / "freedoom" / "patches" / "aqmetl17.png"
    meta = multiply(grate, tmp_path / "patch", method="patch", count=1, size=128)
    alpha = read_image(tmp_path / "patch" / "variant_00.png").alpha
    assert alpha is not None and float((alpha >= 0.5).mean()) < 0.02
    guard = next(g for g in MultiplyParams().guards() if g.name == "keeps_coverage")
    assert guard.blocking and not guard.passes(float(meta["min_coverage_ratio"]))
    assert meta["coverage_lost"] == "variant_00.png shows 1% of its texels, the exemplar 9%"
    meta = multiply(grate, tmp_path / "gram", method="gram", count=1, size=64, steps=20)  # what the check says to use
    assert float(meta["min_coverage_ratio"]) > MIN_COVERAGE_RATIO and meta["coverage_lost"] == ""
    meta = multiply(grate, tmp_path / "data", method="patch", count=1, size=128, alpha="data")  # a mask, not coverage
    assert meta["min_coverage_ratio"] == 1.0 and meta["coverage_lost"] == ""  # nothing hidden to lose


@pytest.mark.parametrize("method", ["patch", "gram"])
def test_a_key_colour_under_transparent_texels_shows_nowhere(sprite: Path, tmp_path: Path, method: str) -> None:
    rgba = np.asarray(PILImage.open(sprite)).copy()
    rgba[rgba[..., 3] == 0, :3] = (0, 255, 255)  # cyan under the holes, as freedoom's grates key them
    PILImage.fromarray(rgba, mode="RGBA").save(tmp_path / "keyed.png")
    multiply(tmp_path / "keyed.png", str(tmp_path / "out"), method=method, count=1, size=64, steps=30, patch_size=24)
    out = np.asarray(PILImage.open(tmp_path / "out" / "variant_00.png")).astype(int)
    cyan = (out[..., 0] < 80) & (out[..., 1] > 160) & (out[..., 2] > 160)
    # gram learned the key colour and painted it into visible texels; patch copied it under alpha 0,
    # where an engine's mipmaps and bilinear filtering blend it into the visible edge.
    assert int(cyan.sum()) == 0
    if method == "patch":  # alpha: data (a mask over visible colour) keeps the colour as it is
        multiply(tmp_path / "keyed.png", tmp_path / "data", method=method, count=1, size=64, patch_size=24, alpha="data")
        out = np.asarray(PILImage.open(tmp_path / "data" / "variant_00.png")).astype(int)
        assert ((out[..., 0] < 80) & (out[..., 1] > 160) & (out[..., 2] > 160)).any()


def test_vgg19_matches_grams_at_relu1_1_to_relu5_1_as_gatys_et_al() -> None:
    with torch.no_grad():
        outputs = VGG19()(torch.rand(1, 3, 160, 160), padding="reflect")
    assert [o.shape[1] for o in outputs] == [64, 128, 256, 512, 512]  # was relu1_1, 1_2, 2_1, 2_2, 3_1
    assert [o.shape[-1] for o in outputs] == [160, 80, 40, 20, 10]


def test_vgg19_from_a_local_torchvision_state_dict(gravel: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in VGG19().features.state_dict().items()}
    state |= {"features.34.weight": torch.zeros(512, 512, 3, 3), "classifier.0.weight": torch.zeros(4, 4)}
    weights = tmp_path / "vgg19.pth"
    torch.save(state, weights)
    out = tmp_path / "out"
    multiply(gravel, out, method="gram", count=1, size=32, steps=3, vgg_weights=weights)
    assert read_image(out / "variant_00.png").color.shape == (32, 32, 1)
    multiply(gravel, tmp_path / "random_features", method="gram", count=1, size=32, steps=3)
    vgg_variant = (out / "variant_00.png").read_bytes()
    assert vgg_variant != (tmp_path / "random_features" / "variant_00.png").read_bytes(), "the VGG weights were not used"

    bad = tmp_path / "not_vgg.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="not_vgg.pth"):
        multiply(gravel, tmp_path / "bad", method="gram", count=1, size=32, vgg_weights=bad)


# --- from Python: an Image's variants with no file in between ------------------------------


@pytest.mark.parametrize(("exemplar", "arguments"), [
    ("gravel", {"method": "patch", "count": 2, "size": 64, "patch_size": 24, "seed": 3}),
    ("sprite", {"method": "gram", "count": 1, "size": 32, "steps": 3, "tileable": False}),
    ("sprite", {"method": "patch", "count": 1, "size": 48, "patch_size": 16, "alpha": "data"}),
    ("deep", {"method": "gram", "count": 2, "size": 32, "steps": 3}),
])
def test_multiply_from_python_gives_what_the_op_writes(
    gravel: Path, sprite: Path, tmp_path: Path, exemplar: str, arguments: dict
) -> None:
    src = {"gravel": gravel, "sprite": sprite, "deep": tmp_path / "deep.png"}[exemplar]
    if exemplar == "deep":  # a 16-bit cut-out
        write_image(src, Image(read_image(gravel).color[:48, :48], np.tile([0.0, 1.0], (48, 24)).astype(np.float32), 16))
    run({"image": src}, tmp_path / "op", MultiplyParams(**arguments), OpContext(device="cpu"))
    image = read_image(src)
    made = multiply_op.multiply(image, device="cpu", **arguments)
    assert len(made) == arguments["count"]
    for variant, name in zip(made, MultiplyParams(**arguments).output_names()):
        assert variant.color.shape == (arguments["size"], arguments["size"], image.channels)  # grey stays grey
        assert variant.bit_depth == image.bit_depth and (variant.alpha is None) == (image.alpha is None)
        write_image(tmp_path / name, variant)
        assert (tmp_path / name).read_bytes() == (tmp_path / "op" / name).read_bytes(), name


@pytest.mark.parametrize("method", ["gram", "patch"])
def test_multiply_from_python_makes_of_float64_what_it_makes_of_float32(gravel: Path, method: str) -> None:
    """A script's ``Image(pixels / 255)`` holds float64; the op reads float32."""
    image = read_image(gravel)
    wide = Image(image.color.astype(np.float64), None, image.bit_depth)
    arguments = {"method": method, "count": 1, "size": 48, "steps": 3, "patch_size": 16}
    [narrow_variant], [wide_variant] = (multiply_op.multiply(i, device="cpu", **arguments) for i in (image, wide))
    assert np.array_equal(narrow_variant.color, wide_variant.color)


def test_multiply_takes_the_ops_params_with_its_defaults() -> None:
    """A call with no arguments but the image makes what an asset with no keys but op: multiply makes."""
    taken = {name: argument.default for name, argument in inspect.signature(multiply_op.multiply).parameters.items()
             if argument.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("device", "progress", "source")}
    spec_set = ("material_maps",)  # the spec sets it from a material asset; a call multiplies one image
    assert taken == {name: field.default for name, field in MultiplyParams.model_fields.items() if name not in spec_set}


@pytest.mark.parametrize(("arguments", "refused"), [
    ({"count": 0}, "count 0: should be greater than or equal to 1"),
    ({"size": 8}, "size 8: should be greater than or equal to 32"),
    ({"method": "neural"}, "method 'neural': should be 'gram' or 'patch'"),
    ({"patch_size": 4}, "patch_size 4: should be greater than or equal to 8"),
    ({"alpha": "mask"}, "alpha 'mask': should be 'auto', 'coverage' or 'data'"),
    ({"seed": -1}, "seed -1: should be greater than or equal to 0"),
    ({"size": True}, "size True: expected a number, not a boolean"),  # no YAML reads it here
    ({"device": "gpu"}, "device 'gpu': expected auto, cpu, cuda or cuda:N"),
    ({"source": "walls/tiny.png"}, "walls/tiny.png is 12x12; method gram needs at least 16x16 px"),
    ({"method": "patch", "source": "walls/tiny.png"}, "walls/tiny.png is 12x12; method patch with 16 px blocks needs"),
])
def test_multiply_from_python_refuses_by_name(arguments: dict, refused: str) -> None:
    with pytest.raises(ValueError, match=re.escape(refused)):
        multiply_op.multiply(Image(np.full((12, 12, 3), 0.5, np.float32)), **arguments)


def test_multiply_from_python_names_the_texture_where_its_blocks_cannot_make_the_size() -> None:
    small = Image(np.random.default_rng(0).random((18, 18, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"^walls/small.png: a 40 px output needs .* \(patch_size, 16 px here\)$"):
        multiply_op.multiply(small, method="patch", size=40, source="walls/small.png")


def test_multiply_from_python_reports_progress_to_the_total(gravel: Path) -> None:
    calls: list[tuple[int, int]] = []
    multiply_op.multiply(read_image(gravel), method="patch", count=2, size=64, patch_size=24,
                         progress=lambda done, total: calls.append((done, total)))
    assert calls[-1][0] == calls[-1][1] and all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))


def test_progress_reaches_the_total(gravel: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    ctx = OpContext(device="cpu", progress=lambda done, total: calls.append((done, total)))
    run({"image": gravel}, tmp_path, MultiplyParams(method="patch", count=2, size=64, patch_size=24), ctx)
    assert calls[-1][0] == calls[-1][1]
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))


def test_errors_name_the_file(tmp_path: Path, gravel: Path) -> None:
    tiny = tmp_path / "tiny.png"
    PILImage.fromarray(np.zeros((12, 12), np.uint8)).save(tiny)
    with pytest.raises(ValueError, match="tiny.png"):
        multiply(tiny, tmp_path / "a", method="gram", count=1, size=32)
    with pytest.raises(ValueError, match="gravel.png"):
        multiply(gravel, tmp_path / "b", method="patch", count=1, size=64, patch_size=128)
    small = tmp_path / "small.png"
    PILImage.fromarray(np.random.default_rng(0).integers(0, 255, (18, 18, 3), np.uint8)).save(small)
    with pytest.raises(ValueError, match=r"small.png: a 40 px output needs .* \(patch_size, 16 px here\)"):
        multiply(small, tmp_path / "c", method="patch", count=1, size=40)
    with pytest.raises(ValueError, match="multiply takes one input role, 'image'; got flash"):
        run({"flash": gravel}, tmp_path, MultiplyParams(), OpContext(device="cpu"))


def test_an_exemplar_too_small_is_told_only_the_fixes_that_fit_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name, shape in (("strip.png", (2, 128, 3)), ("small.png", (12, 12, 3)), ("narrow.png", (256, 16, 3))):
        PILImage.fromarray(rng.integers(0, 255, shape, np.uint8)).save(tmp_path / name)
    # A 1 px strip enlarged to 2: patch_size takes 8 px at least and gram needs 16, so neither is offered.
    with pytest.raises(ValueError, match=r"strip.png is 128x2; .*\(too small for either method: enlarge it first, or leave "
                                         r"it out of the variants with the source.s exclude\)") as caught:
        multiply(tmp_path / "strip.png", tmp_path / "a", method="patch", count=1, size=32)
    assert "patch_size" not in str(caught.value).split("(")[-1] and "gram" not in str(caught.value).split("(")[-1]
    with pytest.raises(ValueError, match=r"small.png is 12x12; method gram .*\(use method: patch with patch_size: 10 or less\)"):
        multiply(tmp_path / "small.png", tmp_path / "b", method="gram", count=1, size=32)
    multiply(tmp_path / "small.png", tmp_path / "b", method="patch", count=1, size=32, patch_size=10)  # and it does
    with pytest.raises(ValueError, match=r"narrow.png is 16x256; .*\(set patch_size: 14 or less or use method: gram\)"):
        multiply(tmp_path / "narrow.png", tmp_path / "c", method="patch", count=1, size=32)


@pytest.mark.slow
def test_gram_512_from_a_512_exemplar_coarse_to_fine(tmp_path: Path) -> None:
    src = tmp_path / "grass.png"
    PILImage.fromarray(skimage.data.grass()).save(src)
    meta = multiply(src, tmp_path / "out", method="gram", count=1, size=512, steps=60)
    assert meta["max_ncc"] < NCC_BOUND
    assert meta["seam_ratio"] <= SEAM_BOUND


def test_coarse_to_fine_upsampling_is_shift_equivariant_and_keeps_samples() -> None:
    # Bilinear doubling left a 4-px grid in 512² gram outputs that read as a seam at the wrap edge.
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    up = upsample(x, padding="circular")
    assert up.shape == (1, 3, 32, 32)
    torch.testing.assert_close(up[..., ::2, ::2], x, atol=1e-5, rtol=0)
    torch.testing.assert_close(upsample(torch.roll(x, 1, dims=-1), padding="circular"), torch.roll(up, 2, dims=-1))
    assert upsample(x, padding="reflect").shape == (1, 3, 32, 32)


def test_a_tileable_gram_variant_s_wrap_is_like_every_16th_line_of_it() -> None:
    """gram's worst seam ratio over the bundled photos rose with flatten, 2.09 to 3.46, one 128² variant each: the
    noise of one line of a warning sign's variant, not a seam. What gram matches of a tileable variant is the same
    with the variant rolled by 16 texels (circular padding throughout, at most four halvings), so nothing it
    learns sets the wrap apart from the lines 16, 32 ... texels in, whatever the exemplar, flattened or not. Rolled
    by one texel, the halvings fall between other texels, and the statistics move."""
    parts = [FeaturePart(RandomFilters(RandomFiltersConfig()), slice(None))]
    x = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))

    def largest_change(shift: tuple[int, int]) -> float:
        rolled = torch.roll(x, shift, dims=(-2, -1))
        pairs = zip(*(texture_statistics(parts, image, padding="circular", side=128) for image in (x, rolled)),
                    strict=True)
        return max(float(((a - b).abs() / (b.abs() + 1e-6)).max()) for a, b in pairs)

    assert largest_change((16, 48)) < 1e-5 and largest_change((1, 0)) > 0.01


def test_a_small_tileable_output_of_a_large_exemplar(tmp_path: Path) -> None:
    big = tmp_path / "gravel384.png"
    PILImage.fromarray(skimage.data.gravel()[:384, :384]).save(big)  # five levels: the 32 px output's deepest is 2x2
    multiply(big, tmp_path / "out", method="gram", count=1, size=32, steps=5, tileable=True)
    [variant] = sorted((tmp_path / "out").glob("*.png"))
    assert read_image(variant).width == 32


def test_settings_of_the_other_method_are_neutral_in_the_cache_key(tmp_path: Path) -> None:
    patch = MultiplyParams(method="patch", steps=7, vgg_weights=tmp_path / "vgg.pth")
    assert patch.for_cache_key() == MultiplyParams(method="patch") and patch.file_params() == {}
    assert MultiplyParams(method="gram", patch_size=16).for_cache_key() == MultiplyParams(method="gram")
    assert MultiplyParams(method="gram", steps=7).for_cache_key() != MultiplyParams(method="gram")


def test_a_variant_depends_on_its_own_seed_only(gravel: Path, tmp_path: Path) -> None:
    three = MultiplyParams(method="gram", count=3, steps=5).output_units()
    shifted = MultiplyParams(method="gram", count=2, seed=1, steps=5).output_units()
    assert shifted["variant_00.png"] == three["variant_01.png"] and shifted["variant_01.png"] == three["variant_02.png"]
    assert MultiplyParams(method="gram", steps=6).output_units()["variant_00.png"] != three["variant_00.png"]
    made = multiply(gravel, tmp_path / "all", method="gram", count=2, size=32, steps=3)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "variant_00.png").write_bytes((tmp_path / "all" / "variant_00.png").read_bytes())
    ctx = OpContext(device="cpu", reuse={"variant_00.png": kept / "variant_00.png"})
    again = run({"image": gravel}, kept, MultiplyParams(method="gram", count=2, size=32, steps=3), ctx)
    assert again["variants_made"] == 1 and made["variants_made"] == 2
    assert (kept / "variant_01.png").read_bytes() == (tmp_path / "all" / "variant_01.png").read_bytes()
    timing = ("seconds", "seconds_per_variant", "variants_made")
    assert {k: v for k, v in again.items() if k not in timing} == {k: v for k, v in made.items() if k not in timing}


def test_failed_copy_likeness_and_seam_guards_name_the_variants_to_look_at(tmp_path: Path) -> None:
    # A check said "not_a_copy: max_ncc 0.998" or "seamless: seam_ratio 17.3" of a set of variants and left the
    # artist to find the one by eye; now each names the files past its bound, as keeps_coverage does.
    x = np.mgrid[0:64, 0:64][1]
    noise = np.random.default_rng(0).normal(0, 4, (64, 64))
    stripes = tmp_path / "stripes.png"  # a regular pattern: every quilted variant is a shifted copy of it
    PILImage.fromarray((127 + 100 * np.sin(2 * np.pi * x / 16) + noise).clip(0, 255).astype(np.uint8)).save(stripes)
    meta = multiply(stripes, tmp_path / "stripes", method="patch", count=3, size=64)
    assert meta["copied"] == "; ".join(f"variant_0{i}.png correlates 0.998 with the exemplar" for i in range(3))
    assert meta["alike"] == "variant_00.png and variant_02.png differ by 0.00235"
    meta = multiply(FLAT, tmp_path / "flat", method="patch", count=6, size=100, seed=3)  # lines on the wrap edge
    assert meta["seams"] == "variant_02.png reads 4.11; variant_05.png reads 17.3"
    assert meta["copied"] == meta["alike"] == ""  # every variant within those bounds: nothing named
    by_name = {guard.name: guard.detail_key for guard in MultiplyParams().guards()}
    assert by_name == {"not_a_copy": "copied", "variants_differ": "alike", "keeps_coverage": "coverage_lost",
                       "seamless": "seams"}


def test_a_failed_copy_guard_on_an_exemplar_small_for_patch_s_blocks_says_why_and_what_fixes_it(tmp_path: Path) -> None:
    # Legacy textures are 24 to 48 px, where patch's 16 px blocks are more than a quarter of the exemplar and its
    # variants of a regular texture repeat it: a new user's first build failed on a figure, with no way forward.
    x = np.mgrid[0:24, 0:24][1]
    rows = tmp_path / "rows.png"
    PILImage.fromarray((127 + 100 * np.sin(2 * np.pi * x / 6)).astype(np.uint8)).save(rows)
    meta = multiply(rows, tmp_path / "rows", method="patch", count=2, size=64)
    why = (" (rows.png is 24x24 px, and method patch's 16 px blocks are 67% of its side: with so few places to take "
           "them from, its variants repeat it. Use method: gram, which makes variants of a texture from 16 px)")
    assert meta["max_ncc"] >= NCC_BOUND and meta["min_variant_difference"] <= MIN_VARIANT_DIFFERENCE
    assert meta["copied"].endswith(why) and meta["alike"].endswith(why), meta
    assert meta["copied"].count(why) == 1


def test_a_failed_copy_guard_on_variants_under_two_blocks_a_side_says_why_and_what_fixes_it(
    gravel: Path, tmp_path: Path
) -> None:
    """A variant under two of patch's blocks a side is mostly its first block, copied whole (a 96 px variant of a
    scan with 64 px blocks correlated 1.0 with it), and the failed check said only to fix what it named. It says
    why, with the patch_size or size that fits; the patch_size it gives makes variants that pass."""
    meta = multiply(gravel, tmp_path / "small", method="patch", count=2, size=40, tileable=False)
    why = (" (a 40 px variant is under two of method patch's 24 px blocks a side: most of it is one block copied from "
           "the exemplar. Set patch_size: 13 or less, or size: 48 or more)")
    assert meta["max_ncc"] >= NCC_BOUND and meta["copied"].endswith(why), meta
    fixed = multiply(gravel, tmp_path / "fixed", method="patch", count=2, size=40, tileable=False, patch_size=13)
    assert fixed["max_ncc"] < NCC_BOUND and not fixed["copied"], fixed
