"""The hash index: which remembered hashes it trusts without reading the file again."""

import os
import time
from pathlib import Path

import pytest

from helpers import UPSCALE_SPEC, build_waiting_on_a_key, manifest_rows, remembered_as_it_is, write_spec, write_textures
from pipeline import hashing
from pipeline.cache import ContentStore
from pipeline.hashing import TIMESTAMP_RESOLUTION_NS, HashIndex, hash_bytes

SECOND = 1_000_000_000


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The files the index reads, in order."""
    read: list[Path] = []
    hash_file = hashing.hash_file
    monkeypatch.setattr(hashing, "hash_file", lambda path: read.append(path) or hash_file(path))
    return read


def _dated_to_the_second(path: Path) -> None:
    """Date ``path`` as FAT or HFS+ dates a change: to the whole second."""
    whole = time.time_ns() // SECOND * SECOND
    os.utime(path, ns=(whole, whole))


def _clock_at(monkeypatch, path: Path, since_change: int) -> None:
    """Set the clock to ``since_change`` ns after ``path``'s last change, which its ctime dates (it cannot be set)."""
    stat = path.stat()
    now = max(stat.st_mtime_ns, stat.st_ctime_ns) + since_change
    monkeypatch.setattr(time, "time_ns", lambda: now)


def test_a_file_dated_to_the_second_is_read_again_until_two_seconds_after_its_last_change(tmp_path, reads, monkeypatch):
    """On a USB drive (FAT dates a change to 2 s) or a Mac's HFS+ (1 s), a texture saved again in the second the
    build hashed it keeps its size, dates and inode, and was taken for the version the build saw."""
    texture = tmp_path / "brick.tga"
    texture.write_bytes(bytes(64))
    _dated_to_the_second(texture)
    index = HashIndex(tmp_path / "index.json")
    _clock_at(monkeypatch, texture, SECOND // 2)
    assert [index.hash(texture) for _ in range(2)] == [hash_bytes(bytes(64))] * 2
    assert reads == [texture] * 2, "a hash taken in the second of the file's last change was trusted"
    _clock_at(monkeypatch, texture, TIMESTAMP_RESOLUTION_NS)
    assert [index.hash(texture) for _ in range(2)] == [hash_bytes(bytes(64))] * 2
    assert reads == [texture] * 3


def test_a_file_dated_finer_than_the_second_is_trusted_at_once(tmp_path, reads, monkeypatch):
    """ext4, APFS and NTFS date a change made a moment later apart: the outputs a build just wrote need not be read
    again by the next build."""
    output = tmp_path / "output.png"
    output.write_bytes(b"built")
    os.utime(output, ns=(time.time_ns() // SECOND * SECOND + 123_456_789,) * 2)
    _clock_at(monkeypatch, output, 0)
    index = HashIndex(tmp_path / "index.json")
    index.remember(output, hash_bytes(b"built"))
    index.save()
    assert HashIndex(tmp_path / "index.json").hash(output) == hash_bytes(b"built") and reads == []


def test_a_hash_remembered_for_a_file_just_written_is_trusted_only_once_it_settles_and_after_a_reload(
    tmp_path, reads, monkeypatch
):
    output = tmp_path / "output.png"
    output.write_bytes(b"built")
    _dated_to_the_second(output)
    _clock_at(monkeypatch, output, 0)
    index = HashIndex(tmp_path / "index.json")
    index.remember(output, hash_bytes(b"built"))
    index.save()
    assert HashIndex(tmp_path / "index.json").hash(output) == hash_bytes(b"built") and reads == [output]
    _clock_at(monkeypatch, output, TIMESTAMP_RESOLUTION_NS)
    index.remember(output, hash_bytes(b"built"))
    index.save()
    assert HashIndex(tmp_path / "index.json").hash(output) == hash_bytes(b"built") and reads == [output]


def test_two_builds_on_one_cache_at_once_keep_the_hashes_of_both(tmp_path, cli):
    """Two CI jobs' clones building at once on one shared cache: each saved the whole hash index it had loaded,
    the last save over the first's, so the first's outputs were read again by its next build."""
    shared = tmp_path / "shared-cache"
    clones = [tmp_path / f"ci-job-{number}" for number in range(3)]
    for clone in clones:
        write_textures(clone / "textures", 3, seed=7)  # the same textures: the same cache keys
        write_spec(clone, UPSCALE_SPEC.replace(".remaster/cache", str(shared)))
    scratch = clones.pop()
    write_spec(scratch, UPSCALE_SPEC)  # a cache of its own: built to learn the keys
    assert cli(scratch, "build")[0] == 0
    key = manifest_rows(scratch)[0]["cache_key"]
    with ContentStore(shared).key_lock(key, "the test"):  # both load the index before either saves
        builds = [build_waiting_on_a_key(clone) for clone in clones]
    for build in builds:
        output, _ = build.communicate()
        assert build.returncode == 0, output
    files = [path for clone in clones for folder in ("textures", "build") for path in (clone / folder).rglob("*.png")]
    assert len(files) == 12 and [path for path in files if not remembered_as_it_is(shared, path)] == []
