"""Ctrl-C and SIGTERM around the parts of a build that must not be cut in two.

A CI job cancelled sends SIGTERM, an artist presses Ctrl-C; Dagster handles both inside a run. A build
needs to know of one that came while a run closed (Dagster then drops it), and to hold one off while
the manifest and the build folder are brought into line.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any


class _Seen:
    """The stopping signals that have reached the process since ``signals_seen`` began, read from its wakeup socket."""

    def __init__(self, reader: socket.socket, stopping: tuple[int, ...]) -> None:
        self.reader = reader
        self.stopping = stopping
        self.came: set[int] = set()

    def stops(self) -> list[int]:
        self.came |= _drain(self.reader)
        return [number for number in self.stopping if number in self.came]


_watch: list[_Seen] = []  # the innermost signals_seen's, last


@contextlib.contextmanager
def signals_seen() -> Iterator[list[int]]:
    """Collects (on leaving) each Ctrl-C or SIGTERM that reached the process inside, whoever's handler took
    it: Dagster notes one that lands after a run's last step has begun, and forgets it when the run ends.
    Inside, ``stop_if_signalled`` stops a step for one whose handler's exception Python dropped, and Python's
    'Exception ignored' traceback of that exception is not printed."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    reader, writer = socket.socketpair()  # not a pipe: Windows has no os.set_blocking for one before Python 3.12
    with reader, writer:
        for end in (reader, writer):
            end.setblocking(False)
        watch = _Seen(reader, _stopping())
        hook = sys.unraisablehook
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        try:  # a Ctrl-C as the watch is set up leaves none behind, to read a closed socket later
            _watch.append(watch)
            sys.unraisablehook = functools.partial(_quiet_about_interrupts, hook)
            yield seen
        finally:
            sys.unraisablehook = hook
            if watch in _watch:
                _watch.remove(watch)
            signal.set_wakeup_fd(previous)
            seen += watch.stops()


def stop_if_signalled() -> None:
    """Raises KeyboardInterrupt where a Ctrl-C or SIGTERM came inside ``signals_seen`` and the build goes on: its
    handler's exception, raised inside a garbage collector's callback (SQLAlchemy's, as Dagster stores a run's
    plan), is one Python can only print and drop, and the step then ran to its end (a model's whole training).
    Called where a step can stop cleanly (between partitions, at an op's progress); only the main thread stops."""
    if _watch and threading.current_thread() is threading.main_thread() and _watch[-1].stops():
        raise KeyboardInterrupt


def _quiet_about_interrupts(hook: Callable[[Any], object], unraisable: Any) -> None:
    """``sys.unraisablehook`` inside ``signals_seen``: an interrupt raised where Python cannot raise it (a signal
    handler's, in a garbage collector's callback) is taken by ``stop_if_signalled``, not printed as a traceback."""
    exc = unraisable.exc_value
    if not isinstance(exc, KeyboardInterrupt) and type(exc).__name__ != "DagsterExecutionInterruptedError":
        hook(unraisable)


def _drain(reader: socket.socket) -> set[int]:
    """The signal numbers written to a wakeup socket so far."""
    numbers: set[int] = set()
    with contextlib.suppress(BlockingIOError):
        while chunk := reader.recv(512):
            numbers.update(chunk)
    return numbers


@contextlib.contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) stops the build as Ctrl-C does, and the caller's handlers are back on leaving.

    Dagster gives SIGTERM SIGINT's handler when a run ends. Where SIGINT is ignored, as in a job a script starts
    in the background, that made SIGTERM ignored too; SIGINT gets a handler that does nothing for the while, so
    that a SIGTERM just as a run ends reaches ``signals_seen`` instead of being dropped (``handlers_kept`` puts
    SIGTERM's handler back after each run)."""
    with handlers_kept():
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
                signal.signal(signal.SIGINT, _ignored)
        yield


def _ignored(number: int, frame: FrameType | None) -> None:
    """SIGINT's handler where the caller ignores it: as SIG_IGN, but Dagster copies a Python handler to SIGTERM."""


def _stopping() -> tuple[int, ...]:
    """The signals that stop a build: a Ctrl-C the caller ignores (a job a script started in the background)
    stops nothing."""
    return (signal.SIGTERM,) if signal.getsignal(signal.SIGINT) is _ignored else (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def ctrl_c_blocked() -> Iterator[None]:
    """Ctrl-C waits (blocked in this thread) inside, and comes on leaving. A process started inside keeps it
    blocked, through exec too: a terminal's Ctrl-C, which reaches every process of the build's group, leaves
    such a helper to be ended by whoever started it. Windows has no signal masks: there it is a no-op."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def handlers_kept() -> Iterator[None]:
    """Puts back the Ctrl-C and SIGTERM handlers on leaving (a Dagster run changes them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: set outside Python, and not Python's to put back
                signal.signal(number, handler)


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM wait while the manifest and the build folder are brought into line (a second
    Ctrl-C there left rows listing files just deleted). Yields the signals that came, for the caller."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught  # only the main thread handles signals
        return
    previous = {number: signal.signal(number, lambda number, frame: caught.append(number)) for number in _stopping()}
    try:
        yield caught
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
