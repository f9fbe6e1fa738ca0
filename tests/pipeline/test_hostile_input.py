"""A spec, a file name or a folder tree that a commit brings in must not drive the terminal or crash the scan."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg

from rich.progress import Progress

from helpers import REPO, UPSCALE_SPEC, start_remaster, write_spec, write_textures
from pipeline.cache import ContentStore
from pipeline.cli import _ProgressHandler, _Shown, shown
from pipeline.definitions import build_definitions
from pipeline.sources import FOLDER_DEPTH
from pipeline.spec import load_spec

CLEAR_AND_FAKE = "\x1b[2J\x1b]0;OWNED\x07\x1b[1;32m ALL GOOD \x1b[0m\u202e"


def test_control_characters_are_shown_as_escapes():
    """A line break and a zero-width space too: one split a message in two, the other printed as nothing."""
    assert shown(f"walls{CLEAR_AND_FAKE}\nnext\u200bline") == (
        "walls\\x1b[2J\\x1b]0;OWNED\\x07\\x1b[1;32m ALL GOOD \\x1b[0m\\u202e\\nnext\\u200bline")


def test_a_spec_value_with_an_escape_sequence_is_printed_as_text(tmp_path, cli):
    in_yaml = CLEAR_AND_FAKE.replace("\x1b", "\\e").replace("\x07", "\\a").replace("\u202e", "\\u202e")
    write_spec(tmp_path, UPSCALE_SPEC.replace("root: textures", f'root: "nothere{in_yaml}"'))
    code, output = cli(tmp_path, "build")
    assert "\x1b" not in output and "\u202e" not in output, output
    assert "nothere\\x1b[2J" in output, output


def test_cache_gc_prints_a_spec_value_with_an_escape_sequence_as_text(tmp_path):
    """gc scans the sources (it keeps the hashes under a root with no files, a share not mounted), and set up no
    log of its own: Python's last-resort handler printed the scan's warning of that root as it was, so a root
    that holds an escape sequence cleared a nightly job's terminal. A process of its own, as logging is set up
    under pytest."""
    in_yaml = CLEAR_AND_FAKE.replace("\x1b", "\\e").replace("\x07", "\\a").replace("\u202e", "\\u202e")
    write_spec(tmp_path, UPSCALE_SPEC.replace("root: textures", f'root: "nothere{in_yaml}"'))
    ContentStore(tmp_path / ".remaster" / "cache")  # a cache to collect: gc on none looks at no source
    gc = start_remaster(tmp_path, "cache", "gc")
    output = gc.communicate(timeout=300)[0]
    assert gc.returncode == 0 and "\x1b" not in output and "\u202e" not in output, output
    assert "warning" in output and "nothere\\x1b[2J" in output, output


def test_a_link_whose_target_holds_an_escape_sequence_is_printed_as_text(project, cli):
    os.symlink(f"/mnt/share{CLEAR_AND_FAKE}", project / "textures" / "walls" / "shared")
    code, output = cli(project, "build")
    assert code == 1 and "\x1b" not in output, output
    assert "walls/shared -> /mnt/share\\x1b[2J" in output, output


def test_log_records_are_shown_with_escapes():
    record = logging.LogRecord("pipeline.sources", logging.WARNING, __file__, 1, "skipped %s", (CLEAR_AND_FAKE,), None)
    assert _Shown().filter(record) and record.getMessage() == "skipped \\x1b[2J\\x1b]0;OWNED\\x07" + (
        "\\x1b[1;32m ALL GOOD \\x1b[0m\\u202e")


def test_a_folder_tree_deeper_than_the_scan_reads_is_said_not_crashed_on(tmp_path, cli):
    """Python's folder walk recurses: a tree 1,100 deep raised RecursionError out of every command."""
    write_textures(tmp_path / "textures", 2)
    folders = [tmp_path / "textures" / "a"]
    for _ in range(1099):  # mkdir(parents=True) recurses too, as does rmtree
        folders.append(folders[-1] / "a")
    for folder in folders:
        folder.mkdir()
    write_spec(tmp_path, UPSCALE_SPEC)
    try:
        code, output = cli(tmp_path, "build")
    finally:
        for folder in reversed(folders):
            folder.rmdir()
    assert code == 1, output
    assert "/".join(["a"] * FOLDER_DEPTH) in output.replace("\n", ""), output
    assert f"more than {FOLDER_DEPTH} levels below" in output, output


def test_the_cli_shows_escapes_in_its_log_lines():
    """Under pytest logging is set up already, so the CLI's handler is tried in a process of its own."""
    script = ("import logging; from pipeline.cli import _log_to_stderr; _log_to_stderr(); "
              f"logging.getLogger('pipeline.sources').warning({CLEAR_AND_FAKE!r})")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stderr == f"warning {shown(CLEAR_AND_FAKE)}\n"


def test_status_shows_escapes_in_an_asset_name_a_manifest_brought(project, cli):
    assert cli(project, "build")[0] == 0
    manifest = project / "build" / "manifest.json"
    record = json.loads(manifest.read_text())
    record["entries"].append({**record["entries"][0], "asset": f"gone{CLEAR_AND_FAKE}"})
    manifest.write_text(json.dumps(record))
    code, output = cli(project, "status")
    assert "\x1b" not in output and "gone\\x1b[2J" in output.replace("\n", ""), output


def test_progress_bars_show_escapes_in_a_file_name():
    progress = Progress()
    handler = _ProgressHandler(progress)
    record = logging.LogRecord("remaster.progress", logging.INFO, __file__, 1, "", (), None)
    record.task, record.done, record.total, record.note = "multiply [r\u202egnp.exe.png]", 0, 2, "\x1b[2J"
    handler.emit(record)
    [task] = progress.tasks
    assert (task.description, task.fields["note"]) == ("multiply [r\\u202egnp.exe.png]", "\\x1b[2J")


SPECIAL_FILES_SKIPPED = ("source 'legacy': skipping walls/dev.png (a link to the device /dev/zero), walls/pipe.png "
                         "(a pipe), walls/sock.png (a socket): not a regular file, which no command reads (a pipe "
                         "waits for a writer, a device may never end); delete them, or add them to exclude")


def _special_files(walls: Path) -> socket.socket:
    """A pipe, a socket, a link to /dev/zero and a folder, each named like a texture in ``walls``; returns the
    socket, to close."""
    os.mkfifo(walls / "pipe.png")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(walls / "sock.png"))
    os.symlink("/dev/zero", walls / "dev.png")
    (walls / "dir.png").mkdir()
    return listener


def test_every_command_leaves_out_special_files_named_like_textures_and_says_which_in_one_line(project):
    """A pipe named like a texture made init wait for a writer without end, and a link to /dev/zero reads without
    end: the scan leaves out what is no regular file, and each command that scans says which, in one line. A
    folder named like one is a folder, walked, not named. Each command in a process of its own, with a timeout:
    one that opened the pipe would otherwise hang the test."""
    listener = _special_files(project / "textures" / "walls")
    outputs = {}
    try:
        for command in (("validate",), ("status",), ("build", "--device", "cpu"), ("cache", "gc")):
            process = start_remaster(project, *command)
            outputs[command[0]] = (process.communicate(timeout=300)[0], process.returncode)
    finally:
        listener.close()
    for command, (output, code) in outputs.items():
        said = [line for line in output.replace("\n ", " ").splitlines() if "not a regular file" in line]
        assert len(said) == 1 and said[0].endswith(SPECIAL_FILES_SKIPPED), (command, output)
        assert "dir.png" not in output, (command, output)
    assert outputs["build"][1] == 1 and "│ legacy_2x │ 5" in outputs["build"][0], outputs["build"][0]
    entries = json.loads((project / "build" / "manifest.json").read_text())["entries"]
    assert sorted(entry["partition"] for entry in entries) == [f"{folder}/tex00{index}.png" for folder, index in (
        ("floors", 0), ("floors", 2), ("floors", 4), ("walls", 1), ("walls", 3))]


def test_the_file_sensor_leaves_out_special_files_named_like_textures_and_says_which(project, caplog):
    """The sensor scans as the commands do: the five textures are its partitions, and the pipe, socket and link to
    a device are said in its tick's log, not read. In a thread joined with a timeout: a tick that opened the pipe
    would otherwise hang the test."""
    listener = _special_files(project / "textures" / "walls")
    sensor = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_sensor_def("legacy_files")
    ticks = []
    try:
        with dg.instance_for_test() as instance, caplog.at_level(logging.WARNING):
            (tick := threading.Thread(target=lambda: ticks.append(sensor(dg.build_sensor_context(instance=instance))),
                                      daemon=True)).start()
            tick.join(timeout=300)
    finally:
        listener.close()
    [result] = ticks
    [add] = result.dynamic_partitions_requests
    assert sorted(add.partition_keys) == ["floors/tex000.png", "floors/tex002.png", "floors/tex004.png",
                                          "walls/tex001.png", "walls/tex003.png"]
    said = [record.getMessage() for record in caplog.records if "not a regular file" in record.getMessage()]
    assert said and all(message.endswith(SPECIAL_FILES_SKIPPED) for message in said), said
