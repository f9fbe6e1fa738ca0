"""A spec, a file name or a folder tree that a commit brings in must not drive the terminal or crash the scan."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from helpers import UPSCALE_SPEC, write_spec, write_textures
from pipeline.cli import _Shown, shown
from pipeline.sources import FOLDER_DEPTH

CLEAR_AND_FAKE = "\x1b[2J\x1b]0;OWNED\x07\x1b[1;32m ALL GOOD \x1b[0m\u202e"


def test_control_characters_are_shown_as_escapes():
    assert shown(f"walls{CLEAR_AND_FAKE}\nnext line") == (
        "walls\\x1b[2J\\x1b]0;OWNED\\x07\\x1b[1;32m ALL GOOD \\x1b[0m\\u202e\nnext line")


def test_a_spec_value_with_an_escape_sequence_is_printed_as_text(tmp_path, cli):
    in_yaml = CLEAR_AND_FAKE.replace("\x1b", "\\e").replace("\x07", "\\a").replace("\u202e", "\\u202e")
    write_spec(tmp_path, UPSCALE_SPEC.replace("root: textures", f'root: "nothere{in_yaml}"'))
    code, output = cli(tmp_path, "build")
    assert "\x1b" not in output and "\u202e" not in output, output
    assert "nothere\\x1b[2J" in output, output


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
