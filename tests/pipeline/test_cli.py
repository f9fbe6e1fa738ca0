"""The remaster command's own output: its tables as a CI log keeps them."""

from __future__ import annotations

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
