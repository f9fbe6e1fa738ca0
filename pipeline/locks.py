"""File locks that hold between processes on Linux, macOS and Windows, through ``filelock``.

The operating system drops a process's locks when it dies, so a build killed outright (``kill -9``, a
closed console window) never leaves one held. Windows has no shared lock that ``filelock`` offers, so
``held_by_many`` makes one of exclusive locks: each holder locks a file of its own, taken while it holds a
gate, and the one who needs everything to itself takes the gate and finds every holder's file free.

No lock is given a ``mode``: filelock (4.3 on) creates its file 0o666 less the umask, under a folder's default
ACLs, so users who share a cache with umask 002 can each take the locks another made, and one with umask 077
keeps them private. A ``mode`` would be set by ``fchmod``, over the umask: 0o644 would lock the group's other
users out (their builds fail with Permission denied), 0o666 would leave a private user's locks open to all.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)


class Busy(Exception):
    """``held_alone`` was asked for while another process holds the lock: ``alone`` where that one holds it
    alone too (or is taking it as one of many just then), else one of many holds it. ``waited``: the seconds
    ``held_alone`` waited before giving up, given a timeout; None where it did not wait."""

    def __init__(self, *, alone: bool):
        super().__init__()
        self.alone = alone
        self.waited: float | None = None


@contextlib.contextmanager
def exclusive(lock_file: Path, waiting: str = "", said: Mapping[str, object] | None = None) -> Iterator[None]:
    """Hold ``lock_file`` exclusively (waits): one process at a time past this point. ``waiting`` is logged
    where another process holds it, so that a wait of minutes is not taken for a hang; ``said`` goes with it
    as the log record's extra attributes."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if waiting:
            log.warning("%s", waiting, extra=said)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def held_elsewhere(lock_file: Path) -> bool:
    """Whether another process holds ``lock_file`` (by ``exclusive``) now, found by taking it and letting it go at
    once: ``status`` asks, so as not to say that the next build resumes a training that a build is running. A lock
    file that is not there, or that this user cannot open (a read-only cache), is taken for free."""
    if not lock_file.is_file():
        return False
    lock = FileLock(lock_file)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    lock.release()
    return False


@contextlib.contextmanager
def held_by_many(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock shared with any number of other holders; waits while ``held_alone`` holds it."""
    holders = folder / "holders"
    holders.mkdir(parents=True, exist_ok=True)
    mine = holders / f"{uuid.uuid4().hex}.lock"
    lock = FileLock(mine)
    gate = FileLock(folder / "lock")
    try:
        gate.acquire(timeout=0)
    except Timeout:
        log.warning("waiting for %s: another process has it to itself (remaster cache gc)", folder)
        gate.acquire()
    try:
        lock.acquire()  # released below, or by the system if this process dies
    finally:
        gate.release()
    try:
        yield
    finally:
        _release(mine, lock)


@contextlib.contextmanager
def held_alone(folder: Path, waiting: Callable[[Busy], None] | None = None,
               timeout: float | None = None) -> Iterator[None]:
    """Hold ``folder``'s lock with no other holder; raises ``Busy`` at once where there is one, or, given
    ``waiting``, calls it once with that ``Busy`` and waits until there is none (those that come meanwhile too):
    for ever, or ``timeout`` seconds at most, then raises the last ``Busy``, with how long it waited."""
    folder.mkdir(parents=True, exist_ok=True)
    said = False
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    while True:
        try:
            gate = _taken_alone(folder)
            break
        except Busy as busy:
            if waiting is None:
                raise
            if not said:
                waiting(busy)
                said = True
            _wait_or_give_up(folder, busy, started, deadline)
    try:
        yield
    finally:
        gate.release()


def _wait_or_give_up(folder: Path, busy: Busy, started: float, deadline: float | None) -> None:
    """Wait for ``folder``'s holders, or raise ``busy``, with how long ``held_alone`` waited since ``started``, once
    the ``deadline`` has passed. It is checked before each wait too: a holder let go and taken again as the wait
    ends (a build's next step) ends every wait at once, none by a ``Timeout``, and gc waited on past its
    ``--timeout`` for as long as the build ran."""
    try:
        if deadline is not None and time.monotonic() >= deadline:
            raise Timeout(str(folder / "lock"))
        _wait_for_holders(folder, deadline)
    except Timeout:
        busy.waited = time.monotonic() - started
        raise busy from None


def _taken_alone(folder: Path) -> FileLock:
    """``folder``'s gate, taken, where no holder holds the lock; else raises ``Busy``, holding nothing."""
    gate = FileLock(folder / "lock")
    try:
        gate.acquire(timeout=0)
    except Timeout:
        raise Busy(alone=True) from None
    try:
        if any(_in_use(holder) for holder in (folder / "holders").glob("*.lock")):
            raise Busy(alone=False)
    except BaseException:
        gate.release()
        raise
    return gate


def _wait_for_holders(folder: Path, deadline: float | None) -> None:
    """Wait until the gate and each holder's file that is there now are let go, or raise ``Timeout`` once the
    ``time.monotonic`` ``deadline`` passes (None: none). The gate is not kept meanwhile: a build's steps each take
    the lock shared again, inside the build's own hold, and would wait for ever."""
    gate = FileLock(folder / "lock")
    gate.acquire(timeout=_left(deadline))
    gate.release()
    for holder in (folder / "holders").glob("*.lock"):
        lock = FileLock(holder)
        lock.acquire(timeout=_left(deadline))
        _release(holder, lock)


def _left(deadline: float | None) -> float:
    """The seconds to ``deadline``, as ``FileLock.acquire`` takes them: -1 for none, 0 once passed (one try)."""
    return -1 if deadline is None else max(deadline - time.monotonic(), 0)


def _in_use(holder: Path) -> bool:
    """Whether a holder's file is locked; one that is not was left by a process that died, and goes."""
    lock = FileLock(holder)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    _release(holder, lock)
    return False


def _release(path: Path, lock: FileLock) -> None:
    """Unlock and delete a holder's file; one another program has open (gc testing it, a virus scan on Windows)
    stays behind, unlocked, for the next gc to take for a killed build's and delete."""
    lock.release()
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
