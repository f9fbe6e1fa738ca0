"""Benchmark of the super-resolution op: quality against bicubic/Lanczos, and throughput.

Trains ``train_srcae`` on one set of high-res images and measures PSNR/SSIM on
others it never saw (bicubic downscale, upscale back, compare), at each asked
scale; then times tiled inference and a large matmul in the same process.
Prints one JSON object (progress on stderr). The figures in the README came from:

    python bench/bench_superres.py --threads 2 --scales 2 --steps 12000 --holdout 0.05
    python bench/bench_superres.py --threads 2 --scales 2 --steps 6000 --holdout 0.05
    python bench/bench_superres.py --threads 2 --scales 4 --steps 6000 --holdout 0.05

(569 s, 278 s and 156 s of training on the idle 2-core machine), and for the GPU figures:

    python bench/bench_superres.py --device cuda --holdout 0.05 --scales 2 --steps 6000 --adapt-steps 0 --throughput-side 2048
    python bench/bench_superres.py --device cuda --holdout 0.05 --scales 4 --steps 6000 --adapt-steps 0 --throughput-side 2048

Each trained model is also measured with self-ensemble, adapted to each held-out input
(``--adapt-steps``), and a 2x model run twice as a 4x upscaler. ``--device cuda`` trains, measures and times on a GPU as
super_resolve runs there (autocast, batched tiles), against a matmul on that GPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import xxhash
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.device import resolve_device  # noqa: E402
from ops.image_io import Image, write_image  # noqa: E402
from ops.registry import OpContext  # noqa: E402
from ops.superres import infer, train  # noqa: E402
from ops.superres.adapt import adapt  # noqa: E402
from ops.superres.data import load_image  # noqa: E402
from ops.superres.metrics import compare  # noqa: E402
from ops.superres.params import LossWeights, SuperResolveParams, TrainParams  # noqa: E402
from ops.superres.tiling import TiledUpscale, tile_layout  # noqa: E402
from ops.superres.weights import Upscaler, load_upscaler  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRAIN_SKIMAGE = ("brick", "grass", "astronaut", "chelsea", "immunohistochemistry", "hubble_deep_field")
HELD_OUT_TEXTURES = ("gravel",)
HELD_OUT_PHOTOS = ("coffee", "rocket")
DEFAULTS = SuperResolveParams(model="bench")  # super_resolve as a spec that sets nothing runs it


def _skimage(name: str) -> np.ndarray:
    array = np.asarray(getattr(skdata, name)(), dtype=np.float32) / 255.0
    return array[..., None] if array.ndim == 2 else array[..., :3]


def _motorcycle() -> list[np.ndarray]:
    """Both views of scikit-image's stereo pair: the one more natural colour photo it ships."""
    left, right, _ = skdata.stereo_motorcycle()
    return [np.asarray(view, dtype=np.float32) / 255.0 for view in (left, right)]


def build_sets(folder: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """Training files, held-out texture files, held-out photo files (written as PNGs into ``folder``)."""

    def write(name: str, array: np.ndarray) -> Path:
        path = folder / "skimage" / f"{name}.png"  # a fixed folder name: the held-out split hashes it
        write_image(path, Image(array), colorspace="linear")
        return path

    train_files = [write(n, _skimage(n)) for n in TRAIN_SKIMAGE]
    train_files += [write(f"motorcycle_{i}", view) for i, view in enumerate(_motorcycle())]
    held_textures = [write(n, _skimage(n)) for n in HELD_OUT_TEXTURES]
    held_photos = [write(n, _skimage(n)) for n in HELD_OUT_PHOTOS]
    flash = sorted((SHARED / "photos" / "flash_only").glob("*.png"))
    train_files += flash[:-4]
    held_textures += flash[-4:]  # flat materials photographed head-on: texture-like
    train_files += sorted((SHARED / "materials" / "synthetic").glob("*/ground_truth/albedo.png"))
    return train_files, held_textures, held_photos


class Variants:
    """The trained model run every way super_resolve can run it, adapted to each held-out input at most once."""

    def __init__(self, weights: Path, device: torch.device, adapt_steps: int, adapt_learning_rate: float) -> None:
        self.device = device
        self.base = load_upscaler(weights, device)
        self.adapt_steps, self.adapt_learning_rate = adapt_steps, adapt_learning_rate
        self.adapted: dict[str, Upscaler] = {}
        self.adapt_seconds: list[float] = []
        self.adaptations: list[dict[str, object]] = []  # per input: its size, the held-out strip's verdict

    def _adapted(self, lr: torch.Tensor) -> Upscaler:
        key = xxhash.xxh3_64_hexdigest(lr.numpy().tobytes())
        if key not in self.adapted:
            started = time.perf_counter()
            adaptation = adapt(self.base.forward, lr[0], steps=self.adapt_steps, peak_learning_rate=self.adapt_learning_rate)
            self.adapt_seconds.append(time.perf_counter() - started)
            self.adaptations.append({
                "input": "x".join(map(str, lr.shape[-2:])), "kept": adaptation.kept,
                "check_gain_db": round(adaptation.check_gain_db, 3),
            })
            self.adapted[key] = replace(self.base, forward=adaptation.model)
        return self.adapted[key]

    def upscale(self, *, ensemble: bool, passes: int, adapted: bool) -> Callable[[torch.Tensor], torch.Tensor]:
        """A (1, 3, h, w) -> (1, 3, h*s^passes, w*s^passes) function, as super_resolve computes it."""

        def upscale(lr: torch.Tensor) -> torch.Tensor:
            upscaler = self._adapted(lr) if adapted else self.base
            forward = infer.make_forward(upscaler, self.device, _precision(upscaler, self.device), ensemble=ensemble)
            x = lr.to(self.device)
            for _ in range(passes):
                x = forward(x).clamp(0.0, 1.0)
            return x.cpu()

        return upscale


def quality(variants: Variants, files: list[Path], *, ensemble: bool, passes: int, adapted: bool) -> dict[str, dict]:
    """Held-out figures of one variant, per file."""
    upscale = variants.upscale(ensemble=ensemble, passes=passes, adapted=adapted)
    scale = variants.base.scale**passes
    return {p.stem: compare([load_image(p)], upscale, scale) for p in files}


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean figures over images, PSNR as super-resolution papers average it. ``compare`` over several
    images, as train_srcae's metadata is, takes the PSNR of their mean squared error instead, so that a
    flat colour among them does not decide it; on the bench's images the two differ little."""
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def gain_db(figures: dict[str, float]) -> float:
    return round(figures["val_psnr"] - figures["bicubic_psnr"], 3)


def _precision(upscaler: Upscaler, device: torch.device) -> torch.dtype | None:
    """The autocast type super_resolve's defaults run ``upscaler`` under on ``device`` (None on CPU)."""
    return infer.autocast_dtype(DEFAULTS, upscaler, device)


def _seconds(work: Callable[[], None], device: torch.device, repeats: int) -> float:
    """Mean wall-clock seconds of ``work`` after one warm-up, waiting for the GPU where there is one."""
    work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - started) / repeats


def matmul_flops(device: torch.device, dtype: torch.dtype | None) -> float:
    """FLOP/s of a large square matmul on ``device`` in ``dtype`` (float32 when None): the machine's ceiling."""
    side = 8192 if device.type == "cuda" else 2048
    a = torch.rand(side, side, device=device, dtype=dtype or torch.float32)
    return 2 * side**3 / _seconds(lambda: torch.mm(a, a), device, repeats=5)


def throughput(
    weights: Path, side: int, repeats: int, device: torch.device, *, ensemble: bool = False, passes: int = 1
) -> dict[str, float | str]:
    """Output megapixels per second of tiled inference as super_resolve runs it on ``device``, and achieved
    vs matmul FLOP/s (the matmul in the type inference runs in: float16 under CUDA autocast)."""
    upscaler = load_upscaler(weights, device)
    dtype = _precision(upscaler, device)
    forward = infer.make_forward(upscaler, device, dtype, ensemble=ensemble)
    image = torch.rand(3, side, side, generator=torch.Generator().manual_seed(0))
    batch = DEFAULTS.batch if device.type == "cuda" else 1

    def upscale() -> None:
        x = image
        for _ in range(passes):
            x = TiledUpscale(x, forward, scale=upscaler.scale, tile=DEFAULTS.tile, overlap=DEFAULTS.overlap,
                             multiple=upscaler.multiple, batch=batch, device=device).whole().clamp(0.0, 1.0)

    def executed_pixels(side: int) -> int:
        """Input pixels the model runs on for one pass over a ``side``-square input: tiles overlap."""
        tile, starts = tile_layout(side + 2 * DEFAULTS.overlap, DEFAULTS.tile, DEFAULTS.overlap, upscaler.multiple)
        padded = -(-tile // upscaler.multiple) * upscaler.multiple  # each tile is padded to the model's multiple
        return (padded * len(starts)) ** 2

    seconds = _seconds(upscale, device, repeats)
    scale = upscaler.scale**passes
    out_pixels = (side * scale) ** 2
    # Pass k runs on an image scale**k times smaller (in area, scale**2k) than the output.
    per_pass = upscaler.forward.macs_per_output_pixel() * (8 if ensemble else 1)
    macs = sum(per_pass / upscaler.scale ** (2 * k) for k in range(passes))
    achieved = 2 * macs * out_pixels / seconds
    per_input_pixel = per_pass * upscaler.scale**2
    executed = sum(2 * per_input_pixel * executed_pixels(side * upscaler.scale**k) for k in range(passes)) / seconds
    matmul = matmul_flops(device, dtype)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "precision": infer.precision_name(dtype),
        "megapixels_per_second": round(out_pixels / seconds / 1e6, 4),
        "macs_per_output_pixel": macs,
        "achieved_gflops": round(achieved / 1e9, 2),
        "matmul_gflops": round(matmul / 1e9, 2),
        "fraction_of_matmul": round(achieved / matmul, 4),
        "executed_gflops": round(executed / 1e9, 2),  # counting the tiles' overlap and padding, all the model ran
        "executed_fraction_of_matmul": round(executed / matmul, 4),
        "input_side": side,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 4], help="upscaling factors to train and measure")
    parser.add_argument("--steps", type=int, default=3000, help="training steps per scale")
    parser.add_argument("--batch-size", type=int, default=16, help="patches per step")
    parser.add_argument("--patch-size", type=int, default=64, help="high-res patch side")
    parser.add_argument("--widths", type=int, nargs="+", default=[24, 32, 48], help="encoder widths (N+1)")
    parser.add_argument("--learning-rate", type=float, default=TrainParams.model_fields["learning_rate"].default,
                        help="peak Adam step size (wider models need a lower one)")
    parser.add_argument("--hfen", type=float, default=0.1, help="loss.hfen (0: pure MSE, what PSNR measures)")
    parser.add_argument("--no-skip", action="store_true", help="ablation: no encoder-decoder skips")
    parser.add_argument("--no-residual", action="store_true", help="ablation: predict the image, not a correction over bicubic")
    parser.add_argument("--adapt-steps", type=int, default=200, help="also measure super_resolve's adapt_steps (0: skip)")
    parser.add_argument("--adapt-learning-rate", type=float, default=5e-4, help="super_resolve's adapt_learning_rate")
    parser.add_argument("--throughput-side", type=int, default=512, help="input side for the timing run")
    parser.add_argument("--holdout", type=float, default=0.2, help="fraction of training files train_srcae keeps for its own validation")
    parser.add_argument("--threads", type=int, default=0, help="torch threads, for training too (0: torch's default)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto: where to train, measure and time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    report: dict[str, object] = {"torch_threads": torch.get_num_threads(), "device": str(device), "steps": args.steps,
                                 "results": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train_files, held_textures, held_photos = build_sets(folder)
        report["train_files"] = len(train_files)
        report["held_out"] = [p.name for p in held_textures + held_photos]
        for scale in args.scales:
            params = TrainParams(
                scale=scale, steps=args.steps, batch_size=args.batch_size, patch_size=args.patch_size,
                widths=tuple(args.widths), down_blocks=len(args.widths) - 1, learning_rate=args.learning_rate,
                loss=LossWeights(hfen=args.hfen), skip=not args.no_skip, residual=not args.no_residual,
                validate_every=max(args.steps // 10, 1), holdout=args.holdout, cpu_threads=args.threads,
            )
            weights = folder / f"sr{scale}x.pth"
            meta = train.run(train_files, weights, params, OpContext(device=str(device)))
            row: dict[str, object] = {"train_seconds": meta["train_seconds"], "parameters": meta["parameters"]}
            sets = (("textures", held_textures), ("photos", held_photos), ("all", held_textures + held_photos))
            variants = Variants(weights, device, args.adapt_steps, args.adapt_learning_rate)
            ways = [("", False, 1), ("_self_ensemble", True, 1)]
            if scale == 2:  # the same model run twice is a 4x upscaler too
                ways += [("_4x_two_passes", False, 2), ("_4x_two_passes_self_ensemble", True, 2)]
            for adapted in (False, True) if args.adapt_steps else (False,):
                for way, ensemble, passes in ways:
                    per_file = quality(variants, held_textures + held_photos, ensemble=ensemble, passes=passes, adapted=adapted)
                    suffix = way + ("_adapted" if adapted else "")
                    for name, files in sets:
                        figures = mean([per_file[p.stem] for p in files])
                        row[name + suffix] = {k.replace("val_", "model_"): round(v, 4) for k, v in figures.items()}
                        row[name + suffix]["gain_db"] = gain_db(figures)
                    row["gain_db_per_image" + suffix] = {stem: gain_db(f) for stem, f in per_file.items()}
            if variants.adapt_seconds:
                row["adapt_seconds_per_image"] = round(float(np.mean(variants.adapt_seconds)), 2)
                row["adaptations"] = variants.adaptations
            where = "cpu" if device.type == "cpu" else "gpu"
            row[f"throughput_{where}"] = throughput(weights, args.throughput_side, 2, device)
            row[f"throughput_{where}_self_ensemble"] = throughput(weights, args.throughput_side, 1, device, ensemble=True)
            if scale == 2:
                row[f"throughput_{where}_4x_two_passes"] = throughput(weights, args.throughput_side, 1, device, passes=2)
            report["results"][f"{scale}x"] = row
            print(json.dumps(report), flush=True, file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
