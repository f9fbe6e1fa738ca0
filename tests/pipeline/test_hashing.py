"""The hash index: which remembered hashes it trusts without reading the file again."""

import time
from pathlib import Path

import pytest

from pipeline import hashing
from pipeline.hashing import TIMESTAMP_RESOLUTION_NS, HashIndex, hash_bytes


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The files the index reads, in order."""
    read: list[Path] = []
    hash_file = hashing.hash_file
    monkeypatch.setattr(hashing, "hash_file", lambda path: read.append(path) or hash_file(path))
    return read


def _settle(monkeypatch, path: Path) -> None:
    """Move the clock on to where ``path``'s last change is as old as the coarsest timestamps: its ctime, which
    dates the change, cannot be set back."""
    stat = path.stat()
    now = max(stat.st_mtime_ns, stat.st_ctime_ns) + TIMESTAMP_RESOLUTION_NS
    monkeypatch.setattr(time, "time_ns", lambda: now)


def test_a_file_hashed_within_the_timestamps_resolution_of_its_last_change_is_read_again_until_it_settles(
    tmp_path, reads, monkeypatch
):
    """On a USB drive (FAT dates a change to 2 s) or a Mac's HFS+ (1 s), a texture saved again in the second the
    build hashed it keeps its size, dates and inode, and was taken for the version the build saw."""
    texture = tmp_path / "brick.tga"
    texture.write_bytes(bytes(64))
    index = HashIndex(tmp_path / "index.json")
    assert [index.hash(texture) for _ in range(2)] == [hash_bytes(bytes(64))] * 2
    assert reads == [texture] * 2, "a hash taken in the second of the file's last change was trusted"
    _settle(monkeypatch, texture)
    assert [index.hash(texture) for _ in range(2)] == [hash_bytes(bytes(64))] * 2
    assert reads == [texture] * 3


def test_a_hash_remembered_for_a_file_just_written_is_trusted_only_once_it_settles_and_after_a_reload(
    tmp_path, reads, monkeypatch
):
    output = tmp_path / "output.png"
    output.write_bytes(b"built")
    index = HashIndex(tmp_path / "index.json")
    index.remember(output, hash_bytes(b"built"))
    index.save()
    assert HashIndex(tmp_path / "index.json").hash(output) == hash_bytes(b"built") and reads == [output]
    _settle(monkeypatch, output)
    index.remember(output, hash_bytes(b"built"))
    index.save()
    assert HashIndex(tmp_path / "index.json").hash(output) == hash_bytes(b"built") and reads == [output]
