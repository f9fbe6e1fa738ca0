"""The remaster command's own output: its tables as a CI log keeps them."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from helpers import CHAIN_SPEC, UPSCALE_SPEC, write_spec


def _table_lines(output: str) -> list[str]:
    """The lines of the tables in ``output``: their borders and rows."""
    return [line for line in output.splitlines() if line[:1] in "┏┃┡│└"]


@pytest.mark.parametrize("width", [None, "40"])  # a CI log's one line a row, and a width COLUMNS gives
def test_the_tables_in_a_ci_log_end_no_line_with_spaces_and_still_line_up(project, cli, monkeypatch, width):
    """The title's line was padded with spaces to the table's width, which a CI log kept."""
    from pipeline.cli import out

    monkeypatch.setenv("CI", "true")
    if width is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", width)
        monkeypatch.setattr(out, "_width", int(width))  # the console reads COLUMNS as pipeline.cli is imported
    write_spec(project, CHAIN_SPEC)
    for command in ("status", "build"):
        code, output = cli(project, command)
        tables = _table_lines(output)
        assert code == 0 and tables, output
        assert [line for line in output.splitlines() if line.endswith(" ")] == [], output
        assert len({len(line) for line in tables}) == 1, output  # every border and row as wide
        if width is not None:
            assert len(tables[0]) <= int(width), output  # folded to it


def _assets_listed(output: str) -> list[str]:
    """The assets a table's rows name, in their order, each once."""
    return list(dict.fromkeys(line.split("│")[1].strip() for line in _table_lines(output) if line.startswith("│")))


def test_the_status_and_build_tables_list_assets_in_the_spec_s_order(project, cli, monkeypatch):
    """The build table listed its assets by name, the status table in build order (what each is built from
    first): an asset was on another line in each, and in neither where the spec has it."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("COLUMNS", raising=False)
    write_spec(project, """
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  sharp: {op: upscale, from: soft, scale: 2}
  soft: {op: upscale, from: legacy, scale: 2}
  big: {op: upscale, from: legacy, scale: 2, filter: lanczos}
""")
    listed = [_assets_listed(cli(project, command)[1]) for command in ("status", "build")]
    assert listed == [["sharp", "soft", "big"]] * 2


def test_validate_checks_the_spec_s_device_without_importing_the_build(project):
    """validate imported the build's modules (``pipeline.runs``, with Dagster's definitions) only to ask whether
    this machine has the spec's CUDA device. Dagster itself it still imports, through the spec's own checks of a
    schedule and of names, which ask Dagster's rules."""
    write_spec(project, "device: cuda\n" + UPSCALE_SPEC)
    probe = ("import sys\nimport torch\ntorch.cuda.is_available = lambda: False\nfrom pipeline.cli import main\n"
             "sys.argv = ['remaster', 'validate']\ntry:\n    main()\nexcept SystemExit as exit:\n    said = exit.code\n"
             "assert 'pipeline.runs' not in sys.modules, 'imported'\nsys.exit(said)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True, text=True)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0 and "imported" not in said, said
    assert "device: cuda: no CUDA GPU is available; build here exits 2 unless given --device cpu" in said, said


def test_progress_lines_say_how_long_their_task_took_and_has_left():
    """A CI log's progress lines said how far a training was, and not whether the job would end in time."""
    from pipeline.progress import ProgressLines, handled, progress_log, report_progress

    now = [100.0]
    said: list[str] = []
    lines = ProgressLines(said.append, clock=lambda: now[0])
    lines.interval = 0.0  # a line per update instead of per 30 s
    with handled(progress_log, lines, propagate=False):
        for at, task, done, total, note in [(100, "sr2x [model]", 0, 40, ""), (110, "sr2x [model]", 10, 40, "loss 0.5"),
                                            (150, "sr2x [model]", 40, 40, ""),
                                            (160, "sr4x [model]", 250, 300, "resumed from a checkpoint at step 250"),
                                            (170, "sr4x [model]", 260, 300, "")]:
            now[0] = at
            report_progress(task, done, total, note)
    assert said == ["sr2x [model] 0/40 (0:00:00 elapsed)",
                    "sr2x [model] 10/40 loss 0.5 (0:00:10 elapsed, 0:00:30 left)",
                    "sr2x [model] 40/40 (0:00:50 elapsed)",
                    "sr4x [model] 250/300 resumed from a checkpoint at step 250 (0:00:00 elapsed)",
                    "sr4x [model] 260/300 (0:00:10 elapsed, 0:00:40 left)"]  # at its pace since it resumed


def test_progress_lines_say_the_end_of_a_task_that_was_said_or_took_an_interval():
    """A CI log showed a training at step 1500 of 3000 and not its last step's loss, which came under 30 s after;
    nor an asset's last partition, whose line a texture's tiles had taken. A short task never said (a texture's
    tiles) is not said at its end either: the log would get a line per texture."""
    from pipeline.progress import ProgressLines, handled, progress_log, report_progress

    now = [0.0]
    said: list[str] = []
    with handled(progress_log, ProgressLines(said.append, clock=lambda: now[0]), propagate=False):  # every 30 s
        for at, task, done, total, note in [(10, "sr2x [model]", 0, 3000, ""), (40, "sr2x [model]", 1500, 3000, ""),
                                            (50, "sr2x [model]", 3000, 3000, "loss 0.01"),
                                            (51, "legacy_sr [a.png]", 0, 4, ""), (52, "legacy_sr [a.png]", 4, 4, ""),
                                            (53, "legacy_sr", 0, 2, ""), (81, "legacy_sr [b.png]", 0, 4, ""),
                                            (82, "legacy_sr [b.png]", 4, 4, ""), (90, "legacy_sr", 2, 2, "")]:
            now[0] = at
            report_progress(task, done, total, note)
    assert said == ["sr2x [model] 1500/3000 (0:00:30 elapsed, 0:00:30 left)",
                    "sr2x [model] 3000/3000 loss 0.01 (0:00:40 elapsed)",
                    "legacy_sr [b.png] 0/4 (0:00:00 elapsed)", "legacy_sr [b.png] 4/4 (0:00:01 elapsed)",
                    "legacy_sr 2/2 (0:00:37 elapsed)"], said


def test_a_ci_log_s_build_progress_gives_its_times(project, cli, monkeypatch):
    from pipeline.progress import ProgressLines

    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    code, output = cli(project, "build")
    assert code == 0 and re.search(r"^legacy_2x 3/5 \(\d+:\d\d:\d\d elapsed, \d+:\d\d:\d\d left\)$", output, re.M), output


def test_a_bar_says_how_long_it_has_left_once_its_pace_is_known():
    """A training's bar on a terminal said how far it was and how long it had taken, not when it would end."""
    from rich.progress import Progress

    from pipeline.cli import _TimeLeft

    now = [0.0]
    progress = Progress(get_time=lambda: now[0])
    task = progress.add_task("sr2x [model]", total=40)
    said = [str(_TimeLeft().render(progress.tasks[0]))]  # no pace yet
    for now[0], done in [(5.0, 5), (10.0, 10), (20.0, 40)]:
        progress.update(task, completed=done)
        said.append(str(_TimeLeft().render(progress.tasks[0])))
    assert said == ["", "", "0:00:30 left", ""]  # none once done


HIDDEN_NAMES = {"new\nline": "new\\nline", "t\tab": "t\\tab", "r\u202egnp": "r\\u202egnp", "z\u200bw": "z\\u200bw"}


def test_build_and_status_print_names_with_line_breaks_and_invisible_characters_one_line_each(tmp_path, cli,
                                                                                              monkeypatch):
    """A name with a line break split a line in two (a CI log read two entries), and a zero-width space
    printed as nothing, where init already wrote them as escapes: every line printed is whole, its names
    escaped. The project's own folder has a line break (every spec path and the manifest line name it);
    each texture folder a character not drawn, its texture unreadable so that a failed line names it."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("COLUMNS", raising=False)  # a width given folds the table's rows, names and all
    project = tmp_path / "my\nproject"
    for name in HIDDEN_NAMES:
        (project / "textures" / name).mkdir(parents=True)
        (project / "textures" / name / "wall.png").write_bytes(b"not a png")
    write_spec(project, UPSCALE_SPEC)
    build_code, built = cli(project, "build")
    status_code, status = cli(project, "status")
    assert (build_code, status_code) == (1, 0), built + status
    for output in (built, status):
        assert not re.search("[\t\u200b\u202e]", output), output
        named = [line for line in output.splitlines() if "my\\nproject/" in line]
        assert named and all(line.rstrip(" │").endswith(("formats.", "rename it", ".json")) for line in named), output
    lines = built.splitlines()
    assert len(lines) == 11 and [line.split(" ")[0] for line in lines[6:]] == ["failed"] * 2 + ["not"] * 2 + [
        "manifest:"], built  # the title, the table's 5 lines, 2 failed, 2 not built, the manifest
    assert lines[-1] == f"manifest: {tmp_path}/my\\nproject/build/manifest.json", built
    assert sum(line.startswith("│ legacy_2x") for line in status.splitlines()) == 2, status
    code, as_json = cli(project, "status", "--json")
    partitions = [row["partition"] for row in json.loads(as_json)["stale"]]
    assert partitions == ["r\u202egnp/wall.png", "z\u200bw/wall.png"], as_json  # JSON keeps names as they are
    for output in (built, status):  # each name on one line, which says it all
        assert [sum(f"{escaped}/wall.png" in line for line in output.splitlines())
                for escaped in HIDDEN_NAMES.values()] == [1, 1, 1, 1], output
