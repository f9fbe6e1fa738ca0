"""No-op rebuild cost against merely reading and hashing the inputs, in one run.

    python bench/bench_build.py [--count 1000] [--size 512] [--defs-files 10000] [--spec-entries 2000]
    python bench/bench_build.py --each-command [--count 2000]

Prints JSON. The goal (issue: build-system core): a no-op rebuild of 1,000
textures of 512x512 under 2x the time to read and xxh3 them, plus a fixed
start-up under 3 s; and definitions loading under 2 s with 10,000 sources.
``status_check_s`` is ``remaster status --check`` of the textures once built, as CI runs it after each build.
``validate_s`` is ``remaster validate`` of a spec of ``--spec-entries`` assets,
half of them chained from the other half, which grew with their square.

``--each-command`` times each command a studio runs, with its peak memory, on ``--count`` small textures (32 to 64
px crops of scikit-image's pictures in nested folders, all distinct) under an ``upscale`` and an ``export_dds`` of it,
without ``DAGSTER_HOME``: cheap ops, so that what is measured is remaster's own work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.atomic import atomic_path, write_bytes_atomic  # noqa: E402

SPEC = """
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  copy: {op: upscale, from: legacy, scale: 1, filter: nearest}
"""


def write_textures(folder: Path, count: int, size: int) -> list[Path]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    paths = []
    for index in range(count):
        path = folder / f"set{index // 100:02d}" / f"tex{index:05d}.png"
        image = np.roll(base, index, axis=1)  # distinct content, cheap to make
        save_png(path, image)
        paths.append(path)
    return paths


def save_png(path: Path, image: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        PILImage.fromarray(image).save(tmp, format="PNG", compress_level=1)


def write_spec(folder: Path) -> None:
    write_bytes_atomic(folder / "assets_spec.yaml", SPEC.encode())


def timed_remaster(folder: Path, *command: str) -> float:
    """Seconds of ``remaster build`` (or another ``command``) in ``folder``, without ``DAGSTER_HOME``."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", *(command or ["build"])], cwd=folder, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    return elapsed


def read_and_hash(paths: list[Path]) -> float:
    import xxhash

    started = time.perf_counter()
    for path in paths:
        xxhash.xxh3_128_hexdigest(path.read_bytes())
    return time.perf_counter() - started


def definitions_load_seconds(folder: Path, files: int) -> float:
    textures = folder / "textures"
    for index in range(files):
        path = textures / f"d{index // 1000}" / f"t{index:05d}.png"
        write_bytes_atomic(path, b"x")
    write_spec(folder)
    probe = (
        "import time; t = time.perf_counter()\n"
        "from pipeline.definitions import defs; defs()\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def validate_seconds(folder: Path, entries: int) -> float:
    """``remaster validate`` of a spec of ``entries`` assets over one texture: its time is the spec's checks."""
    write_textures(folder / "textures", 1, 16)
    lines = [SPEC.split("assets:")[0] + "assets:"]
    for index in range(entries):
        upstream = "legacy" if index % 2 == 0 else f"up{index - 1}"
        lines.append(f"  up{index}: {{op: upscale, from: {upstream}, scale: 2, filter: nearest}}")
    write_bytes_atomic(folder / "assets_spec.yaml", "\n".join(lines).encode() + b"\n")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline.cli", "validate"], cwd=folder, env=env, capture_output=True,
                   check=True)
    return time.perf_counter() - started


SCALE_SPEC = SPEC.split("assets:")[0] + """assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}
  legacy_dds: {op: export_dds, from: legacy_2x}
"""


def write_small_textures(folder: Path, count: int) -> list[Path]:
    """``count`` distinct crops, 32 to 64 px, of scikit-image's pictures, 500 to a zone and 50 to a set."""
    from skimage import data

    pictures = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    pictures += [np.stack([grey] * 3, axis=-1) for grey in (data.brick(), data.grass(), data.gravel(), data.camera())]
    rng = np.random.default_rng(1)
    paths = []
    for index in range(count):
        picture, size = pictures[index % len(pictures)], (32, 40, 48, 56, 64)[index % 5]
        y, x = (int(rng.integers(0, picture.shape[axis] - size)) for axis in (0, 1))
        crop = picture[y:y + size, x:x + size, :3].copy()
        crop[0, 0, 0], crop[0, 1, 0] = index % 256, index // 256  # distinct, whatever the crop
        path = folder / f"zone{index // 500}" / f"set{(index // 50) % 10:02d}" / f"tex{index:05d}.png"
        save_png(path, crop)
        paths.append(path)
    return paths


def measured_remaster(folder: Path, *command: str) -> tuple[float, float]:
    """(seconds, peak resident MB) of ``remaster command`` in ``folder``, without ``DAGSTER_HOME``."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *command], cwd=folder, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read() if child.stderr else b""
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"remaster {' '.join(command)} failed: {stderr.decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024  # kB on Linux


def each_command(folder: Path, count: int) -> dict[str, object]:
    """Each command's seconds and peak MB, in the order a studio meets them."""
    paths = write_small_textures(folder / "textures", count)
    write_bytes_atomic(folder / "assets_spec.yaml", SCALE_SPEC.encode())
    figures: dict[str, object] = {"textures": count}

    def measure(name: str, *command: str) -> None:
        seconds, megabytes = measured_remaster(folder, *command)
        figures[name] = {"s": round(seconds, 2), "peak_MB": round(megabytes)}

    measure("validate", "validate")
    measure("status (nothing built)", "status")
    measure("first build", "build")
    measure("no-op build", "build")
    touched, edited = paths[count // 3], paths[count // 3 + 1]
    os.utime(touched)
    measure("status (1 touched)", "status")
    save_png(edited, 255 - np.asarray(PILImage.open(edited)))
    measure("build (1 edited)", "build")
    measure("cache gc", "cache", "gc")
    measure("report", "report")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--defs-files", type=int, default=10000)
    parser.add_argument("--spec-entries", type=int, default=2000)
    parser.add_argument("--each-command", action="store_true", help="time each command on --count small textures")
    args = parser.parse_args()
    if args.each_command:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(each_command(Path(tmp), args.count), indent=1))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small, big = root / "one", root / "many"
        write_textures(small / "textures", 1, args.size)
        write_spec(small)
        paths = write_textures(big / "textures", args.count, args.size)
        write_spec(big)
        first = timed_remaster(big)
        timed_remaster(small)
        startup = min(timed_remaster(small) for _ in range(2))
        noop = min(timed_remaster(big) for _ in range(2))
        hashing = min(read_and_hash(paths) for _ in range(2))
        status = min(timed_remaster(big, "status", "--check") for _ in range(2))  # a CI gate after each build
        changed = paths[len(paths) // 2]
        save_png(changed, np.zeros((args.size, args.size, 3), np.uint8))
        one_changed = timed_remaster(big)
        defs_seconds = definitions_load_seconds(root / "defs", args.defs_files)
        validate = validate_seconds(root / "entries", args.spec_entries)
    report = {
        "textures": args.count,
        "size": args.size,
        "first_build_s": round(first, 2),
        "startup_s (no-op build of 1 texture)": round(startup, 2),
        "noop_rebuild_s": round(noop, 2),
        "read_and_xxh3_s": round(hashing, 2),
        "noop_minus_startup_over_hash": round((noop - startup) / hashing, 2),
        "goal": "noop <= 2 x read_and_xxh3 + startup, startup < 3 s",
        "goal_met": noop <= 2 * hashing + startup and startup < 3,
        "one_changed_rebuild_s": round(one_changed, 2),
        "status_check_s (nothing stale)": round(status, 2),
        "definitions_load_s": round(defs_seconds, 2),
        "definitions_source_files": args.defs_files,
        "validate_s": round(validate, 2),
        "validate_spec_entries": args.spec_entries,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
