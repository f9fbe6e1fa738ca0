"""Content hashes (xxh3-128) of files, with a stat index so unchanged files are not re-read.

The stat signature only decides whether a file must be re-hashed; the version
of a file is always its content hash.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import xxhash

from ops.atomic import write_bytes_atomic
from pipeline.locks import exclusive

CHUNK = 1 << 20
# The index's file in a cache folder, named for its layout: versions before the inode check read "hash-index.json"
# as [size, mtime, hash] and would take an inode number for a hash where a newer build shares their cache folder.
HASH_INDEX = "hash-index-2.json"

# The coarsest timestamps a studio's files may carry: FAT (USB drives) dates a change to 2 s, HFS+ and ext3 to 1 s.
# There a file changed again within that keeps its stat signature, so a hash is trusted only once the file has gone
# unchanged for this long, as git treats a "racily clean" index entry. A file system that dates changes finer (ext4,
# APFS, NTFS, exFAT) gives a change made a clock tick later (at most 10 ms) another timestamp, and its files are
# trusted at once: no hand saves a texture twice within one tick of the build hashing it.
TIMESTAMP_RESOLUTION_NS = 2_000_000_000


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def hash_file(path: Path) -> str:
    """xxh3-128 of the file's bytes, streamed."""
    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_text(path: Path) -> str:
    """xxh3-128 of a text file with Windows line ends read as Unix ones: git turns LF into CRLF in a Windows
    checkout (core.autocrlf), and a camera sidecar must not give that checkout other cache keys than Linux
    CI's. A file without one hashes as ``hash_file`` does, so keys made before stay."""
    return hash_bytes(path.read_bytes().replace(b"\r\n", b"\n"))


def _signature(stat: os.stat_result) -> list[int]:
    """What must stay the same for a file's remembered hash to hold. Size and mtime alone miss two files
    of one size and timestamp (an archive's extract) swapped by renames: the inode and ctime catch that."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]


def _settled(signature: list[int]) -> bool:
    """Whether a change made from now on would give the file another signature: always where its mtime has a
    fraction of a second, which a file system dating changes to the whole second never gives; there, once
    ``TIMESTAMP_RESOLUTION_NS`` have passed since the last change (a file dated in the future: never)."""
    mtime, ctime = signature[1], signature[3]
    return mtime % 1_000_000_000 != 0 or time.time_ns() - max(mtime, ctime) >= TIMESTAMP_RESOLUTION_NS


class HashIndex:
    """Remembers stat signature → hash per absolute path, persisted in one JSON file.

    Builds sharing a cache (CI jobs in fresh clones, a nightly build beside a commit's) each load it and save
    it. A save writes only what this one changed since its last save, merged into what is on disk then, under a
    short lock: saving the whole loaded view, the last save dropped every other build's new hashes, and put back
    those a ``gc`` had forgotten meanwhile. An entry is used only when the file's signature still matches
    exactly, so a merge can only ever cost a re-hash, never a wrong hash.
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._entries = _load(path)
        self._changed: dict[str, list] = {}  # path -> entry, remembered since the last save
        self._forgotten: dict[str, list] = {}  # path -> the entry forget_missing dropped, since the last save

    def hash(self, path: Path) -> str:
        key = os.path.abspath(path)
        signature = _signature(os.stat(key))
        with self._lock:
            known = self._entries.get(key)
        if isinstance(known, list) and known[:-1] == signature and isinstance(known[-1], str):
            return known[-1]
        digest = hash_file(path)
        self.remember(path, digest, signature)
        return digest

    def remember(self, path: Path, digest: str, signature: list[int] | None = None) -> None:
        """Record a hash the caller already knows (a file it just wrote). A file not ``_settled`` is recorded without
        it: a change made now, in the same second of a coarse clock, would leave its signature as it is, and the file
        would be taken for what it was."""
        if signature is None:
            signature = _signature(path.stat())
        key = os.path.abspath(path)
        with self._lock:
            self._entries[key] = self._changed[key] = [*signature, digest if _settled(signature) else None]
            self._forgotten.pop(key, None)

    def forget_missing(self, away: Iterable[Path] = ()) -> int:
        """Drop the entries of files that are gone, but not of those under a folder in ``away`` (a share not
        mounted now, whose files would be read again); returns how many. Paths are absolute, so a cache shared
        by CI jobs that each build in a fresh clone gains every clone's files: without this it grows for good."""
        kept = tuple(os.path.join(os.path.abspath(folder), "") for folder in away)
        with self._lock:
            gone = [path for path in self._entries if not path.startswith(kept) and not os.path.exists(path)]
            for path in gone:
                self._forgotten[path] = self._entries.pop(path)
                self._changed.pop(path, None)
        return len(gone)

    def save(self) -> None:
        """Merge this index's changes into the file, under its lock: what another build saved since this one
        loaded stays, and an entry this one forgot goes only where the file still holds it as it was (a build
        that hashed a file of that path again since, a new clone's, keeps its hash). What this one changed
        meanwhile (another thread) waits for the next save; where the write fails, all of it does."""
        with self._lock:
            changed, forgotten = dict(self._changed), dict(self._forgotten)
        if not changed and not forgotten:
            return
        with exclusive(self.path.with_name(f"{self.path.name}.lock")):  # read, merge and write: milliseconds
            entries = _load(self.path)
            for path, entry in forgotten.items():
                if entries.get(path) == entry:
                    del entries[path]
            entries.update(changed)
            body = json.dumps(entries, separators=(",", ":")).encode()
            write_bytes_atomic(self.path, hash_bytes(body).encode() + b"\n" + body)
        with self._lock:
            for path, entry in changed.items():
                if self._changed.get(path) is entry:
                    del self._changed[path]
            for path in forgotten:
                self._forgotten.pop(path, None)
            self._entries = {**entries, **self._changed}


def _load(path: Path) -> dict[str, list]:
    """The entries saved at ``path``, under the hash of their text; none where the file is missing, damaged or
    edited by hand, so that every file is read again rather than taken for what a changed entry says it is."""
    try:
        digest, _, body = path.read_bytes().partition(b"\n")
        entries = json.loads(body) if hash_bytes(body).encode() == digest else {}
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def file_is(path: Path, digest: str, index: HashIndex) -> bool:
    """Whether ``path`` exists with content ``digest``."""
    return os.path.isfile(path) and index.hash(path) == digest
