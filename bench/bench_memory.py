"""Peak memory of enlarging one large texture: how big a texture a machine can take.

Each op runs in its own process on random RGB textures of two sides (``--sides``, 1000 and 3000 by
default), enlarged 2x, and reports its peak resident memory at each, and what each further output
pixel costs (the slope between the two, without the fixed cost of Python and torch).
``super_resolve`` uses an untrained default-size model: the weights do not change the memory.
Prints one JSON object:

    python bench/bench_memory.py [--sides 1000 3000]
"""

from __future__ import annotations

import argparse
import json
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


def peak_bytes(op: str, texture: Path, work: Path) -> int:
    code = PROLOGUE + RUN[op] + EPILOGUE
    done = subprocess.run([sys.executable, "-c", code, str(texture), str(work / op)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", type=int, nargs=2, default=[1000, 3000], help="sides of the square inputs in pixels")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
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
