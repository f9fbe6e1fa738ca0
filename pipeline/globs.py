"""A source's globs: checked when the spec is read, and matched against paths when the source is scanned.

Both halves read braces alike (bracex, up to ``GLOB_ALTERNATIVES`` patterns), so a glob the spec takes is one
the scan can match.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from pathlib import PurePosixPath

import bracex

GLOB_ALTERNATIVES = 1000  # patterns a glob's braces may expand to (bracex's own limit): each file is matched against each
_GLOB_SEPARATOR = re.compile(r"(\\[{},\\])|\\")  # in a glob, one that escapes a brace, comma or backslash stays
_BRACED_SLASH = "\x00"  # a / inside braces, told apart from one after them
_WILDCARD = re.compile(r"[*?\[]")
_ESCAPED_WILDCARD = re.compile(r"\[[*?\[]\]")  # [*], [?] or [[]: the character itself, no wildcard
Segments = list[re.Pattern[str] | None]  # one per folder level of a glob; None for ``**`` (any number of folders)


def glob_problem(pattern: str, *, exclude: bool = False) -> str | None:
    """Why ``pattern``, a source's glob or (``exclude``) one of the globs it leaves out, cannot be matched as
    meant, or None where it can."""
    if not [part for part in pattern.strip().split("/") if part not in ("", ".")]:  # "", " ", ".", "./"
        return (f"{pattern!r} names the root, not files; for every file write **/*"
                + ("; to leave nothing out, remove it" if exclude else ""))
    if (stray := _unmatched_brace(pattern)) is not None:  # bracex reads it as a brace in a file name
        return f"{pattern!r} has {stray}; close it ({{png,tga}}), or write \\{{ or \\}} for a brace in a file name"
    try:
        expanded = bracex.expand(_slashes_in_braces_marked(pattern), limit=GLOB_ALTERNATIVES)
    except bracex.ExpansionLimitException:
        return f"its braces make more than {GLOB_ALTERNATIVES} patterns; use fewer alternatives or a wildcard"
    # ``{a,../b}/*.png`` and ``{a,/b}/*.png`` leave root too; ``{,old}/*.png`` (an empty alternative) does not.
    absolute = pattern.startswith("/") or any(path.startswith(_BRACED_SLASH) for path in expanded)
    if absolute or any(".." in PurePosixPath(path.replace(_BRACED_SLASH, "/")).parts for path in expanded):
        return f"{pattern!r} leaves root; a glob must stay inside it"
    return None


def with_slashes(pattern: str) -> str:
    """``pattern`` with a / for each backslash, save one that escapes a brace, a comma or a backslash
    (``\\{a,b\\}.png``), which stays."""
    return _GLOB_SEPARATOR.sub(lambda found: found.group(1) or "/", pattern)


def _unmatched_brace(pattern: str) -> str | None:
    """``a { that is never closed`` or ``a } that closes no {`` in glob ``pattern``, None where its braces pair
    up; a backslash escapes one. bracex reads an unpaired brace as part of a file name, so ``**/*.{png,tga``
    would match only files named so, and the source find none."""
    depth, escaped = 0, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return "a } that closes no {"
            depth -= 1
    return "a { that is never closed" if depth else None


def _slashes_in_braces_marked(pattern: str) -> str:
    """``pattern`` with each / inside braces as _BRACED_SLASH: an alternative that starts with one is an
    absolute path (``{a,/etc}``), where ``{,old}/`` only has an empty alternative before a folder's /."""
    depth, marked = 0, []
    for char in pattern:
        depth += (char == "{") - (char == "}" and depth > 0)
        marked.append(_BRACED_SLASH if char == "/" and depth else char)
    return "".join(marked)


class Glob:
    """A glob and the globs it leaves out, matched against a path's parts one folder level at a time, so that a
    scan enters only the folders that may hold a match: in any letter case (textures made on Windows have
    ``.PNG`` beside ``.png``) and whichever way an accent is encoded (macOS writes ``ä`` as a and a combining
    mark, a spec typed anywhere holds the one character), with braces for alternatives (``**/*.{png,tga}``), and,
    as .gitignore does, leaving out the whole of a folder that an exclude names (``wip``, ``**/old``; not
    ``walls/*``, whose ``*`` means the files in ``walls``)."""

    def __init__(self, pattern: str, exclude: tuple[str, ...] = ()) -> None:
        self.alternatives = _expanded(pattern)
        left_out = [expanded for glob in exclude for expanded in bracex.expand(glob, limit=GLOB_ALTERNATIVES)]
        self.excluded = [_segments(expanded) for expanded in left_out]
        self.named_folders = [_segments(expanded) for expanded in left_out if _names_a_folder(expanded)]
        unbounded = any(None in segments for segments in self.alternatives)
        self.deepest = None if unbounded else max(len(segments) for segments in self.alternatives) - 1  # no match below

    def matches(self, parts: tuple[str, ...]) -> bool:
        """Whether the file at path ``parts`` matches the glob, left out or not."""
        return any(_matches(_composed(parts), segments) for segments in self.alternatives)

    def takes(self, parts: tuple[str, ...]) -> bool:
        """Whether the file at path ``parts`` matches the glob and none of the globs it leaves out."""
        return self.matches(parts) and not any(_matches(_composed(parts), segments) for segments in self.excluded)

    def enters(self, parts: tuple[str, ...]) -> bool:
        """Whether the folder at path ``parts`` may hold files the glob takes: one the glob reaches into, and not
        one an exclude names."""
        parts = _composed(parts)
        return (any(_inside_match(parts, segments) for segments in self.alternatives)
                and not any(_matches(parts, segments) for segments in self.named_folders))

    def may_hold(self, parts: tuple[str, ...]) -> bool:
        """Whether a link to nowhere at path ``parts`` may have been a folder of files the glob takes: above the
        deepest level a match can be at, named as folders are (``shared``, not ``notes.txt``), and entered."""
        deep_enough = self.deepest is not None and len(parts) - 1 >= self.deepest
        return not deep_enough and not PurePosixPath(parts[-1]).suffix and self.enters(parts)


def _names_a_folder(pattern: str) -> bool:
    """Whether ``pattern``'s last part is a name, not a wildcard: ``wip`` and ``**/old`` name folders that an
    exclude leaves out whole, where ``walls/*`` means the files in ``walls``; ``old[[]1]`` too, whose brackets
    only escape a ``[`` (as ``remaster init`` writes a folder's name), naming the folder ``old[1]``."""
    parts = [part for part in pattern.split("/") if part not in ("", ".")]
    return bool(parts) and not _WILDCARD.search(_ESCAPED_WILDCARD.sub("", parts[-1]))


def _expanded(pattern: str) -> list[Segments]:
    """The ``_segments`` of each pattern ``pattern``'s braces expand to."""
    return [_segments(expanded) for expanded in bracex.expand(pattern, limit=GLOB_ALTERNATIVES)]


def _segments(pattern: str) -> Segments:
    """One regular expression per folder level of a glob, its accents composed as ``_composed`` composes a path's;
    None for ``**`` (any number of folders)."""
    return [re.compile(fnmatch.translate(s), re.IGNORECASE) if s != "**" else None
            for s in unicodedata.normalize("NFC", pattern).split("/") if s not in ("", ".")]


def _composed(parts: tuple[str, ...]) -> tuple[str, ...]:
    """``parts`` with each accent as one character (NFC), as a spec is typed: macOS names files with the letter and
    a combining mark, which a pattern typed with the one character would not match."""
    return tuple(unicodedata.normalize("NFC", part) for part in parts)


def _matches(parts: tuple[str, ...], segments: Segments) -> bool:
    """Whether path ``parts`` match glob ``segments`` (None for ``**``: any number of folders)."""
    if not segments:
        return not parts
    first, rest = segments[0], segments[1:]
    if first is None:
        if not rest:
            return bool(parts)  # a trailing ** takes every file below
        return any(_matches(parts[i:], rest) for i in range(len(parts)))
    return bool(parts) and first.match(parts[0]) is not None and _matches(parts[1:], rest)


def _inside_match(parts: tuple[str, ...], segments: Segments) -> bool:
    """Whether a folder at path ``parts`` could hold files that glob ``segments`` match."""
    if not parts:
        return bool(segments)
    if not segments:
        return False
    first, rest = segments[0], segments[1:]
    return first is None or (first.match(parts[0]) is not None and _inside_match(parts[1:], rest))
