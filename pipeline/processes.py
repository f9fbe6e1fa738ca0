"""Whether the process that left something behind (a Dagster run, a note of outputs being placed) is gone.

A build killed outright (``kill -9``, the OOM killer, a console window closed) cleans up nothing. What it
leaves is stamped with where its pid means something and the pid with its start time, so a later build can
tell a dead writer from a live one, even where the pid was reused since. On Linux, where means this boot in
this pid namespace (a container's pids name other processes than the host's), read from /proc; elsewhere
(Windows, macOS) this machine, and the start time comes from psutil.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psutil

PROC = Path("/proc")


def process_space() -> str | None:
    """Where a pid names one process: this boot of this machine in this pid namespace on Linux, this
    machine elsewhere; None where /proc is there but cannot be read, and that cannot be told."""
    if not (PROC / "self").is_dir():
        return f"host {socket.gethostname()}"
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}/{os.stat(PROC / 'self/ns/pid').st_ino}"
    except OSError:
        return None


def this_process() -> str:
    """``<pid>@<start time>`` of this process."""
    return f"{os.getpid()}@{start_time(os.getpid()) or ''}"  # none told: judged by no one


def start_time(pid: int) -> str | None:
    """When live process ``pid`` started (clock ticks since boot on Linux, seconds since 1970 elsewhere);
    "" where there is none (gone, or a zombie: killed, not yet reaped); None where it cannot be told: another
    user's process that /proc hides (mounted with ``hidepid``, as shared servers are) or psutil may not read.
    The daemon that judges killed builds may run as another user than the artist's build."""
    if not (PROC / "self").is_dir():
        return _started_by_psutil(pid)
    try:
        stat = (PROC / f"{pid}/stat").read_bytes()
    except OSError:
        return None if _is_live(pid) else ""
    fields = stat.rsplit(b")", 1)[1].split()  # the name before ")" may hold spaces, brackets, any bytes
    return "" if fields[0] in (b"Z", b"X") else fields[19].decode()  # state is field 3, start time field 22


def _is_live(pid: int) -> bool:
    """Whether ``pid`` names a process, told by signal 0 (which sends nothing): refused for another user's
    process, missed for none."""
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _started_by_psutil(pid: int) -> str | None:
    try:
        process = psutil.Process(pid)
        return "" if process.status() == psutil.STATUS_ZOMBIE else f"{process.create_time():.3f}"
    except psutil.AccessDenied:
        return None
    except psutil.Error:
        return ""


def is_gone(space: str | None, process: str) -> bool | None:
    """Whether ``process`` (``<pid>@<start time>``) of ``space`` has ended; None where that cannot be told:
    another machine's, container's or boot's, one stamped where /proc could not be read, or one another
    user's that /proc hides from this one."""
    pid, _, started = process.partition("@")
    if space is None or space != process_space() or not pid.isdigit() or not started:
        return None
    now = start_time(int(pid))
    return None if now is None else now != started
