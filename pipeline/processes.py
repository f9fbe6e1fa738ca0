"""Whether the process that left something behind (a Dagster run, a note of outputs being placed) is gone.

A build killed outright (``kill -9``, the OOM killer) cleans up nothing. What it leaves is stamped with
where its pid means something (this boot, this pid namespace) and the pid with its start time, so a
later build can tell a dead writer from a live one, even where the pid was reused since.
"""

from __future__ import annotations

import os
from pathlib import Path


def process_space() -> str | None:
    """Where a pid names one process: this boot of this machine, in this pid namespace; None without
    Linux's /proc, where that cannot be told."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None


def this_process() -> str:
    """``<pid>@<start time>`` of this process."""
    return f"{os.getpid()}@{start_time(os.getpid())}"


def start_time(pid: int) -> str:
    """When live process ``pid`` started, in clock ticks since boot; "" where there is none (gone, or a
    zombie: killed, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return ""
    fields = stat.rsplit(b")", 1)[1].split()  # the name before ")" may hold spaces, brackets, any bytes
    return "" if fields[0] in (b"Z", b"X") else fields[19].decode()  # state is field 3, start time field 22


def is_gone(space: str | None, process: str) -> bool | None:
    """Whether ``process`` (``<pid>@<start time>``) of ``space`` has ended; None where that cannot be told:
    another machine's, container's or boot's, or one stamped without /proc."""
    pid, _, started = process.partition("@")
    if space is None or space != process_space() or not pid.isdigit() or not started:
        return None
    return start_time(int(pid)) != started
