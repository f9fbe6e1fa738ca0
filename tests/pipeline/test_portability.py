"""What differs on Windows, tested here on Linux by taking away what Windows lacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from pathlib import Path

import pytest

from helpers import write_spec, write_textures
from pipeline.claims import BUILT_FROM, check_build_dir, claim_build_dir
from pipeline.locks import Busy, held_alone, held_by_many
from pipeline.signals import signals_seen
from pipeline.spec import SpecError, load_spec


def test_a_sigterm_inside_is_seen_without_os_set_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "set_blocking")  # Windows before Python 3.12
    quiet = {number: signal.signal(number, lambda *_: None) for number in (signal.SIGTERM, signal.SIGUSR1)}
    try:
        with signals_seen() as seen:
            signal.raise_signal(signal.SIGUSR1)  # not one that stops a build
            signal.raise_signal(signal.SIGTERM)
    finally:
        for number, handler in quiet.items():
            signal.signal(number, handler)
    assert seen == [signal.SIGTERM]


def test_a_build_folder_with_no_relative_way_to_the_spec_records_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "out"
    specs = []
    for project in ("a", "b"):
        (tmp_path / project / "t").mkdir(parents=True)
        specs.append(load_spec(write_spec(tmp_path / project, f"""
            build_dir: {shared}
            sources:
              legacy: {{kind: textures, root: t}}
            assets:
              up: {{op: upscale, from: legacy}}
            """)))

    def other_drive(path: str, start: str) -> str:  # as Windows' ntpath says for D:\\out and C:\\project
        raise ValueError("path is on mount 'C:', start on mount 'D:'")

    monkeypatch.setattr(os.path, "relpath", other_drive)
    claim_build_dir(specs[0])
    assert (shared / BUILT_FROM).read_text() == f"{specs[0].path.as_posix()}\t\n"
    with pytest.raises(SpecError, match=f"holds the outputs of {specs[0].path}"):
        check_build_dir(specs[1])


def test_a_file_name_the_console_cannot_spell_is_escaped_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    write_textures(tmp_path / "t", 1)[0].rename(tmp_path / "t" / "木材.png")
    write_spec(tmp_path, """
        sources:
          legacy: {kind: textures, root: t}
        assets:
          up: {op: upscale, from: legacy}
        """)
    env = {**os.environ, "CI": "true", "PYTHONIOENCODING": "cp1252"}  # what a Windows pipe or log file takes
    said = []
    for command in ("status", "build"):
        ran = subprocess.run([sys.executable, "-c", "from pipeline.cli import main; main()", command],
                             cwd=tmp_path, env=env, capture_output=True, encoding="cp1252")
        said.append(ran.stdout)
        assert ran.returncode == 0, ran.stderr
    assert "\\u6728\\u6750.png" in said[0]


def _holding(how: str, folder: Path, after: str = "") -> subprocess.Popen:
    """Another process that holds ``folder``'s lock ``how`` until killed, or for a moment, then writes ``after``."""
    script = (f"import pathlib, sys, time; from pipeline.locks import {how}\n"
              f"with {how}(pathlib.Path({str(folder)!r})):\n"
              f"    print('held', flush=True); time.sleep(60 if not {after!r} else 2)\n"
              f"    pathlib.Path({after!r} or '/dev/null').write_text('done')\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_builds_share_the_store_gc_needs_it_alone_and_a_killed_build_holds_nothing(tmp_path: Path) -> None:
    build = _holding("held_by_many", tmp_path)
    with held_by_many(tmp_path):  # a second build at once
        pass
    with pytest.raises(Busy) as busy:
        with held_alone(tmp_path):
            pass
    assert busy.value.alone is False  # "a build is using the cache"
    build.kill()  # kill -9: it cleans up nothing
    build.wait()
    with held_alone(tmp_path):
        pass
    assert not list((tmp_path / "holders").iterdir())


def test_a_build_waits_for_a_gc_to_finish_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gc = _holding("held_alone", tmp_path, after=str(tmp_path / "collected"))
    with pytest.raises(Busy) as busy:  # a second gc
        with held_alone(tmp_path):
            pass
    assert busy.value.alone is True
    with held_by_many(tmp_path):
        assert (tmp_path / "collected").read_text() == "done"
    gc.wait()
    assert f"waiting for {tmp_path}: another process has it to itself (remaster cache gc)" in caplog.messages


def test_a_gc_told_to_wait_waits_for_a_build_without_holding_back_its_steps(tmp_path: Path) -> None:
    """A gc given a ``waiting`` says so once and waits for the builds holding the store. Meanwhile each step of a
    build takes the store again inside the build's own hold, as each Dagster step does: a gc that kept the gate
    as it waited would hold that step back, and the build it waits for would never finish."""
    script = (f"import pathlib, sys; from pipeline.locks import held_by_many\n"
              f"folder = pathlib.Path({str(tmp_path)!r})\n"
              "with held_by_many(folder):\n"
              "    print('held', flush=True); sys.stdin.readline()\n"
              "    with held_by_many(folder):\n"
              "        (folder / 'step').write_text('done')\n")
    build = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    stdin, stdout = build.stdin, build.stdout
    assert stdin is not None and stdout is not None and stdout.readline() == "held\n"
    said: list[bool] = []
    collected: list[bool] = []

    def waiting(busy: Busy) -> None:
        said.append(busy.alone)
        stdin.write("its next step\n")
        stdin.flush()

    def gc() -> None:
        with held_alone(tmp_path, waiting):
            collected.append((tmp_path / "step").is_file())

    thread = threading.Thread(target=gc)
    thread.start()
    thread.join(timeout=120)  # only where the step was held back: the kill below lets the gc go on, to fail
    build.kill()
    thread.join()
    assert said == [False] and collected == [True]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o002, 0o077])
def test_lock_files_take_the_umask_s_permissions_so_a_group_sharing_a_cache_can_each_take_them(
    project: Path, cli, umask: int
) -> None:
    """Several users of one cache (a studio's share): a lock file one user's build made must be writable by the
    next user's, or that build fails with Permission denied. Under umask 002, the usual one for a shared folder,
    every lock file a build makes (the store's, its keys', hash-index-2.json.lock, the build folder's) is
    group-writable, and under umask 077 private, as the user asked: none is given a mode over the umask."""
    previous = os.umask(umask)
    try:
        assert cli(project, "build")[0] == 0
        with held_by_many(project / ".remaster" / "cache"):  # a build's own file, deleted once it lets go
            holders = list((project / ".remaster" / "cache" / "holders").iterdir())
            modes = {path.relative_to(project).as_posix(): path.stat().st_mode & 0o777 for path in holders}
    finally:
        os.umask(previous)
    locks = [path for path in project.rglob("*")
             if path.name == "lock" or path.name.endswith(".lock") or path.parent.name == "locks"]
    modes |= {path.relative_to(project).as_posix(): path.stat().st_mode & 0o777 for path in locks}
    assert {".remaster/cache/lock", ".remaster/cache/hash-index-2.json.lock", "build/.manifest.json.lock"} <= set(modes)
    assert len([name for name in modes if name.startswith(".remaster/cache/locks/")]) == 5  # a key's each
    assert len([name for name in modes if name.startswith(".remaster/cache/holders/")]) == 1
    assert {name: oct(mode) for name, mode in modes.items() if mode != 0o666 & ~umask} == {}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o002, 0o022])
def test_cache_files_take_the_umask_s_permissions_as_its_lock_files_do(project: Path, cli, umask: int) -> None:
    """The objects, entries and unit files of a cache a group shares (umask 002) are the group's to write, as its
    lock files are: every one was 0644 whatever the umask. Under the usual umask 022 they stay 0644."""
    previous = os.umask(umask)
    try:
        assert cli(project, "build")[0] == 0
    finally:
        os.umask(previous)
    cache = project / ".remaster" / "cache"
    stored = [path for folder in ("objects", "entries", "units") for path in (cache / folder).rglob("*")
              if path.is_file()]
    assert {path.parent.parent.name for path in stored} == {"objects", "entries"}
    assert {path.relative_to(cache).as_posix(): oct(path.stat().st_mode & 0o777) for path in stored
            if path.stat().st_mode & 0o777 != 0o666 & ~umask} == {}


def test_nothing_imports_fcntl_which_windows_lacks(tmp_path: Path) -> None:
    script = ("import sys; sys.modules['fcntl'] = None\n"
              "import pipeline.cli, pipeline.definitions\n")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("windows", [True, False])
def test_a_file_another_program_holds_open_is_replaced_once_it_lets_go_on_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, windows: bool
) -> None:
    import ops.atomic

    refusals = [PermissionError(13, "The process cannot access the file: it is being used by another process")]
    replaced = os.replace

    def viewer_open(source: str, destination: str) -> None:  # an image viewer has it open, then closes it
        if refusals:
            raise refusals.pop()
        replaced(source, destination)

    monkeypatch.setattr(ops.atomic, "SHARING_WAITS", (0.0, 0.0) if windows else ())
    monkeypatch.setattr(os, "replace", viewer_open)
    texture = tmp_path / "brick.png"
    texture.write_bytes(b"old")
    if windows:
        ops.atomic.write_bytes_atomic(texture, b"new")
        assert texture.read_bytes() == b"new"
    else:  # Linux never refuses for that reason: a refusal is the folder's permissions, said at once
        with pytest.raises(PermissionError):
            ops.atomic.write_bytes_atomic(texture, b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["brick.png"]


def test_without_proc_a_dead_or_reused_pid_is_told_from_a_live_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pipeline.processes as processes

    monkeypatch.setattr(processes, "PROC", tmp_path / "no-proc")  # Windows, macOS
    space, me = processes.process_space(), processes.this_process()
    assert space is not None and space.startswith("host ")
    assert processes.is_gone(space, me) is False
    pid = os.getpid()
    assert processes.is_gone(space, f"{pid}@1.000") is True  # its pid, taken by a later process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert processes.is_gone(space, f"{child.pid}@{me.partition('@')[2]}") is True
    assert processes.is_gone("host another-machine", me) is None


def test_a_holder_file_windows_will_not_delete_just_now_is_left_for_gc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unlink = Path.unlink

    def held_open_by_a_scan(path: Path, missing_ok: bool = False) -> None:
        if path.parent.name == "holders":
            raise PermissionError(32, "The process cannot access the file because it is being used by another process")
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", held_open_by_a_scan)
    with held_by_many(tmp_path):  # a build that succeeded must not fail on leaving
        pass
    monkeypatch.undo()
    with held_alone(tmp_path):  # the file left behind is unlocked: gc goes on and deletes it
        pass
    assert not list((tmp_path / "holders").iterdir())
