"""How a message says a count: ``1 file``, ``3 files``, never ``1 files`` nor ``file(s)``."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, in the plural (``noun`` + s, or ``plural`` where that misspells it: entry,
    entries; or where words after the noun change with it: file that is gone, files that are gone) unless one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
