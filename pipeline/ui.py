"""``remaster ui``: the Dagster UI (webserver and daemon, as ``dagster dev`` runs them) on one project's spec.

An artist types one command in the project folder: no workspace file (a pip-installed remaster has none), no
``DAGSTER_HOME`` exported in every shell. The instance is ``DAGSTER_HOME`` where it is set, else the project's
own (``.dagster`` beside the spec), which the CLI then records its builds in too.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock, Timeout

from ops.atomic import write_bytes_atomic
from pipeline.claims import project_instance
from pipeline.definitions import SPEC_ENV
from pipeline.runs import instance_at
from pipeline.signals import sigterm_as_ctrl_c
from pipeline.spec import Spec

# dagster dev's notice that Dagster's ``dg`` supersedes it: for whoever types dagster dev, not for remaster ui's user
DEV_SUPERSEDED = "ignore:Function `dev_command` is superseded"
READY_POLL_S = 0.25  # how often it tries the webserver's port until it answers
STOP_WAIT_S = 150.0  # dagster dev gives its webserver and its daemon 60 s each to stop
# A process group of its own: POSIX's session, Windows' group, which Dagster stops with CTRL_BREAK_EVENT.
_NEW_GROUP = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
_STOP = getattr(signal, "CTRL_BREAK_EVENT", signal.SIGINT)
PR_SET_PDEATHSIG = 1  # Linux's prctl option: a signal for this process when the one that started it dies
SERVING_LOCK = ".remaster-ui.lock"  # in the instance folder: held while a remaster ui serves it
SERVED_AT = "remaster-ui"  # beside it: where that one listens, and its spec, for a second one to say
_EVERY_NETWORK = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # a wildcard address, and the loopback of its family
# A running Dagster daemon stores a heartbeat every 30 s (Dagster's DEFAULT_HEARTBEAT_INTERVAL_SECONDS) per daemon;
# a newer one than this says a daemon runs on the instance (or stopped moments ago, without forgetting its own).
DAEMON_ALIVE_S = 45.0


class AlreadyServed(ValueError):
    """Another ``remaster ui`` serves the instance: a second daemon on it would run every sensor and schedule twice."""


class PortTaken(ValueError):
    """The webserver could not listen where asked: a bad ``--host``, or a ``--port`` another program holds."""


def url(host: str, port: int) -> str:
    """Where a browser on this machine opens the UI (an IPv6 address in brackets): a wildcard address (0.0.0.0,
    ::) is where the webserver listens, not one a browser can open, so its loopback stands for it."""
    host = _EVERY_NETWORK.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def where(host: str, port: int) -> str:
    """Where ``remaster ui`` says it listens: on every network, also the address others on the network open
    (this machine's name), where ``http://0.0.0.0:3000`` sent them nowhere."""
    if host not in _EVERY_NETWORK:
        return url(host, port)
    return f"{url(host, port)} (listening on every network: http://{socket.gethostname()}:{port} from other machines)"


def check_port(host: str, port: int) -> None:
    """Refuse a port another program listens on (another ``remaster ui``, a ``dagster dev``), or a host this
    machine cannot listen on, before Dagster starts: its webserver would fail after the daemon had started, with
    a traceback among its logs."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]  # an IPv6 address (::1) is no IPv4
        socket.create_server((host, port), family=family).close()
    except socket.gaierror as exc:
        raise PortTaken(f"--host {host}: no such host here ({exc.strerror}); give an address of this machine, "
                        "such as 127.0.0.1 (the default) or 0.0.0.0 for every network") from exc
    except OSError as exc:  # the system's words, without the address Python adds to them ("while attempting to bind")
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno == errno.EADDRNOTAVAIL:  # the host, not the port: another --port fails alike
            raise PortTaken(f"--host {host}: cannot listen on {host}:{port} ({why}): it is no address of this "
                            "machine; give one of its addresses, such as 127.0.0.1 (the default) or 0.0.0.0 for "
                            "every network") from exc
        raise PortTaken(_taken(host, port, why)) from exc


@contextlib.contextmanager
def serving(home: Path, where: str, spec: Spec) -> Iterator[None]:
    """Hold ``home``, the instance, for this ``remaster ui`` (at ``where``, on ``spec``), or refuse at once where
    another holds it. Dagster runs two daemons on one instance (the same project's UI started twice on two ports),
    and says so only half a minute later, in red among its logs, while each runs every sensor and schedule. The
    system lets the lock go when this process ends, however it ends. An instance this user cannot write is left
    to Dagster to refuse."""
    lock = FileLock(home / SERVING_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:  # an OSError too: first
        raise AlreadyServed(_served_elsewhere(home, spec)) from None
    except OSError:
        pass  # an instance this user cannot write, which Dagster refuses in its own words; release() does nothing
    else:
        with contextlib.suppress(OSError):
            write_bytes_atomic(home / SERVED_AT, f"{where}\t{spec.path}\n".encode())
    try:
        yield
    finally:
        lock.release()


def _served_elsewhere(home: Path, spec: Spec) -> str:
    """Which ``remaster ui`` serves ``home``, and where, as far as it wrote it down, with the fix: open it, where it
    serves this spec; else this project needs an instance of its own (specs of other names may share one), as
    two daemons on one instance each run every sensor and schedule."""
    try:
        where, _, other = (home / SERVED_AT).read_text(encoding="utf-8").strip().partition("\t")
    except (OSError, UnicodeDecodeError):
        where, other = "", ""
    said = f"another remaster ui already serves the Dagster instance {home}{f' at {where}' if where else ''}"
    if other and Path(other) != spec.path:
        own = ("move one spec to a folder of its own" if home == project_instance(spec) else
               "unset DAGSTER_HOME: each project then has its own .dagster")
        return (f"{said}, for {other}, not this spec: stop it (Ctrl-C where it runs) first, or give this project an "
                f"instance of its own ({own}); two on one instance would run every sensor and schedule twice")
    return (f"{said}{f' (for {other})' if other else ''}: open that one in the browser, or stop it (Ctrl-C where it "
            "runs) first; two on one instance would run every sensor and schedule twice")


def check_no_daemon(spec: Spec, home: Path) -> None:
    """Refuse an instance a Dagster daemon runs on that no ``remaster ui`` holds (``dagster dev -w workspace.yaml``,
    ``dagster-daemon run``): the heartbeat each daemon stores every 30 s is the sign Dagster leaves of it. Two
    daemons on one instance each run every sensor and schedule, and Dagster says so only half a minute later."""
    with instance_at(spec, home) as instance:
        beats = instance.get_daemon_heartbeats().values()
    age = time.time() - max((beat.timestamp for beat in beats), default=0.0)
    if age < DAEMON_ALIVE_S:
        raise AlreadyServed(
            f"a Dagster daemon already runs on the Dagster instance {home} (its last heartbeat is {age:.0f} s old): "
            "a dagster dev or dagster-daemon run started there outside remaster ui; stop it (Ctrl-C where it runs) "
            f"first, or open the UI it serves; one stopped just now leaves its heartbeat for {DAEMON_ALIVE_S:.0f} s "
            "(start again then); two daemons on one instance would run every sensor and schedule twice")


def serve(spec: Spec, home: Path, host: str, port: int, say: Callable[[str], None]) -> bool:
    """Run ``dagster dev`` on ``spec``, against the instance at ``home`` (``DAGSTER_HOME``), until Ctrl-C or
    SIGTERM, then stop it and wait for it. Returns False where it ended by itself (its own log says why). It runs
    in a process group of its own: a terminal's Ctrl-C reaches this process alone, which passes it on once, as
    Dagster's shutdown expects. Where the UI is, is said (``say``) once its own webserver answers: it takes
    Dagster seconds to start it, and a browser opened at the address as soon as it was said found nothing there."""
    command = [sys.executable, "-m", "dagster", "dev", "-m", "pipeline.definitions", "-p", str(port), "-h", host]
    quiet = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), DEV_SUPERSEDED]))
    env = {**os.environ, SPEC_ENV: str(spec.given), "PYTHONWARNINGS": quiet}
    with sigterm_as_ctrl_c():  # a service manager's stop, as Ctrl-C
        dev = subprocess.Popen(command, env=env, start_new_session=True, creationflags=_NEW_GROUP,
                               preexec_fn=_stopped_with_this_process())
        try:
            answer = _answer(dev, host, port)
            if answer is Answer.OTHER:  # its webserver could not listen, and does not end for that
                dev.send_signal(_STOP)
                _ended(dev)
                raise PortTaken(_taken(host, port, "another program took it as this remaster ui started"))
            if answer is Answer.OURS:
                say(f"Dagster UI at {where(host, port)}, instance {home}; Ctrl-C stops it")
            dev.wait()
            return False
        except KeyboardInterrupt:
            _stop(dev, host, port, say)
            return True
        finally:
            _forget_heartbeats(spec, home)


def _stopped_with_this_process() -> Callable[[], None] | None:
    """On Linux, what makes ``dagster dev`` get Ctrl-C's signal when this process dies, however it dies: killed
    outright (kill -9, a service manager's last resort), it left ``dagster dev`` running in its session of its own,
    its webserver holding the port and its daemon the instance, and the next ``remaster ui``, no longer locked out,
    ran a second daemon beside it. Elsewhere there is no such signal (None)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it, between fork and exec
    parent = os.getpid()

    def stop_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, _STOP)
        if os.getppid() != parent:  # it died before prctl took effect: no signal would come
            os._exit(1)

    return stop_with_parent


class Answer(enum.Enum):
    """Who answered at the UI's address, once someone did or ``dagster dev`` ended."""

    OURS = "this dagster dev's webserver"
    OTHER = "another program, which took the port after check_port"
    ENDED = "no one: dagster dev ended first"


def _answer(dev: subprocess.Popen[bytes], host: str, port: int) -> Answer:
    """Wait until ``host:port`` takes a connection (on this machine's loopback where the UI listens on every
    network), and say whose it is: two ``remaster ui`` of two projects started at one instant on one port both
    passed ``check_port``, and the one whose webserver lost said the other's address, a UI of the other project."""
    loopback = _EVERY_NETWORK.get(host, host)
    while dev.poll() is None:
        try:
            socket.create_connection((loopback, port), timeout=READY_POLL_S).close()
        except OSError:
            time.sleep(READY_POLL_S)
            continue
        return Answer.OTHER if _surely_not_listening(dev, port) else Answer.OURS  # two cannot listen on one port
    return Answer.ENDED


def _surely_not_listening(dev: subprocess.Popen[bytes], port: int) -> bool:
    """Whether no process of ``dev``'s (its webserver is a child) listens on ``port``, as far as the system lets
    this user see: one it may not look into might (False), so as not to refuse a UI that is this one."""
    try:
        processes = psutil.Process(dev.pid).children(recursive=True)
        return not any(connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
                       for process in processes for connection in _tcp(process))
    except psutil.AccessDenied:
        return False
    except psutil.NoSuchProcess:  # dagster dev ended, or one of its processes did as it was looked at
        return True


def _tcp(process: psutil.Process) -> list[Any]:
    """``process``'s TCP sockets; none where it ended as it was looked at."""
    try:
        return process.net_connections("tcp")
    except psutil.NoSuchProcess:
        return []


def _taken(host: str, port: int, why: str) -> str:
    """Why the UI cannot listen at ``host:port``, with the fix."""
    return (f"--port {port}: cannot listen on {host}:{port} ({why}); another remaster ui or dagster dev may be "
            "running there: stop it, or give another --port")


def _stop(dev: subprocess.Popen[bytes], host: str, port: int, say: Callable[[str], None]) -> None:
    """Ask ``dagster dev`` to stop its webserver and daemon, and wait. Before its webserver listens, Dagster is
    still starting, and Ctrl-C there ended it with click's "Aborted!" or a traceback, its webserver or daemon
    maybe left running: the stop waits until the address answers (its webserver, or another that took the port,
    which it then runs beside), and is then the same as a later one."""
    try:
        if dev.poll() is None and _surely_not_listening(dev, port):
            say("stopping the Dagster UI as soon as it has started (seconds); Ctrl-C again stops it at once")
            _answer(dev, host, port)
        dev.send_signal(_STOP)
    except KeyboardInterrupt:
        _kill(dev)
        return
    _ended(dev)


def _ended(dev: subprocess.Popen[bytes]) -> None:
    """Wait for ``dagster dev`` to end; a second Ctrl-C, or a stop that hangs past ``STOP_WAIT_S``, kills its
    whole group, which would otherwise hold the port."""
    try:
        dev.wait(timeout=STOP_WAIT_S)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        _kill(dev)


def _kill(dev: subprocess.Popen[bytes]) -> None:
    """Kill ``dagster dev`` and its webserver and daemon (its whole group, where the system has groups)."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError):  # every process of it already gone
            os.killpg(dev.pid, signal.SIGKILL)
    else:
        dev.kill()
    dev.wait()


def _forget_heartbeats(spec: Spec, home: Path) -> None:
    """Once this ``dagster dev`` has ended, its daemon's heartbeats go: the next ``remaster ui``, started again at
    once, would be refused by ``check_no_daemon`` as if the daemon ran on. Another daemon on the instance (one
    started since, beside this one) stores its own again within 30 s."""
    with contextlib.suppress(KeyboardInterrupt), instance_at(spec, home) as instance:
        instance.wipe_daemon_heartbeats()
