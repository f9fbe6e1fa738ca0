"""How a message says a count: ``1 file``, ``3 files``, never ``1 files`` nor ``file(s)``; many names,
``a, b, c and 4 more``; and a name that is not UTF-8, ``caf\ufffd``."""

from __future__ import annotations

from collections.abc import Sequence


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, in the plural (``noun`` + s, or ``plural`` where that misspells it: entry,
    entries; or where words after the noun change with it: file that is gone, files that are gone) unless one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def some(names: Sequence[str], shown: int = 3) -> str:
    """The first ``shown`` of ``names``, and how many more: a line that stands for thousands of files names a few,
    and every such line says the rest alike."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def spelled(text: str) -> str:
    """``text`` with the bytes of a name in another encoding (an old archive's Latin-1, which Python keeps as
    surrogates) shown as \ufffd: a message holding the surrogates themselves cannot be written as UTF-8, to a log,
    a terminal or Dagster's storage."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
