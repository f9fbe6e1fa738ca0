"""Peak memory of enlarging one large texture: how big a texture a machine can take.

Each op runs in its own process on a random RGB texture (``--side``, 2000 by default), enlarged 2x,
and reports its peak resident memory, also per output pixel. ``super_resolve`` uses an untrained
default-size model: the weights do not change the memory. Prints one JSON object:

    python bench/bench_memory.py [--side 2000]
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
    parser.add_argument("--side", type=int, default=2000, help="side of the square input texture in pixels")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import numpy as np

    from ops.image_io import Image, write_image

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        texture = work / "texture.png"
        write_image(texture, Image(np.random.default_rng(0).random((args.side, args.side, 3), dtype=np.float32)))
        output_pixels = (2 * args.side) ** 2
        report = {}
        for op in RUN:
            peak = peak_bytes(op, texture, work)
            report[op] = {"peak_mb": round(peak / 2**20), "bytes_per_output_pixel": round(peak / output_pixels, 1)}
    print(json.dumps({"side": args.side, "scale": 2, **report}, indent=2))


if __name__ == "__main__":
    main()
