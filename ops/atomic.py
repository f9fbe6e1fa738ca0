"""Write files so that a killed process never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path


SHARING_WAITS = (0.05, 0.1, 0.2, 0.4, 0.8) if sys.platform == "win32" else ()  # seconds, 1.55 in all
TEMPORARY = re.compile(r"\.(.+)\.[a-z0-9_]{8}\.tmp")  # what new_temporary names one (as mkstemp would given ".<name>.")
_NAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"  # mkstemp's, which TEMPORARY matches
_UNSYNCED: contextvars.ContextVar[Path | None] = contextvars.ContextVar("unsynced", default=None)  # see unsynced_in


def replace(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """``os.replace``, tried again for a moment where Windows refuses it because another process has the file
    open (an image viewer, the search indexer, a virus scan, a ``status`` reading the manifest): its sharing
    violation passes once that process lets go, where on Linux the rename always goes through."""
    _retrying(os.replace, source, destination)


def file_in_the_way(folder: Path) -> Path | None:
    """The file at ``folder`` or above it, where a build or an op would make the folder; None where there is none.
    A path this user may not look into (a shared cache under another user's folder) counts as not there: the
    write then says what it cannot do."""
    existing = next((path for path in (folder, *folder.parents) if os.path.exists(path)), None)
    return existing if existing is not None and not os.path.isdir(existing) else None


def refuse_a_file_above(path: Path, argument: str) -> None:
    """Raise, naming ``argument``, where a file stands where a folder above ``path`` would be made: a script's op
    that computes for minutes (a training, a material fit) found out only when it wrote, as "File exists"."""
    if (standing := file_in_the_way(path.parent)) is not None:
        raise ValueError(f"{argument} {path}: {standing} is a file, not a folder; give a path in a folder")


def copy_file(source: Path, destination: Path) -> None:
    """Copy ``source``'s bytes over ``destination`` inside the kernel (``copy_file_range``), which Btrfs, XFS and
    NFS 4.2 make a clone sharing the disk blocks until either file is written: copy-on-write, so an artist's edit
    of one never reaches the other, as it would through a hard link. ``shutil.copyfile`` where the system has no
    such call (macOS, Windows) or refuses it for these two files (two disks, before Linux 5.3)."""
    if hasattr(os, "copy_file_range"):
        try:
            if _copied_in_kernel(source, destination):
                return
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
    shutil.copyfile(source, destination)


# The Linux kernel's own "operation not supported" (include/linux/errno.h), which no C library names: NFS and CIFS
# clients answer copy_file_range with it where the server cannot copy, and Python raises it as a plain OSError
# ("Unknown error 524"), which failed the copy where the bytes could be copied all the same.
_ENOTSUPP = 524
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, _ENOTSUPP}  # refused


def _copied_in_kernel(source: Path, destination: Path) -> bool:
    """Whether ``copy_file_range`` copied all of ``source`` to ``destination``; not where it stopped short (a file
    system that answers 0 for files it cannot copy so, as /proc's do)."""
    with open(source, "rb") as read, open(destination, "wb") as written:
        left = os.fstat(read.fileno()).st_size
        while left > 0:
            done = os.copy_file_range(read.fileno(), written.fileno(), left)
            if done == 0:
                return False
            left -= done
    return True


def unlink(path: Path) -> None:
    """``path.unlink(missing_ok=True)``, tried again for a moment where Windows refuses it as ``replace`` says."""
    _retrying(lambda: path.unlink(missing_ok=True))


def _retrying(action: Callable[..., None], *args: object) -> None:
    for wait in SHARING_WAITS:
        try:
            return action(*args)
        except PermissionError:
            time.sleep(wait)
    action(*args)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary file lives in the destination's folder so the final rename is
    atomic on every POSIX file system. On error the temporary file is removed
    and the destination keeps its previous content.
    """
    with atomic_paths([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | os.PathLike[str]]) -> Iterator[list[Path]]:
    """``atomic_path`` for files that belong together (a material's maps): every one is written and
    flushed before the first is renamed, so a process killed while writing them changes none. One killed
    in the few microseconds between the renames leaves some new and some old, each file whole; the
    manifest does not list the new ones, so the next build calls the partition stale and makes it again."""
    temporaries: list[Path] = []
    try:
        for path in map(Path, paths):
            path.parent.mkdir(parents=True, exist_ok=True)
            temporaries.append(new_temporary(path.parent, _short(path)))
        yield temporaries
        for tmp in filter(_synced, temporaries):
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        for tmp, destination in zip(temporaries, paths):
            replace(tmp, destination)
    except OSError as exc:
        if exc.errno is not None and exc.filename is None and temporaries:  # a write through an open file names none
            exc.filename = str(temporaries[0])  # the files of one call share a folder, hence a disk
        raise
    finally:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def unsynced_in(folder: Path) -> Iterator[None]:
    """While inside, ``atomic_paths`` renames the files it writes under ``folder`` into place without syncing them
    to disk first: a build's scratch folder, whose files are copied into the cache and the build folder, synced
    there, then deleted. Their sync was a quarter of a first build's (four per texture), and wasted: a power loss
    leaves at worst an empty or partial file in a scratch folder, which nothing reads again (the next build makes
    a new folder, ``cache gc`` removes the old). Every file written elsewhere (an output, the cache, the
    manifest, a training's checkpoint in its work folder) is synced as before."""
    token = _UNSYNCED.set(Path(folder).absolute())
    try:
        yield
    finally:
        _UNSYNCED.reset(token)


def _synced(path: Path) -> bool:
    """Whether ``atomic_paths`` syncs ``path`` before renaming it: everywhere but under ``unsynced_in``'s folder."""
    folder = _UNSYNCED.get()
    return folder is None or not path.absolute().is_relative_to(folder)


def new_temporary(folder: Path, name: str) -> Path:
    """A new, empty file in ``folder`` named ``.<name>.k3j_a9zq.tmp`` (``TEMPORARY``), made 0o666 less the umask
    (under the folder's default ACLs), as the file it becomes would be: mkstemp's 0600 hid outputs and cache objects
    from the other users of a shared build folder or cache, and a fixed 0644 kept a group sharing one under umask 002
    from writing what another member made, where the lock files beside them were the group's already."""
    for _ in range(100):
        path = folder / f".{name}.{''.join(secrets.choice(_NAME_CHARACTERS) for _ in range(8))}.tmp"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
        except FileExistsError:  # another writer's, just made
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free temporary name (100 tried)", str(folder))


def _short(path: Path) -> str:
    """``path``'s name as its temporaries hold it: cut, so that a destination name near the file system's 255-byte
    limit still gets a temporary (bytes count against the limit, not characters)."""
    return path.name.encode()[:64].decode(errors="ignore")


def leftover_temporaries(paths: Iterable[Path]) -> set[Path]:
    """The temporaries ``atomic_paths`` left beside ``paths`` in a process killed before renaming them. Only for a
    caller that knows no live process is writing these paths: a temporary's name does not say whose it is."""
    wanted: dict[Path, set[str]] = {}
    for path in paths:
        wanted.setdefault(path.parent, set()).add(_short(path))
    found = set()
    for folder, shorts in wanted.items():
        try:
            names = os.listdir(folder)
        except OSError:  # gone, or not a folder: nothing was left in it
            continue
        found |= {folder / name for name in names if (match := TEMPORARY.fullmatch(name)) and match[1] in shorts}
    return found


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename. What holds bytes but is none (export_dds's
    result, as a script passes it) is refused before a temporary is made: it failed in ``write_bytes`` as
    "memoryview: a bytes-like object is required, not 'Exported'"."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        held = " (its .data holds the file's bytes)" if isinstance(getattr(data, "data", None), bytes) else ""
        raise TypeError(f"write_bytes_atomic writes bytes to {path}; got {type(data).__module__}."
                        f"{type(data).__name__}{held}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def remove_stale_temporaries(folder: Path, older_than_seconds: float = 3600) -> int:
    """Delete temporary files a killed process left in ``folder``; returns how many.

    Nothing ever reads them; one younger than ``older_than_seconds`` may
    belong to a build still running and is kept.
    """
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in Path(folder).rglob(".*.tmp"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
