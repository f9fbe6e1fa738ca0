"""The content-addressed store behind every build.

Layout under ``cache_dir``::

    objects/ab/abcdef…   file contents, named by their xxh3-128
    entries/12/1234…json cache key -> {output name: object hash, metadata}
    units/34/3456…       unit key -> object hash and the key, for outputs made one by one (multiply's variants),
                         and for the metadata of outputs made together (a material's fit's figures)
    units/34/3456….figures.json   what the op measured of that output alone, and of which object (``unit_figures``)
    work/<key>/          scratch that must survive a killed build (training checkpoints)
    tmp/                 op outputs before they are stored
    roots/<hash>.json    the manifest of each project built on this store: ``gc`` keeps what any lists
    lock, holders/       held by each build, and by ``gc`` alone (``pipeline.locks``)
    locks/<key>          held while a build makes that key's outputs: a second build needing them waits,
                         then restores them (``gc`` removes every one: no build holds them then)

Everything is written to a temporary name and renamed, so a build killed at
any instant leaves either the old state or the new one. Two builds sharing a
store can only ever write the same bytes under the same name. Objects are
verified against their name whenever they are read, entries against their
checksum. Builds hold ``lock``
shared and ``gc`` holds it exclusively: a build's entries are in no manifest
until its step ends, so a collection running beside it would delete them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ops.atomic import TEMPORARY, new_temporary, replace, unlink, unsynced_in, write_bytes_atomic
from pipeline.hashing import HashIndex, hash_bytes, hash_file
from pipeline.locks import Busy, exclusive, held_alone, held_by_many, held_elsewhere
from pipeline.words import counted

log = logging.getLogger(__name__)


ABANDONED_WORK_SECONDS = 7 * 24 * 3600  # gc keeps a killed training's checkpoints this long, for a resume
_DIGEST = re.compile(r"[0-9a-f]{32}")  # what pipeline.hashing gives: xxh3-128 in lowercase hex
_SCRATCH = re.compile(r"tmp[a-z0-9_]{8}")  # what scratch_dir's mkdtemp names a folder in tmp/
FIGURES = ".figures.json"  # beside a unit file: a unit file holds two words, which a version before this one checks
STORE_FOLDERS = ("objects", "entries", "units", "work", "tmp", "roots", "locks")
SHARDED = ("objects", "entries", "units")  # each file in a subfolder named after its first two characters
Taking = Literal["copy", "move", "link"]  # how a file is put in the store (``_take``)


def holds_store(root: Path) -> bool:
    """Whether ``root`` holds a store already: ``ContentStore`` makes one wherever it is pointed, on the empty
    mount point of a share not mounted too, so a caller that expects one asks first."""
    return any((root / folder).is_dir() for folder in SHARDED)


def is_digest(text: object) -> bool:
    """Whether ``text`` has the form of the hashes the store names its objects by. The hashes an entry, a unit
    file or a manifest row holds are checked with this before they go into a path: one edited by hand,
    restored badly or crafted could hold ``../..`` or an absolute path, which would lead out of the store,
    and a damaged object found there is deleted."""
    return isinstance(text, str) and _DIGEST.fullmatch(text) is not None


def _is_file_name(name: object) -> bool:
    """Whether ``name`` is a plain file name, never a path: what a cache key and an op's output are."""
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def _is_output_name(name: object) -> bool:
    """Whether ``name`` is an output's name as an op writes it: a plain file name, or one in a folder of the
    partition's (a material's variant, ``variant_00/albedo.png``), never a path that leads out of it (``..``, ``/``
    first, a backslash): an entry listing a variant's maps was refused as damaged, and every variant made again."""
    return isinstance(name, str) and all(_is_file_name(part) for part in name.split("/"))


class CorruptEntry(Exception):
    """A cache object no longer matches its hash; the entry is dropped and recomputed."""


def _moved_here(earlier: dict, spec: Path, manifest: Path, store: Path) -> bool:
    """Whether the record ``earlier`` is of the project of ``spec`` before it was moved (``mv``) together with
    this store and its build folder, which lie inside its folder (the default ``cache_dir`` and ``build_dir``):
    its spec is gone, and its spec and manifest lay where ``spec`` and ``manifest`` lie now from where the store
    was. Kept, it made every later gc refuse for a project that is still there. A store outside the project (a
    share, mounted elsewhere on another machine) moves with no project; nor does a build folder outside it (a
    project on a share mounted elsewhere on another machine, building into that user's home), whose record is
    another machine's, and gc here would remove the entries its build uses."""
    was, then, built = earlier.get("store"), earlier.get("spec"), earlier.get("manifest")
    if not (isinstance(was, str) and isinstance(then, str) and isinstance(built, str)):
        return False
    if was == str(store) or Path(then).exists():
        return False
    if not (store.is_relative_to(spec.parent) and manifest.is_relative_to(spec.parent)):
        return False
    return all(os.path.relpath(old, was) == os.path.relpath(new, store) for old, new in ((then, spec), (built, manifest)))


def _gave_up(busy: Busy, timeout: float | None) -> str:
    """What gc refused by ``busy`` says to do: given ``--wait``, which it waited ``--timeout`` seconds by, not to
    give it ``--wait`` (it was given), but how long it waited and to wait longer."""
    if busy.waited is None:
        return "run gc again once it has finished (or give it --wait)"
    return (f"gave up after waiting {busy.waited:.1f} s (--timeout {timeout:g}); run gc again once it has finished, "
            "or give a longer --timeout")


class UnseenProjects(Exception):
    """``gc`` cannot read the manifest of a project registered on the store. ``hashes``: how many remembered hashes
    of files that are gone it forgot all the same."""

    hashes = 0


class StoreBusy(Exception):
    """``gc`` was asked for while a build is using the store."""


class LinkedStore(OSError):
    """A folder of the store is a link, so ``gc`` refuses: it would delete what the link leads to. An OSError,
    so that the CLI says it as it says the other problems of the cache's files."""


@dataclass(frozen=True)
class Entry:
    outputs: dict[str, str]  # output name -> object hash
    metadata: dict[str, object]


class ContentStore:
    def __init__(self, root: Path, *, make: bool = True):
        """``make``: make the store's folders where they are not there. ``status`` only looks, and reads a store
        that is not there as one that holds nothing, rather than make one on a share's empty mount point."""
        self.root = root
        self._held = 0  # how deep in in_use (shared) this store is
        self._spare: list[Path] = []  # scratch folders emptied for the next op's call (see scratch)
        for folder in STORE_FOLDERS[:-1]:  # locks/ comes with the first lock
            path = root / folder
            if make:
                path.mkdir(parents=True, exist_ok=True)
            elif path.exists() and not path.is_dir():  # what a build would be refused, said by status too
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))

    def object_path(self, digest: str) -> Path:
        """Where object ``digest`` is kept; raises ValueError for anything but a hash (see ``is_digest``)."""
        if not is_digest(digest):
            raise ValueError(f"{digest!r} is no object hash")
        return self.root / "objects" / digest[:2] / digest

    def has_object(self, digest: str) -> bool:
        return is_digest(digest) and self.object_path(digest).is_file()

    def has_entry(self, key: str) -> bool:
        """Whether ``key`` has an entry, unread: one stat, where ``peek`` reads and checks it."""
        return _is_file_name(key) and self._entry_path(key).is_file()

    def stored_at(self, key: str) -> float | None:
        """When ``key``'s entry was written, in seconds since the epoch: when what it holds was made (a model
        trained), which a cached row of the manifest does not say; None where there is no such entry. The entry
        records no time, so this is its file's modification time, which a copy that drops files' times moves."""
        try:
            return self._entry_path(key).stat().st_mtime if _is_file_name(key) else None
        except OSError:
            return None

    def _entry_path(self, key: str) -> Path:
        return self.root / "entries" / _checked(key)[:2] / f"{key}.json"

    @contextlib.contextmanager
    def in_use(self, *, exclusive: bool = False, wait: bool = False, timeout: float | None = None) -> Iterator[None]:
        """Hold the store: shared by builds (any number at once), exclusive for ``gc``, which does not wait unless
        told to (``wait``: a nightly gc on a cache that a commit's job may be building on just then), and then for
        ever, or ``timeout`` seconds at most (a nightly job must end before the next one starts)."""
        if not exclusive:
            with held_by_many(self.root):
                self._held += 1
                try:
                    yield
                finally:
                    self._held -= 1
                    if not self._held:
                        self._remove_spare()
            return
        try:
            with held_alone(self.root, self._say_waiting if wait else None, timeout):
                yield
        except Busy as busy:
            who = "another cache gc, or a build starting," if busy.alone else "a build"
            raise StoreBusy(f"{who} is using the cache {self.root}; {_gave_up(busy, timeout)}") from None

    def _say_waiting(self, busy: Busy) -> None:
        """The one line a gc told to wait says, so that a nightly job that waits is not taken for a hang. It
        cannot count the builds: one holds the store once for itself and again for each step it runs."""
        who = "another cache gc, or a build starting," if busy.alone else "the builds"
        log.warning("waiting for %s using the cache %s to finish, then collecting (builds that start meanwhile are "
                    "waited for too)", who, self.root)

    def register(self, manifest: Path, spec: Path) -> None:
        """Record that ``manifest`` lists entries of this store, so a ``gc`` run from another project
        sharing the store keeps them, and the ``spec`` it is built from, whose file tells that the project
        can be seen (a share's empty mount point is a folder, but holds no spec). The record of a manifest
        this spec had before, now gone from a folder that can be seen (its ``build_dir`` changed and the old
        build folder was moved or deleted), goes: gc would refuse for good for want of it. So does this
        project's from before it was moved together with this store (``_moved_here``). One still there, or
        where this machine cannot see, stays: a ``build_dir`` under ``~`` is one folder per user."""
        manifest, spec, store = manifest.resolve(), spec.resolve(), self.root.resolve()
        root = self._record(manifest)
        record = json.dumps({"manifest": str(manifest), "spec": str(spec), "store": str(store)}).encode()
        try:
            recorded = root.read_bytes()
        except OSError:
            recorded = b""
        if recorded != record:  # new, or recorded before the spec was
            write_bytes_atomic(root, record)
        for other in (self.root / "roots").glob("*.json"):
            with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
                earlier = json.loads(other.read_bytes())
                gone = Path(earlier["manifest"])
                seen = gone.parent.parent.is_dir()  # not a home on another machine
                dropped = earlier.get("spec") == str(spec) and seen and not gone.exists()  # its old build_dir
                if other != root and (dropped or _moved_here(earlier, spec, manifest, store)):
                    other.unlink()

    def unregister(self, manifest: Path) -> None:
        """Stop keeping what the project of ``manifest`` uses (``gc --forget-missing``)."""
        self._record(manifest.resolve()).unlink(missing_ok=True)

    def _record(self, manifest: Path) -> Path:
        return self.root / "roots" / f"{hash_bytes(os.fsencode(manifest))}.json"

    def manifests(self, own: Path, *, forget_unseen: bool = False) -> list[Path]:
        """Every registered manifest. One that is missing raises ``UnseenProjects``, or with ``forget_unseen``
        its record is removed: whether its project's spec cannot be seen (an unmounted share, a project
        deleted whole) or is there (a CI job's fresh clone, which has not built yet: its entries are the very
        ones the build will put back). ``own``, the manifest of the project gc runs from, missing raises whatever
        ``forget_unseen`` says: a nightly job whose build stopped before it began (a GPU runner without its GPU)
        runs gc all the same, and in a fresh clone it removed every entry on the cache. A store holding no entry
        has none to lose."""
        if not own.exists() and next(self._sharded_files("entries"), None) is not None:
            raise UnseenProjects(f"gc cannot tell which entries this project uses, so removed nothing: no manifest at "
                                 f"{own} (a fresh clone that has not built yet, or a deleted build folder?); build "
                                 "first, then gc. Not even --forget-missing collects here: every entry this project's "
                                 "build would put back would go. To let them go (a build folder deleted to start "
                                 "over), run gc --forget-missing from a project on this cache that has built, or delete "
                                 f"{self.root} where no other project uses it")
        found: list[Path] = []
        unseen: list[Path] = []
        unbuilt: list[Path] = []
        damaged: list[Path] = []
        for root in sorted((self.root / "roots").glob("*.json")):
            try:
                record = json.loads(root.read_text())
                manifest, spec = Path(record["manifest"]), record.get("spec")
                # the build folder's parent too: a build_dir on a share that is not mounted, beside a local spec
                project_seen = manifest.parent.parent.is_dir() and (spec is None or Path(spec).is_file())
            except (OSError, ValueError, KeyError, TypeError):  # a cache restored in part: whose it was is unknown
                if forget_unseen:
                    root.unlink(missing_ok=True)
                else:
                    damaged.append(root)
                continue
            if manifest.exists():  # a folder there too: gc then cannot read it, and refuses
                found.append(manifest)
            elif forget_unseen:
                root.unlink(missing_ok=True)
            else:
                (unbuilt if project_seen else unseen).append(manifest)
        if unseen or unbuilt or damaged:
            problems = []
            if unbuilt:
                problems.append(f"no manifest at {', '.join(map(str, unbuilt))}, though the project's spec is there (a "
                                "fresh clone that has not built yet, or a deleted build folder?); build first, then gc")
            if unseen:
                problems.append(f"cannot see the manifest of {counted(len(unseen), 'project')} built on this cache: "
                                f"{', '.join(map(str, unseen))} "
                                "(an unmounted share: mount it; or a project moved or deleted, whose build from its "
                                "new place keeps what it uses there)")
            if damaged:
                problems.append(f"cannot read the record of which project {', '.join(map(str, damaged))} stands for "
                                "(a cache restored in part?); build each project on this cache again, which records it anew")
            raise UnseenProjects(f"gc cannot tell which entries some projects on this cache use, so removed nothing: "
                                 f"{'; '.join(problems)}. Or run remaster cache gc --forget-missing to stop keeping "
                                 "their entries")
        return found

    def work_dir(self, key: str) -> Path:
        """Scratch kept across killed builds of ``key`` (training checkpoints)."""
        path = self.root / "work" / key
        path.mkdir(parents=True, exist_ok=True)
        return path

    def left_work(self, key: str) -> Path | None:
        """``key``'s work folder where a computation left one (a stopped training's checkpoint), without making
        it, as ``work_dir`` would: ``status`` only looks."""
        path = self.root / "work" / key
        return path if path.is_dir() else None

    def key_lock(self, key: str, what: str, asset: str = "") -> contextlib.AbstractContextManager[None]:
        """Held while ``key`` is restored or computed, so two builds needing it compute it once (waits, saying
        that it waits for ``what``, a partition of ``asset``, and makes it where the other stops first: a CI job
        cancelled). A build behind another making the same change waits on each partition in turn: the CLI says it
        once per asset (``once_per``) and counts the rest, where a change to every texture put thousands of lines in
        a CI job's log."""
        said = {"once_per": f"waits on another build's {asset}", "file": what,
                "more_said": f"{{}} more of {asset}'s partitions waited likewise for another build making them"}
        return exclusive(self.root / "locks" / key, f"{what}: waiting for another build making the same outputs "
                                                     f"(cache key {key}); this one then takes them from the cache, or "
                                                     "makes them itself where that build stops first",
                         said if asset else None)

    def being_made(self, key: str) -> bool:
        """Whether another build holds ``key_lock`` now: it is restoring or computing ``key`` (training a model)."""
        return held_elsewhere(self.root / "locks" / key)

    def clear_work(self, key: str) -> None:
        _remove(self.root / "work" / key)

    def clear_finished_work(self, key: str) -> None:
        """Remove ``key``'s work folder where nothing in it is newer than its entry: what is left of the
        computation that made the entry (a build killed between storing it and clearing the folder).
        Newer files are a forced recomputation's progress, kept for the next one to go on from."""
        work = self.root / "work" / key
        try:
            stored = self._entry_path(key).stat().st_mtime_ns
            if all(path.stat().st_mtime_ns <= stored for path in work.iterdir()):
                self.clear_work(key)
        except OSError:  # no entry, no folder: nothing finished to clear
            pass

    def clear_empty_work(self, key: str) -> None:
        """Remove ``key``'s work folder where it is empty: a training that failed before its first checkpoint
        has nothing to resume (``gc`` removes the one a training killed outright left). One holding a
        checkpoint stays, for the next build to go on from."""
        with contextlib.suppress(OSError):  # not empty, or gone (cleared once the entry was stored)
            (self.root / "work" / key).rmdir()

    def scratch_dir(self) -> Path:
        """A fresh folder for an op's outputs, inside the store so the final renames stay on one disk. Its name
        is one ``gc`` knows for its own (``_SCRATCH``)."""
        return Path(tempfile.mkdtemp(prefix="tmp", dir=self.root / "tmp"))

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        """A ``scratch_dir`` for one op's call, emptied after. What is written in it is not synced to disk
        (``unsynced_in``): ``put`` syncs its copy in the cache, and the build the outputs it places. While the store
        is ``in_use`` (a build's step) the emptied folder is kept for the next call, and removed as the step ends:
        removing a folder is a disk write of its own (3 ms, where removing a small file in it took 0.05 ms; 21 s of
        a first build of 2,000 textures)."""
        folder = self._spare.pop() if self._spare else self.scratch_dir()
        try:
            with unsynced_in(folder):
                yield folder
        finally:
            if self._held and _emptied(folder):
                self._spare.append(folder)
            else:
                _remove(folder)

    def _remove_spare(self) -> None:
        """Remove the scratch folders kept for a next op's call: the store is no longer in use."""
        while self._spare:
            _remove(self._spare.pop())

    def get(self, key: str) -> Entry | None:
        """The entry for ``key``, or None; an unreadable or dangling entry is dropped."""
        if not _is_file_name(key):  # a manifest row's key edited by hand: no entry can have it
            return None
        try:
            return self._read_entry(key)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.drop(key)  # a folder in its place cannot be dropped: that error, naming it, is what is said
            log.warning("cache entry %s is unreadable or damaged (%s: %s); dropped: what it held is computed again "
                        "when a build needs it", self._entry_path(key), type(exc).__name__, exc)
            return None

    def peek(self, key: str) -> Entry | None:
        """The entry ``get(key)`` would find, without dropping one that is damaged (``status`` changes
        nothing); the objects' bytes are checked when they are read."""
        try:
            return self._read_entry(key)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _read_entry(self, key: str) -> Entry:
        """``key``'s entry, checked against its checksum and for its objects; raises where it is not whole, or
        names an output or an object in a form the store never writes (a path leading up or out, not a hash)."""
        record = json.loads(self._entry_path(key).read_text())
        entry = Entry(dict(record["outputs"]), dict(record.get("metadata", {})))
        if record.get("checksum", _checksum(entry)) != _checksum(entry):  # entries before 2026-11 have none
            raise ValueError("it does not match its checksum")
        if record.get("key", key) != key:  # older entries name none
            raise ValueError(f"it is the entry of cache key {record['key']!r}, copied over this one")
        for name, digest in entry.outputs.items():
            if not _is_output_name(name) or not is_digest(digest):
                raise ValueError(f"it lists {name!r}: {digest!r}, which is no output name and object hash the "
                                 "cache writes")
        if not all(self.object_path(d).is_file() for d in entry.outputs.values()):
            raise ValueError("it lost an object")
        return entry

    def put(
        self, key: str, files: Mapping[str, Path], metadata: Mapping[str, object], *, overwrite: bool = False,
        expect: Mapping[str, str] | None = None, move: bool = False,
    ) -> Entry | None:
        """Store ``files`` (name -> path) as objects and record them under ``key``; ``overwrite`` rewrites
        objects already stored (``--force``: a damaged one is replaced, not kept). Where ``expect`` gives the
        hashes (name -> hash) the files must have and they differ, no entry is written (the objects stay for
        ``gc``) and None is returned: each file is read once, to check and to store it. ``move``: the files are an
        op's scratch, which nothing reads after, renamed into the store rather than copied (see ``_take``)."""
        how: Taking = "move" if move else "copy"
        entry = Entry({name: self._add_object(path, overwrite, how) for name, path in files.items()}, dict(metadata))
        if expect is not None and entry.outputs != dict(expect):
            return None
        self._write_entry(key, entry)
        return entry

    def _write_entry(self, key: str, entry: Entry) -> None:
        # The key too: the checksum covers what an entry holds, not whose it is, so a file copied over another's
        # (a backup restored to the wrong name, a sync tool's mix-up) was whole and gave one texture another's outputs.
        record = {"key": key, "outputs": entry.outputs, "metadata": entry.metadata, "checksum": _checksum(entry)}
        write_bytes_atomic(self._entry_path(key), json.dumps(record, sort_keys=True).encode())

    def _unit_path(self, key: str) -> Path:
        return self.root / "units" / _checked(key)[:2] / key

    def record_units(self, units: Mapping[str, str], figures: Mapping[str, Mapping[str, object]] | None = None) -> None:
        """Remember the object each unit key (one output made on its own) produced, and the key: see ``unit``.
        ``figures``: unit key -> what the op measured of that output alone (a ``variant_00.dds``'s mip levels), kept
        beside it, so that a build that puts the output back lists them as one that made it. A unit that now names
        another object loses the figures of the one it named: they stayed beside it until a ``gc``."""
        for key, digest in units.items():
            given = dict((figures or {}).get(key) or {})
            rewritten = self.unit(key) != digest
            if given and (rewritten or self.unit_figures(key) != given):
                self._write_figures(key, digest, given)
            elif rewritten:
                unlink(self._figures_path(key))
            if rewritten:
                write_bytes_atomic(self._unit_path(key), f"{digest}\n{key}\n".encode())

    def _write_figures(self, key: str, digest: str, figures: Mapping[str, object]) -> None:
        """Keep ``figures`` as those of object ``digest`` under unit ``key``. Written before the unit file that names
        that object, and the stale ones of another object removed before it too, so that a build killed between the
        two leaves no unit without its figures, and none with another object's (``unit_figures`` checks the object)."""
        record = {"key": key, "object": digest, "figures": dict(figures)}
        write_bytes_atomic(self._figures_path(key), json.dumps({**record, "checksum": _record_checksum(record)},
                                                               sort_keys=True).encode())

    def unit_figures(self, key: str) -> dict[str, object] | None:
        """The figures kept with unit ``key`` (``record_units``), where they are whole (their checksum) and of the
        object the unit holds now (its hash), as every read of the cache is checked; else None, and the row that
        puts the output back lacks them, as before they were kept."""
        digest = self._read_unit(key)[0]
        try:
            record = json.loads(self._figures_path(key).read_text())
            body = {name: record[name] for name in ("key", "object", "figures")}
        except (OSError, ValueError, KeyError, TypeError):
            return None
        whole = record.get("checksum") == _record_checksum(body) and isinstance(body["figures"], dict)
        ours = digest is not None and (body["key"], body["object"]) == (key, digest)  # not one copied over it, nor stale
        return body["figures"] if whole and ours else None

    def _figures_path(self, key: str) -> Path:
        return self._unit_path(key).with_name(f"{key}{FIGURES}")

    def keep_units(self, files: Mapping[str, Path],
                   figures: Mapping[str, Mapping[str, object]] | None = None) -> None:
        """Store ``files`` (unit key -> path) made before their partition finished, with their ``figures`` (as
        ``record_units`` takes them). No entry lists them, so a ``gc`` before the partition is built again removes
        them. Each is an op's file in its scratch folder, which the op may read again (multiply measures its
        variants once all are written), so it is linked into the store, not moved (see ``_take``): the ``put`` that
        moves it there once the op has returned finds it stored already, and each is written once."""
        self.record_units({key: self._add_object(path, False, "link") for key, path in files.items()}, figures)

    def keep_metadata(self, key: str, metadata: Mapping[str, object]) -> None:
        """Keep ``metadata``, what an op returned with outputs it makes only all together (a material's fit's
        figures), as an object under unit ``key``, so that a build that keeps those outputs without running the op
        (a renamed photo pair) gives them again: its row read ``maps_kept`` alone. ``gc`` keeps the object while
        an entry holding this metadata is kept."""
        data = _metadata_bytes(metadata)
        digest = hash_bytes(data)
        if not self.has_object(digest):
            write_bytes_atomic(self.object_path(digest), data)
        self.record_units({key: digest})

    def unit_metadata(self, key: str) -> dict[str, object]:
        """The metadata ``keep_metadata`` kept under unit ``key``, its bytes verified; empty where there is none (a
        cache from before it was kept) or it is damaged, which is removed, saying so."""
        digest = self.unit(key)
        if digest is None:
            return {}
        try:
            kept = json.loads(self.read_object(digest))
        except (CorruptEntry, ValueError) as exc:
            log.warning("cache unit %s holds no metadata (%s); the outputs are kept without their figures",
                        self._unit_path(key), exc)
            return {}
        return kept if isinstance(kept, dict) else {}

    def unit(self, key: str) -> str | None:
        """The object unit ``key`` produced, if it is still stored (``read_object`` verifies its bytes). A unit
        file holding anything but a hash, or naming another key (a file copied over this one's: a backup restored
        to the wrong name, a sync tool's mix-up), is damaged: removed, and the output is made again. The object
        alone cannot tell: it is whole, but another texture's variant. Files written before 2026-11-28 name none."""
        digest, problem = self._read_unit(key)
        if problem is None:
            return digest
        log.warning("cache unit %s is damaged (%s); removed: its output is made again", self._unit_path(key), problem)
        with contextlib.suppress(OSError):
            self._unit_path(key).unlink(missing_ok=True)
        return None

    def peek_unit(self, key: str) -> str | None:
        """``unit``, for ``status``, which changes nothing: a damaged unit file is left for a build to remove."""
        return self._read_unit(key)[0]

    def _read_unit(self, key: str) -> tuple[str | None, str | None]:
        """The object unit ``key`` produced where it is still stored, and why its unit file is damaged, if it is."""
        try:
            words = self._unit_path(key).read_text().split()
        except (OSError, UnicodeDecodeError):
            return None, None
        if not words or not is_digest(words[0]) or len(words) > 2:
            return None, "it holds no object hash"
        if words[1:] not in ([], [key]):
            return None, f"it is the unit of {words[1]!r}, copied over this one"
        return (words[0] if self.has_object(words[0]) else None), None

    def read_object(self, digest: str) -> bytes:
        """Object ``digest``'s bytes, verified; a damaged object is removed and raises ``CorruptEntry``."""
        if not is_digest(digest):
            raise CorruptEntry(f"{digest!r} is no object hash (a cache entry or unit edited by hand, or damaged)")
        path = self.object_path(digest)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CorruptEntry(f"object {path} is unreadable: {exc}") from exc
        if hash_bytes(data) != digest:
            self._remove_damaged(digest)
            raise CorruptEntry(f"object {path} does not match its hash (damaged; removed)")
        return data

    def _remove_damaged(self, digest: str) -> None:
        """Delete object ``digest``, which does not match its hash, where it is in the store's object folder
        once links are followed: an ``objects/ab`` that is a link leads elsewhere, whose files are not the
        store's to delete."""
        path = self.object_path(digest)
        if os.path.realpath(path.parent) != os.path.join(os.path.realpath(self.root / "objects"), digest[:2]):
            log.warning("%s does not match its hash, and is left: its folder is a link out of the cache's object "
                        "folder", path)
            return
        path.unlink(missing_ok=True)

    def restore(self, digest: str, dest: Path, index: HashIndex) -> None:
        """Copy object ``digest`` to ``dest`` atomically, verifying its bytes on the way."""
        write_bytes_atomic(dest, self.read_object(digest))
        index.remember(dest, digest)

    def drop(self, key: str) -> None:
        self._entry_path(key).unlink(missing_ok=True)

    def _add_object(self, path: Path, overwrite: bool, how: Taking = "copy") -> str:
        """Store ``path``'s bytes (taken ``how``, see ``_take``) under the hash of what was taken: a file
        saved over while it is read is stored as what was read, never under another content's hash. An object
        already stored is verified, and replaced if damaged."""
        folder = self.root / "objects"
        folder.mkdir(parents=True, exist_ok=True)
        copy = new_temporary(folder, "incoming")  # gc clears one a kill leaves
        try:
            _take(path, copy, how)
            digest = hash_file(copy)
            target = self.object_path(digest)
            if overwrite or not target.is_file() or hash_file(target) != digest:
                target.parent.mkdir(parents=True, exist_ok=True)
                replace(copy, target)
        except OSError as exc:
            if exc.errno is not None and exc.filename is None:  # a full disk says where: in the cache
                exc.filename = str(copy)
            raise
        finally:
            copy.unlink(missing_ok=True)
        return digest

    def gc(self, keep_keys: Callable[[], Iterable[str]], *, wait: bool = False,
           timeout: float | None = None) -> tuple[int, int]:
        """Remove entries not in ``keep_keys()`` and objects no kept entry references; raises StoreBusy
        while a build runs on the store, or with ``wait`` waits for it (``timeout`` seconds at most, then raises
        StoreBusy). ``keep_keys`` is asked once the store is held, so a build that finished just before is counted.

        Returns (entries removed, bytes freed).
        """
        with self.in_use(exclusive=True, wait=wait, timeout=timeout):
            self._refuse_links()  # before keep_keys: --forget-missing deletes the records in roots/ it cannot read
            return self._collect(set(keep_keys()))

    def _collect(self, keep_keys: set[str]) -> tuple[int, int]:
        """Remove what no kept entry uses. Nothing is followed through a link (a store folder that is one
        refused the whole collection, ``_refuse_links``): a link inside one is removed itself, and only names the
        store gives are removed, so that a link or a file put in the cache by hand never makes gc delete
        anything outside it."""
        referenced: set[str] = set()
        removed_entries = 0
        for path in self._sharded_files("entries"):
            key = path.name[: -len(".json")]
            if not path.name.endswith(".json") or not _is_file_name(key):
                continue  # no entry's name: not the store's to remove
            entry = self.get(key) if key in keep_keys and not path.is_symlink() else None  # the store writes no link
            if entry is None:
                path.unlink(missing_ok=True)
                self.clear_work(key)
                removed_entries += 1
            else:
                referenced.update(entry.outputs.values())
                referenced.add(hash_bytes(_metadata_bytes(entry.metadata)))  # kept by keep_metadata, if it was
        freed = 0
        for path in self._sharded_files("objects"):
            if is_digest(path.name) and path.name not in referenced:
                freed += path.lstat().st_size
                path.unlink(missing_ok=True)
        units = [path for path in self._sharded_files("units") if not path.name.endswith(FIGURES)]
        for unit in units:  # points at an object just removed
            if unit.is_symlink() or not self.has_object(next(iter(unit.read_text(errors="replace").split()), "")):
                unit.unlink(missing_ok=True)
        for figures in self._sharded_files("units"):  # of a unit just removed
            if figures.name.endswith(FIGURES) and (figures.is_symlink() or not
                                                   figures.with_name(figures.name[:-len(FIGURES)]).is_file()):
                figures.unlink(missing_ok=True)
        self._clear_scratch()
        return removed_entries, freed

    def _refuse_links(self) -> None:
        """Raise ``LinkedStore`` where a folder gc deletes in is a link (``tmp`` -> a home folder): gc would
        delete what it leads to. The cache folder itself may be one (a cache on another disk)."""
        folders = [self.root / name for name in STORE_FOLDERS]
        shards = [Path(item.path) for name in SHARDED if not (self.root / name).is_symlink()
                  for item in _listing(self.root / name) if item.is_symlink()]
        linked = [path for path in folders if path.is_symlink()] + shards
        if linked:
            named = ", ".join(f"{path} is a link (to {os.readlink(path)})" for path in linked)
            raise LinkedStore(f"{named}, where the cache keeps a folder of its own; gc deletes nothing through a link, "
                              "as it would delete what the link leads to: put a folder there instead (move what the "
                              "link leads to back if it belongs to the cache), then run remaster cache gc again")

    def _sharded_files(self, folder: str) -> Iterator[Path]:
        """The files and links in the subfolders of ``folder`` (``objects/ab/…``), links not followed."""
        for shard in _listing(self.root / folder):
            if shard.is_dir(follow_symlinks=False):
                yield from (Path(item.path) for item in _listing(Path(shard.path))
                            if item.is_symlink() or item.is_file(follow_symlinks=False))

    def _clear_scratch(self) -> None:
        """Remove killed builds' scratch folders and half-written files and every key's lock (no build holds
        the store), the work folders a training killed before its first checkpoint left empty, and the
        checkpoints of a killed training nobody resumed for a week: only what the store names so, and a link
        itself, not what it leads to. The week holds also where the key has an entry: a killed ``--force``
        training's checkpoints lie beside the entry it was to replace, and the builds after it take that entry
        and resume nothing."""
        for item in _listing(self.root / "tmp"):
            if _SCRATCH.fullmatch(item.name):
                _remove(Path(item.path))
        incoming = [Path(item.path) for item in _listing(self.root / "objects")]  # roots/ is written unheld: left
        for path in [*incoming, *(path for folder in SHARDED for path in self._sharded_files(folder))]:
            if TEMPORARY.fullmatch(path.name) and (path.is_symlink() or path.is_file()):  # atomic writes', _add_object's
                path.unlink(missing_ok=True)
        for item in _listing(self.root / "locks"):  # a key's lock, of an entry or of a computation that failed
            if _is_file_name(item.name) and not item.is_dir(follow_symlinks=False):
                Path(item.path).unlink(missing_ok=True)
        cutoff = time.time() - ABANDONED_WORK_SECONDS
        for item in _listing(self.root / "work"):
            if not _is_file_name(item.name):
                continue
            if item.stat(follow_symlinks=False).st_mtime < cutoff:  # of a new key, or of a --force over an entry
                _remove(Path(item.path))
            else:  # a training killed outright (kill -9) before its first checkpoint left it empty: nothing to resume
                self.clear_empty_work(item.name)


def _take(path: Path, into: Path, how: Taking) -> None:
    """Put ``path``'s bytes in ``into``, synced to disk. ``move``: by renaming it: an op's scratch folder is in the
    store, on its disk, and a copy wrote each output a second time. ``link``: as a second name of the file, for an
    op's file it may read again before it returns (multiply's variants, kept one by one): a copy wrote each of
    those twice, since the ``put`` after the op found it stored and threw the file moved in away. Safe while the
    op runs, since ops write every file to a temporary name and rename it over the old, never into it, so the
    object keeps the bytes hashed; and the scratch folder's name is gone once the op's ``put`` moves it in. Where
    the disk refuses (``tmp`` a link to another disk, a file system without hard links), and for ``copy``, copied,
    leaving ``path`` as it is (an output in the build folder)."""
    if how == "copy" or not _named_again(path, into, how):
        _copy(path, into)
        return
    with open(into, "rb+") as taken:  # Windows syncs only what it may write
        os.fsync(taken.fileno())


def _named_again(path: Path, into: Path, how: Taking) -> bool:
    """Whether ``path`` was renamed (``move``) or linked (``link``) to ``into``; False where the disk refuses: a
    rename across disks, a link on any file system that has none (a copy then says what is wrong, if anything)."""
    try:
        if how == "move":
            replace(path, into)
        else:
            into.unlink()  # new_temporary made it, to hold the name
            os.link(path, into)
    except OSError as exc:
        if how == "move" and exc.errno != errno.EXDEV:
            raise
        return False
    return True


def _copy(path: Path, into: Path) -> None:
    """``path``'s bytes written to ``into`` and synced."""
    with open(into, "wb") as written, open(path, "rb") as read:
        shutil.copyfileobj(read, written)
        written.flush()
        os.fsync(written.fileno())


def _listing(folder: Path) -> list[os.DirEntry[str]]:
    """``folder``'s items, none where it is missing."""
    try:
        with os.scandir(folder) as items:
            return list(items)
    except FileNotFoundError:
        return []


def _emptied(folder: Path) -> bool:
    """Whether what is in ``folder`` could all be removed (links themselves, not what they lead to), leaving it an
    empty folder; not where the op removed it, or left what cannot be removed."""
    try:
        for item in _listing(folder):
            _remove(Path(item.path))
        return folder.is_dir() and not _listing(folder)
    except OSError:
        return False


def _remove(path: Path) -> None:
    """Delete ``path``: a folder with what is in it, a link or a file itself. A link is never followed."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)  # rmtree does not follow the links inside


def _checked(key: str) -> str:
    """``key``, where it can name a file of the store (a plain file name); raises ValueError otherwise."""
    if not _is_file_name(key):
        raise ValueError(f"{key!r} is no cache key")
    return key


def _metadata_bytes(metadata: Mapping[str, object]) -> bytes:
    """An entry's metadata as ``keep_metadata`` stores it: the same figures always make the same object."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode()


def _record_checksum(record: Mapping[str, object]) -> str:
    """Of a unit's figures record (its key, object and figures), so that a damaged figure is not listed as true."""
    return hash_bytes(json.dumps(record, sort_keys=True).encode())


def _checksum(entry: Entry) -> str:
    """Of an entry's outputs and metadata, so that a damaged guard figure is not restored as true."""
    return hash_bytes(json.dumps({"outputs": entry.outputs, "metadata": entry.metadata}, sort_keys=True).encode())
