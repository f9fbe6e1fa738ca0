"""Helpers for tests: small projects on disk."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
import torch

from ops.image_io import Image, write_image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"

# Tests that must hold on a GPU too take ``device`` from DEVICES; CI has no GPU and runs the CPU half.
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


def write_textures(folder: Path, count: int, size: int = 16, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        path = folder / ("walls" if index % 2 else "floors") / f"tex{index:03d}.png"
        write_image(path, Image(rng.random((size, size, 3), dtype=np.float32)))
        paths.append(path)
    return paths


def manifest_rows(folder: Path) -> list[dict]:
    """The rows of ``<folder>/build/manifest.json``, as a build wrote them."""
    return json.loads((folder / "build" / "manifest.json").read_text())["entries"]


def write_spec(folder: Path, body: str) -> Path:
    spec = folder / "assets_spec.yaml"
    spec.write_text(textwrap.dedent(body))
    return spec


def source_called(folder: Path, name: str) -> str:
    """How messages name source ``name`` of the spec in ``folder``: ``<spec>:<its line>: source 'name'``."""
    spec = folder / "assets_spec.yaml"
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if text.lstrip().startswith(f"{name}:"))
    return f"{spec}:{line}: source {name!r}"


def dds(width: int, height: int, fourcc: bytes, blocks: bytes, *, caps2: int = 0, dx10: tuple[int, ...] = (),
        mipmaps: int = 1, masked: tuple[int, int] | None = None) -> bytes:
    """A DDS file as a game's tools write one: the 128-byte header, the DX10 one where ``dx10`` gives
    (dxgi format, dimension, misc flags, array size), then ``blocks``, the block-compressed texels; or,
    where ``masked`` gives (pixel format flags, bits a texel), an uncompressed format named by bit masks."""
    flags = 0x1 | 0x2 | 0x4 | 0x1000 | 0x80000 | (0x20000 if mipmaps > 1 else 0)  # caps, size, format, linear size
    named = struct.pack("<4I", 32, 0x4, int.from_bytes(fourcc, "little"), 0)  # FOURCC
    pixel_format = (struct.pack("<4I", 32, masked[0], 0, masked[1]) if masked else named) + bytes(16)
    header = struct.pack("<7I", 124, flags, height, width, len(blocks), 0, mipmaps) + bytes(44) + pixel_format
    header += struct.pack("<5I", 0x1000, caps2, 0, 0, 0)
    return b"DDS " + header + (struct.pack("<5I", *dx10, 0) if dx10 else b"") + blocks


def bc1_block(color0: int, color1: int, indices: int = 0) -> bytes:
    """One 4x4 BC1 block of two RGB565 colours: index 0 is ``color0``; where ``color0 <= color1``, index 3
    is transparent black."""
    return struct.pack("<HHI", color0, color1, indices)


def bc4_block(value: int) -> bytes:
    """One 4x4 BC4 block (a BC5's red or green, a BC3's alpha) that is ``value`` in every texel."""
    return struct.pack("<BB", value, 0) + bytes(6)


LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a21\nsize 7012\n"  # a checkout without Git LFS

UPSCALE_SPEC = """
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}
"""


def unreadable_while_mode_000(monkeypatch) -> None:
    """Files whose mode is 000 cannot be opened for hashing, as for any user but root (the tests run as root)."""
    import pipeline.hashing

    def refused(path, *args, **kwargs):
        if os.stat(path).st_mode & 0o777 == 0:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(pipeline.hashing, "open", refused, raising=False)


def _refuse_inside(folder: Path, path: Path) -> None:
    if path.is_relative_to(folder):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))


def no_new_files_in(monkeypatch, folder: Path) -> None:
    """``folder`` refuses new files, as one made read-only (chattr +i) does even for root: every file written, an
    output, an entry or a cache object, is first made by ``new_temporary``."""
    import ops.atomic
    import pipeline.cache

    made = ops.atomic.new_temporary

    def create(where: Path, name: str) -> Path:
        _refuse_inside(folder, where / f".{name}.x.tmp")
        return made(where, name)

    for module in (ops.atomic, pipeline.cache):
        monkeypatch.setattr(module, "new_temporary", create)


def read_only_folder(monkeypatch, folder: Path) -> None:
    """``folder`` refuses new files and deletions, as one made read-only (chattr +i) does even for root."""
    import pipeline.build

    remove = pipeline.build.remove_output

    def delete(build_dir, path, **kwargs):
        _refuse_inside(folder, path)
        remove(build_dir, path, **kwargs)

    no_new_files_in(monkeypatch, folder)
    monkeypatch.setattr(pipeline.build, "remove_output", delete)


def ui_statuses(instance, assets: Sequence, asset: str, partitions: Iterable[str | None] = (None,)) -> dict:
    """What the UI shows for ``asset`` (FRESH, STALE, MISSING) per partition. Dagster has no public API for
    the UI's staleness, so this reaches into Dagster's private modules (``test_only_dagsters_public_api``)."""
    import dagster as dg
    from dagster._utils.test.data_versions import get_stale_status_resolver

    resolver = get_stale_status_resolver(instance, list(assets))
    return {key: resolver.get_status(dg.AssetKey(asset), key).value for key in partitions}


def pinned_partition_limit() -> int:
    """Dagster's own limit that ``pipeline.provenance.DAGSTER_PARTITION_LIMIT`` copies."""
    from dagster._core.definitions.data_version import SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD

    return SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD


def spandrel_error() -> Exception | None:
    """Why spandrel cannot be imported here, or None where it can (the optional community-model extra)."""
    try:
        import spandrel  # noqa: F401
    except (ImportError, RuntimeError) as exc:  # RuntimeError: a torchvision built for another torch
        return exc
    return None


def profile_with(profile: bytes, tags: dict[bytes, bytes]) -> bytes:
    """ICC ``profile`` with the data of each of ``tags`` (by signature) overwritten, at the same length."""
    data = bytearray(profile)
    for n in range(struct.unpack(">I", profile[128:132])[0]):
        signature, offset, _ = struct.unpack(">4sII", profile[132 + 12 * n : 144 + 12 * n])
        if signature in tags:
            data[offset : offset + len(tags[signature])] = tags[signature]
    return bytes(data)


def fixed(*values: float) -> bytes:
    """ICC s15Fixed16 numbers."""
    return b"".join(struct.pack(">i", round(value * 65536)) for value in values)


def display_p3_profile() -> bytes:
    """An ICC profile named "Display P3 v4" with Display P3's primaries (a phone photo's), made from lcms's sRGB
    one: nothing is downloaded."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    p3 = profile_with(srgb, {b"rXYZ": b"XYZ \0\0\0\0" + fixed(0.5151, 0.2412, -0.0011),
                             b"gXYZ": b"XYZ \0\0\0\0" + fixed(0.2919, 0.6922, 0.0419),
                             b"bXYZ": b"XYZ \0\0\0\0" + fixed(0.1572, 0.0666, 0.7841)})
    return p3.replace("sRGB built-in".encode("utf-16-be"), "Display P3 v4".encode("utf-16-be"))


def outputs(folder: Path) -> dict[str, str]:
    """The hash of each PNG in ``folder``'s build folder, by its path from ``folder``."""
    from pipeline.hashing import hash_file

    return {p.relative_to(folder).as_posix(): hash_file(p) for p in sorted((folder / "build").rglob("*.png"))}


def statuses(folder: Path) -> dict[str, str]:
    """Each partition's status in the manifest of ``folder``'s build (computed, cached, failed)."""
    return {e["partition"]: e["status"] for e in manifest_rows(folder)}


def pngs_written(folder: Path, since: float = 0.0) -> int:
    """How many PNGs under ``folder`` a running build has written since ``since``. The build may delete a
    file, or the folder itself, while this counts: a killed build's unlisted outputs go before they are put
    back from the cache."""
    count = 0
    for parent, _, names in os.walk(folder):  # a folder that vanishes is skipped, where rglob would raise
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                count += name.endswith(".png") and os.stat(os.path.join(parent, name)).st_mtime > since
    return count


def hash_index_entries(cache: Path) -> dict[str, list]:
    """The entries of the cache's hash index: a line with the hash of the rest, then JSON."""
    from pipeline.resources import HASH_INDEX

    return json.loads((cache / HASH_INDEX).read_bytes().partition(b"\n")[2])


def remembered_as_it_is(cache: Path, path: Path) -> bool:
    """Whether the cache's hash index holds ``path``'s hash for the file as it is now: its stat signature, so
    that the next build reads it no more."""
    from pipeline.hashing import hash_file

    stat = path.stat()
    return hash_index_entries(cache).get(str(path)) == [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns,
                                                        hash_file(path)]


def build_waiting_on_a_key(folder: Path, *args: str) -> subprocess.Popen:
    """``remaster build *args`` in another process, returned once it says it waits on the lock of a cache key, which the
    caller holds (``ContentStore.key_lock``): its step has loaded the hash index by then, and saves it once it
    goes on. Read what it says after with ``communicate``."""
    build = start_remaster(folder, "build", *args)
    said = []
    for line in build.stdout:
        said.append(line)
        if "waiting for another build making the same outputs" in line:
            return build
    build.wait()
    raise AssertionError(f"the build never waited on a cache key's lock: {''.join(said)}")


def remaster_on_a_terminal(script: str, folder: Path, *args: str, env: dict[str, str]) -> tuple[int, str]:
    """Runs ``python -c script *args`` (a script ending in remaster's ``main()``) on a pseudo-terminal 120 columns
    wide, as an artist's shell runs it: its exit status and all it drew, escape sequences and all. FORCE_COLOR and
    CI, which this suite may run under, are left out of ``env``: either asks for a log's progress lines."""
    import pty

    env = {k: v for k, v in env.items() if k not in ("FORCE_COLOR", "CI")}
    ours, theirs = pty.openpty()
    run = subprocess.Popen([sys.executable, "-c", script, *args], cwd=folder, stdin=theirs, stdout=theirs,
                           stderr=theirs, start_new_session=True, env={**env, "COLUMNS": "120", "TERM": "xterm"})
    os.close(theirs)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the program has closed the terminal
        while chunk := os.read(ours, 65536):
            shown += chunk
    os.close(ours)
    return run.wait(timeout=60), shown.decode(errors="replace")


def start_remaster(folder: Path, *args: str, dagster_home: Path | None = None) -> subprocess.Popen:
    """``remaster`` run as a terminal runs a program: in a process group of its own (a terminal's Ctrl-C reaches
    the whole group), against ``dagster_home`` where given, else on a throwaway instance."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DAGSTER_HOME", None)
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    script = "from pipeline.cli import main; main()"  # as the remaster program runs
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=folder, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


CHAIN_SPEC = UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"  # an upscale of an upscale


def variants_project(folder: Path, count: int, textures: int = 1, more: str = "") -> Path:
    """``textures`` 64-px textures and a patch-multiply asset of ``count`` variants, then the entries of ``more``;
    returns the spec file."""
    write_textures(folder / "textures", textures, size=64)
    return write_spec(folder, f"""
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {{kind: textures, root: textures, glob: "**/*.png"}}
assets:
  variants: {{op: multiply, from: legacy, method: patch, count: {count}, size: 48}}
{more}""")


def variants_dds_project(folder: Path, count: int) -> Path:
    """Two 64-px textures, a patch-multiply asset of ``count`` variants, and each variant exported as DDS; returns
    the spec file."""
    return variants_project(folder, count, textures=2, more="  variants_dds: {op: export_dds, from: variants}\n")


def build_killed_at_the_third_variant(folder: Path, dagster_home: Path | None = None) -> None:
    """``remaster build`` in a process that SIGKILLs itself as it starts the third variant."""
    build_killed(folder, (
        "import os, signal, ops.multiply.run as run\n"
        "make = run.synthesize\n"
        "def kill_at_the_third(exemplar, params, index, **kwargs):\n"
        "    if index == 2:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return make(exemplar, params, index, **kwargs)\n"
        "run.synthesize = kill_at_the_third\n"
    ), dagster_home=dagster_home)


def build_killed_before_its_rows(folder: Path) -> None:
    """``remaster build`` in a process that SIGKILLs itself once its first step has placed its outputs, before that
    step lists them in the manifest."""
    build_killed(folder, "import os, signal, pipeline.assets\n"
                         "pipeline.assets.update_manifest = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)\n")


def build_killed(folder: Path, patch: str, *args: str, dagster_home: Path | None = None) -> None:
    """``remaster build *args`` in a process that ``patch``, Python run before it, makes SIGKILL itself: no
    handler, no ``finally`` runs, as with ``kill -9`` or the OOM killer."""
    script = f"{patch}\nimport sys\nfrom pipeline.cli import app\nsys.argv = ['remaster', 'build', *{list(args)!r}]\napp()\n"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *sys.path])
    if dagster_home is not None:
        env["DAGSTER_HOME"] = str(dagster_home)
    killed = subprocess.run([sys.executable, "-c", script], cwd=folder, env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr


Result = TypeVar("Result")


def traced_peak(call: Callable[[], Result]) -> tuple[Result, int]:
    """``call``'s result and the most memory Python held at once while it ran, numpy's arrays counted: how the
    tests bound what reading, reducing or flattening a large texture holds beside it."""
    tracemalloc.start()
    try:
        return call(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
