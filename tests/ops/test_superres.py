"""Behaviour of the super-resolution ops: params, model shapes, training, tiled inference."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import io
import os
import pickle
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image as PILImage
from pydantic import ValidationError
from skimage import data as skdata

from helpers import DEVICES, SHARED, needs_cuda, spandrel_error
from ops.image_io import Image, read_image, write_image
from ops.multiply.metrics import seam_ratio  # the tileability measure the texture multiplier is held to
from ops.registry import OPS, SINGLE_OUTPUT, OpContext
from ops.superres import data, infer, train
from ops.superres.adapt import adapt
from ops.superres.degrade import bc1, degrade, downscale
from ops.superres.losses import hfen
from ops.superres.metrics import PSNR_CAP, compare, measurable, psnr
from ops.superres.model import SRCAE, SRCAEConfig
from ops.superres.params import Degradation, SuperResolveParams, TrainParams, WeightsFile
from ops.superres.tiling import TiledUpscale, tile_layout
from ops.superres.weights import load_upscaler, read_weights, save_srcae
from ops.tileable import detect_wrap, texture_wrap

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(down_blocks=1, widths=(8, 12), patch_size=16, batch_size=4, validate_every=1000, checkpoint_every=2)


def _write(path: Path, color: np.ndarray, alpha: np.ndarray | None = None, bit_depth: int = 8) -> Path:
    write_image(path, Image(color.astype(np.float32), alpha, bit_depth), colorspace="linear")
    return path


def _skimage(name: str, size: int = 96) -> np.ndarray:
    array = np.asarray(getattr(skdata, name)(), dtype=np.float32)[:size, :size] / 255.0
    return array[..., None].repeat(3, axis=2) if array.ndim == 2 else array[..., :3]


def _periodic_texture(size: int = 48, seed: int = 0) -> np.ndarray:
    """A texture that tiles exactly: band-limited noise built in the Fourier domain."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.fft2(rng.standard_normal((size, size, 3)), axes=(0, 1))
    f = np.fft.fftfreq(size)
    spectrum *= np.exp(-(f[:, None, None] ** 2 + f[None, :, None] ** 2) / 0.02)
    field = np.real(np.fft.ifft2(spectrum, axes=(0, 1)))
    return (0.5 + 0.2 * field / field.std()).clip(0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def textures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("hires")
    return [_write(folder / f"{n}.png", _skimage(n)) for n in ("brick", "grass", "gravel", "astronaut", "coffee", "chelsea")]


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init 2x model whose correction over bicubic is not zero (so tiling faults would show)."""
    torch.manual_seed(0)
    model = SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12)))
    torch.nn.init.normal_(model.out.conv.weight, std=0.05)
    path = tmp_path_factory.mktemp("model") / "sr2x.pth"
    save_srcae(path, model)
    return path


# --- params -------------------------------------------------------------------


def test_spec_keys_validate_and_extra_keys_are_errors() -> None:
    params = TrainParams.model_validate({"scale": 2, "steps": 3000, "loss": {"mse": 1.0, "hfen": 0.1}})
    assert params.loss.hfen == 0.1 and params.loss.vgg == 0
    with pytest.raises(ValidationError):
        TrainParams.model_validate({"scale": 2, "stpes": 3000})
    with pytest.raises(ValidationError, match="widths needs"):
        TrainParams(down_blocks=3, widths=(8, 8))
    with pytest.raises(ValidationError, match="vgg_weights"):
        TrainParams.model_validate({"loss": {"vgg": 1.0}})
    assert TrainParams(vgg_weights=Path("vgg19.pth"), loss={"vgg": 0.1}).file_params() == {"vgg_weights": Path("vgg19.pth")}


def test_super_resolve_params_model_forms() -> None:
    named = SuperResolveParams.model_validate({"model": "sr2x"})
    assert named.file_params() == {} and named.wrap == "auto" and named.kind == "color"
    by_path = SuperResolveParams.model_validate({"model": {"path": "realesrgan.pth"}, "wrap": True})
    assert by_path.model == WeightsFile(path=Path("realesrgan.pth")) and by_path.wrap is True
    assert by_path.file_params() == {"model": Path("realesrgan.pth")}
    with pytest.raises(ValidationError):
        SuperResolveParams.model_validate({"model": "sr2x", "overlap": 200, "tile": 256})


def test_registry_names_and_params_import_without_torch() -> None:
    assert OPS["train_srcae"].runner() is train.run and OPS["super_resolve"].runner() is infer.run
    code = "import sys, ops.superres.params; assert 'torch' not in sys.modules, 'params imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- model and losses -----------------------------------------------------------


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("size", [(16, 16), (17, 29), (5, 3)])
def test_model_any_input_size(scale: int, size: tuple[int, int]) -> None:
    model = SRCAE(SRCAEConfig(scale=scale, down_blocks=2, widths=(8, 8, 8))).eval()
    with torch.no_grad():
        y = model(torch.rand(2, 3, *size))
    assert y.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert float(y.min()) >= 0 and float(y.max()) <= 1


@pytest.mark.parametrize("skip,residual", [(False, False), (True, False), (False, True)])
def test_model_variants_run(skip: bool, residual: bool) -> None:
    model = SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12), skip=skip, residual=residual))
    assert model(torch.rand(1, 3, 10, 10)).shape == (1, 3, 20, 20)


@pytest.mark.parametrize("scale", [2, 4])
def test_macs_match_a_count_of_every_convolution_run(scale: int) -> None:
    model = SRCAE(SRCAEConfig(scale=scale))
    counted: list[float] = []

    def count(module: torch.nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> None:
        kh, kw = module.kernel_size
        pixels = (inputs[0] if isinstance(module, torch.nn.ConvTranspose2d) else output).shape[-2:].numel()
        counted.append(pixels * module.in_channels * module.out_channels * kh * kw)

    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            module.register_forward_hook(count)
    with torch.no_grad():
        model(torch.rand(1, 3, 32, 32))
    assert model.macs_per_output_pixel() == pytest.approx(sum(counted) / (32 * scale) ** 2)


def test_hfen_is_zero_for_equal_and_sees_high_frequencies() -> None:
    x = torch.rand(1, 3, 32, 32)
    assert float(hfen(x, x)) == 0.0
    ramp = torch.linspace(0, 0.1, 32).expand(1, 3, 32, 32)  # a smooth error is nearly invisible to HFEN
    noise = 0.1 * torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert float(hfen(x + ramp, x)) < 0.01 * float(hfen(x + noise, x))
    with pytest.raises(ValueError):
        hfen(x, x[:, :, :16])


def test_degradations_keep_shape_and_range() -> None:
    hr = torch.rand(3, 3, 32, 32)
    spec = Degradation(blur=1.0, noise=0.05, jpeg=1.0, bc1=1.0)
    lr = degrade(hr, 2, spec, torch.Generator().manual_seed(0))
    assert lr.shape == (3, 3, 16, 16) and float(lr.min()) >= 0 and float(lr.max()) <= 1
    flat = torch.full((3, 8, 8), 0.5)
    assert torch.allclose(bc1(flat), flat, atol=1 / 31)
    with pytest.raises(ValueError, match="multiples"):
        downscale(hr[:, :, :31], 2)
    small = degrade(torch.rand(2, 3, 64, 64), 8, Degradation(blur=4.0), torch.Generator().manual_seed(0))
    assert small.shape == (2, 3, 8, 8)  # a blur wider than the 8 px patch is truncated, not an error


@pytest.mark.parametrize(
    "option", [{"blur": 2.0}, {"noise": 0.1}, {"jpeg": 1.0, "jpeg_quality": (10, 10)}, {"bc1": 1.0}]
)
def test_each_degradation_changes_the_low_res_input(option: dict) -> None:
    hr = torch.from_numpy(_skimage("astronaut", 64).transpose(2, 0, 1).copy())[None].repeat(4, 1, 1, 1)
    plain = downscale(hr, 2)
    degraded = degrade(hr, 2, Degradation(**option), torch.Generator().manual_seed(0))
    assert float((degraded - plain).abs().mean()) > 0.005


# --- training -------------------------------------------------------------------


def test_held_out_images_too_small_to_measure_stop_training_before_it_starts(tmp_path: Path) -> None:
    flat = _write(tmp_path / "flat64.png", _skimage("brick", 64))  # one file: its right quarter (16 px) is held out
    params = TrainParams(scale=4, steps=1, patch_size=32, down_blocks=1, widths=(8, 8))
    with pytest.raises(ValueError, match="no held-out image is 19 pixels or more a side.*flat64.png"):
        train.run([flat], tmp_path / "m.pth", params, OpContext(device="cpu"))
    assert not (tmp_path / "m.pth").exists()


def test_a_flat_held_out_image_keeps_the_figures_finite() -> None:
    images = [torch.zeros(3, 32, 32), torch.from_numpy(_skimage("gravel", 32).transpose(2, 0, 1).copy())]
    figures = compare(images, lambda lr: F.interpolate(lr, scale_factor=2, mode="bilinear"), 2)
    assert all(np.isfinite(value) for value in figures.values())
    assert psnr(np.zeros((4, 4, 3)), np.zeros((4, 4, 3))) == 120.0


def test_a_flat_held_out_image_does_not_decide_which_upscaler_wins() -> None:
    gravel = torch.from_numpy(_skimage("gravel", 64).transpose(2, 0, 1).copy())
    flat = torch.full((3, 64, 64), 0.5)  # bicubic matches it exactly; the upscaler below is 0.002 off

    def nudged(lr: torch.Tensor) -> torch.Tensor:
        return F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False) + 0.002

    alone, with_flat = compare([gravel], nudged, 2), compare([gravel, flat], nudged, 2)
    gain = {name: f["val_psnr"] - f["bicubic_psnr"] for name, f in (("alone", alone), ("with_flat", with_flat))}
    assert abs(gain["with_flat"] - gain["alone"]) < 0.2, gain  # a mean of PSNRs put it 30 dB lower
    assert with_flat["bicubic_psnr"] < 60, with_flat


def test_held_out_figures_score_visible_texels_only() -> None:
    gravel = torch.from_numpy(_skimage("gravel", 64).transpose(2, 0, 1).copy())
    alpha = torch.ones(1, 64, 64)
    alpha[:, :, :24] = 0.0
    hidden = (alpha == 0).expand(3, -1, -1)

    def exact_where_visible(lr: torch.Tensor) -> torch.Tensor:  # the target, with noise under alpha 0
        return torch.where(hidden, torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0)), gravel)[None]

    cut_out = torch.cat([gravel, alpha])
    assert compare([cut_out], exact_where_visible, 2)["val_psnr"] == PSNR_CAP  # every visible texel exact
    assert compare([gravel], exact_where_visible, 2)["val_psnr"] < 20  # opaque, the noise counts
    transparent = torch.cat([gravel, torch.zeros(1, 64, 64)])  # nothing to score: skipped
    assert not measurable(transparent, 2) and compare([cut_out, transparent], exact_where_visible, 2) == compare(
        [cut_out], exact_where_visible, 2)


@pytest.mark.parametrize("device", DEVICES)
def test_training_is_deterministic(textures: list[Path], tmp_path: Path, device: str) -> None:
    params = TrainParams(steps=4, **TINY)
    first = train.run(textures, tmp_path / "a.pth", params, OpContext(device=device))
    train.run(textures, tmp_path / "b.pth", params, OpContext(device=device))
    assert (tmp_path / "a.pth").read_bytes() == (tmp_path / "b.pth").read_bytes()
    for key in ("val_psnr", "val_ssim", "bicubic_psnr", "bicubic_ssim", "lanczos_psnr", "lanczos_ssim", "train_seconds"):
        assert isinstance(first[key], float), key
    assert first["device"] == device and first["parameters"] > 0


def test_status_promises_a_resume_only_from_a_checkpoint_the_training_would_resume(tmp_path: Path) -> None:
    """A checkpoint damaged by bit rot is trained over from the start (its appended hash does not match), yet
    ``remaster status`` said the next build resumed from it, at the step its intact pickle still named."""
    params = TrainParams(steps=6, **TINY)
    state, _ = train._setup(params, torch.device("cpu"))
    checkpoint = tmp_path / train.CHECKPOINT_NAME
    train._save_checkpoint(checkpoint, replace(state, step=4), "fingerprint")
    assert params.checkpoint_in(tmp_path) == "its checkpoint at step 4 of 6"
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 1  # in the tensors' bytes, past the pickle that names the step
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged"):
        train.load_checkpoint(checkpoint)  # what the next build meets: it trains from the start
    assert params.checkpoint_in(tmp_path) is None


def test_resume_after_interruption_gives_identical_weights(textures: list[Path], tmp_path: Path) -> None:
    params = TrainParams(steps=6, **TINY)
    train.run(textures, tmp_path / "straight.pth", params, OpContext(device="cpu", work_dir=tmp_path / "w1"))

    class Killed(Exception):
        pass

    def kill_at_step_5(step: int, total: int, note: str = "") -> None:
        if step == 5:
            raise Killed

    interrupted = OpContext(device="cpu", work_dir=tmp_path / "w2", progress=kill_at_step_5)
    with pytest.raises(Killed):
        train.run(textures, tmp_path / "resumed.pth", params, interrupted)
    trained_before = train.load_checkpoint(tmp_path / "w2" / train.CHECKPOINT_NAME)
    assert trained_before["step"] == 4 and trained_before["seconds"] > 0
    steps_seen: list[int] = []
    notes: list[str] = []
    resumed = OpContext(device="cpu", work_dir=tmp_path / "w2",
                        progress=lambda s, t, note="": (steps_seen.append(s), notes.append(note)))
    meta = train.run(textures, tmp_path / "resumed.pth", params, resumed)
    assert steps_seen == [5, 6] and notes[0] == "resumed from a checkpoint at step 4"  # shown beside the bar
    assert meta["train_seconds"] > trained_before["seconds"]  # the time before the kill counts
    assert (tmp_path / "straight.pth").read_bytes() == (tmp_path / "resumed.pth").read_bytes()

    checkpoint = tmp_path / "w2" / train.CHECKPOINT_NAME
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 1  # bit rot in the finished run's checkpoint: trained again from the start
    checkpoint.write_bytes(bytes(data))
    steps_seen.clear()
    train.run(textures, tmp_path / "again.pth", params, resumed)
    assert steps_seen == [1, 2, 3, 4, 5, 6]
    assert (tmp_path / "again.pth").read_bytes() == (tmp_path / "straight.pth").read_bytes()


@needs_cuda
@pytest.mark.parametrize(("killed_on", "resumed_on"), [("cuda", "cpu"), ("cpu", "cuda")])
def test_a_checkpoint_resumes_on_the_other_device(textures: list[Path], tmp_path: Path, killed_on: str,
                                                  resumed_on: str) -> None:
    """The device is in no cache key, so a training killed on a GPU may go on where there is none, and back."""
    params = TrainParams(steps=4, **TINY)

    class Killed(Exception):
        pass

    def kill_at_step_3(step: int, total: int, note: str = "") -> None:
        if step == 3:
            raise Killed

    with pytest.raises(Killed):
        train.run(textures, tmp_path / "sr.pth", params,
                  OpContext(device=killed_on, work_dir=tmp_path / "w", progress=kill_at_step_3))
    steps: list[int] = []
    meta = train.run(textures, tmp_path / "sr.pth", params, OpContext(
        device=resumed_on, work_dir=tmp_path / "w", progress=lambda s, t, note="": steps.append(s)))
    assert steps == [3, 4] and meta["device"] == resumed_on and np.isfinite(meta["val_psnr"])


def test_a_texture_repainted_at_the_same_byte_size_does_not_resume_the_old_checkpoint(tmp_path: Path) -> None:
    paths = [tmp_path / f"{name}.bmp" for name in ("brick", "grass", "gravel")]  # uncompressed: size is W x H
    for path in paths:
        PILImage.fromarray(np.uint8(_skimage(path.stem, 64) * 255)).save(path)
    params = TrainParams(steps=4, holdout=0.34, **TINY)
    work = OpContext(device="cpu", work_dir=tmp_path / "w")
    train.run(paths, tmp_path / "old.pth", params, work)  # leaves its finished checkpoint in w
    size = paths[1].stat().st_size
    PILImage.fromarray(np.uint8(_skimage("coffee", 64) * 255)).save(paths[1])  # repainted
    assert paths[1].stat().st_size == size
    steps: list[int] = []
    train.run(paths, tmp_path / "new.pth", params, replace(work, progress=lambda s, t, note="": steps.append(s)))
    train.run(paths, tmp_path / "fresh.pth", params, OpContext(device="cpu"))
    assert steps == [1, 2, 3, 4]  # was []: the old run's weights, trained on the old grass, were kept
    assert (tmp_path / "new.pth").read_bytes() == (tmp_path / "fresh.pth").read_bytes()


def test_a_texture_missing_from_a_resumable_training_is_left_out(tmp_path: Path) -> None:
    paths = [_write(tmp_path / f"{name}.png", _skimage(name, 64)) for name in ("brick", "grass", "gravel")]
    params = TrainParams(steps=2, holdout=0.5, **TINY)
    meta = train.run([*paths, tmp_path / "deleted.png"], tmp_path / "sr.pth", params,
                     OpContext(device="cpu", work_dir=tmp_path / "w"))  # raised FileNotFoundError
    assert meta["unreadable_images"] == 1 and "deleted.png: No such file or directory" in meta["unreadable"]
    assert meta["train_images"] + meta["held_out_images"] == 3


def test_the_model_records_which_textures_its_figures_are_of(tmp_path: Path) -> None:
    """Its held-out PSNR and SSIM are of textures the split picks by their names' hash, which only the training's log
    named, and a CLI build shows no log: the manifest and the UI said how many were held out, not which."""
    names = ("brick", "grass", "gravel", "coffee", "chelsea")
    paths = sorted((_write(tmp_path / f"{name}.png", _skimage(name, 32)) for name in names), key=str)
    meta = train.run(paths, tmp_path / "sr.pth", TrainParams(steps=1, holdout=0.4, **TINY), OpContext(device="cpu"))
    held = [path.name for path, out in zip(paths, data.held_out(paths, 0.4)) if out]
    assert len(held) == 2 and meta["held_out"] == ", ".join(held)

    many = [_write(tmp_path / "many" / f"{i:02d}.png", _skimage(names[i % 5], 16)) for i in range(24)]
    meta = train.run(many, tmp_path / "sr.pth", TrainParams(steps=1, holdout=0.5, **TINY), OpContext(device="cpu"))
    held = [path.name for path, out in zip(many, data.held_out(many, 0.5)) if out]
    assert meta["held_out"] == ", ".join(held[:10]) + " and 2 more"


@pytest.mark.parametrize("device", DEVICES)
def test_short_training_beats_bicubic_on_held_out(textures: list[Path], tmp_path: Path, device: str) -> None:
    params = TrainParams(
        steps=60, down_blocks=1, widths=(16, 24), patch_size=32, batch_size=8, holdout=0.4, validate_every=1000
    )
    meta = train.run(textures, tmp_path / "sr.pth", params, OpContext(device=device))
    assert meta["held_out_images"] == 2  # brick and astronaut, by name hash
    assert meta["val_psnr"] > meta["bicubic_psnr"] + 0.3, meta


@pytest.mark.parametrize("device", DEVICES)
def test_vgg_and_gan_losses_train(textures: list[Path], tmp_path: Path, device: str) -> None:
    from ops.superres.losses import VGGFeatures

    torch.manual_seed(0)
    vgg = tmp_path / "vgg19.pth"  # torchvision layout, random values: only the plumbing is under test
    torch.save({k: v for k, v in VGGFeatures().state_dict().items() if k.startswith("features.")}, vgg)
    trained = {}
    for name, loss in (("pixels", {}), ("vgg", {"vgg": 0.01}), ("gan", {"gan": 0.01})):
        params = TrainParams(steps=2, loss={"mse": 1.0, "hfen": 0.1, **loss}, vgg_weights=vgg, **TINY)
        meta = train.run(textures, tmp_path / f"{name}.pth", params, OpContext(device=device))
        assert np.isfinite(meta["val_psnr"])
        trained[name] = (tmp_path / f"{name}.pth").read_bytes()
    assert trained["vgg"] != trained["pixels"] and trained["gan"] != trained["pixels"]  # each term moved the weights
    torch.save({"classifier.0.weight": torch.zeros(1)}, tmp_path / "not_vgg.pth")
    with pytest.raises(ValueError, match="not_vgg.pth is not a torchvision VGG19"):
        VGGFeatures.from_file(tmp_path / "not_vgg.pth")


@pytest.mark.slow
def test_longer_training_beats_bicubic_by_a_decibel(textures: list[Path], tmp_path: Path) -> None:
    params = TrainParams(steps=400, patch_size=48, holdout=0.01)  # no whole file: the right quarter of each
    meta = train.run(textures, tmp_path / "sr.pth", params, OpContext(device="cpu"))
    assert meta["val_psnr"] > meta["bicubic_psnr"] + 1.0, meta
    assert all(guard.passes(meta[guard.metadata_key]) for guard in params.guards()), meta


def test_single_file_holds_out_a_region(tmp_path: Path) -> None:
    path = _write(tmp_path / "only.png", _skimage("brick", 128))
    meta = train.run([path], tmp_path / "sr.pth", TrainParams(steps=2, **TINY), OpContext(device="cpu"))
    assert meta["held_out_images"] == 1 and meta["train_images"] == 1


@pytest.mark.parametrize("files", [1, 5])  # one file: its right quarter is held out; five: one whole file
def test_no_held_out_texel_is_ever_trained_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: int) -> None:
    trained_on: list[torch.Tensor] = []

    class Recording(data.PatchSampler):
        def __init__(self, images: list[torch.Tensor], patch: int) -> None:
            trained_on.extend(images)
            super().__init__(images, patch)

    monkeypatch.setattr(train, "PatchSampler", Recording)
    paths = []
    for f in range(files):  # every texel says where it is: red its column, green its file
        texels = np.zeros((64, 64, 3), np.float32)
        texels[..., 0], texels[..., 1] = np.arange(64) / 255, f * 40 / 255
        paths.append(_write(tmp_path / f"tex{f}.png", texels))
    if files == 1:
        held = {(0, column) for column in range(48, 64)}
    else:
        held = {(f, column) for f, out in enumerate(data.held_out(paths, 0.2)) if out for column in range(64)}
    meta = train.run(paths, tmp_path / "sr.pth", TrainParams(steps=2, holdout=0.2, **TINY), OpContext(device="cpu"))
    assert meta["held_out_images"] == 1 and len(held) in (16, 64)
    seen = {(round(g * 255 / 40), round(r * 255)) for image in trained_on for r, g in image[:2].flatten(1).T.tolist()}
    assert seen and not seen & held


def test_the_held_out_fraction_is_a_count_of_files(tmp_path: Path) -> None:
    paths = [tmp_path / "hires" / f"{name}.png" for name in ("astronaut", "brick", "chelsea", "coffee", "grass")]
    assert sum(data.held_out(paths, 0.2)) == 1  # a coin per file held out 3 of these 5
    assert sum(data.held_out(paths * 4, 0.2)) == 4 and sum(data.held_out(paths[:2], 0.2)) == 0
    assert data.held_out(paths[::-1], 0.2) == data.held_out(paths, 0.2)[::-1]  # by name, not order
    assert data.held_out([tmp_path / "elsewhere" / "hires" / p.name for p in paths], 0.2) == data.held_out(paths, 0.2)


def test_small_files_on_one_side_of_the_split_hold_out_a_whole_file(tmp_path: Path) -> None:
    paths = [_write(tmp_path / f"{name}.png", _skimage(name, 32)) for name in ("brick", "grass")]
    assert not any(data.held_out(paths, 0.01))  # their right quarters: 8 px, too small to measure
    meta = train.run(paths, tmp_path / "sr.pth", TrainParams(steps=2, holdout=0.01, **TINY), OpContext(device="cpu"))
    assert meta["held_out_images"] == 1 and meta["train_images"] == 1
    lowest = min(paths, key=data._name_draw)  # the file it would hold out, made too small to measure
    _write(lowest, _skimage("gravel", 8))
    meta = train.run(paths, tmp_path / "sr.pth", TrainParams(steps=2, holdout=0.01, **TINY), OpContext(device="cpu"))
    assert meta["held_out_images"] == 1  # the other one, which can be measured


def test_an_icon_drawn_for_the_held_out_split_is_swapped_for_a_texture_that_can_be_measured(tmp_path: Path) -> None:
    names = [f"tex{i:02d}" for i in range(10)]
    paths = [tmp_path / f"{name}.png" for name in names]
    drawn = [p for p, held in zip(paths, data.held_out(paths, 0.2)) if held]  # 2 of 10
    for path in paths:  # the drawn ones are 16 px icons, too small to measure at 4x; before, training refused
        _write(path, _skimage("brick" if path in drawn else "grass", 16 if path in drawn else 64))
    params = TrainParams(scale=4, steps=2, holdout=0.2, validate_every=1, patch_size=32, down_blocks=1, widths=(8, 8))
    meta = train.run(paths, tmp_path / "sr.pth", params, OpContext(device="cpu"))
    assert meta["held_out_images"] == 1 and meta["train_images"] == 9


def test_validation_while_training_measures_only_images_it_can(tmp_path: Path) -> None:
    paths = [tmp_path / f"tex{i:02d}.png" for i in range(25)]
    drawn = sorted((p for p, held in zip(paths, data.held_out(paths, 0.2)) if held), key=str)  # 5 of 25
    for path in paths:  # the first 4 held out, by name, are icons; the fifth can be measured
        _write(path, _skimage("brick", 16) if path in drawn[:4] else _skimage("grass", 64))
    params = TrainParams(scale=4, steps=2, holdout=0.2, validate_every=1, patch_size=32, down_blocks=1, widths=(8, 8))
    meta = train.run(paths, tmp_path / "sr.pth", params, OpContext(device="cpu"))  # it raised at step 1
    assert meta["held_out_images"] == 5


def test_an_unreadable_texture_is_left_out_of_training_and_fails_its_guard(tmp_path: Path, caplog) -> None:
    paths = [_write(tmp_path / f"{name}.png", _skimage(name, 64)) for name in ("brick", "grass", "gravel")]
    paths[1].write_bytes(paths[1].read_bytes()[:60])  # half saved
    params = TrainParams(steps=2, holdout=0.5, **TINY)
    meta = train.run(paths, tmp_path / "sr.pth", params, OpContext(device="cpu"))
    assert meta["unreadable_images"] == 1 and meta["train_images"] + meta["held_out_images"] == 2
    assert "training without an image it cannot read" in caplog.text and "grass.png" in caplog.text
    readable, beats_lanczos = params.guards()
    assert not readable.passes(meta["unreadable_images"])
    assert not beats_lanczos.passes(meta["lanczos_gain_db"]) and not beats_lanczos.blocking  # 2 steps learn nothing


def _cut_outs(root: Path, under: str) -> list[Path]:
    """Three 64² textures with holes, the same where any alpha is, ``under`` (black or noise) where none is;
    in one folder name, which the held-out draw reads."""
    folder = root / under / "foliage"
    folder.mkdir(parents=True)
    yy, xx = np.mgrid[:64, :64]
    alpha = (np.hypot(yy - 32, xx - 20) > 14).astype(np.float32)  # a round hole, off centre
    alpha[:, 60:] = 0.0  # and a transparent strip along one border
    alpha[(alpha > 0) & (np.hypot(yy - 32, xx - 20) < 16)] = 0.5  # a soft rim
    noise = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    paths = []
    for name in ("brick", "grass", "gravel"):
        color = _skimage(name, 64)
        color[alpha == 0] = 0.0 if under == "black" else noise[alpha == 0]
        paths.append(_write(folder / f"{name}.png", color, alpha))
    return paths


@pytest.mark.parametrize("loss", [{}, {"gan": 0.01}, {"vgg": 0.01}])
def test_colour_under_transparent_texels_teaches_nothing(tmp_path: Path, loss: dict) -> None:
    from ops.superres.losses import VGGFeatures

    torch.manual_seed(0)
    vgg = tmp_path / "vgg19.pth"  # random values: only which texels reach the VGG term is under test
    torch.save({k: v for k, v in VGGFeatures().state_dict().items() if k.startswith("features.")}, vgg)
    params = TrainParams(steps=4, loss={"mse": 1.0, "hfen": 0.1, **loss}, vgg_weights=vgg, **TINY)
    meta = {}
    for under in ("black", "noise"):
        meta[under] = train.run(_cut_outs(tmp_path, under), tmp_path / f"{under}.pth", params, OpContext(device="cpu"))
        meta[under].pop("train_seconds")
    assert (tmp_path / "black.pth").read_bytes() == (tmp_path / "noise.pth").read_bytes()  # differed in every term
    assert meta["black"] == meta["noise"]  # held-out figures score visible texels only


def test_the_loss_sees_the_model_only_where_texels_are_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[torch.Tensor] = []  # each (B, 4, P, P) the sampler drew
    compared: list[tuple[torch.Tensor, torch.Tensor]] = []  # each (output, target) the loss compared

    class Recording(data.PatchSampler):
        def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
            batches.append(super().sample(batch, generator))
            return batches[-1]

    loss = train.reconstruction_loss

    def recording(sr: torch.Tensor, hr: torch.Tensor, weights) -> torch.Tensor:
        compared.append((sr.detach(), hr))
        return loss(sr, hr, weights)

    monkeypatch.setattr(train, "PatchSampler", Recording)
    monkeypatch.setattr(train, "reconstruction_loss", recording)
    train.run(_cut_outs(tmp_path, "noise"), tmp_path / "sr.pth", TrainParams(steps=2, **TINY), OpContext(device="cpu"))
    for batch, (sr, hr) in zip(batches, compared, strict=True):
        hidden = (batch[:, 3:] == 0).expand_as(hr)
        assert hidden.any() and torch.equal(sr[hidden], hr[hidden])  # the output under alpha 0 counts for nothing
        assert not torch.equal(sr[~hidden], hr[~hidden])


def test_alpha_data_trains_on_the_colour_under_it(tmp_path: Path) -> None:
    params = TrainParams(steps=2, alpha="data", **TINY)  # a gloss mask in alpha: every texel's colour is seen
    for under in ("black", "noise"):
        train.run(_cut_outs(tmp_path, under), tmp_path / f"{under}.pth", params, OpContext(device="cpu"))
    assert (tmp_path / "black.pth").read_bytes() != (tmp_path / "noise.pth").read_bytes()


def test_textures_that_show_almost_nothing_are_named(tmp_path: Path, caplog) -> None:
    alpha = np.zeros((64, 64), np.float32)
    alpha[:, 48:] = 1.0  # the held-out right quarter is opaque, the trained rest shows 3x3 texels
    alpha[:3, :3] = 1.0
    leaf = _write(tmp_path / "leaf.png", _skimage("grass", 64), alpha)
    with pytest.raises(ValueError, match=r"show 9 texels in all.*one 16x16 patch.*transparent: leaf\.png \(left three "
                       r"quarters\)"):  # not the whole of leaf.png, whose held-out right quarter shows all of it
        train.run([leaf], tmp_path / "sr.pth", TrainParams(steps=2, **TINY), OpContext(device="cpu"))

    paths = [_write(tmp_path / f"{name}.png", _skimage(name, 64), np.ones((64, 64), np.float32)) for name in
             ("brick", "grass", "gravel")]
    empty = next(p for p, held in zip(paths, data.held_out(paths, 0.2)) if not held)
    _write(empty, _skimage("coffee", 64), np.zeros((64, 64), np.float32))  # colour, but none of it visible
    meta = train.run(paths, tmp_path / "sr.pth", TrainParams(steps=2, **TINY), OpContext(device="cpu"))
    assert meta["train_images"] == 2 and f"training without {empty.name}: it is transparent everywhere" in caplog.text


def test_a_transparent_texture_the_draw_holds_out_is_passed_over(tmp_path: Path, caplog) -> None:
    # A blank decal that its name's draw held out stopped the training: no held-out image could be scored.
    paths = [_write(tmp_path / f"{name}.png", _skimage(name, 64), np.ones((64, 64), np.float32)) for name in
             ("brick", "grass", "gravel", "coffee", "astronaut")]
    [blank] = [p for p, held in zip(paths, data.held_out(paths, 0.2)) if held]
    _write(blank, _skimage("camera", 64), np.zeros((64, 64), np.float32))
    meta = train.run(paths, tmp_path / "sr.pth", TrainParams(steps=2, **TINY), OpContext(device="cpu"))
    assert meta["held_out_images"] == 1 and f"training without {blank.name}: it is transparent everywhere" in caplog.text


# --- tiled inference -------------------------------------------------------------


def test_tile_borders_are_not_worse_than_elsewhere(weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ops.superres import tiling

    upscaler = load_upscaler(weights, torch.device("cpu"))
    hr = torch.from_numpy(_skimage("astronaut", 192).transpose(2, 0, 1).copy())
    lr = downscale(hr[None], 2)[0]  # (3, 96, 96)

    def tiled_and_whole() -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            tiled = TiledUpscale(lr, upscaler.forward, scale=2, tile=40, overlap=8, multiple=upscaler.multiple)
            assert tiled.tiles == 16
            return tiled.whole(), upscaler.forward(lr[None])[0]

    tiled, whole = tiled_and_whole()
    error = (tiled - hr).abs().mean(dim=0)  # (H, W)
    seams = np.zeros(error.shape, dtype=bool)
    side, starts = tiling.tile_layout(96 + 2 * 8, 40, 8)  # the image is padded by the overlap on each side first
    for start in starts:
        for edge in (start - 8, start + side - 8):  # the tile's edges in image coordinates
            if 0 < edge < 96:
                seams[:, max(edge * 2 - 2, 0) : edge * 2 + 2] = True
                seams[max(edge * 2 - 2, 0) : edge * 2 + 2, :] = True
    assert seams.any() and (~seams).any()
    assert float(error[torch.from_numpy(seams)].mean()) <= 1.05 * float(error[torch.from_numpy(~seams)].mean())

    # Away from the image's own border (where whole-image inference sees zero padding, the tiles the
    # overlap's replicated edge), tiling barely changes the result; without feathering it would.
    def change(tiled: torch.Tensor, whole: torch.Tensor) -> float:
        return float((tiled - whole)[:, 32:-32, 32:-32].abs().mean())

    assert change(tiled, whole) < 2e-3
    monkeypatch.setattr(tiling, "_ramp", lambda length, overlap, scale: torch.ones(length * scale))
    assert change(*tiled_and_whole()) > 4e-3  # every tile weighted alike: its padded border shows


def test_the_enlarged_image_comes_a_row_of_tiles_at_a_time(weights: Path) -> None:
    upscaler = load_upscaler(weights, torch.device("cpu"))
    image = torch.from_numpy(_skimage("astronaut", 200).transpose(2, 0, 1).copy())[:, :, :120]  # (3, 200, 120)
    ran: list[int] = []
    tiling = dict(scale=2, tile=48, overlap=8, multiple=upscaler.multiple)
    with torch.no_grad():
        run = TiledUpscale(image, upscaler.forward, progress=lambda done, total: ran.append(done), **tiling)
        bands = [(top, band.clone(), ran[-1]) for top, band in run.bands()]
        whole, tiles = TiledUpscale(image, upscaler.forward, **tiling).whole(), run.tiles
    tops = [top for top, _, _ in bands]
    assert tops == sorted(tops) and len(bands) > 3
    assert all(top + band.shape[1] == below for (top, band, _), below in zip(bands, [*tops[1:], 400]))
    assert bands[0][2] < tiles / 3  # the top rows come out before most tiles ran: memory holds a band, not the image
    assert max(band.shape[1] for _, band, _ in bands) <= 2 * 48  # about a row of tiles of output rows at most
    assert torch.equal(torch.cat([band for _, band, _ in bands], dim=1), whole)


def test_tiles_start_on_the_models_stride_grid() -> None:
    torch.manual_seed(0)
    model = SRCAE(SRCAEConfig(down_blocks=2, widths=(8, 12, 16), residual=False)).eval()  # all network, no bicubic
    image = torch.from_numpy(_skimage("astronaut", 130).transpose(2, 0, 1)[:, :120].copy())  # (3, 120, 130)
    with torch.no_grad():
        whole = model(image[None])[0]

    @torch.no_grad()  # as the op runs the model (make_forward); called below, outside the block above
    def change(multiple: int) -> float:
        run = TiledUpscale(image, model, scale=2, tile=48, overlap=8, multiple=multiple)
        tiled = run.whole()
        assert run.tiles == 16
        return float((tiled - whole)[:, 24:-24, 24:-24].abs().mean())

    side, starts = tile_layout(130 + 2 * 8, 48, 8, align=4)
    assert all(start % 4 == 0 for start in starts) and starts[-1] + side == 146
    assert tile_layout(49, 48, 8, align=16) == (49, [0])  # not two tiles at 0 once the side is rounded up
    assert change(model.config.multiple) < 0.5 * change(1)  # off the grid, every tile sees other pixels paired


def test_wrap_auto_tells_noisy_crops_from_tiling_ones() -> None:
    grass = np.asarray(skdata.grass(), dtype=np.float32)[..., None].repeat(3, axis=2) / 255
    rng = np.random.default_rng(0)
    crops = [grass[y : y + 64, x : x + 64] for y, x in rng.integers(0, grass.shape[0] - 64, size=(200, 2))]
    taken_for_tiling = sum(sum(detect_wrap(crop)) for crop in crops)  # of 400 axes: 28; edge vs neighbours alone: 135
    tiling = sum(all(detect_wrap(np.roll(crop, (21, 21), axis=(0, 1)))) for crop in crops)  # edges are neighbours
    assert taken_for_tiling <= 40 and tiling >= 190


def test_wrap_auto_finds_floor_tiles_whose_pattern_repeats_within_half_the_texture() -> None:
    flats = SHARED / "legacy" / "freedoom" / "flats"
    for name in ("aqf002.png", "aqf005.png"):  # a score of 7802 and more took them for photos
        assert texture_wrap(read_image(flats / name, colorspace="linear").color, None) == (True, True)


def test_wrap_auto_does_not_wrap_a_sprite_whose_edges_differ_in_alpha() -> None:
    rng = np.random.default_rng(0)
    sign = np.tile(rng.random((1, 32, 3), dtype=np.float32), (32, 1, 1))  # colour that tiles after the fill
    alpha = np.ones((32, 32), np.float32)
    alpha[24:] = 0.0  # opaque top edge, transparent bottom one
    assert detect_wrap(sign) == (True, True)
    assert detect_wrap(sign, alpha) == (False, True)
    nearly_opaque = np.ones((32, 32), np.float32)
    nearly_opaque[0, 10] = 0.9  # one texel off at the border: no reason to stop wrapping
    assert detect_wrap(sign, nearly_opaque) == (True, True)


@pytest.mark.parametrize(("colour", "coverage", "refused"), [
    (skdata.astronaut()[:64, :64], None, "got uint8"),  # its differences wrapped around: (True, True) for a photo
    (_skimage("grass", 64)[..., 0], None, r"\(height, width, channels\); got shape \(64, 64\)"),  # AxisError
    (np.full((8, 8, 3), np.nan, np.float32), None, "got NaN"),  # (False, False)
    (_skimage("grass", 64), np.ones((32, 64), np.float32), r"\(height, width\) = \(64, 64\), as \w+; got shape \(32, 64\)"),  # went unseen
    (_skimage("grass", 64), np.full((64, 64), 255, np.uint8), "holds floats in .0, 1.; got uint8"),
])
def test_wrap_auto_from_python_refuses_what_it_would_misjudge_by_name(colour, coverage, refused) -> None:
    """upscale sends a script to texture_wrap for its wrap; given a picture's bytes it said a photo tiles."""
    with pytest.raises(ValueError, match=refused):
        texture_wrap(colour, coverage)
    with pytest.raises(ValueError, match=refused):
        detect_wrap(colour, coverage)


def test_wrap_auto_from_python_names_an_image_given_for_its_colour() -> None:
    with pytest.raises(TypeError, match=r"got ops.image_io.Image \(its .color, and its .alpha as coverage\)"):
        texture_wrap(Image(_skimage("grass", 64)), None)  # type: ignore[arg-type]


@pytest.mark.parametrize("device", DEVICES)
def test_wrap_keeps_a_tiling_texture_tileable(weights: Path, tmp_path: Path, device: str) -> None:
    texture = _periodic_texture()
    assert detect_wrap(texture) == (True, True)
    assert detect_wrap(_skimage("astronaut", 64)) == (False, False)
    src = _write(tmp_path / "tile.png", texture)
    ratios = {}
    for wrap in ("auto", False):
        out = tmp_path / str(wrap)
        meta = infer.run({"image": src}, out, SuperResolveParams(model="m", wrap=wrap, tile=32, overlap=8),
                         OpContext(device=device, model=weights))
        result = read_image(out / SINGLE_OUTPUT, colorspace="linear").color
        ratios[wrap] = seam_ratio(result)
        assert meta["wrap_x"] == meta["wrap_y"] == (1 if wrap == "auto" else 0)
    assert ratios["auto"] < 1.1 and ratios["auto"] < 0.8 * ratios[False], ratios


def test_self_ensemble_averages_a_half_precision_model_in_float32() -> None:
    """Under float16/bfloat16 autocast (CUDA) a model gives half-precision views, whose sum rounded at each step."""
    level = 255 / 256  # bfloat16 holds it exactly; 3 of it, summed in bfloat16, round to 2.984375

    def half_precision(x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, 2H, 2W)
        return torch.full((*x.shape[:2], 2 * x.shape[2], 2 * x.shape[3]), level, dtype=torch.bfloat16)

    y = infer.self_ensemble(half_precision)(torch.zeros(1, 3, 4, 4))
    assert y.dtype == torch.float32 and bool((y == level).all())


def test_self_ensemble_commutes_with_flips_and_turns(weights: Path, tmp_path: Path) -> None:

    upscaler = load_upscaler(weights, torch.device("cpu"))
    x = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(0))  # not square: turns change the shape
    views = (lambda t: t.flip(3), lambda t: torch.rot90(t, 1, dims=(2, 3)))
    for ensemble in (False, True):
        forward = infer.make_forward(upscaler, torch.device("cpu"), None, ensemble=ensemble)
        y = forward(x)
        assert y.shape == (1, 3, 40, 56)
        for view in views:
            agrees = torch.allclose(forward(view(x)), view(y), atol=1e-5)
            assert agrees == ensemble  # the plain model is not equivariant, so this can fail

    src = _write(tmp_path / "brick.png", _skimage("brick", 40))
    outputs = {}
    for ensemble in (False, True):
        meta = infer.run({"image": src}, tmp_path / str(ensemble), SuperResolveParams(model="m", self_ensemble=ensemble),
                         OpContext(device="cpu", model=weights))
        assert meta["self_ensemble"] == int(ensemble)
        outputs[ensemble] = read_image(tmp_path / str(ensemble) / SINGLE_OUTPUT, colorspace="linear").color
    assert outputs[True].shape == outputs[False].shape == (80, 80, 3)
    assert not np.array_equal(outputs[True], outputs[False])


def test_two_passes_equal_running_the_model_twice(weights: Path, tmp_path: Path) -> None:
    src = _write(tmp_path / "tile.png", _periodic_texture(24), bit_depth=16)
    ctx = OpContext(device="cpu", model=weights)
    meta = infer.run({"image": src}, tmp_path / "two", SuperResolveParams(model="m", passes=2, tile=32, overlap=8), ctx)
    assert (meta["width"], meta["height"], meta["scale"], meta["passes"]) == (96, 96, 4, 2)
    infer.run({"image": src}, tmp_path / "first", SuperResolveParams(model="m", wrap=True, tile=32, overlap=8), ctx)
    infer.run({"image": tmp_path / "first" / SINGLE_OUTPUT}, tmp_path / "second",
              SuperResolveParams(model="m", wrap=True, tile=32, overlap=8), ctx)
    two = read_image(tmp_path / "two" / SINGLE_OUTPUT, colorspace="linear").color
    chained = read_image(tmp_path / "second" / SINGLE_OUTPUT, colorspace="linear").color
    assert np.abs(two - chained).max() < 2e-3  # only the 16-bit file between the chained runs differs
    infer.run({"image": src}, tmp_path / "nowrap", SuperResolveParams(model="m", passes=2, wrap=False, tile=32, overlap=8), ctx)
    seams = read_image(tmp_path / "nowrap" / SINGLE_OUTPUT, colorspace="linear").color
    assert seam_ratio(two) < 0.8 * seam_ratio(seams)


def test_a_result_too_large_for_engines_names_the_passes_not_a_scale_key(weights: Path, tmp_path: Path) -> None:
    """The refusal said "use a smaller scale", a key super_resolve does not have: its size comes from the model's
    scale and passes."""
    src = _write(tmp_path / "strip.png", np.full((4, 4100, 3), 0.5, np.float32))
    ctx = OpContext(device="cpu", model=weights)
    with pytest.raises(ValueError, match=r"strip.png: the result would be 16400x16 px, and engines and GPUs load "
                                         r"textures of at most 16384 px a side; use fewer passes \(2 of a 2x model "
                                         r"enlarge 4x\) or a model of a smaller scale, or split the texture into tiles"):
        infer.run({"image": src}, tmp_path / "out", SuperResolveParams(model="m", passes=2), ctx)


def test_adaptation_learns_the_input_from_itself() -> None:
    """Fine-tuned only on gravel's low-res crop (downscaled once more), the model enlarges that crop
    closer to the never-seen ground truth than bicubic, which the untrained residual model equals."""
    hr = torch.from_numpy(_skimage("gravel", 256)).permute(2, 0, 1).contiguous()  # (3, 256, 256)
    lr = downscale(hr[None], 2)
    torch.manual_seed(0)
    model = SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    adaptation = adapt(model, lr[0], steps=60, peak_learning_rate=3e-3)
    assert adaptation.kept and adaptation.check_gain_db > 0 and not adaptation.model.training
    target = hr.permute(1, 2, 0).numpy()
    with torch.no_grad():
        base, adapted = (psnr(m(lr)[0].permute(1, 2, 0).numpy(), target, shave=2) for m in (model, adaptation.model))
    assert adapted > base + 0.4, (base, adapted)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # the given model is untouched


def test_adaptation_that_does_not_help_is_not_used() -> None:
    lr = downscale(torch.from_numpy(_skimage("gravel", 256)).permute(2, 0, 1)[None].contiguous(), 2)[0]
    model = SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))).eval()
    wrecked = adapt(model, lr, steps=20, peak_learning_rate=0.1)  # far too large a step: it diverges
    assert (wrecked.kept, wrecked.model) == (False, model) and wrecked.check_gain_db < 0
    tiny = adapt(model, lr[:, :64, :124], steps=5, peak_learning_rate=3e-3)  # too small to check: a 31 px strip
    assert (tiny.kept, tiny.model, tiny.check_gain_db) == (False, model, 0.0)
    flat = adapt(model, torch.ones(3, 128, 128), steps=3, peak_learning_rate=3e-3)  # both models exact: no NaN
    assert (flat.kept, flat.model, flat.check_gain_db) == (False, model, 0.0)


@pytest.mark.parametrize("device", DEVICES)
def test_super_resolve_adapts_deterministically_and_only_our_models(weights: Path, tmp_path: Path, device: str) -> None:

    rgb = _skimage("gravel", 128)
    alpha = np.ones((128, 128), np.float32)
    alpha[:, :20] = 0.0
    src = _write(tmp_path / "gravel.png", rgb, alpha)
    ctx = OpContext(device=device, model=weights)
    outputs = []
    for name, steps in (("plain", 0), ("a", 20), ("b", 20)):
        meta = infer.run({"image": src}, tmp_path / name, SuperResolveParams(model="m", adapt_steps=steps), ctx)
        assert meta["adapt_steps"] == steps
        assert meta["adapted"] == int(steps > 0), meta  # the random model is easy to improve on
        outputs.append(read_image(tmp_path / name / SINGLE_OUTPUT))
    plain, first, _ = outputs
    assert (tmp_path / "a" / SINGLE_OUTPUT).read_bytes() == (tmp_path / "b" / SINGLE_OUTPUT).read_bytes()
    assert not np.array_equal(first.color, plain.color)
    assert np.array_equal(first.alpha, plain.alpha)  # the model is adapted to the colour; alpha is upscaled as before

    upscaler = load_upscaler(weights, torch.device(device))
    community = replace(upscaler, forward=lambda x: x, name="ESRGAN")  # any model that is not an SRCAE
    with pytest.raises(ValueError, match="adapt_steps needs a remaster SRCAE model.*ESRGAN.*adapt_steps: 0"):
        infer.adapted(community, rgb, SuperResolveParams(model="m", adapt_steps=5))


@pytest.mark.parametrize("device", DEVICES)
def test_alpha_grey_and_16_bit_are_kept(weights: Path, tmp_path: Path, device: str) -> None:
    rgb = _skimage("coffee", 40)
    alpha = np.zeros((40, 40), np.float32)
    alpha[10:30, 5:35] = 1.0
    rgba = _write(tmp_path / "sprite.png", rgb, alpha)
    meta = infer.run({"image": rgba}, tmp_path / "a", SuperResolveParams(model="m"), OpContext(device=device, model=weights))
    out = read_image(tmp_path / "a" / SINGLE_OUTPUT)
    assert (meta["width"], meta["height"]) == (80, 80) and out.channels == 3 and out.alpha is not None
    assert abs(float(out.alpha.mean()) - float(alpha.mean())) < 0.03

    grey = _write(tmp_path / "height.png", _skimage("camera", 33)[..., :1], bit_depth=16)
    infer.run({"image": grey}, tmp_path / "g", SuperResolveParams(model="m"), OpContext(device=device, model=weights))
    out = read_image(tmp_path / "g" / SINGLE_OUTPUT)
    assert out.channels == 1 and out.bit_depth == 16 and out.color.shape == (66, 66, 1)

    grey_rgb = _write(tmp_path / "concrete.png", _skimage("camera", 33)[..., :1].repeat(3, axis=2))
    infer.run({"image": grey_rgb}, tmp_path / "r", SuperResolveParams(model="m"), OpContext(device=device, model=weights))
    out = read_image(tmp_path / "r" / SINGLE_OUTPUT, colorspace="linear").color
    assert out.shape == (66, 66, 3) and (out == out[..., :1]).all()  # a grey texture saved as RGB stays grey


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_opaque_and_transparent_alpha_stay_exact(weights: Path, tmp_path: Path, bit_depth: int) -> None:
    alpha = np.ones((40, 40), np.float32)
    alpha[12:28, 12:28] = 0.0  # a hole: the rest is fully opaque
    src = _write(tmp_path / "decal.png", _skimage("coffee", 40), alpha, bit_depth)
    infer.run({"image": src}, tmp_path / "a", SuperResolveParams(model="m", wrap=False), OpContext(device="cpu", model=weights))
    out = read_image(tmp_path / "a" / SINGLE_OUTPUT)
    opaque = np.ones((80, 80), bool)
    opaque[20:60, 20:60] = False  # two source texels away from the hole, in output texels
    assert out.bit_depth == bit_depth
    assert np.all(out.alpha[opaque] == 1.0)  # exactly 255 / 65535
    assert np.all(out.alpha[28:52, 28:52] == 0.0)  # the hole, two source texels in from its edge


@pytest.mark.parametrize("device", DEVICES)
def test_a_cut_out_sprite_has_no_dark_fringe(tmp_path: Path, device: str) -> None:
    model = tmp_path / "bicubic.pth"
    save_srcae(model, SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))  # a fresh residual model: plain bicubic
    yy, xx = np.mgrid[0:32, 0:32]
    alpha = ((yy - 15.5) ** 2 + (xx - 15.5) ** 2 < 100).astype(np.float32)
    color = np.zeros((32, 32, 3), np.float32)
    color[..., 0] = alpha  # a red disc on transparent black
    sprite = _write(tmp_path / "sprite.png", color, alpha)
    infer.run({"image": sprite}, tmp_path / "s", SuperResolveParams(model="m"), OpContext(device=device, model=model))
    out = read_image(tmp_path / "s" / SINGLE_OUTPUT, colorspace="linear")
    assert out.color[..., 0][out.alpha > 0.5].min() > 0.98

@needs_cuda
@pytest.mark.parametrize(("precision", "runs_in"), [("auto", "float16"), ("bfloat16", "bfloat16"), ("float32", "float32")])
def test_cuda_agrees_with_the_cpu_at_each_precision_and_tile_batch(
    weights: Path, tmp_path: Path, precision: str, runs_in: str
) -> None:
    src = _write(tmp_path / "coffee.png", _skimage("coffee", 96))  # colour: a grey input takes the grey path

    def enlarge(device: str, batch: int) -> tuple[dict, np.ndarray]:
        out = tmp_path / f"{device}{batch}"
        params = SuperResolveParams(model="m", tile=32, overlap=8, precision=precision, batch=batch)
        meta = infer.run({"image": src}, out, params, OpContext(device=device, model=weights))
        return meta, read_image(out / SINGLE_OUTPUT, colorspace="linear").color

    _, cpu = enlarge("cpu", 1)
    for batch in (1, 8):
        meta, gpu = enlarge("cuda", batch)
        assert meta["device"] == "cuda" and meta["precision"] == runs_in and meta["tiles"] > batch
        difference = np.abs(gpu - cpu)
        assert difference.max() <= 3 / 255 and difference.mean() < 0.25 / 255, (batch, difference.max(), difference.mean())


@pytest.mark.parametrize("device", DEVICES)
def test_normal_maps_stay_unit_length(weights: Path, tmp_path: Path, device: str) -> None:
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    vectors = np.stack([0.4 * np.sin(6 * xx), 0.4 * np.cos(5 * yy), np.ones_like(xx)], axis=2)
    vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
    src = _write(tmp_path / "normal.png", (vectors + 1) / 2, bit_depth=16)
    infer.run({"image": src}, tmp_path / "n", SuperResolveParams(model="m", kind="normal"),
              OpContext(device=device, model=weights))
    out = read_image(tmp_path / "n" / SINGLE_OUTPUT, colorspace="linear").color * 2 - 1
    assert out.shape == (64, 64, 3)
    assert np.abs(np.linalg.norm(out, axis=2) - 1).max() < 1e-3


def test_a_normal_map_taken_as_colour_is_warned_about_naming_it(weights: Path, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A normal map in the demo's legacy folder was super-resolved as colour, not renormalized, without a word."""
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    vectors = np.stack([0.4 * np.sin(6 * xx), 0.4 * np.cos(5 * yy), np.ones_like(xx)], axis=2)
    vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
    src = _write(tmp_path / "wall_normal.png", (vectors + 1) / 2)
    with caplog.at_level("WARNING"):
        infer.run({"image": src}, tmp_path / "c", SuperResolveParams(model="m"), OpContext(device="cpu", model=weights))
    assert f"{src} looks like a tangent-space normal map, and super_resolve takes it as colour" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        infer.run({"image": src}, tmp_path / "n", SuperResolveParams(model="m", kind="normal"),
                  OpContext(device="cpu", model=weights))
    assert "looks like a tangent-space normal map" not in caplog.text


def test_a_normal_maps_alpha_is_data_not_coverage(tmp_path: Path) -> None:
    model = tmp_path / "bicubic.pth"
    save_srcae(model, SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))  # a fresh residual model: plain bicubic
    vectors = np.zeros((32, 32, 3), np.float32)
    vectors[:, :16] = (0.6, 0.0, 0.8)  # leaning left where the height in alpha is 0, right elsewhere
    vectors[:, 16:] = (-0.6, 0.0, 0.8)
    height = np.ones((32, 32), np.float32)
    height[:, :16] = 0.0
    src = _write(tmp_path / "rock_n.png", (vectors + 1) / 2, height, bit_depth=16)
    for alpha, kept in (("auto", True), ("coverage", False)):
        infer.run({"image": src}, tmp_path / alpha, SuperResolveParams(model="m", kind="normal", alpha=alpha),
                  OpContext(device="cpu", model=model))
        out = read_image(tmp_path / alpha / SINGLE_OUTPUT, colorspace="linear").color * 2 - 1
        assert (abs(float(out[:, :24, 0].mean()) - 0.6) < 0.01) == kept  # filled from the right half when coverage


def test_missing_model_and_wrong_roles_are_clear_errors(weights: Path, tmp_path: Path) -> None:
    src = _write(tmp_path / "x.png", _skimage("brick", 16))
    with pytest.raises(ValueError, match=r"needs the weights of model 'm': pass OpContext\(model=<weights file>\)"):
        infer.run({"image": src}, tmp_path, SuperResolveParams(model="m"), OpContext())
    # From plain Python, model: {path: ...} is enough, as in a spec (it said to give exactly that).
    infer.run({"image": src}, str(tmp_path / "by_path"), SuperResolveParams(model={"path": weights}), OpContext())
    assert read_image(tmp_path / "by_path" / SINGLE_OUTPUT).width == 32
    with pytest.raises(ValueError, match="one input role"):
        infer.run({"flash": src}, tmp_path, SuperResolveParams(model="m"), OpContext(model=weights))
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        infer.run({"image": src}, tmp_path, SuperResolveParams(model="m"), OpContext(model=tmp_path / "nope.pth"))
    strip = _write(tmp_path / "strip.png", np.full((4, 9000, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match="strip.png: the result would be 18000x8 px"):  # before 4 GB of floats
        infer.run({"image": strip}, tmp_path, SuperResolveParams(model="m"), OpContext(model=weights))


# --- from Python: an Image enlarged with no file in between ----------------------------


def _cut_out(size: int) -> np.ndarray:
    alpha = np.zeros((size, size), np.float32)
    alpha[size // 4 : 3 * size // 4, 2 : size - 2] = 1.0
    return alpha


_FROM_PYTHON = {  # source texture (values as stored, alpha, bit depth) and the params both paths are given
    "cut-out at 16 bits": (lambda: (_skimage("coffee", 24), _cut_out(24), 16), {"tile": 32, "overlap": 8}),
    "grey": (lambda: (_skimage("camera", 21)[..., :1], None, 8), {"passes": 2, "wrap": False}),
    "grey saved as rgb": (lambda: (_skimage("camera", 21), None, 8), {"self_ensemble": True}),
    "normal map with height": (lambda: ((np.dstack([_skimage("brick", 20)[..., :2], np.ones((20, 20))]) + 1) / 2,
                                        _skimage("gravel", 20)[..., 0], 16), {"kind": "normal", "wrap": True}),
    "adapted": (lambda: (_skimage("gravel", 64), None, 8), {"adapt_steps": 3, "alpha": "data"}),
}


@pytest.mark.parametrize("case", list(_FROM_PYTHON))
def test_super_resolve_from_python_gives_what_the_op_writes(weights: Path, tmp_path: Path, case: str) -> None:
    make, arguments = _FROM_PYTHON[case]
    color, alpha, bit_depth = make()
    src = _write(tmp_path / "src.png", color, alpha, bit_depth)
    infer.run({"image": src}, tmp_path / "op", SuperResolveParams(model="m", **arguments),
              OpContext(device="cpu", model=weights))
    image = read_image(src, colorspace="linear")
    result = infer.super_resolve(image, str(weights), device="cpu", **arguments)
    scale = 4 if arguments.get("passes") == 2 else 2
    assert result.color.shape == (image.height * scale, image.width * scale, image.channels)
    assert result.bit_depth == bit_depth and (result.alpha is None) == (alpha is None)  # alpha kept, and none made
    if case.startswith("grey"):
        assert (result.color == result.color[..., :1]).all()  # grey stays grey, in one channel or three
    write_image(tmp_path / "python.png", result, colorspace="linear")
    assert (tmp_path / "python.png").read_bytes() == (tmp_path / "op" / SINGLE_OUTPUT).read_bytes()


def test_super_resolve_from_python_keeps_a_tiling_texture_tileable(weights: Path) -> None:
    texture = Image(_periodic_texture(32))
    ratios = {wrap: seam_ratio(infer.super_resolve(texture, weights, device="cpu", wrap=wrap, tile=32, overlap=8).color)
              for wrap in ("auto", True, False)}
    assert ratios["auto"] == ratios[True] < 1.1 and ratios[True] < 0.8 * ratios[False], ratios



def test_super_resolve_from_python_takes_a_picture_divided_by_255(weights: Path) -> None:
    """numpy divides into float64, where a file is read as float32, and the model's weights refused it."""
    pixels, alpha = (_skimage("coffee", 24) * 255).round(), _cut_out(24)
    as_read = infer.super_resolve(Image(pixels.astype(np.float32) / 255, alpha), weights, device="cpu")
    divided = infer.super_resolve(Image(pixels.astype(np.float64) / 255, alpha.astype(np.float64)), weights, device="cpu")
    assert divided.color.dtype == divided.alpha.dtype == np.float32
    assert np.abs(divided.color - as_read.color).max() < 1e-6 and np.array_equal(divided.alpha, as_read.alpha)

def test_super_resolve_takes_the_ops_params_with_its_defaults() -> None:
    """A call with no arguments but the image and weights enlarges as an asset with no keys but its model."""
    taken = {name: argument.default for name, argument in inspect.signature(infer.super_resolve).parameters.items()
             if argument.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("device", "progress", "source")}
    assert taken == {name: field.default for name, field in SuperResolveParams.model_fields.items() if name != "model"}


@pytest.mark.parametrize("arguments, refused", [
    ({"tile": 16}, "tile 16: should be greater than or equal to 32"),
    ({"passes": 4}, "passes 4: should be less than or equal to 3"),
    ({"kind": "colour"}, "kind 'colour': should be 'color' or 'normal'"),  # taken for colour by a plain comparison
    ({"wrap": "Auto"}, "wrap 'Auto': should be 'auto' or a valid boolean"),
    ({"precision": "half"}, "precision 'half': should be 'auto', 'float32', 'float16' or 'bfloat16'"),
    ({"tile": 32, "overlap": 16}, "overlap (16) must be less than half the tile (32)"),
    ({"adapt_learning_rate": 0}, "adapt_learning_rate 0: should be greater than 0"),
    ({"device": "gpu"}, "device 'gpu': expected auto, cpu, cuda or cuda:N"),
    ({"kind": "normal", "source": "walls/height.png"}, 'walls/height.png is given kind="normal" but has 1 colour'),
])
def test_super_resolve_from_python_refuses_by_name(weights: Path, arguments: dict, refused: str) -> None:
    with pytest.raises(ValueError, match=re.escape(refused)):
        infer.super_resolve(Image(np.full((8, 8, 1), 0.5, np.float32)), weights, **arguments)


def test_super_resolve_from_python_names_the_texture_and_the_weights(weights: Path, tmp_path: Path) -> None:
    strip = Image(np.full((4, 9000, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match="walls/strip.png: the result would be 18000x8 px"):
        infer.super_resolve(strip, weights, source="walls/strip.png")
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        infer.super_resolve(strip, tmp_path / "nope.pth")


# --- from Python: a model trained with no spec or build -----------------------------


def test_train_srcae_from_python_writes_the_ops_model_which_super_resolve_uses(
    textures: list[Path], tmp_path: Path
) -> None:
    arguments = dict(steps=4, **TINY)
    figures = train.train_srcae([str(path) for path in textures], tmp_path / "model.pt", device="cpu", **arguments)
    op_figures = train.run(textures, tmp_path / "op.pth", TrainParams(**arguments), OpContext(device="cpu"))
    assert (tmp_path / "model.pt").read_bytes() == (tmp_path / "op.pth").read_bytes()
    assert figures["val_psnr"] == op_figures["val_psnr"] and figures["train_images"] + figures["held_out_images"] == 6
    image = read_image(textures[0], colorspace="linear")
    enlarged = infer.super_resolve(image, tmp_path / "model.pt", device="cpu")
    assert enlarged.color.shape == (image.height * 2, image.width * 2, 3)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.pt", "op.pth"]  # no checkpoint asked for


def test_train_srcae_from_python_is_deterministic(textures: list[Path], tmp_path: Path) -> None:
    for name in ("a", "b"):
        train.train_srcae(textures, tmp_path / name / "model.pt", steps=2, device="cpu", **TINY)
    assert (tmp_path / "a" / "model.pt").read_bytes() == (tmp_path / "b" / "model.pt").read_bytes()


def test_train_srcae_from_python_takes_a_folder_for_the_images_under_it(tmp_path: Path) -> None:
    paths = [_write(tmp_path / "walls" / sub / f"{name}.png", _skimage(name, 64))
             for sub, name in (("stone", "brick"), ("stone", "gravel"), ("grass", "grass"))]
    (tmp_path / "walls" / "notes.txt").write_text("not a texture")
    train.train_srcae(paths, tmp_path / "listed.pt", steps=2, holdout=0.34, device="cpu", **TINY)
    figures = train.train_srcae(tmp_path / "walls", tmp_path / "folder.pt", steps=2, holdout=0.34, device="cpu", **TINY)
    assert (tmp_path / "listed.pt").read_bytes() == (tmp_path / "folder.pt").read_bytes()
    again = [paths[0], tmp_path / "walls", tmp_path / "walls" / "stone" / ".." / "stone" / "brick.png"]  # each once
    train.train_srcae(again, tmp_path / "again.pt", steps=2, holdout=0.34, device="cpu", **TINY)
    assert (tmp_path / "again.pt").read_bytes() == (tmp_path / "listed.pt").read_bytes()
    assert figures["unreadable_images"] == 0  # notes.txt was never taken for a texture


def test_train_srcae_from_python_resumes_from_its_checkpoint_dir(textures: list[Path], tmp_path: Path) -> None:
    arguments = dict(steps=6, device="cpu", **TINY)  # a checkpoint every 2 steps
    train.train_srcae(textures, tmp_path / "straight.pt", **arguments)

    class Killed(Exception):
        pass

    def kill_at_step_5(step: int, total: int, note: str = "") -> None:
        if step == 5:
            raise Killed

    with pytest.raises(Killed):
        train.train_srcae(textures, tmp_path / "resumed.pt", checkpoint_dir=tmp_path / "work", progress=kill_at_step_5,
                          **arguments)
    steps: list[int] = []
    train.train_srcae(textures, tmp_path / "resumed.pt", checkpoint_dir=tmp_path / "work",
                      progress=lambda s, t, note="": steps.append(s), **arguments)
    assert steps == [5, 6] and (tmp_path / "work" / train.CHECKPOINT_NAME).is_file()
    assert (tmp_path / "resumed.pt").read_bytes() == (tmp_path / "straight.pt").read_bytes()


def test_train_srcae_from_python_calls_a_two_argument_progress_with_two(textures: list[Path], tmp_path: Path) -> None:
    """The README writes progress(done, total); training passes a note beside them to a callback that takes one,
    and failed with "takes 2 positional arguments but 3 were given" at its first step."""
    steps: list[tuple[int, int]] = []
    train.train_srcae(textures, tmp_path / "model.pt", steps=2, device="cpu",
                      progress=lambda done, total: steps.append((done, total)), **TINY)
    assert steps == [(1, 2), (2, 2)]


def test_a_training_shorter_than_validate_every_shows_its_loss_and_psnr_at_its_last_step(
        textures: list[Path], tmp_path: Path) -> None:
    """An artist's quick trial (200 steps, validate_every 500) showed no loss or validation PSNR on its progress at
    all: the last step's figures were measured after its progress was reported. The weights are those of a run
    validated at every step (validating takes no random draw)."""
    notes: list[tuple[int, str]] = []
    train.train_srcae(textures, tmp_path / "trial.pt", steps=3, device="cpu",
                      progress=lambda done, total, note="": notes.append((done, note)), **TINY)
    assert [done for done, _ in notes] == [1, 2, 3] and [note for _, note in notes[:2]] == ["", ""]
    assert re.fullmatch(r"loss \d\.\d{5}, validation PSNR \d+\.\d\d dB", notes[-1][1]), notes
    train.train_srcae(textures, tmp_path / "validated.pt", steps=3, device="cpu", **{**TINY, "validate_every": 1})
    assert (tmp_path / "trial.pt").read_bytes() == (tmp_path / "validated.pt").read_bytes()


@pytest.mark.parametrize("given", [np.zeros((32, 32, 3), np.float32), Image(np.zeros((32, 32, 3), np.float32))],
                         ids=["array", "image"])
def test_train_srcae_from_python_given_pixels_says_it_trains_on_files(tmp_path: Path, given: object) -> None:
    said = f"train_srcae's textures are file or folder paths; got {type(given).__module__}.{type(given).__name__}"
    for textures in (given, [given]):
        with pytest.raises(TypeError, match=re.escape(f"{said} (training reads its textures from files")):
            train.train_srcae(textures, tmp_path / "model.pt", steps=2, device="cpu", **TINY)  # type: ignore[arg-type]


def test_train_srcae_from_python_given_a_pattern_says_to_give_the_folder_or_its_files(tmp_path: Path) -> None:
    pattern = tmp_path / "walls" / "*.png"
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"texture {pattern} does not exist; it is a pattern, which train_srcae does not expand: give the folder "
            f"{pattern.parent}, or the files, sorted(Path({str(pattern.parent)!r}).glob('*.png'))")):
        train.train_srcae(pattern, tmp_path / "model.pt", steps=2, device="cpu", **TINY)


def test_train_srcae_from_python_given_a_pattern_in_a_folder_s_place_says_to_give_the_files_it_matches(
        tmp_path: Path) -> None:
    """materials/*/albedo.png, each material's colour map, was told 'check its path', as a typo would be."""
    pattern = tmp_path / "materials" / "*" / "albedo.png"
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"texture {pattern} does not exist; it is a pattern, which train_srcae does not expand: give the files, "
            f"sorted(Path({str(tmp_path / 'materials')!r}).glob('*/albedo.png'))")):
        train.train_srcae(pattern, tmp_path / "model.pt", steps=2, device="cpu", **TINY)


def test_train_srcae_from_python_refuses_a_file_above_out_before_it_trains(textures: list[Path], tmp_path: Path) -> None:
    """Training ran to its end and then failed to write, as "File exists"."""
    (tmp_path / "models").write_text("a file where a folder was meant")
    out = tmp_path / "models" / "walls" / "model.pt"

    def never(step: int, total: int, note: str = "") -> None:
        raise AssertionError("trained")

    with pytest.raises(ValueError, match=re.escape(f"out {out}: {tmp_path / 'models'} is a file, not a folder")):
        train.train_srcae(textures, out, steps=2, device="cpu", progress=never, **TINY)
    work = tmp_path / "models" / "work"
    with pytest.raises(ValueError, match=re.escape(
            f"checkpoint_dir's checkpoint {work / train.CHECKPOINT_NAME}: {tmp_path / 'models'} is a file, not a folder")):
        train.train_srcae(textures, tmp_path / "model.pt", checkpoint_dir=work, steps=2, device="cpu", progress=never,
                          **TINY)


def test_train_srcae_takes_the_ops_params_with_its_defaults() -> None:
    """A call with no arguments but the textures and the file to write trains as a model asset with no keys."""
    taken = {name: argument.default for name, argument in inspect.signature(train.train_srcae).parameters.items()
             if argument.kind is inspect.Parameter.KEYWORD_ONLY
             and name not in ("device", "checkpoint_dir", "progress")}
    assert taken == {name: field.default for name, field in TrainParams.model_fields.items()}


@pytest.mark.parametrize("arguments, refused", [
    ({"steps": 0}, "steps 0: should be greater than or equal to 1"),
    ({"scale": 3}, "scale 3: should be 2, 4 or 8"),
    ({"widths": (8,)}, "widths needs down_blocks + 1 = 2 numbers (one per encoder level), got 1: [8]"),
    ({"alpha": "mask"}, "alpha 'mask': should be 'auto', 'coverage' or 'data'"),
    ({"loss": {"vgg": 0.1}}, "loss.vgg > 0 needs vgg_weights"),
    ({"loss": {"msee": 1.0}}, "loss.msee 1.0: not a key of loss, which takes mse, hfen, vgg, gan"),
    ({"degradation": {"blur": 9}}, "degradation.blur 9: should be less than or equal to 4"),
    ({"device": "gpu"}, "device 'gpu': expected auto, cpu, cuda or cuda:N"),
])
def test_train_srcae_from_python_refuses_by_name(
    textures: list[Path], tmp_path: Path, arguments: dict, refused: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(refused)):
        train.train_srcae(textures, tmp_path / "model.pt", **{"steps": 2, **TINY, **arguments})
    assert not (tmp_path / "model.pt").exists()


def test_train_srcae_from_python_names_what_it_cannot_train_on(textures: list[Path], tmp_path: Path) -> None:
    """Refused before training starts: the op leaves out a file missing when it reads it and trains on the rest."""
    def never(step: int, total: int, note: str = "") -> None:
        raise AssertionError("trained")

    arguments = dict(steps=2, device="cpu", progress=never, **TINY)
    with pytest.raises(ValueError, match="train_srcae got no textures"):
        train.train_srcae([], tmp_path / "model.pt", **arguments)
    typo = tmp_path / "walls" / "brikc.png"
    with pytest.raises(FileNotFoundError, match=re.escape(f"texture {typo} does not exist; check its path")):
        train.train_srcae([*textures, typo], tmp_path / "model.pt", **arguments)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=re.escape(f"folder {tmp_path / 'empty'} holds no image files")):
        train.train_srcae(tmp_path / "empty", tmp_path / "model.pt", **arguments)
    inside = tmp_path / "empty" / "model.pt"
    with pytest.raises(ValueError, match=re.escape(f"is a folder: name the model file to write in it, {inside}")):
        train.train_srcae(textures, tmp_path / "empty", **arguments)


@pytest.mark.parametrize(("weight", "passes"), [(float("nan"), 1), (1e38, 1), (1e38, 2)])
def test_a_model_that_gives_nan_or_infinity_fails_the_texture_rather_than_writing_it_black_or_white(
    tmp_path: Path, weight: float, passes: int
) -> None:
    """Infinity (as float16 overflows on a GPU) was clamped to white, and in a first pass of two went on as white."""
    torch.manual_seed(0)  # torch seeds each process anew, and an init now and then gave features too faint to overflow
    model = SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12)))
    with torch.no_grad():
        model.out.conv.weight.fill_(weight)  # a damaged weights file
    save_srcae(tmp_path / "bad.pth", model)
    src = _write(tmp_path / "brick.png", _skimage("brick", 16))
    with pytest.raises(ValueError, match=r"brick.png: the model .*bad.pth \(srcae\) gave no value \(NaN or infinity\) "
                       r"for some texels, which would be written black or white; its weights are damaged"):
        infer.run({"image": src}, tmp_path / "out", SuperResolveParams(model="m", passes=passes),
                  OpContext(device="cpu", model=tmp_path / "bad.pth"))
    assert not (tmp_path / "out" / SINGLE_OUTPUT).exists()


# --- weights files ----------------------------------------------------------------


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {_Exploit.marker}",))

    marker = ""


def test_malicious_pickle_is_refused(tmp_path: Path) -> None:
    _Exploit.marker = str(tmp_path / "pwned")
    evil = tmp_path / "evil.pth"
    for name, payload in (("raw", pickle.dumps({"state": _Exploit()})), ("zip", None)):
        if payload is None:
            buffer = io.BytesIO()
            torch.save({"params": _Exploit()}, buffer)
            payload = buffer.getvalue()
        evil.write_bytes(payload)
        with pytest.raises(ValueError, match="refusing to load .*evil.pth") as refused:
            read_weights(evil)
        assert not (tmp_path / "pwned").exists(), name
        assert "weights_only" not in str(refused.value)  # torch's advice to load it unchecked is not passed on
    from ops.superres.losses import VGGFeatures

    with pytest.raises(ValueError, match="refusing to load VGG19 weights .*evil.pth.*it asks for") as refused:
        VGGFeatures.from_file(evil)  # the loss's own loader
    assert not (tmp_path / "pwned").exists() and "weights_only" not in str(refused.value)


def test_a_training_checkpoint_given_as_a_model_is_called_so(textures: list[Path], tmp_path: Path) -> None:
    """An artist who took a killed training's srcae_checkpoint.pt (under the cache's work/) for weights was told it
    is not a remaster SRCAE model and to install spandrel for community models."""

    def stop(step: int, total: int, note: str = "") -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train.run(textures, tmp_path / "m.pth", TrainParams(steps=6, **TINY),
                  OpContext(device="cpu", work_dir=tmp_path / "w", progress=stop))
    with pytest.raises(ValueError, match=r"srcae_checkpoint.pt is a remaster training checkpoint .*not a model: give "
                                         r"the model's own weights"):
        load_upscaler(tmp_path / "w" / train.CHECKPOINT_NAME, torch.device("cpu"))


def test_a_file_that_is_not_weights_is_called_so(tmp_path: Path) -> None:
    for name, payload in (("page.pth", b"<!DOCTYPE html><html>404</html>"), ("empty.pth", b"")):
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(ValueError, match=f"{name} is not a PyTorch weights file"):
            read_weights(tmp_path / name)


def test_vgg_weights_that_are_no_weights_file_are_called_so(tmp_path: Path) -> None:
    """A train_srcae vgg_weights (or multiply's) that was an error page or any other file failed the model with
    torch's "'utf-8' codec can't decode byte 0xca in position 1", naming no file."""
    from ops.superres.losses import VGGFeatures

    for name, payload in (("page.pth", b"<!DOCTYPE html><html>404</html>"), ("noise.pth", b"\x13\xca" + bytes(range(256)))):
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(ValueError, match=f"{name} is not a PyTorch weights file .*get the VGG19 weights file again"):
            VGGFeatures.from_file(tmp_path / name)


def test_damaged_or_incomplete_weights_are_refused_by_name(tmp_path: Path) -> None:
    good = tmp_path / "good.pth"
    save_srcae(good, SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))
    data = bytearray(good.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 100):  # bit rot inside a tensor: torch alone loads it
        data[i] ^= 0xFF
    (tmp_path / "rot.pth").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="rot.pth is damaged"):
        load_upscaler(tmp_path / "rot.pth", torch.device("cpu"))
    from ops.vgg import load_features

    with pytest.raises(ValueError, match="rot.pth is damaged"):
        load_features(tmp_path / "rot.pth", torch.nn.Sequential())
    from torch.utils.serialization import config

    with config.patch({"save.compute_crc32": False}):  # torch can save without checksums: not damage
        save_srcae(tmp_path / "nocrc.pth", SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))
    assert load_upscaler(tmp_path / "nocrc.pth", torch.device("cpu")).scale == 2
    content = read_weights(good)
    for name, broken in (("noconfig", {k: v for k, v in content.items() if k != "config"}),
                         ("shapes", {**content, "config": {**content["config"], "widths": [8, 16]}})):
        torch.save(broken, tmp_path / f"{name}.pth")
        with pytest.raises(ValueError, match=f"{name}.pth is marked as a remaster SRCAE model but does not hold one") as caught:
            load_upscaler(tmp_path / f"{name}.pth", torch.device("cpu"))
        assert name == "noconfig" or "size mismatch for" in str(caught.value)  # which weight, not only "Error(s) in"


def test_weights_that_unpack_to_far_more_than_their_size_are_refused_unread(tmp_path: Path) -> None:
    """torch reads a deflated entry, so a 64 MB tensor of zeros fits in a file of 100 kB (1000 to 1)."""
    import zipfile

    torch.save({"w": torch.zeros(16)}, tmp_path / "small.pth")
    with zipfile.ZipFile(tmp_path / "small.pth") as plain, zipfile.ZipFile(tmp_path / "bomb.pth", "w") as bomb:
        for entry in plain.infolist():
            content = plain.read(entry)
            if entry.filename.endswith("/data/0"):
                content = bytes(64 << 20)  # the tensor's storage, declared far larger than 16 floats
            bomb.writestr(entry.filename, content, compress_type=zipfile.ZIP_DEFLATED)
    assert (tmp_path / "bomb.pth").stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"bomb.pth unpacks to 67 MB from 0.1 MB"):
        read_weights(tmp_path / "bomb.pth")
    assert read_weights(tmp_path / "small.pth")["w"].shape == (16,)


def test_weights_file_is_byte_stable_and_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12)))
    save_srcae(tmp_path / "a.pth", model)
    save_srcae(tmp_path / "b.pth", model)
    assert hashlib.sha256((tmp_path / "a.pth").read_bytes()).digest() == hashlib.sha256((tmp_path / "b.pth").read_bytes()).digest()
    data = read_weights(tmp_path / "a.pth")
    assert data["config"]["widths"] == [8, 12]


@pytest.mark.skipif(spandrel_error() is None, reason="spandrel works here; test_superres_community.py covers loading")
def test_community_model_without_spandrel_names_the_extra(tmp_path: Path) -> None:
    path = tmp_path / "esrgan.pth"
    torch.save({"conv_first.weight": torch.zeros(4, 3, 3, 3)}, path)
    src = _write(tmp_path / "x.png", _skimage("brick", 16))
    with pytest.raises(ImportError, match=r"remaster\[community\]"):
        infer.run({"image": src}, tmp_path / "o", SuperResolveParams(model={"path": path}), OpContext(model=path))


@pytest.mark.skipif(importlib.util.find_spec("safetensors") is not None, reason="safetensors is installed")
def test_safetensors_without_the_library_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "span.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(ImportError, match=r"span.safetensors is a safetensors file.*remaster\[community\]"):
        read_weights(tmp_path / "span.safetensors")


def test_a_safetensors_file_named_in_capitals_is_read_as_one(tmp_path: Path) -> None:
    """4x_SPAN.SafeTensors (as Windows users may name it) was read as a torch file and called "not a PyTorch weights
    file", which it is not meant to be."""
    path = tmp_path / "4x_SPAN.SafeTensors"
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")  # a safetensors file holding no tensors
    if importlib.util.find_spec("safetensors") is not None:
        assert read_weights(path) == {}
        return
    with pytest.raises(ImportError, match=r"4x_SPAN.SafeTensors is a safetensors file"):
        read_weights(path)


def test_cpu_threads_are_restored() -> None:
    from ops.threads import cpu_threads

    before = torch.get_num_threads()
    with cpu_threads(2, torch.device("cpu")):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before


def test_autocast_follows_what_the_model_supports(weights: Path) -> None:
    from dataclasses import replace


    ours = load_upscaler(weights, torch.device("cpu"))
    cuda, auto = torch.device("cuda"), SuperResolveParams(model="m")
    assert infer.autocast_dtype(auto, ours, torch.device("cpu")) is None  # CPU runs float32
    assert infer.autocast_dtype(auto, ours, cuda) == torch.float16
    assert infer.autocast_dtype(SuperResolveParams(model="m", precision="float32"), ours, cuda) is None
    bf16_only = replace(ours, supports_half=False)
    assert infer.autocast_dtype(auto, bf16_only, cuda) == torch.bfloat16
    neither = replace(ours, supports_half=False, supports_bfloat16=False)  # AuraSR
    assert infer.autocast_dtype(auto, neither, cuda) is None
    assert infer.autocast_dtype(auto, ours, cuda, bit_depth=16) is None  # float16 holds 11 bits of a 16-bit height map
    assert infer.autocast_dtype(SuperResolveParams(model="m", precision="float16"), ours, cuda, 16) == torch.float16


def test_weights_cut_short_are_called_so(tmp_path: Path) -> None:
    whole = tmp_path / "whole.pth"
    save_srcae(whole, SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))
    data = whole.read_bytes()
    for name, size in (("half.pth", len(data) // 2), ("head.pth", 40)):
        (tmp_path / name).write_bytes(data[:size])
        with pytest.raises(ValueError, match=f"{name} is cut short"):
            read_weights(tmp_path / name)
    from ops.vgg import load_features

    with pytest.raises(ValueError, match="half.pth is cut short"):
        load_features(tmp_path / "half.pth", torch.nn.Sequential())
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(64, 64)}, buffer, _use_new_zipfile_serialization=False)  # before torch 1.6
    old = tmp_path / "old.pth"
    for size in range(1, len(buffer.getvalue()), 7):  # a cut anywhere: mid-header, mid-pickle, mid-tensor
        old.write_bytes(buffer.getvalue()[:size])
        for read in (read_weights, lambda path: load_features(path, torch.nn.Sequential())):
            with pytest.raises(ValueError, match="old.pth.*(cut short|damaged)"):
                read(old)
