"""Peak memory of enlarging one large texture: how big a texture a machine can take.

Each op runs in its own process on random RGB textures of two sides (``--sides``, 1000 and 3000 by
default), enlarged 2x, and reports its peak resident memory at each, and what each further output
pixel costs (the slope between the two, without the fixed cost of Python and torch).
``super_resolve`` uses an untrained default-size model: the weights do not change the memory.
With ``--io SIDE`` it measures instead what reading and writing textures of that side cost (8192: a studio's
largest), each in its own process: the peak resident memory beyond what the process held before the call, for
an RGBA and an RGB PNG, a 16-bit RGB PNG and an RGBA TGA of random texels (which no compression shrinks, so the
file's own bytes are as large as the texels), read as integers (``read_pixels``, as a preview reads), read as
floats (``read_image``, as an op reads) and written from floats (``write_image``); and, with ``--build SIDE``,
the peak of a whole ``python -m pipeline.cli build`` of one ``upscale`` 2x of an RGB texture of that side.
Prints one JSON object:

    python bench/bench_memory.py [--sides 1000 3000] [--io 8192] [--build 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RUN = {
    "upscale": """
from ops.upscale import run, UpscaleParams
run({"image": src}, out, UpscaleParams(scale=2, wrap=False), OpContext())
""",
    "super_resolve": """
from ops.superres import infer
from ops.superres.model import SRCAE, SRCAEConfig
from ops.superres.params import SuperResolveParams
from ops.superres.weights import save_srcae
save_srcae(out / "m.pth", SRCAE(SRCAEConfig()))
infer.run({"image": src}, out, SuperResolveParams(model="m", wrap=False), OpContext(device="cpu", model=out / "m.pth"))
""",
}

PROLOGUE = """
import resource, sys
from pathlib import Path
from ops.registry import OpContext
src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
"""

EPILOGUE = """
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


IO = {
    "read_pixels": "before = reset(); read_pixels(path)",
    "read_image": "before = reset(); read_image(path)",
    "write_image": "image = read_image(path); before = reset(); write_image(out, image)",
}

# Linux's VmHWM is the process's peak resident memory; writing 5 to clear_refs resets it to what is resident
# now, so that a write is not charged with the read that made its image.
IO_PROLOGUE = """
import sys
from pathlib import Path
from ops.image_io import read_image, read_pixels, write_image
path, out = sys.argv[1], sys.argv[2]
def status(field):
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) * 1024
def reset():
    Path("/proc/self/clear_refs").write_text("5")
    return status("VmRSS")
"""

IO_EPILOGUE = """
print(status("VmHWM") - before)
"""

BUILD_SPEC = """\
build_dir: build
cache_dir: cache
device: cpu
sources:
  legacy: {kind: textures, root: textures, glob: "*.png"}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}
"""


def io_textures(side: int, work: Path) -> dict[str, Path]:
    """Random textures of ``side`` px in the formats builds read most, written as a paint program would (Pillow
    for 8 bits, pypng for 16), not through remaster's own writer, whose cost is measured."""
    import numpy as np
    import png
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (side, side, 4), dtype=np.uint8)
    textures = {"rgba8_png": work / "rgba8.png", "rgb8_png": work / "rgb8.png", "rgb16_png": work / "rgb16.png",
                "rgba8_tga": work / "rgba8.tga"}
    PILImage.fromarray(rgba).save(textures["rgba8_png"], compress_level=1)
    PILImage.fromarray(rgba[..., :3]).save(textures["rgb8_png"], compress_level=1)
    PILImage.fromarray(rgba).save(textures["rgba8_tga"])
    del rgba
    with open(textures["rgb16_png"], "wb") as file:
        rows = (rng.integers(0, 65536, side * 3, dtype=np.uint16) for _ in range(side))
        png.Writer(side, side, greyscale=False, bitdepth=16, compression=1).write(file, rows)
    return textures


def io_peaks(side: int, work: Path) -> dict[str, dict[str, int]]:
    """MiB beyond the process's own of each call of ``IO`` on each texture of ``io_textures``."""
    report: dict[str, dict[str, int]] = {}
    for name, texture in io_textures(side, work).items():
        report[name] = {}
        for call, code in IO.items():
            out = work / f"out{texture.suffix}"
            done = subprocess.run([sys.executable, "-c", IO_PROLOGUE + code + IO_EPILOGUE, str(texture), str(out)],
                                  cwd=REPO, capture_output=True, text=True, check=True)
            report[name][call] = round(int(done.stdout.split()[-1]) / 2**20)
    return report


def build_peak(side: int, work: Path) -> int:
    """MiB: the peak resident memory of a whole ``pipeline.cli build`` (and of any process it starts) of one
    ``upscale`` 2x of a random RGB texture of ``side`` px."""
    import numpy as np
    from PIL import Image as PILImage

    project = work / "project"
    (project / "textures").mkdir(parents=True)
    texels = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    PILImage.fromarray(texels).save(project / "textures" / "wall.png", compress_level=1)
    (project / "assets_spec.yaml").write_text(BUILD_SPEC)
    code = ("import resource, subprocess, sys\n"
            "subprocess.run([sys.executable, '-m', 'pipeline.cli', 'build', '--spec', sys.argv[1]], check=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)")
    own_instance = {name: value for name, value in os.environ.items() if name != "DAGSTER_HOME"}  # not the user's
    done = subprocess.run([sys.executable, "-c", code, str(project / "assets_spec.yaml")], cwd=REPO,
                          env=own_instance, capture_output=True, text=True, check=True)
    return round(int(done.stdout.split()[-1]) / 2**20)


def peak_bytes(op: str, texture: Path, work: Path) -> int:
    code = PROLOGUE + RUN[op] + EPILOGUE
    done = subprocess.run([sys.executable, "-c", code, str(texture), str(work / op)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", type=int, nargs=2, default=[1000, 3000], help="sides of the square inputs in pixels")
    parser.add_argument("--io", type=int, metavar="SIDE", help="measure reading and writing textures of this side")
    parser.add_argument("--build", type=int, metavar="SIDE", help="measure a build's upscale of a texture of this side")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.io or args.build:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            io = {f"image_io_mib_beyond_the_process_at_{args.io}": io_peaks(args.io, work)} if args.io else {}
            build = {f"build_upscale_2x_peak_mib_at_{args.build}": build_peak(args.build, work)} if args.build else {}
        print(json.dumps({**io, **build}, indent=2))
        return
    import numpy as np

    from ops.image_io import Image, write_image

    report: dict[str, dict] = {op: {} for op in RUN}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for side in args.sides:
            texture = work / f"texture{side}.png"
            write_image(texture, Image(np.random.default_rng(0).random((side, side, 3), dtype=np.float32)))
            for op in RUN:
                report[op][side] = peak_bytes(op, texture, work)
    small, large = args.sides
    pixels = (2 * large) ** 2 - (2 * small) ** 2
    print(json.dumps({"scale": 2, **{op: {
        **{f"peak_mib_at_{side}": round(peak / 2**20) for side, peak in peaks.items()},
        "bytes_per_further_output_pixel": round((peaks[large] - peaks[small]) / pixels, 1),
    } for op, peaks in report.items()}}, indent=2))


if __name__ == "__main__":
    main()
