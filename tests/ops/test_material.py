"""The material op: renderer values, recovery of known maps, error messages, glTF validity."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import xxhash
from pydantic import ValidationError

from helpers import DEVICES, SHARED
from ops.image_io import Image, read_image, srgb_to_linear, write_image
from ops.material.align import AlignmentError, align_guide, estimate_shift
from ops.material.fit import fit_maps
from ops.material.from_texture import material_from_texture
from ops.material.maps import decode_normal, encode_normal, height_from_normal
from ops.material.params import MaterialParams
from ops.material.render import Svbrdf, render_point_light
from ops.material.run import material_from_photos, material_from_texture_file, run
from ops.material.scene import load_scene
from ops.material.synthetic import (
    DEMO_SCENE,
    ProceduralMaterial,
    load_mitsuba_truth,
    render_demo_pair,
    render_photos,
    tiles_material,
)
from ops.registry import OpContext

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "node_modules" / "gltf-validator"


# --- parameters -------------------------------------------------------------------------------


def test_output_names_follow_orm():
    names = MaterialParams(method="two_shot").output_names()
    assert names[-2:] == ("preview.png", "material.gltf") and "orm.png" in names
    assert "orm.png" not in MaterialParams(method="two_shot", orm=False).output_names()


def test_unknown_keys_are_errors():
    with pytest.raises(ValidationError):
        MaterialParams.model_validate({"method": "two_shot", "flash_power": 3})


def test_params_module_does_not_import_torch():
    code = "import sys, ops.material.params; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# --- renderer ---------------------------------------------------------------------------------


def _flat(albedo: float, roughness: float, specular: float, size: int = 1) -> Svbrdf:
    shape = (1, 1, size, size)
    normal = torch.zeros(1, 3, size, size, dtype=torch.float64)
    normal[:, 2] = 1
    return Svbrdf(
        albedo=torch.full((1, 3, size, size), albedo, dtype=torch.float64),
        normal=normal,
        roughness=torch.full(shape, roughness, dtype=torch.float64),
        specular=torch.full(shape, specular, dtype=torch.float64),
    )


def test_head_on_flash_matches_closed_form():
    # Head-on: n.l = n.v = n.h = v.h = 1, so D = 1 / (pi alpha^2), G = 1, F = F0.
    maps = _flat(albedo=0.5, roughness=0.5, specular=0.5)
    points = torch.zeros(1, 1, 3, dtype=torch.float64)
    camera = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64)
    value = render_point_light(maps, points, light=camera, camera=camera, intensity=8.0)
    alpha = 0.25
    expected = 8.0 / 4.0 * (0.5 / math.pi + 0.04 / (4 * math.pi * alpha**2))
    assert torch.allclose(value, torch.full_like(value, expected), rtol=1e-6)


def test_renderer_gradients_are_correct():
    maps = _flat(albedo=0.4, roughness=0.6, specular=0.5, size=2)
    tilt = torch.tensor([[[[0.1, -0.2], [0.0, 0.3]], [[0.05, 0.1], [-0.2, 0.0]]]], dtype=torch.float64)
    points = torch.tensor([[[0.1, 0.2, 0], [0.3, -0.1, 0]], [[-0.2, 0.0, 0], [0.0, 0.1, 0]]], dtype=torch.float64)
    camera = torch.tensor([0.0, 0.0, 1.5], dtype=torch.float64)

    def f(albedo: torch.Tensor, roughness: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        from ops.material.render import normal_from_tilt

        m = Svbrdf(albedo, normal_from_tilt(t), roughness, maps.specular)
        return render_point_light(m, points, light=camera + 0.3, camera=camera, intensity=2.0)

    inputs = (maps.albedo.clone().requires_grad_(), maps.roughness.clone().requires_grad_(), tilt.requires_grad_())
    assert torch.autograd.gradcheck(f, inputs)


# --- recovery of known maps ----------------------------------------------------------------------


def _angular_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((a * b).sum(axis=2), -1, 1))).mean())


def test_two_shot_without_a_sidecar_does_not_depend_on_the_guide_exposure():
    truth = tiles_material(64)
    flash, guide = render_photos(truth)
    geometry_only = replace(DEMO_SCENE, intensity=None, guide_radiance=None)  # a phone pair: exposures unknown
    fits = [
        fit_maps(flash, guide * gain, geometry_only, iterations=120, fit_size=64, device=torch.device("cpu"))
        for gain in (1.0, 0.2)  # the guide as taken, and five times darker
    ]
    assert fits[1].albedo.mean() == pytest.approx(fits[0].albedo.mean(), rel=0.05)
    for fit in fits:
        assert float(np.abs(fit.roughness - truth.roughness).mean()) < 0.12

@pytest.mark.parametrize("device", DEVICES)
def test_two_shot_recovers_known_maps(device: str):
    truth = tiles_material(64, tiles=2, seed=1)
    flash, guide = render_photos(truth)
    fit = fit_maps(flash, guide, DEMO_SCENE, iterations=300, fit_size=64, device=torch.device(device))

    albedo_rmse = float(np.sqrt(((fit.albedo - truth.albedo) ** 2).mean()))
    normal_err = _angular_error_deg(fit.normal, truth.normal)
    flat = np.dstack([np.zeros_like(truth.roughness)] * 2 + [np.ones_like(truth.roughness)])
    flat_err = _angular_error_deg(flat, truth.normal)
    rough_mae = float(np.abs(fit.roughness - truth.roughness).mean())

    # Relight from a position the fit never saw: the maps, not just the photo, must be right.
    def relight(*maps: np.ndarray) -> np.ndarray:
        points = torch.from_numpy(DEMO_SCENE.plane_points(64, 64))
        with torch.no_grad():
            image = render_point_light(ProceduralMaterial(*maps).torch(), points, light=torch.tensor([0.8, 0.5, 1.6]),
                                       camera=torch.from_numpy(DEMO_SCENE.camera()), intensity=9.68)
        return image[0].clamp(0, 1).numpy()  # a camera clips, as the photos do

    truth_image = relight(truth.albedo, truth.normal, truth.roughness, truth.specular)
    relight_rmse = float(np.sqrt(((relight(fit.albedo, fit.normal, fit.roughness, fit.specular) - truth_image) ** 2).mean()))
    # What a fit-free guess (guide as albedo, flat, mid roughness) scores, for scale.
    half = np.full_like(truth.roughness, 0.5)
    naive = relight(np.clip(guide - 0.04, 0, 1), flat, half, half)
    naive_rmse = float(np.sqrt(((naive - truth_image) ** 2).mean()))
    report = dict(albedo_rmse=albedo_rmse, normal_err=normal_err, flat_err=flat_err, rough_mae=rough_mae,
                  relight_rmse=relight_rmse, naive_relight_rmse=naive_rmse)
    assert albedo_rmse < 0.03, report
    assert normal_err < 0.6 * flat_err, report
    assert rough_mae < 0.25, report
    assert relight_rmse < 0.07 and relight_rmse < 0.7 * naive_rmse, report


MITSUBA = ROOT.parent / "shared" / "data" / "materials" / "synthetic"
MITSUBA_CAPTURES = sorted(p.name for p in MITSUBA.glob("*/")) if MITSUBA.is_dir() else []


def _flat_normals(shape: tuple[int, ...]) -> np.ndarray:
    return np.dstack([np.zeros(shape, np.float32)] * 2 + [np.ones(shape, np.float32)])


def _flash_of(truth: ProceduralMaterial, folder: Path) -> np.ndarray:
    """``truth`` rendered by our renderer under the capture's flash, clipped as the photo is."""
    scene = load_scene(folder / "flash.png")
    points = torch.from_numpy(scene.plane_points(*truth.roughness.shape))
    camera = torch.from_numpy(scene.camera())
    with torch.no_grad():
        image = render_point_light(truth.torch(), points, light=camera, camera=camera, intensity=scene.intensity)
    return image[0].clamp(0, 1).permute(1, 2, 0).numpy()


@pytest.mark.skipif(not MITSUBA_CAPTURES, reason="shared Mitsuba captures not present")
@pytest.mark.parametrize("name", MITSUBA_CAPTURES)
def test_mitsuba_truth_lies_in_the_photo_frame(name: str):
    # Scored in the wrong frame (maps not flipped upside down), a perfect fit looked worse than flat normals.
    folder = MITSUBA / name
    truth = load_mitsuba_truth(folder)
    flash = read_image(folder / "flash.png").rgb()
    rmse = float(np.sqrt(((_flash_of(truth, folder) - flash) ** 2).mean()))
    flat = ProceduralMaterial(truth.albedo, _flat_normals(truth.roughness.shape), truth.roughness, truth.specular)
    flat_rmse = float(np.sqrt(((_flash_of(flat, folder) - flash) ** 2).mean()))
    assert rmse < 0.005 and rmse < 0.5 * flat_rmse, (rmse, flat_rmse)


@pytest.mark.slow
@pytest.mark.skipif("wood_01" not in MITSUBA_CAPTURES, reason="shared Mitsuba captures not present")
def test_two_shot_recovers_normals_of_a_mitsuba_capture():
    folder = MITSUBA / "wood_01"
    truth = load_mitsuba_truth(folder)
    flash, guide = (read_image(folder / name).rgb() for name in ("flash.png", "guide.png"))
    scene = load_scene(folder / "flash.png")
    fit = fit_maps(flash, guide, scene, iterations=250, fit_size=128, device=torch.device("cpu"))
    normal_err = _angular_error_deg(fit.normal, truth.normal)
    flat_err = _angular_error_deg(_flat_normals(truth.roughness.shape), truth.normal)
    assert normal_err < 0.6 * flat_err, (normal_err, flat_err)


def test_one_shot_is_deterministic(tmp_path: Path):
    flash, _ = render_photos(tiles_material(48, tiles=2))
    path = tmp_path / "flash.png"
    write_image(path, Image(color=flash))
    params = MaterialParams(method="one_shot", iterations=20)
    run({"image": path}, tmp_path / "a", params, OpContext(device="cpu"))
    run({"image": path}, tmp_path / "b", params, OpContext(device="cpu"))
    for name in ("albedo.png", "normal.png", "roughness.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


# --- alignment --------------------------------------------------------------------------------


def test_small_shift_is_found_and_corrected():
    rng = np.random.default_rng(0)
    from scipy import ndimage

    texture = ndimage.gaussian_filter(rng.uniform(size=(96, 96, 3)), (1.5, 1.5, 0)).astype(np.float32)
    guide = np.roll(texture, (3, -2), axis=(0, 1))
    shift = estimate_shift(texture, guide)
    assert (round(shift.dy), round(shift.dx)) == (-3, 2)
    aligned, _ = align_guide(texture, guide, max_shift=0.1, names=("f.png", "g.png"))
    assert np.abs(aligned[8:-8, 8:-8] - texture[8:-8, 8:-8]).mean() < 0.01
    guided = re.escape("g.png is 2.0 px left and 3.0 px down from f.png (shift_x 2.0, shift_y -3.0 px would align it)")
    with pytest.raises(AlignmentError, match=guided + r".* \(1.5 px\)"):  # was (-3.0, 2.0): y first, unlabelled
        align_guide(texture, guide, max_shift=0.0, names=("f.png", "g.png"))
    for noise in ((0.3, -0.2), (-0.8, -0.8)):  # what a tripod pair measures: used as taken
        subpixel = ndimage.shift(texture, (*noise, 0), order=1, mode="nearest")
        assert align_guide(texture, subpixel, max_shift=0.0, names=("f.png", "g.png"))[0] is subpixel
        assert align_guide(texture, subpixel, max_shift=0.001, names=("f.png", "g.png"))  # a tiny limit allows it too


def test_the_metadata_says_whether_the_guide_was_moved(pair, tmp_path: Path):
    """shift_x/shift_y are what was measured; a guide used as taken (max_shift 0, or a shift within the estimate's
    noise) was reported with them alone, as if moved by them."""
    moved = tmp_path / "guide.png"
    write_image(moved, Image(color=np.roll(read_image(pair[1]).color, 1, axis=1)))  # a tripod pair's 1 px
    made = {}
    for name, guide, max_shift in (("taken", moved, 0.0), ("moved", moved, 0.05), ("still", pair[1], 0.05)):
        params = MaterialParams(method="two_shot", iterations=0, max_shift=max_shift)
        made[name] = run({"flash": pair[0], "guide": guide}, tmp_path / name, params, OpContext(device="cpu"))
    assert round(float(made["taken"]["shift_x"])) == round(float(made["moved"]["shift_x"])) == -1
    assert (made["taken"]["aligned"], made["moved"]["aligned"]) == (False, True)
    assert abs(float(made["still"]["shift_x"])) < 0.5 and made["still"]["aligned"] is False
    albedo = {name: (tmp_path / name / "albedo.png").read_bytes() for name in made}
    assert albedo["taken"] != albedo["moved"]  # the flag says what the maps were made from


@pytest.mark.parametrize("shape", [(48, 64), (300, 200), (5, 300), (1, 40)])
def test_the_alignment_s_wide_blur_is_ndimage_s_gaussian_done_by_fft(shape):
    """Taken directly, the blur of 1/32 of a photo's side had a kernel of 1,001 taps on a 12-megapixel phone photo,
    38 of a pair's 70 s: by FFT it must still be that blur, borders (reflected, wider than a small photo) included."""
    from scipy import ndimage

    from ops.material.align import _gaussian

    image = np.random.default_rng(1).uniform(-3, 0, size=shape).astype(np.float32)
    sigma = max(shape) / 32
    blurred = _gaussian(image, sigma)
    assert blurred.dtype == np.float32
    assert np.abs(blurred - ndimage.gaussian_filter(image, sigma)).max() < 1e-6


# What the alignment of one subpixel-shifted pair gives, by material's op version: the guide it aligns feeds the fit,
# so a change here changes the maps, and the cache keeps the old ones under the same key unless the version moves.
ALIGNED_BY_VERSION = {"12": "7ffc56a8899599e7"}


def test_a_change_to_the_alignment_moves_material_s_op_version():
    """The blur by FFT (2c01020) agrees with ndimage's to float32 rounding, not bit for bit: the shift moved in its
    seventh digit and the aligned guide with it, and a leather pair's maps by up to 3 levels (height by 1,019 of
    65,535), under material version 11's keys: a cache filled before it held other maps than a build made after."""
    from scipy import ndimage

    from ops.registry import OPS

    rng = np.random.default_rng(3)
    texture = ndimage.gaussian_filter(rng.uniform(size=(120, 90, 3)), (1.5, 1.5, 0)).astype(np.float32)
    guide = ndimage.shift(texture, (1.3, -2.6, 0), order=1, mode="nearest").astype(np.float32)
    aligned, shift = align_guide(texture, guide, max_shift=0.1, names=("f.png", "g.png"))
    digest = xxhash.xxh3_64_hexdigest(aligned.tobytes() + repr((shift.dy, shift.dx, shift.confidence)).encode())
    assert ALIGNED_BY_VERSION.get(OPS["material"].version) == digest, (
        f"the alignment now gives {digest}: bump material's op version (ops/registry.py) and record it here")


def test_unrelated_photos_cannot_be_aligned():
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(size=(64, 64, 3)).astype(np.float32) for _ in range(2))
    with pytest.raises(AlignmentError, match="cannot align g.png with f.png"):
        align_guide(a, b, max_shift=0.1, names=("f.png", "g.png"))


# --- errors a user sees -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return render_demo_pair(tmp_path_factory.mktemp("pair"), size=64)


def test_pair_of_different_sizes_names_the_files(pair, tmp_path: Path):
    small = tmp_path / "guide.png"
    write_image(small, Image(color=np.full((32, 32, 3), 0.5, np.float32)))
    with pytest.raises(ValueError, match="guide.png is 32x32 but .*flash.png is 64x64"):
        run({"flash": pair[0], "guide": small}, tmp_path / "out", MaterialParams(method="two_shot"), OpContext())


@pytest.mark.parametrize(("size", "fix"), [
    ((48, 64), "one of them is turned sideways (a photo editor or a copy that dropped the phone's orientation tag): "
               "turn it to match the other"),
    ((32, 24), "the smaller one is a scaled-down copy (as a messenger or an upload makes): use both photos at the "
               "size the camera saved them"),
    ((30, 32), None),
])
def test_a_pair_of_different_sizes_says_whether_one_is_turned_or_scaled_down(tmp_path: Path, size, fix):
    """A landscape flash photo beside a portrait guide was told only that a pair must be of one size."""
    flash, guide = tmp_path / "flash.png", tmp_path / "guide.png"
    write_image(flash, Image(color=np.full((48, 64, 3), 0.5, np.float32)))
    write_image(guide, Image(color=np.full((*size[::-1], 3), 0.5, np.float32)))
    with pytest.raises(ValueError) as caught:
        run({"flash": flash, "guide": guide}, tmp_path / "out", MaterialParams(method="two_shot"), OpContext())
    said = f"{guide} is {size[0]}x{size[1]} but {flash} is 64x48; a flash/guide pair must be taken at the same size"
    assert str(caught.value) == (f"{said}: {fix}" if fix else said)


def test_missing_guide_is_named(pair, tmp_path: Path):
    with pytest.raises(ValueError, match=r"missing: guide"):
        run({"flash": pair[0]}, tmp_path / "out", MaterialParams(method="two_shot"), OpContext())


def test_unreadable_photo_is_named(pair, tmp_path: Path):
    broken = tmp_path / "guide.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="guide.jpg"):
        run({"flash": pair[0], "guide": broken}, tmp_path / "out", MaterialParams(method="two_shot"), OpContext())


@pytest.mark.parametrize("method", ["two_shot", "one_shot"])
def test_a_black_flash_photo_is_named_not_fitted(pair, tmp_path: Path, method: str):
    black = tmp_path / "flash.png"
    write_image(black, Image(color=np.zeros_like(read_image(pair[0]).color)))  # the flash did not fire
    inputs = {"flash": black, "guide": pair[1]} if method == "two_shot" else {"image": black}
    with pytest.raises(ValueError, match=f"{black}: the flash photo is black.*retake it"):  # ZeroDivisionError
        run(inputs, tmp_path / "out", MaterialParams(method=method, iterations=5), OpContext(device="cpu"))


@pytest.mark.parametrize("grey_role", ["flash", "guide"])
def test_a_grey_photo_paired_with_a_colour_one_is_named_not_fitted(pair, tmp_path: Path, grey_role: str):
    inputs = dict(zip(("flash", "guide"), pair))
    grey = tmp_path / f"{grey_role}.png"
    write_image(grey, Image(color=read_image(inputs[grey_role]).color.mean(axis=2, keepdims=True)))
    inputs[grey_role] = grey  # the colour photo's tint would be fitted as the surface's colour
    with pytest.raises(ValueError, match=f"{grey} is greyscale but .* is in colour"):
        run(inputs, tmp_path / "out", MaterialParams(method="two_shot", iterations=5), OpContext(device="cpu"))
    other = "guide" if grey_role == "flash" else "flash"
    as_rgb = tmp_path / f"{other}_rgb.png"
    write_image(as_rgb, Image(color=read_image(grey).color.repeat(3, axis=2)))  # grey, saved as RGB
    inputs[other] = as_rgb
    assert run(inputs, tmp_path / "out", MaterialParams(method="two_shot", iterations=2), OpContext(device="cpu"))


@pytest.mark.parametrize("method", ["two_shot", "one_shot"])
def test_an_overexposed_flash_photo_is_named_not_fitted(pair, tmp_path: Path, method: str):
    flash = read_image(pair[0]).color.copy()
    flash[..., 0] = 1.0  # a saturated red: one channel clipped everywhere
    clipped = tmp_path / "flash.png"
    write_image(clipped, Image(color=flash))
    inputs = {"flash": clipped, "guide": pair[1]} if method == "two_shot" else {"image": clipped}
    with pytest.raises(ValueError, match=f"{clipped}: 100% of the photo is clipped.*less flash"):
        run(inputs, tmp_path / "out", MaterialParams(method=method, iterations=5), OpContext())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())

def test_texture_method_refuses_a_pair(pair, tmp_path: Path):
    with pytest.raises(ValueError, match="from_texture needs one image"):
        run({"flash": pair[0], "guide": pair[1]}, tmp_path / "o", MaterialParams(method="from_texture"), OpContext())


# --- from_texture ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1)])
def test_one_pixel_strips_make_flat_maps(tmp_path: Path, shape: tuple[int, int]):
    ramp = np.linspace(0.2, 0.8, shape[0] * shape[1], dtype=np.float32).reshape(*shape, 1).repeat(3, axis=2)
    write_image(tmp_path / "ramp.png", Image(color=ramp))
    run({"image": tmp_path / "ramp.png"}, tmp_path / "out", MaterialParams(method="from_texture"), OpContext())
    normal = read_image(tmp_path / "out" / "normal.png", colorspace="linear")
    assert normal.color.shape == (*shape, 3)
    np.testing.assert_allclose(normal.color[..., 2], 1.0, atol=0.01)  # a smooth ramp has next to no relief


def test_the_log_line_of_a_material_names_its_texture(tmp_path: Path, caplog):
    """A run's log in the UI showed one line per texture, each alike but for its figures, naming none."""
    ramp = np.linspace(0.2, 0.8, 64, dtype=np.float32).reshape(8, 8, 1).repeat(3, axis=2)
    write_image(tmp_path / "walls" / "brick.png", Image(color=ramp))
    with caplog.at_level("INFO", logger="ops"):
        run({"image": tmp_path / "walls" / "brick.png"}, tmp_path / "out", MaterialParams(method="from_texture"), OpContext())
    [line] = [r.getMessage() for r in caplog.records if r.name == "ops"]
    assert line.startswith("brick.png: material from_texture, tileable ")
    assert "width 8, height 8" in line


def test_a_sprite_whose_edges_differ_in_alpha_is_not_taken_for_tiling(tmp_path: Path):
    rng = np.random.default_rng(0)
    colour = np.tile(rng.uniform(0.2, 0.8, size=(1, 64, 3)).astype(np.float32), (64, 1, 1))  # tiles once filled
    coverage = np.ones((64, 64), np.float32)
    coverage[40:] = 0.0  # opaque at the top, empty at the bottom
    assert material_from_texture(colour).tileable
    assert not material_from_texture(colour, coverage=coverage).tileable
    path = tmp_path / "sign.png"
    write_image(path, Image(colour, coverage))
    meta = run({"image": path}, tmp_path / "out", MaterialParams(method="from_texture"), OpContext(device="cpu"))
    assert meta["tileable"] == 0


@pytest.mark.parametrize("name", ["slime09.png", "blood3.png"])
def test_a_textures_enlargement_and_its_material_agree_on_tiling(tmp_path: Path, name: str):
    from ops.upscale import UpscaleParams
    from ops.upscale import run as upscale

    path = SHARED / "legacy" / "freedoom" / "flats" / name  # judged apart, one wrapped and the other not
    enlarged = upscale({"image": path}, tmp_path / "up", UpscaleParams(), OpContext())
    material = run({"image": path}, str(tmp_path / "mat"), MaterialParams(method="from_texture"), OpContext(device="cpu"))
    assert material["tileable"] == (enlarged["wrap_x"] and enlarged["wrap_y"])  # a material tiles on both axes or none


def test_an_enlarged_cut_out_stays_a_cut_out_and_glass_or_smoke_blends(tmp_path: Path):
    from ops.upscale import UpscaleParams
    from ops.upscale import run as upscale

    def alpha_mode(path: Path) -> str:
        run({"image": path}, tmp_path / path.stem, MaterialParams(method="from_texture"), OpContext(device="cpu"))
        return json.loads((tmp_path / path.stem / "material.gltf").read_text())["materials"][0]["alphaMode"]

    sprite = SHARED / "legacy" / "freedoom" / "patches" / "sw2_2.png"
    upscale({"image": sprite}, tmp_path / "up", UpscaleParams(scale=4), OpContext())
    (tmp_path / "up" / "output.png").rename(tmp_path / "enlarged.png")
    assert alpha_mode(sprite) == alpha_mode(tmp_path / "enlarged.png") == "MASK"  # was BLEND: its edges are partial
    yy, xx = np.mgrid[0:32, 0:32]
    disc = np.clip(12.5 - np.hypot(yy - 16, xx - 16), 0, 1).astype(np.float32)  # a cut-out with a soft rim
    write_image(tmp_path / "disc.png", Image(np.full((32, 32, 3), 0.5, np.float32), disc))
    for scale in (4, 8):  # nearest, as pixel art is enlarged: a rim texel becomes a flat block, not a pane
        upscale({"image": tmp_path / "disc.png"}, tmp_path / "px", UpscaleParams(scale=scale, filter="nearest"), OpContext())
        (tmp_path / "px" / "output.png").rename(tmp_path / f"blocky{scale}.png")
        assert alpha_mode(tmp_path / f"blocky{scale}.png") == "MASK"
    yy, xx = np.mgrid[0:64, 0:64]
    colour = np.full((64, 64, 3), 0.5, np.float32)
    smoke = np.clip(1.2 - np.hypot(yy - 32, xx - 32) / 24, 0, 1).astype(np.float32)
    glass = np.ones((64, 64), np.float32)
    glass[26:38, 26:38] = 0.4  # a small pane in an opaque frame: each texel within 8 of the frame
    noisy = glass.copy()
    noisy[24:40, 24:40] = 0.4 + np.random.default_rng(0).integers(-3, 4, (16, 16)) / 255  # as a photo's alpha
    for name, alpha in (("smoke", smoke), ("glass", glass), ("noisy", noisy)):
        write_image(tmp_path / f"{name}.png", Image(colour, alpha))
        assert alpha_mode(tmp_path / f"{name}.png") == "BLEND"
    puff = np.clip(1.2 - np.hypot(yy - 32, xx - 32) / 7, 0, 1).astype(np.float32)  # 16 texels: as an enlarged dot
    write_image(tmp_path / "puff.png", Image(colour, puff))
    assert alpha_mode(tmp_path / "puff.png") == "MASK"
    run({"image": tmp_path / "puff.png"}, tmp_path / "said", MaterialParams(method="from_texture", alpha_mode="blend"),
        OpContext(device="cpu"))
    assert json.loads((tmp_path / "said" / "material.gltf").read_text())["materials"][0]["alphaMode"] == "BLEND"


def test_tileable_texture_gives_tileable_maps():
    rng = np.random.default_rng(3)
    from scipy import ndimage

    texture = ndimage.gaussian_filter(rng.uniform(0.1, 0.9, size=(64, 64, 3)), (2, 2, 0), mode="wrap").astype(np.float32)
    made = material_from_texture(texture)
    moved = material_from_texture(np.roll(texture, (20, 33), axis=(0, 1)), tileable=True)
    assert made.tileable
    # Wrapping borders make every map shift with its input: no seam is special.
    for a, b in ((made.normal, moved.normal), (made.height, moved.height), (made.ao, moved.ao)):
        assert np.allclose(np.roll(a, (20, 33), axis=(0, 1)), b, atol=1e-4)


def test_normal_encoding_round_trips_and_height_integrates():
    truth = tiles_material(64, tiles=2)
    for convention in ("opengl", "directx"):
        assert np.allclose(decode_normal(encode_normal(truth.normal, convention), convention), truth.normal, atol=1e-5)
    assert np.allclose(encode_normal(truth.normal, "directx")[..., 1], 1 - encode_normal(truth.normal, "opengl")[..., 1])
    height = height_from_normal(truth.normal)
    assert height[16, 16] > height[0, 0]  # a tile top stands above the grout


# --- outputs and glTF validity ----------------------------------------------------------------------


def _validator_available() -> bool:
    if shutil.which("node") and VALIDATOR.is_dir():
        return True
    if os.environ.get("CI"):
        pytest.fail("node_modules/gltf-validator is missing: run `npm ci` at the repository root before pytest")
    pytest.skip("glTF validator not installed (run `npm ci`)")
    return False


@pytest.mark.parametrize(
    ("method", "extra"),
    [("two_shot", {}), ("one_shot", {}), ("from_texture", {"orm": False}), ("from_texture", {"normal_convention": "directx"})],
)
def test_outputs_are_complete_and_gltf_validates(pair, tmp_path: Path, method: str, extra: dict):
    _validator_available()
    params = MaterialParams(method=method, iterations=15, **extra)
    inputs = {"flash": pair[0], "guide": pair[1]} if method == "two_shot" else {"image": pair[0]}
    progress: list[tuple[int, int]] = []
    meta = run(inputs, tmp_path / "out", params, OpContext(device="cpu", progress=lambda d, t: progress.append((d, t))))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(params.output_names())
    assert all(isinstance(v, (int, float, str)) for v in meta.values())
    if method != "from_texture":
        assert progress[-1] == (15, 15)
    assert read_image(tmp_path / "out" / "height.png", colorspace="linear").bit_depth == 16
    result = subprocess.run(
        ["node", str(ROOT / "tests" / "ops" / "gltf_validate.mjs"), str(tmp_path / "out" / "material.gltf")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["issues"]["numErrors"] == 0


SHARED_PAIR = ROOT.parent / "shared" / "data" / "photos" / "pairs" / "green_towel"


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_PAIR.is_dir(), reason="shared test data not present")
def test_real_phone_pair_runs_end_to_end(tmp_path: Path):
    inputs = {"flash": SHARED_PAIR / "flash.jpg", "guide": SHARED_PAIR / "guide.jpg"}
    meta = run(inputs, tmp_path / "towel", MaterialParams(method="two_shot", iterations=100), OpContext(device="cpu"))
    assert (meta["width"], meta["height"]) == (800, 600)
    assert abs(float(meta["shift_x"])) < 3 and abs(float(meta["shift_y"])) < 3
    albedo = read_image(tmp_path / "towel" / "albedo.png").rgb()
    assert albedo[..., 1].mean() > albedo[..., 2].mean()  # a green towel stays green
    assert (albedo >= 0.999).mean() < 0.01  # and is not clipped: 17% of its values were


@pytest.mark.parametrize("orm", [True, False])
def test_the_gltf_material_reads_roughness_and_no_metalness(orm: bool):
    from ops.material.gltf import material_gltf

    document = material_gltf("m", orm=orm, normal_map=True)
    [material] = document["materials"]
    uri = {i: image["uri"] for i, image in enumerate(document["images"])}
    pbr = material["pbrMetallicRoughness"]
    assert uri[pbr["metallicRoughnessTexture"]["index"]] == ("orm.png" if orm else "roughness.png")
    assert uri[material["occlusionTexture"]["index"]] == ("orm.png" if orm else "ao.png")
    assert uri[material["normalTexture"]["index"]] == "normal.png"
    assert pbr["metallicFactor"] == (1.0 if orm else 0.0)  # orm.png's blue is 0; roughness.png's blue is not


def test_ambient_occlusion_darkens_grooves_without_crushing_them_to_black():
    from ops.material.maps import ambient_occlusion

    height = np.ones((64, 64), np.float32)
    height[:, 30:34] = 0.0  # a deep groove between two planks
    ao = ambient_occlusion(height, wrap=True)
    assert 0.2 < ao[:, 30:34].min() and ao[:, 30:34].max() < 0.5 and ao[:, :28].min() == 1.0


def test_the_default_field_of_view_spans_the_longer_side_of_an_upright_photo(tmp_path: Path):
    photo = tmp_path / "flash.png"
    default = load_scene(photo)
    landscape, portrait = default.plane_points(600, 800), default.plane_points(800, 600)
    assert np.ptp(portrait[..., 1]) == pytest.approx(np.ptp(landscape[..., 0]), rel=1e-3)  # the same 60 degrees
    given = load_scene(photo, fov_deg=60.0).plane_points(800, 600)  # a given angle is horizontal, as documented
    assert np.ptp(given[..., 0]) == pytest.approx(np.ptp(landscape[..., 0]), rel=1e-3)


@pytest.mark.parametrize("typo, meant", [({"camera": {"fov": 45}}, "'camera.fov_deg'"),
                                         ({"flash": {"intensty": 3}}, "'flash.intensity'"),
                                         ({"camer": {"fov_deg": 45}}, "'camera'")])
def test_a_misspelt_scene_key_is_an_error_and_a_renderer_s_own_notes_are_not(tmp_path: Path, typo, meant):
    sidecar = tmp_path / "scene.json"
    sidecar.write_text(json.dumps(typo))
    with pytest.raises(ValueError, match=f"{sidecar}.*did you mean {meant}"):
        load_scene(tmp_path / "flash.png")
    sidecar.write_text(json.dumps({"renderer": "Mitsuba 3", "camera": {"fov_deg": 45, "looks_at": "centre"},
                                   "flash": {"kind": "point", "intensity": 9.68, "intensity_unit": "W/sr"},
                                   "guide": {"radiance": 1.0, "variance": 0.0}, "maps": {}}))
    assert load_scene(tmp_path / "flash.png").intensity == 9.68  # notes beside the real keys are no typos


@pytest.mark.parametrize("misplaced, said", [
    ({"fov_deg": 45},
     """'fov_deg' at the top level is not read there; it belongs in 'camera', as {"camera": {"fov_deg": 45}}"""),
    ({"camera": {"intensity": 9.68}}, """'intensity' in 'camera' is not read there; it belongs in 'flash', as"""),
    ({"flash": {"fov_deg": 45, "distance": 2}}, "'fov_deg' in 'flash' is not read there; it belongs in 'camera'"),
    ({"camera": {"guide": {"radiance": 1}}}, "'guide' in 'camera' is not read there; it belongs at the top level"),
])
def test_a_scene_key_at_the_wrong_level_is_an_error_naming_where_it_belongs(tmp_path: Path, misplaced, said):
    """A key this reads, placed where it is not read, was taken for a renderer's note: the fit used the default
    field of view (or fitted the flash) without a word."""
    sidecar = tmp_path / "scene.json"
    sidecar.write_text(json.dumps({"renderer": "Blender", **misplaced}))
    with pytest.raises(ValueError, match=re.escape(f"{sidecar}: {said}")):
        load_scene(tmp_path / "flash.png")


def test_a_section_s_name_as_a_note_in_another_section_is_left_alone(tmp_path: Path):
    """A note named as a section (the guide shot with the flash off) was told to move to the top level, where it
    would have been read as that section: notes are left alone, a section misplaced into another is not."""
    (tmp_path / "scene.json").write_text(json.dumps({"camera": {"fov_deg": 45, "distance": 2}, "flash": {
        "intensity": 9.68, "camera": "Canon EOS R"}, "guide": {"radiance": 1.0, "flash": "off"}}))
    scene = load_scene(tmp_path / "flash.png")
    assert (scene.fov_deg, scene.intensity, scene.guide_radiance) == (45.0, 9.68, 1.0)


@pytest.mark.parametrize("sidecar_text, said", [
    ('{"camera": 45}', """'camera' is 45, where an object of its keys (fov_deg, distance) is expected, such as """
                       """{"camera": {"fov_deg": 45, "distance": 2.2}}"""),
    ('{"flash": null}', """'flash' is null, where an object of its keys (intensity) is expected"""),
    ('[45, 2.2]', """it holds [45, 2.2], where an object of sections is expected, such as {"camera": {"""),
    # a renderer's list of every frame's camera: its start, not all 50 KB of it in the build's log
    (json.dumps([{"frame": n, "fov_deg": 45} for n in range(2000)]),
     """it holds [{"frame": 0, "fov_deg": 45}, {"frame": 1, "fov_deg": 45}..., where an object of sections is """
     """expected"""),
])
def test_a_scene_section_that_is_no_object_is_named_with_what_to_write(tmp_path: Path, sidecar_text, said):
    """Python's "'int' object has no attribute 'get'" said neither which section nor what to write."""
    (tmp_path / "scene.json").write_text(sidecar_text)
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'scene.json'} is not a valid scene description ({said}")):
        load_scene(tmp_path / "flash.png")


@pytest.mark.parametrize("fov_deg, said", [(None, "60 degrees"), (38.5, "38.5 degrees")])
def test_a_scene_error_says_every_key_it_reads_is_optional(tmp_path: Path, fov_deg, said):
    """"expected camera.fov_deg, camera.distance and optionally flash.intensity ..." read as if the camera's keys
    were required, where a sidecar without them loads with defaults (the op's fov_deg, or 60 degrees)."""
    sidecar = tmp_path / "scene.json"
    sidecar.write_text('{"camera": {"fov_deg": 45,}}')
    with pytest.raises(ValueError) as caught:
        load_scene(tmp_path / "flash.png", fov_deg)
    assert str(caught.value) == (
        f"{sidecar} is not a valid scene description (Expecting property name enclosed in double quotes: line 1 "
        f"column 27 (char 26)); it reads camera.fov_deg and camera.distance ({said} and 1 where left out), "
        "flash.intensity and guide.radiance (fitted where left out), all optional. Correct it in scene.json.")
    sidecar.write_text('{"renderer": "Blender"}')
    scene = load_scene(tmp_path / "flash.png", fov_deg)
    assert (scene.fov_deg, scene.distance, scene.intensity, scene.guide_radiance) == (fov_deg or 60.0, 1.0, None, None)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])  # Notepad's UTF-8 with a BOM; PowerShell's `>`
def test_a_scene_sidecar_is_read_in_the_encoding_it_was_saved_in(tmp_path: Path, encoding: str):
    text = json.dumps({"renderer": "Blender – Cycles, 光源", "camera": {"fov_deg": 50, "distance": 1.5}}, ensure_ascii=False)
    (tmp_path / "scene.json").write_bytes(text.encode(encoding))
    scene = load_scene(tmp_path / "flash.png")
    assert (scene.fov_deg, scene.distance) == (50.0, 1.5)


@pytest.mark.parametrize("camera, flash, guide, refused", [
    ({"distance": 0}, {}, {}, 'camera.distance is 0; it must be a positive number'),  # fitted NaN, wrote black maps
    ({"distance": -2}, {}, {}, 'camera.distance is -2; it must be a positive number'),  # "the flash photo is black"
    ({"fov_deg": 180}, {}, {}, 'camera.fov_deg is 180; it must be a number of degrees above 1 and below 170'),
    ({"fov_deg": 0}, {}, {}, 'camera.fov_deg is 0; it must be a number of degrees above 1 and below 170'),
    ({"fov_deg": "NaN"}, {}, {}, 'camera.fov_deg is "NaN"; it must be a number of degrees'),
    ({"fov_deg": True}, {}, {}, 'camera.fov_deg is true; it must be a number of degrees'),
    ({}, {"intensity": 0}, {}, 'flash.intensity is 0; it must be a positive number'),  # "math domain error"
    ({}, {"intensity": -3}, {}, 'flash.intensity is -3; it must be a positive number'),
    ({}, {"intensity": "inf"}, {}, 'flash.intensity is "inf"; it must be a positive number'),
    ({}, {}, {"radiance": 0}, 'guide.radiance is 0; it must be a positive number'),  # was taken for "not given"
    ({"distance": 10**400}, {}, {}, f'camera.distance is {10**400}; it must be a positive number'),  # OverflowError
])
def test_a_scene_value_the_fit_cannot_use_is_refused_naming_the_sidecar_and_key(
    tmp_path: Path, camera: dict, flash: dict, guide: dict, refused: str
):
    sidecar = tmp_path / "scene.json"
    sidecar.write_text(json.dumps({"camera": {"fov_deg": 45, "distance": 2.2, **camera}, "flash": flash, "guide": guide}))
    with pytest.raises(ValueError, match=re.escape(f"{sidecar}: {refused}")):
        load_scene(tmp_path / "flash.png")


def test_a_photo_pair_with_a_camera_at_distance_0_fails_naming_its_sidecar(tmp_path: Path):
    flash, guide = render_demo_pair(tmp_path, size=64)
    (tmp_path / "scene.json").write_text(json.dumps({"camera": {"fov_deg": 45, "distance": 0}}))
    params = MaterialParams(method="two_shot", iterations=5, fit_size=64)
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'scene.json'}: camera.distance is 0")):
        run({"flash": flash, "guide": guide}, tmp_path / "out", params, OpContext(device="cpu"))  # wrote black maps


def test_a_cut_out_texture_keeps_its_alpha_without_a_false_bevel(tmp_path: Path):
    from skimage import data as skdata

    rgb = np.asarray(skdata.brick(), np.float32)[:96, :144, None].repeat(3, axis=2) / 255
    alpha = np.ones((96, 144), np.float32)
    alpha[32:64, 48:96] = 0.0  # a hole, black underneath as PNGs usually have it
    rgb[alpha == 0] = 0.0
    write_image(tmp_path / "grate.png", Image(rgb, alpha))
    _validator_available()
    run({"image": tmp_path / "grate.png"}, tmp_path / "out", MaterialParams(method="from_texture"), OpContext(device="cpu"))
    albedo = read_image(tmp_path / "out" / "albedo.png")
    assert albedo.alpha is not None and np.array_equal(albedo.alpha, alpha)
    tilt = np.linalg.norm(decode_normal(read_image(tmp_path / "out" / "normal.png", colorspace="linear").color)[..., :2], axis=2)
    rim = np.zeros_like(alpha, bool)
    rim[28:68, 44:100] = True
    rim[32:64, 48:96] = False  # the opaque texels around the hole
    assert tilt[rim].mean() < 2 * tilt[alpha > 0][~rim[alpha > 0]].mean()
    document = json.loads((tmp_path / "out" / "material.gltf").read_text())
    assert document["materials"][0]["name"] == "grate" and document["materials"][0]["alphaMode"] == "MASK"
    assert document["materials"][0]["doubleSided"]  # seen through its holes from behind too
    assert document["accessors"][0]["max"][:2] == [0.5, pytest.approx(1 / 3)]  # 144x96: not stretched square
    result = subprocess.run(
        ["node", str(ROOT / "tests" / "ops" / "gltf_validate.mjs"), str(tmp_path / "out" / "material.gltf")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert json.loads(result.stdout)["issues"]["numErrors"] == 0, result.stdout


def test_no_fit_steps_report_no_loss(pair, tmp_path: Path):
    meta = run({"image": pair[0]}, tmp_path / "out", MaterialParams(method="one_shot", iterations=0), OpContext(device="cpu"))
    assert "fit_loss" not in meta and all(isinstance(v, str) or math.isfinite(v) for v in meta.values())


def test_settings_of_the_other_methods_are_neutral_in_the_cache_key():
    assert MaterialParams(method="from_texture", iterations=3, seed=2).for_cache_key() == MaterialParams(method="from_texture")
    assert MaterialParams(method="two_shot", delight=0.5).for_cache_key() == MaterialParams(method="two_shot")
    assert MaterialParams(method="one_shot", max_shift=0.1).for_cache_key() == MaterialParams(method="one_shot")
    assert MaterialParams(method="two_shot", max_shift=0.1).for_cache_key() != MaterialParams(method="two_shot")
    assert MaterialParams(method="one_shot", alpha_mode="mask").for_cache_key() == MaterialParams(method="one_shot")
    data_alpha = MaterialParams(method="from_texture", alpha="data")
    assert data_alpha.model_copy(update={"alpha_mode": "blend"}).for_cache_key() == data_alpha
    assert MaterialParams(method="from_texture", alpha_mode="blend").for_cache_key() != MaterialParams(method="from_texture")


@pytest.mark.parametrize("method", ["two_shot", "from_texture"])
def test_a_16_bit_source_gives_a_16_bit_albedo(pair, tmp_path: Path, method: str):
    deep = {}
    for path in pair:
        image = read_image(path)
        deep[path.stem] = tmp_path / "deep" / path.name
        write_image(deep[path.stem], Image(color=image.color, bit_depth=16))
    sources = {"8": dict(zip(("flash", "guide"), pair)), "16": {"flash": deep["flash"], "guide": deep["guide"]}}
    depths = {}
    for bits, photos in sources.items():
        inputs = photos if method == "two_shot" else {"image": photos["flash"]}
        run(inputs, tmp_path / bits, MaterialParams(method=method, iterations=2), OpContext())
        depths[bits] = read_image(tmp_path / bits / "albedo.png").bit_depth
    assert depths == {"8": 8, "16": 16}  # was 8 for both: a 16-bit scan lost its tonal steps


def test_the_gltf_repeats_only_maps_that_tile(pair, tmp_path: Path):
    from scipy import ndimage

    rng = np.random.default_rng(3)
    tiling = ndimage.gaussian_filter(rng.uniform(0.1, 0.9, size=(64, 64, 3)), (2, 2, 0), mode="wrap").astype(np.float32)
    write_image(tmp_path / "tiling.png", Image(color=tiling))
    cases = {"tiling": ({"image": tmp_path / "tiling.png"}, "from_texture"), "photo": ({"image": pair[0]}, "one_shot")}
    wraps = {}
    for name, (inputs, method) in cases.items():
        run(inputs, tmp_path / name, MaterialParams(method=method, iterations=2), OpContext())
        [sampler] = json.loads((tmp_path / name / "material.gltf").read_text())["samplers"]
        wraps[name] = (sampler["wrapS"], sampler["wrapT"])
    assert wraps == {"tiling": (10497, 10497), "photo": (33071, 33071)}  # REPEAT, CLAMP_TO_EDGE: was REPEAT for both


@pytest.mark.parametrize(("rgb", "message"), [
    (np.zeros((8, 8, 1), np.float32), r"expected linear colour \(height, width, 3\); got shape \(8, 8, 1\)"),  # matmul
    (np.full((8, 8, 3), 200.0, np.float32), "from 200 to 200 \\(divide 0-255 values by 255"),  # albedo came out white
    (np.full((8, 8, 3), 200, np.uint8), "got uint8"),
])
def test_a_direct_call_from_a_texture_refuses_what_it_cannot_read_by_name(rgb, message):
    with pytest.raises(ValueError, match=message):
        material_from_texture(rgb)


@pytest.mark.parametrize(("arguments", "refused"), [
    ({"strength": float("nan")}, "^strength nan: should be"),  # normals all NaN
    ({"strength": 11.0}, "^strength 11.0: should be less than or equal to 10"),
    ({"delight": float("nan")}, "delight nan: should be"),  # albedo all NaN
    ({"delight": 100.0}, "delight 100.0: should be less than or equal to 1"),  # albedo overflowed to infinity
    ({"tileable": "sometimes"}, "tileable 'sometimes': should be a valid boolean"),  # taken as true
    ({"coverage": np.ones((8, 16), np.float32)}, r"coverage is \(height, width\) = \(16, 16\), as rgb; got shape \(8, 16\)"),
    ({"coverage": np.ones((8, 16), np.float32), "tileable": True}, r"got shape \(8, 16\)"),  # went unread
    ({"coverage": np.full((16, 16), 255, np.uint8)}, "coverage holds floats in .0, 1.; got uint8"),
    ({"coverage": [[255] * 16] * 16}, "coverage holds floats in .0, 1.; got int64"),  # a list: 'no attribute dtype'
])
def test_a_direct_call_from_a_texture_refuses_what_the_op_s_params_would_by_name(arguments, refused):
    """The op's params refuse these in a spec; called from Python they made NaN or infinite maps, or were taken as
    something else."""
    with pytest.raises(ValueError, match=refused):
        material_from_texture(np.full((16, 16, 3), 0.5, np.float32), **arguments)


@pytest.mark.parametrize("method", ["two_shot", "one_shot"])
def test_a_direct_call_from_photos_writes_what_the_op_writes(pair, tmp_path: Path, method: str):
    """A script had only the op's run for a photo pair, with its mapping of roles and OpContext."""
    flash, guide = pair
    given = {"guide": str(guide)} if method == "two_shot" else {}
    figures = material_from_photos(str(flash), tmp_path / "script", iterations=3, fit_size=32, device="cpu", **given)
    inputs = {"flash": flash, "guide": guide} if method == "two_shot" else {"flash": flash}
    op = run(inputs, tmp_path / "op", MaterialParams(method=method, iterations=3, fit_size=32), OpContext(device="cpu"))
    assert figures["method"] == method and figures.keys() == op.keys()
    written = sorted(path.name for path in (tmp_path / "op").iterdir())
    assert sorted(path.name for path in (tmp_path / "script").iterdir()) == written and "material.gltf" in written
    for name in written:
        assert (tmp_path / "script" / name).read_bytes() == (tmp_path / "op" / name).read_bytes(), name


@pytest.mark.parametrize(("arguments", "refused"), [
    ({"iterations": -1}, "iterations -1: should be greater than or equal to 0"),
    ({"normal_convention": "DirectX"}, "normal_convention 'DirectX': should be 'opengl' or 'directx'"),
    ({"device": "gpu"}, "device 'gpu': expected auto, cpu, cuda or cuda:N"),
])
def test_a_direct_call_from_photos_refuses_what_the_op_s_params_would_by_name(pair, tmp_path: Path, arguments, refused):
    with pytest.raises(ValueError, match=re.escape(refused)):
        material_from_photos(pair[0], tmp_path / "out", guide=pair[1], **arguments)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("role", ["flash", "guide"])
def test_a_direct_call_from_photos_given_pixels_says_it_reads_files(pair, tmp_path: Path, role: str):
    """Pixels for a photo failed in pathlib as "expected str, bytes or os.PathLike object"."""
    photos = {"flash": pair[0], "guide": pair[1], role: read_image(pair[0])}
    with pytest.raises(TypeError, match=re.escape(f"{role} is the path of a photo; got ops.image_io.Image (the fit "
                                                  "reads photos from files")):
        material_from_photos(photos["flash"], tmp_path / "out", guide=photos["guide"])


def test_a_direct_call_from_photos_refuses_the_flash_photo_for_its_guide(pair, tmp_path: Path):
    """Fitted, the flash photo's hotspot was read as ambient light, and the maps came out without a word."""
    with pytest.raises(ValueError, match=re.escape(f"flash and guide are both {pair[0]}: the guide is the photo taken "
                                                   "without the flash")):
        material_from_photos(pair[0], tmp_path / "maps", guide=str(pair[0]), iterations=1, fit_size=32, device="cpu")


def test_a_direct_call_from_photos_refuses_a_file_for_its_folder_before_it_fits(pair, tmp_path: Path):
    """The fit ran to its end and then failed to write, as "File exists" or "Not a directory"."""
    (tmp_path / "maps").write_text("a file where a folder was meant")

    def never(done: int, total: int) -> None:
        raise AssertionError("fitted")

    with pytest.raises(ValueError, match=re.escape(f"out_dir {tmp_path / 'maps'} is a file; give the folder")):
        material_from_photos(pair[0], tmp_path / "maps", guide=pair[1], progress=never)
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'maps'} is a file, not a folder")):
        material_from_photos(pair[0], tmp_path / "maps" / "towel", guide=pair[1], progress=never)


@pytest.mark.parametrize("arguments", [{}, {"orm": False, "normal_convention": "directx", "alpha_mode": "blend",
                                         "normal_strength": 2.0, "tileable": True}], ids=["defaults", "params"])
def test_a_direct_call_from_a_texture_file_writes_what_the_op_writes(tmp_path: Path, arguments):
    """A script that wanted a texture's maps and glTF as files had the op's run alone, with its mapping of roles and
    OpContext."""
    texture = tmp_path / "puff.png"
    yy, xx = np.mgrid[0:32, 0:32]
    write_image(texture, Image(np.random.default_rng(0).uniform(0.2, 0.8, (32, 32, 3)).astype(np.float32),
                               np.clip(1.2 - np.hypot(yy - 16, xx - 16) / 7, 0, 1).astype(np.float32)))
    figures = material_from_texture_file(str(texture), tmp_path / "script", **arguments)
    op = run({"image": texture}, tmp_path / "op", MaterialParams(method="from_texture", **arguments), OpContext())
    assert figures.keys() == op.keys() and figures["method"] == "from_texture" and figures["tileable"] == op["tileable"]
    written = sorted(path.name for path in (tmp_path / "op").iterdir())
    assert sorted(path.name for path in (tmp_path / "script").iterdir()) == written and "material.gltf" in written
    for name in written:
        assert (tmp_path / "script" / name).read_bytes() == (tmp_path / "op" / name).read_bytes(), name


def test_a_direct_call_from_a_texture_file_refuses_by_name_before_it_writes(tmp_path: Path):
    texture = tmp_path / "wall.png"
    write_image(texture, Image(np.full((16, 16, 3), 0.5, np.float32)))
    with pytest.raises(ValueError, match=re.escape("alpha_mode 'MASKED': should be 'auto', 'mask' or 'blend'")):
        material_from_texture_file(texture, tmp_path / "out", alpha_mode="MASKED")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=re.escape("texture is the path of a texture file; got ops.image_io.Image (the "
                                                  "op reads its alpha, bit depth and name from the file")):
        material_from_texture_file(read_image(texture), tmp_path / "out")  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()
    (tmp_path / "maps").write_text("a file where a folder was meant")
    with pytest.raises(ValueError, match=re.escape(f"out_dir {tmp_path / 'maps'} is a file; give the folder")):
        material_from_texture_file(texture, tmp_path / "maps")


def test_a_direct_call_from_a_texture_names_an_image_given_for_its_colour():
    with pytest.raises(TypeError, match=r"got ops.image_io.Image \(image.rgb\(\), and image.alpha as coverage\)"):
        material_from_texture(Image(np.full((16, 16, 3), 0.5, np.float32)))  # type: ignore[arg-type]


def test_a_direct_call_from_a_texture_gives_a_view_s_maps_as_its_copy_s():
    """A flipped or transposed view, or float64 colour, came out a float ulp off its contiguous float32 copy."""
    from skimage import data as skdata

    colour = srgb_to_linear(skdata.astronaut()[:64, :64].astype(np.float32) / 255)
    for given, copy in ((colour.transpose(1, 0, 2), colour.transpose(1, 0, 2).copy()), (colour[::-1], colour[::-1].copy()),
                        (colour.astype(np.float64), colour)):
        made, expected = material_from_texture(given), material_from_texture(copy)
        for name in ("albedo", "normal", "height", "roughness", "ao"):
            assert np.array_equal(getattr(made, name), getattr(expected, name)), name


def test_a_normal_convention_is_one_of_the_two_by_name():
    up = np.zeros((2, 2, 3), np.float32)
    up[..., 1:] = np.sqrt(0.5)
    with pytest.raises(ValueError, match="convention 'DirectX': expected one of opengl, directx"):  # written as OpenGL
        encode_normal(up, "DirectX")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="convention 'gl': expected one of opengl, directx"):
        decode_normal(encode_normal(up, "opengl"), "gl")  # type: ignore[arg-type]


def test_from_texture_keeps_a_nearly_flat_texture_nearly_flat():
    """Relief stretched to its own range made one 8-bit level of noise a relief as deep as brick's."""
    from skimage import data as skdata

    noise = np.random.default_rng(0).integers(-1, 2, (64, 64, 3))
    flat = material_from_texture(srgb_to_linear((128 + noise).astype(np.float32) / 255))
    tilt = np.degrees(np.arccos(flat.normal[..., 2]))
    assert tilt.mean() < 2.0 and flat.ao.min() > 0.7 and np.ptp(flat.height) < 0.2  # were 6.7°, 0.36 and 1.0
    assert np.ptp(flat.roughness) < 0.2  # was 0.43
    brick = material_from_texture(srgb_to_linear(np.repeat(skdata.brick()[..., None], 3, 2) / 255.0))
    assert np.ptp(brick.height) == 1.0  # a real relief is stretched as before
