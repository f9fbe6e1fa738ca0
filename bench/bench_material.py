"""Measure the material op: map errors on Mitsuba-rendered captures, fit time, real captures end to end.

    python bench/bench_material.py [--threads 1] [--previews docs/previews] > bench.json

Prints one JSON object. Errors per material, against the ground truth brought
into the photos' frame (Mitsuba shows each map upside down, see
``load_mitsuba_truth``): albedo RMSE in linear light after one global scale
(the flash power is unknown), mean angular normal error and the error flat
normals would have, roughness MAE, and the RMSE of relighting the fitted and
true maps (with our renderer) from a light the fit never saw.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.image_io import Image, read_image, write_image  # noqa: E402
from ops.material.maps import decode_normal  # noqa: E402
from ops.material.params import MaterialParams  # noqa: E402
from ops.material.render import Svbrdf, render_point_light  # noqa: E402
from ops.material.run import run  # noqa: E402
from ops.material.scene import load_scene  # noqa: E402
from ops.material.synthetic import load_mitsuba_truth, render_demo_pair  # noqa: E402
from ops.registry import OpContext  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GOALS = {"albedo_rmse": 0.06, "normal_ratio": 0.6, "roughness_mae": 0.15, "seconds_1024": 60.0}


def _angular(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((a * b).sum(axis=2), -1, 1))).mean())


def _torch_maps(albedo: np.ndarray, normal: np.ndarray, rough: np.ndarray, spec: np.ndarray) -> Svbrdf:
    def t(x: np.ndarray) -> torch.Tensor:
        x = x if x.ndim == 3 else x[..., None]
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).unsqueeze(0).float()

    return Svbrdf(t(albedo), t(normal), t(rough), t(spec))


def synthetic_errors(folder: Path, method: str, out: Path) -> dict[str, float]:
    inputs = {"flash": folder / "flash.png", "guide": folder / "guide.png"} if method == "two_shot" else {
        "image": folder / "flash.png"}
    meta = run(inputs, out, MaterialParams(method=method), OpContext(device="cpu"))
    albedo = read_image(out / "albedo.png").rgb()
    normal = decode_normal(read_image(out / "normal.png", colorspace="linear").rgb())
    rough = read_image(out / "roughness.png", colorspace="linear").color[..., 0]
    spec = read_image(out / "specular.png", colorspace="linear").color[..., 0]
    truth = load_mitsuba_truth(folder)  # in the photos' frame, where the fitted maps are
    t_albedo, t_normal, t_rough, t_spec = truth.albedo, truth.normal, truth.roughness, truth.specular
    scale = float((albedo * t_albedo).sum() / max((albedo**2).sum(), 1e-8))
    flat = np.zeros_like(t_normal)
    flat[..., 2] = 1
    scene = load_scene(folder / "flash.png")
    points = torch.from_numpy(scene.plane_points(*rough.shape))
    light = torch.tensor([0.6, 0.4, 1.8])
    with torch.no_grad():
        fitted, truth = (
            render_point_light(_torch_maps(*m), points, light=light, camera=torch.from_numpy(scene.camera()),
                               intensity=scene.intensity or 1.0)[0].clamp(0, 1).numpy()
            for m in ((albedo * scale, normal, rough, spec), (t_albedo, t_normal, t_rough, t_spec))
        )
    normal_err, flat_err = _angular(normal, t_normal), _angular(flat, t_normal)
    return {
        "albedo_rmse_scaled": round(float(np.sqrt(((scale * albedo - t_albedo) ** 2).mean())), 4),
        "albedo_scale": round(scale, 3),
        "normal_err_deg": round(normal_err, 2),
        "flat_normal_err_deg": round(flat_err, 2),
        "normal_ratio": round(normal_err / flat_err, 3),
        "roughness_mae": round(float(np.abs(rough - t_rough).mean()), 4),
        "relight_rmse": round(float(np.sqrt(((fitted - truth) ** 2).mean())), 4),
        "seconds": float(meta["seconds"]),
    }


def timing(size: int, work: Path) -> float:
    flash, guide = render_demo_pair(work / f"pair{size}", size=size)
    start = time.perf_counter()
    run({"flash": flash, "guide": guide}, work / f"out{size}", MaterialParams(method="two_shot"), OpContext(device="cpu"))
    return round(time.perf_counter() - start, 1)


def real_captures(work: Path, previews: Path | None, flash_count: int) -> dict[str, dict]:
    jobs: list[tuple[str, str, dict[str, Path]]] = []
    for pair in sorted((SHARED / "photos" / "pairs").glob("*/")):
        flash, guide = next(pair.glob("flash.*")), next(pair.glob("guide.*"))
        jobs.append((f"{pair.name}_two_shot", "two_shot", {"flash": flash, "guide": guide}))
    for photo in sorted((SHARED / "photos" / "flash_only").glob("*.png"))[:flash_count]:
        jobs.append((f"{photo.stem}_one_shot", "one_shot", {"image": photo}))
    flats = sorted((SHARED / "legacy" / "freedoom" / "flats").glob("*.png"))
    if flats:
        jobs.append((f"{flats[len(flats) // 2].stem}_from_texture", "from_texture", {"image": flats[len(flats) // 2]}))
    results = {}
    for name, method, inputs in jobs:
        out = work / name
        meta = run(inputs, out, MaterialParams(method=method), OpContext(device="cpu"))
        results[name] = {k: v for k, v in meta.items() if k in ("seconds", "fit_loss", "shift_x", "shift_y",
                                                                  "align_confidence", "width", "height")}
        if previews is not None:
            preview = read_image(out / "preview.png")
            step = max(1, max(preview.height, preview.width) // 128)
            small = preview.color[::step, ::step]
            write_image(previews / f"material_{name}.png", Image(color=small))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 avoids stalls on a shared CPU)")
    parser.add_argument("--previews", type=Path, default=None, help="folder for small preview PNGs of real captures")
    parser.add_argument("--flash-photos", type=int, default=3, help="how many flash-only photos to run")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--only-real", action="store_true", help="just the real captures (and their previews)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report: dict = {"threads": args.threads, "goals_two_shot": GOALS, "synthetic": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for folder in [] if args.only_real else sorted((SHARED / "materials" / "synthetic").glob("*/")):
            for method in ("two_shot", "one_shot"):
                report["synthetic"][f"{folder.name}/{method}"] = synthetic_errors(folder, method, work / folder.name / method)
        two = [v for k, v in report["synthetic"].items() if k.endswith("two_shot")]
        if two:
            report["two_shot_mean"] = {key: round(float(np.mean([v[key] for v in two])), 4) for key in two[0]}
        if not (args.skip_timing or args.only_real):
            report["seconds_per_pair"] = {f"{s}x{s}": timing(s, work) for s in (512, 1024)}
        report["real"] = real_captures(work, args.previews, args.flash_photos)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
