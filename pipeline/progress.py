"""Progress of long work, reported through logging, and the log lines a run shows.

Whoever shows the progress decides how: the CLI draws bars on a terminal and prints a line now and then
without one (``ProgressLines``), and a Dagster run's log in the UI gets the same lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ops.registry import ProgressFn

progress_log = logging.getLogger("remaster.progress")


def report_progress(task: str, done: int, total: int, note: str = "") -> None:
    """Progress goes through logging; the CLI turns these records into progress bars, or into ``ProgressLines``
    without a terminal, as a run's log in the UI gets them."""
    progress_log.debug("%s %d/%d %s", task, done, total, note,
                       extra={"task": task, "done": done, "total": total, "note": note})


class ProgressLines(logging.Handler):
    """Progress as a plain line, given to ``say``, at most every ``interval`` seconds: a log (CI's, or a run's in
    the UI) then shows that a long step or training is alive, without a line per texture (and CI does not stop
    it for printing nothing)."""

    interval = 30.0

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.say = say
        self.last = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        task = getattr(record, "task", None)
        if task is None or time.monotonic() - self.last < self.interval:
            return
        self.last = time.monotonic()
        done, total, note = getattr(record, "done", 0), getattr(record, "total", 0), getattr(record, "note", "")
        self.say(f"{task} {done}/{total} {note}".rstrip())


def reporter(label: str) -> ProgressFn:
    """An op's ``progress``: its loop's progress reported as ``label``'s."""

    def report(done: int, total: int, note: str = "") -> None:
        report_progress(label, done, total, note)

    return report
