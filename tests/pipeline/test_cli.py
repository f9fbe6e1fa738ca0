"""The remaster command's own output: its tables as a CI log keeps them."""

from __future__ import annotations

import pytest

from helpers import CHAIN_SPEC, write_spec


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
