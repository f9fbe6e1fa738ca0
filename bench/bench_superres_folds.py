"""Cross-validated super-resolution quality: how much the held-out figure owes to which images are held out.

``bench_superres.py`` holds out one fixed set of images. This script splits every natural photo and
texture that bench uses into folds, trains one model per fold on all the others (train_srcae's defaults,
with its own validation split at ``--holdout`` as the README's bench commands set it) and measures each
image by the model that never saw it, so every image is scored once. Images of one object or surface
are held out together (``SAME_SCENE``), so none is scored by a model that trained on its twin. Prints one
JSON object (progress on stderr). The figures in the README came from:

    python bench/bench_superres_folds.py --scale 4 --steps 6000 --folds 4 --threads 1
    python bench/bench_superres_folds.py --scale 2 --steps 6000 --folds 4 --threads 1
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_superres import HELD_OUT_PHOTOS, SHARED, TRAIN_SKIMAGE, Variants, build_sets, gain_db  # noqa: E402
from ops.registry import OpContext  # noqa: E402
from ops.superres import train  # noqa: E402
from ops.superres.data import load_image  # noqa: E402
from ops.superres.metrics import compare  # noqa: E402
from ops.superres.params import TrainParams  # noqa: E402

TRAINING_ONLY = ("hubble_deep_field", "immunohistochemistry")  # science images: neither a photo nor a texture
PHOTOS = HELD_OUT_PHOTOS + ("astronaut", "chelsea", "motorcycle_0", "motorcycle_1")
SAME_SCENE = (
    ("motorcycle_0", "motorcycle_1"),  # the two views of scikit-image's stereo pair
    ("IMG_20180104_230238", "IMG_20180105_091814", "IMG_20180114_222743_1"),  # carved wood, flash photos
    ("IMG_20180115_135508", "IMG_20180115_135633", "IMG_20180115_144327"),  # grey painted metal, one afternoon
    ("IMG_6966", "IMG_7026"),  # black leather upholstery
)


def group(image: str) -> str:
    """Photos, textures (scikit-image's and the flash photos of flat materials), or the Mitsuba albedos: procedural
    and nearly flat, so bicubic is already within a fraction of a grey level and a gain in dB says little."""
    return "photos" if image in PHOTOS else "albedos" if image.endswith("/albedo") else "textures"


def name(path: Path) -> str:
    """The image's name in the report: the material's folder for the synthetic albedos, which share a file name."""
    return f"{path.parent.parent.name}/albedo" if path.stem == "albedo" else path.stem


def folds_of(images: list[Path], folds: int) -> list[list[Path]]:
    """``images`` dealt into ``folds`` held-out sets by scene (a ``SAME_SCENE`` group, or one image), in name order."""
    scene_of = {image: group[0] for group in SAME_SCENE for image in group}
    scenes: dict[str, list[Path]] = {}
    for path in sorted(images, key=name):
        scenes.setdefault(scene_of.get(name(path), name(path)), []).append(path)
    if not 2 <= folds <= len(scenes):
        raise SystemExit(f"--folds must be between 2 and the {len(scenes)} scenes to hold out")
    held: list[list[Path]] = [[] for _ in range(folds)]
    for index, scene in enumerate(sorted(scenes)):
        held[index % folds] += scenes[scene]
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4, 8), help="upscaling factor")
    parser.add_argument("--steps", type=int, default=6000, help="training steps per fold")
    parser.add_argument("--folds", type=int, default=4, help="models to train; each holds out every folds-th scene")
    parser.add_argument("--holdout", type=float, default=0.05, help="train_srcae's own validation fraction")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    try:
        params = TrainParams(scale=args.scale, steps=args.steps, validate_every=args.steps, holdout=args.holdout,
                             cpu_threads=args.threads)
    except ValidationError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        train_files, held_textures, held_photos = build_sets(folder)
        if len(train_files) == len(TRAIN_SKIMAGE) + 2:
            raise SystemExit(f"the flash photos and albedos under {SHARED} are missing; this bench scores them too")
        everything = train_files + held_textures + held_photos
        always = [p for p in everything if p.stem in TRAINING_ONLY]
        scored = [p for p in everything if p not in always]
        lost = {image for scene in SAME_SCENE for image in scene} - {name(p) for p in scored}
        if lost:
            raise SystemExit(f"SAME_SCENE names images the bench no longer has: {', '.join(sorted(lost))}")
        gains: dict[str, dict[str, float]] = {"plain": {}, "self_ensemble": {}}
        bicubic: dict[str, float] = {}
        seconds = []
        for fold, held in enumerate(folds_of(scored, args.folds)):
            weights = folder / f"fold{fold}.pth"
            started = time.perf_counter()
            train.run([p for p in scored if p not in held] + always, weights, params, OpContext(device="cpu"))
            seconds.append(time.perf_counter() - started)
            variants = Variants(weights, device, adapt_steps=0, adapt_learning_rate=0.0)
            for way, ensemble in (("plain", False), ("self_ensemble", True)):
                upscale = variants.upscale(ensemble=ensemble, passes=1, adapted=False)
                for path in held:
                    figures = compare([load_image(path)], upscale, args.scale)
                    gains[way][name(path)] = gain_db(figures)
                    bicubic[name(path)] = round(figures["bicubic_psnr"], 2)
            print(f"fold {fold}: {json.dumps({n: gains['plain'][n] for n in map(name, held)})}", file=sys.stderr)

    def means(per_image: dict[str, float]) -> dict[str, float]:
        groups = {key: [g for n, g in per_image.items() if group(n) == key] for key in ("textures", "photos", "albedos")}
        groups["all_but_albedos"] = groups["textures"] + groups["photos"]
        groups["all"] = list(per_image.values())
        return {key: round(float(np.mean(values)), 3) for key, values in groups.items() if values}

    report = {
        "scale": args.scale, "steps": args.steps, "folds": args.folds, "torch_threads": torch.get_num_threads(),
        "train_seconds_per_fold": round(float(np.mean(seconds)), 1),
        "mean_gain_db": means(gains["plain"]), "mean_gain_db_self_ensemble": means(gains["self_ensemble"]),
        "gain_db_per_image": gains["plain"], "gain_db_per_image_self_ensemble": gains["self_ensemble"],
        "bicubic_psnr_per_image": bicubic,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
