"""Progress of long work, reported through logging, and where log records go while something is built.

Whoever shows the progress decides how: the CLI draws bars on a terminal and prints a line now and then
without one (``ProgressLines``); a Dagster run's log in the UI gets the same lines, with what the ops log
(``logs_in_the_run``). Each changes a logger only for as long as it shows its records (``handled``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import NamedTuple, TypeVar

from ops.registry import ProgressFn
from pipeline.signals import stop_if_signalled
from pipeline.words import counted

progress_log = logging.getLogger("remaster.progress")
FORWARDED_LOGGERS = ("ops", "pipeline", "imagecodecs")  # the ops' own lines, the cache's warnings, libpng's


def report_progress(task: str, done: int, total: int, note: str = "") -> None:
    """Progress goes through logging; the CLI turns these records into progress bars, or into ``ProgressLines``
    without a terminal, as a run's log in the UI gets them."""
    progress_log.debug("%s %d/%d %s", task, done, total, note,
                       extra={"task": task, "done": done, "total": total, "note": note})


Item = TypeVar("Item")


def reported_over(task: str, items: Sequence[Item]) -> Iterator[Item]:
    """``items`` in turn, ``task``'s progress reported as 0/N before the first and after each one is done: a loop that
    reported only after each item began its line's elapsed time when the first was done, and showed no bar until
    then (a CI log said ``walls_var 1/2 (0:00:00 elapsed)`` after a 100 s multiply of its first texture)."""
    if not items:  # nothing to do: no line, no bar
        return
    report_progress(task, 0, len(items))
    for done, item in enumerate(items, start=1):
        yield item
        report_progress(task, done, len(items))


class Reported(NamedTuple):
    """What a ``report_progress`` record says."""

    task: str
    done: int
    total: int
    note: str


def progress_of(record: logging.LogRecord) -> Reported | None:
    """What ``record`` reports, where ``report_progress`` logged it; None for any other record."""
    task = getattr(record, "task", None)
    if task is None:
        return None
    return Reported(task, getattr(record, "done", 0), getattr(record, "total", 0), getattr(record, "note", ""))


class ProgressLines(logging.Handler):
    """Progress as a plain line, given to ``say``, at most every ``interval`` seconds: a log (CI's, or a run's in
    the UI) then shows that a long step or training is alive, without a line per texture (and CI does not stop
    it for printing nothing); a task that was said, or took that long, has its last line said too. Each line ends
    with how long its task has taken, and how long it has left where its pace is known: a training's lines in a CI
    log said how far it was, and not whether the job would end in time."""

    interval = 30.0

    def __init__(self, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(logging.DEBUG)
        self.say = say
        self.clock = clock
        self.last = clock()
        self.began: dict[str, tuple[float, int]] = {}  # task -> when its first record came, and how far it was then
        self.shown: set[str] = set()  # the tasks under way that a line was said of

    def emit(self, record: logging.LogRecord) -> None:
        reported = progress_of(record)
        if reported is None:
            return
        task, done, total, note = reported
        now = self.clock()
        began = self.began.setdefault(task, (now, done))
        said_anyway = done >= total and self._finish(task, now - began[0])
        if now - self.last < self.interval and not said_anyway:
            return
        self.last = now
        if done < total:
            self.shown.add(task)
        self.say(f"{f'{task} {done}/{total} {note}'.rstrip()} ({_times(now, began, done, total)})")

    def _finish(self, task: str, took: float) -> bool:
        """Forgets finished ``task`` (one of the same name later, the next run's step, begins anew), and tells
        whether its last line is said however soon after the line before: where a line of it was said, or it took
        an interval or more. A CI log showed a training at step 2900 of 3000 and never its last step's loss and
        PSNR, nor an asset's last partition. The many short tasks that went by unsaid (a texture's tiles) stay so:
        the log would get a line per texture."""
        del self.began[task]
        shown = task in self.shown
        self.shown.discard(task)
        return shown or took >= self.interval


def _times(now: float, began: tuple[float, int], done: int, total: int) -> str:
    """``0:01:02 elapsed, 0:24:10 left``: since the task's first record (``began``: when, and how far it was, as a
    training resumed from a checkpoint begins part way), and at the pace it has gone since, where it has moved."""
    since, first = began
    said = f"{clock_time(now - since)} elapsed"
    if first < done < total:
        said += f", {clock_time((now - since) * (total - done) / (done - first))} left"
    return said


def clock_time(seconds: float) -> str:
    """``0:01:02``: as the progress bars write their times."""
    return str(timedelta(seconds=max(0, int(seconds))))


def reporter(label: str) -> ProgressFn:
    """An op's ``progress``: its loop's progress reported as ``label``'s."""

    def report(done: int, total: int, note: str = "") -> None:
        stop_if_signalled()
        report_progress(label, done, total, note)

    return report


class SaidOnce(logging.Filter):
    """Says a warning many files share once, and counts the rest: the CLI's log and a Dagster run's log
    (``logs_in_the_run``) both filter through it, so both say each alike. A record names what it shares in its
    ``extra`` as ``once_per`` (a colour profile, another build making an asset's partitions, a normal map an op
    takes as colour), with its ``file``, and may say how to count the rest as ``more_said`` (``{}`` for the
    count). The first record of each is said; the files of the rest are kept, for ``held_back`` to count.

    The loggers ``each_message_of`` names have each of their messages said once, uncounted: the CLI's build
    scans the sources again for every asset step, and a skipped file was warned about once per step."""

    def __init__(self, each_message_of: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.each_message_of = each_message_of
        self.sharing: dict[str, set[str]] = {}  # what many files share -> those files (a file read twice is one)
        self.more_said: dict[str, str] = {}  # -> how to say how many more, where a record says

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is to be said: any record that shares nothing, or the first one of what it shares."""
        shared = getattr(record, "once_per", None)
        if shared is None and record.name in self.each_message_of:
            shared = record.getMessage()  # shared by no file: held_back counts none of it
        if shared is None:
            return True
        first = shared not in self.sharing
        self.sharing.setdefault(shared, set()).add(getattr(record, "file", ""))
        if (more_said := getattr(record, "more_said", None)) is not None:
            self.more_said[shared] = more_said
        return first

    def held_back(self) -> list[str]:
        """A line for each warning shared by many files that was said once: how many more files it held back."""
        lines = []
        for shared, files in self.sharing.items():
            if not (more := len(files) - 1):
                continue
            if shared in self.more_said:
                lines.append(self.more_said[shared].format(more))
            else:
                lines.append(f"{counted(more, 'more file carries', 'more files carry')} {shared} as well, read as the "
                             "first was")
        return lines


class _ToRunLog(logging.Handler):
    def __init__(self, run_log: logging.Logger, said: SaidOnce) -> None:
        super().__init__(logging.INFO)
        self.run_log = run_log
        self.addFilter(said)

    def emit(self, record: logging.LogRecord) -> None:
        self.run_log.log(record.levelno, record.getMessage())


@contextlib.contextmanager
def logs_in_the_run(run_log: logging.Logger) -> Iterator[None]:
    """Show what the ops log (a training run's loss and validation PSNR, how a texture was tiled) in a Dagster
    run's log (``run_log``), which the UI shows and where a plain Python log line does not appear, and a
    progress line at most every 30 s, as a CI log gets: a step over many textures that logs nothing of its own
    (an upscale, cache hits) would otherwise show nothing between its start and its end. A warning that many
    files share (a step waiting on each partition in turn for another build making them) is said once, and
    how many more there were at the end, as the CLI says it: a run of 300 partitions logged 300 such lines."""
    said = SaidOnce()
    with contextlib.ExitStack() as stack:
        for name in FORWARDED_LOGGERS:
            stack.enter_context(handled(logging.getLogger(name), _ToRunLog(run_log, said)))
        # Not passed on to the process's own handlers, which would print every record
        stack.enter_context(handled(progress_log, ProgressLines(run_log.info), propagate=False))
        try:
            yield
        finally:
            for line in said.held_back():
                run_log.warning(line)


@contextlib.contextmanager
def handled(logger: logging.Logger, handler: logging.Handler | None = None, *, level: int | None = None,
            propagate: bool | None = None) -> Iterator[None]:
    """``logger`` changed meanwhile, then as it was, whatever happens: a caller that runs a build in process
    keeps its own logging. ``handler`` gets its records from the handler's level on (the logger lets those
    through, where it was set to fewer); ``level`` sets the logger's level outright (to quieten it);
    ``propagate`` says whether its records go on to the handlers of the loggers above it."""
    level_before, propagate_before = logger.level, logger.propagate
    if handler is not None:
        logger.addHandler(handler)
        logger.setLevel(min(logger.getEffectiveLevel(), handler.level))
    if level is not None:
        logger.setLevel(level)
    if propagate is not None:
        logger.propagate = propagate
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
        logger.setLevel(level_before)
        logger.propagate = propagate_before
