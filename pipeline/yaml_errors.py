"""PyYAML's syntax errors told as a texture artist would look for them: at the line to fix, in plain words.

PyYAML notices a quote or bracket left open only where the file ends or the next quote is, and names
the tokens it expected (``<block end>``, ``'<stream end>'``); the slip is where the construct started.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Collection
from pathlib import Path

import yaml

from pipeline.words import counted

_UNCLOSED = (  # PyYAML's contexts for a construct left open: the line to fix is where it starts
    "while scanning a quoted scalar", "while scanning a simple key", "while parsing a flow mapping",
    "while parsing a flow sequence",
)


class LineIndex:
    """Lines of a text as an editor counts them (LF, CRLF or an old Mac's CR), by offset: PyYAML's own marks
    also break lines at U+0085, U+2028 and U+2029, which editors show inside a line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in re.finditer(r"\r\n|\r|\n", text)]

    def line(self, index: int) -> int:
        """The 1-based line of the character at ``index``."""
        return bisect.bisect_right(self.starts, index)

    def of(self, mark: yaml.Mark) -> int:
        return self.line(mark.index)

    def text_of(self, line: int) -> str:
        """Line ``line`` (1-based) without its line break, nor the byte-order mark an editor may write before the
        first line (YAML skips it), which would be taken for the line's first character, and its indent 0."""
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[self.starts[line - 1] : end].rstrip("\r\n").removeprefix("\ufeff")


def yaml_problem(exc: yaml.YAMLError, text: str, path: Path, top_keys: Collection[str] = ()) -> str:
    """One line: ``path:line: not valid YAML: ...``, at the start of a quote, bracket or key left open, else
    where PyYAML noticed the slip (a bad indent, a duplicate anchor), naming the other line where it gives one.
    ``top_keys`` are the file's own top-level keys (the spec's ``assets``), right at the start of their lines."""
    lines = LineIndex(text)
    if isinstance(exc, yaml.reader.ReaderError):  # a control character, pasted in with the text
        return (f"{path}:{lines.line(exc.position)}: not valid YAML: an invisible control character (U+{exc.character:04X}) is on "
                "this line; delete it")
    noticed, started = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    context = getattr(exc, "context", None)
    if noticed is not None and (plain := _in_words(getattr(exc, "problem", None) or "", context or "", lines)):
        return f"{path}:{lines.of(noticed)}: not valid YAML: {plain}"
    if noticed is not None and getattr(exc, "problem", None) == "mapping values are not allowed here":
        if (slip := _key_slip(lines, lines.of(noticed))) is not None:
            return f"{path}:{slip[0]}: not valid YAML: {slip[1]}"
    if noticed is not None and (getattr(exc, "problem", None) or "").startswith("expected '<document start>'"):
        if (shifted := _indented_start(lines, lines.of(noticed))) is not None:
            return f"{path}:{shifted[0]}: not valid YAML: {shifted[1]}"
    problem = _with_hint(getattr(exc, "problem", None) or str(exc), context or "", text)
    if noticed is None:
        return f"{path}: not valid YAML: {problem}"
    if started is None or not context:
        return f"{path}:{lines.of(noticed)}: not valid YAML: {problem}"
    line, message = _explained(context, problem, lines.of(started), lines.of(noticed), lines, noticed, top_keys)
    return f"{path}:{line}: not valid YAML: {message}"


_UNDEFINED_ALIAS = re.compile(r"found undefined alias '(.+)'")
_ANCHOR = re.compile(r"&([^\s,\[\]{}]+)")  # as an anchor is written: up to a space, a comma or a bracket
_QUOTES = 'a value starting with *, @ or ` needs quotes: glob: "*.png", schedule: "*/15 * * * *"'


def _in_words(problem: str, context: str, lines: LineIndex) -> str | None:
    """The slip, for those PyYAML tells in its scanner's words alone (``while scanning an alias, expected
    alphabetic or numeric character``, ``found character '\\t' that cannot start any token``); None for others."""
    if context == "while scanning an alias" or "'@'" in problem or "'`'" in problem:  # glob: *.png, schedule: @daily
        return _QUOTES
    if (alias := _UNDEFINED_ALIAS.fullmatch(problem)) and not _anchored(alias[1], lines.text):  # glob: *png, *varaints
        name = alias[1]
        return f"YAML reads *{name} as an alias, and no anchor &{name} is in the file; {_alias_fix(name, lines)}"
    if "'\\t'" in problem:
        return "this line has a tab where YAML reads an indent or a value, and YAML takes spaces only: use spaces, not tabs"
    return None


def _with_hint(problem: str, context: str, text: str) -> str:
    if (alias := _UNDEFINED_ALIAS.fullmatch(problem)) and _anchored(alias[1], text):  # `up2: *enlarge` above `&enlarge`
        return problem + (f" (its anchor &{alias[1]} is on a later line: YAML reads an anchor only above its aliases, "
                          f"so move the entry with &{alias[1]} above this line)")
    if problem == "mapping values are not allowed here":  # `legacy` then `  kind: ...`, `root: a: b`, or an indent
        return problem + (" (a key on or above this line is missing its colon, this line is indented deeper than "
                          "the key above it, or a value with ': ' in it needs quotes)")
    if "escape" in problem:  # "C:\Users\..." in double quotes
        return problem + r" (in double quotes a \ starts an escape: write paths with / or in single quotes)"
    return problem


def _alias_fix(name: str, lines: LineIndex) -> str:
    """How to fix an alias ``*name`` that no anchor gives: the anchor of the file spelt closest to it, with its line
    (``<<: *varaints`` for ``&variants``), which quoting would not fix (the entry would lose its settings); else
    quotes, for a value that was never meant as an alias (``glob: *png``)."""
    anchors: dict[str, int] = {}
    for found in _ANCHOR.finditer(lines.text):
        anchors.setdefault(found[1], lines.line(found.start()))
    close = difflib.get_close_matches(name, list(anchors), n=1)
    if close:
        return f"did you mean *{close[0]}? (the anchor &{close[0]} is on line {anchors[close[0]]})"
    return _QUOTES


def _anchored(name: str, text: str) -> bool:
    """Whether ``text`` gives the anchor ``&name`` somewhere: an alias of it that YAML calls undefined stands above
    it, where quotes (the hint for ``glob: *.png``) would make the entry a string."""
    return re.search(rf"&{re.escape(name)}(?=[\s,\]}}]|$)", text) is not None


def _explained(
    context: str, problem: str, started: int, noticed: int, lines: LineIndex, mark: yaml.Mark,
    top_keys: Collection[str],
) -> tuple[int, str]:
    """The line to report and the message, in plain words for the slips artists make most."""
    at_end = mark.index >= len(lines.text.rstrip())
    if context == "while scanning a quoted scalar" and at_end:
        return started, f"a quote opened at line {started} is never closed"
    if context == "while scanning a simple key":
        return started, f"line {started} has a key without its ':' (or a value without its key)"
    if context == "while parsing a flow node" and "<stream end>" in problem and (left := _left_open(lines)):
        bracket, opened = left  # PyYAML marks the end of the file, where it looked for the next entry
        return opened, f"the {bracket} opened at line {opened} is never closed"
    if context.startswith("while parsing a flow"):
        bracket = "{" if "mapping" in context else "["
        opening = f"the {bracket} opened at line {started}"
        if "<stream end>" in problem:
            return started, f"{opening} is never closed"
        if started != noticed and indent_of(lines.text_of(noticed)) <= indent_of(lines.text_of(started)):
            return started, f"{opening} is not closed before line {noticed} ({problem})"
        if started != noticed:  # inside the brackets: a comma missing, most likely
            return noticed, f"{problem} at line {noticed}, inside {opening} (a ',' missing?)"
        if "expected ','" in problem:  # {kind: textures root: t}
            return noticed, (f"inside the {bracket} on this line, a ',' is missing between two entries ({problem}), "
                             "or a value with ': ' in it needs quotes")
    if context == "while parsing a block collection" and problem == "expected <block end>, but found '?'":
        return noticed, _key_in_a_list(lines, started, noticed)
    if context == "while parsing a block mapping" and problem.startswith("expected <block end>"):
        quote_line = _quote_closed_late(lines, mark)
        if quote_line:
            return quote_line, (f"the quote opened at line {quote_line} is closed only at line {noticed}; "
                                "close it on its own line")
        if (closing := lines.text[mark.index : mark.index + 1]) in ("]", "}"):  # `legacy: {kind: textures}}`
            return noticed, f"line {noticed} has a {closing} that closes no bracket; delete it"
        if closing == ":":  # `: {op: upscale}`, the name deleted: no block above holds it, and none has its indent
            return noticed, f"line {noticed} has a ':' with no name before it: write the key's name before the ':'"
        if mark.index - lines.starts[noticed - 1] > indent_of(lines.text_of(noticed)):  # `root: "textures"/legacy`
            return noticed, f"line {noticed} has more after its value; put the whole value in quotes"
        if (outdented := _left_of_its_neighbours(lines, noticed, top_keys)) is not None:
            return outdented, _outdented_fix(lines, outdented, noticed)
        return _indent_fix(lines, noticed, top_keys)
    line = started if context.startswith(_UNCLOSED) else noticed
    if started == noticed:
        return line, f"{context}, {problem}"
    where = "the end of the file" if at_end else f"line {noticed}"
    return line, f"{context} at line {started}, {problem} at {where}"


def _indented_start(lines: LineIndex, noticed: int) -> tuple[int, str] | None:
    """The spec's first lines and their fix, where they are indented more than line ``noticed``, which PyYAML
    took for a second document ("expected '<document start>'"): YAML takes the first line's indent for the top
    level, so the slip is above ``noticed``, in lines indented alike from the first: those of a spec whose top
    level (``noticed``'s) is at the start of its lines, or a section (``assets:``) above its indented entries.
    None for any other slip."""
    first, last = _content_line(lines, 0, 1), _content_line(lines, noticed, -1)
    if first is None or last is None:
        return None
    shift = indent_of(lines.text_of(first))
    if _slipped_section(lines, first, last, noticed):
        return first, (f"line {first} is indented {counted(shift, 'space')}: move it to the start of its line, "
                       "its entries indented below it")
    if indent_of(lines.text_of(noticed)):
        return None
    content = [line for line in range(first, noticed) if _is_content(lines.text_of(line))]
    if shift <= 0 or any(indent_of(lines.text_of(line)) < shift for line in content):
        return None
    if first == last:
        return first, (f"line {first} is indented {counted(shift, 'space')}, unlike the lines below it: move it "
                       f"to the start of its line, as line {noticed}")
    return first, (f"lines {first} to {last} are indented {counted(shift, 'space')} more than line {noticed}, "
                   f"and YAML takes the first line's indent for the whole spec: take {counted(shift, 'space')} "
                   "off each of them")


def _slipped_section(lines: LineIndex, first: int, last: int, noticed: int) -> bool:
    """Whether line ``first``, the spec's first, is a section (``models:``) that slipped in alone: the one line
    above ``noticed``, or one with its entries beside it, at its indent, where its own are indented below it.
    Told to take the indent off it and its entries, the artist moved each entry to the start of its line."""
    if not _SECTION.match(lines.text_of(first)):
        return False
    if indent_of(lines.text_of(noticed)):
        return first == last
    below = _content_line(lines, first, 1)
    return below not in (None, noticed) and indent_of(lines.text_of(below)) == indent_of(lines.text_of(first))


def _key_in_a_list(lines: LineIndex, started: int, noticed: int) -> str:
    """Why line ``noticed``, a key indented as the list entries that start at line ``started``, is refused, with
    both fixes: ending the list (the key is its owner's sibling, indented as the owner's line) or adding to it."""
    owner = _content_line(lines, started, -1)
    end = ("" if owner is None else
           f"if it ends the list, {indented(indent_of(lines.text_of(owner)))}, as line {owner}; ")
    return (f"line {noticed} is a key among the list entries ('-') above it, which YAML cannot mix: {end}if it is "
            "one more entry, start it with '- '")


def _without_colon(lines: LineIndex, line: int) -> str | None:
    """What to write where line ``line`` is a name without its colon (``legacy`` above its keys); None otherwise."""
    key = lines.text_of(line).strip()
    return f"line {line} has a key without its ':' (write {key}:)" if re.fullmatch(r"\w[\w .-]*", key) else None


def _key_slip(lines: LineIndex, line: int) -> tuple[int, str] | None:
    """Which slip made line ``line`` a key where none may be, with the line to fix, where the line above tells:
    a name without its colon above it (``legacy`` then ``kind: textures``), or this line indented deeper than a
    key that has its value, unless that key is the first entry of the key above it, slipped out to its indent. None
    where it does not tell (``root: a: b``, a value with ': ' in it). A comment
    between them is passed over: taken for the key, it was told to take a colon."""
    above = _content_line(lines, line, -1)
    if above is None or indent_of(lines.text_of(line)) <= indent_of(lines.text_of(above)):
        return None
    if (said := _without_colon(lines, above)) is not None:
        return above, said
    if not lines.text_of(above).strip().endswith(":"):
        if (emptied := _content_line(lines, above, -1)) is not None and _holds_below(lines, emptied, above):
            return above, (f"line {above} is indented as line {emptied}, whose key holds its entries on the lines "
                           f"below it: {indented(indent_of(lines.text_of(line)))}, as line {line}")
        return line, (f"line {line} is indented deeper than the key above it: "
                      f"{indented(indent_of(lines.text_of(above)))}, as line {above}")
    return None


def _holds_below(lines: LineIndex, key: int, first: int) -> bool:
    """Whether line ``key`` is a key with nothing after its ':' (``legacy:``) and line ``first`` below it is at its
    indent: the key's first entry slipped out to it (``  kind: textures`` under ``  legacy:``), the entries below
    it right. Told to indent the next line as the slipped one, the artist took each line below out in turn."""
    return (_SECTION.match(lines.text_of(key)) is not None
            and indent_of(lines.text_of(key)) == indent_of(lines.text_of(first)))


def _left_of_its_neighbours(lines: LineIndex, noticed: int, top_keys: Collection[str]) -> int | None:
    """The line above ``noticed`` that is indented less than both the line before it and ``noticed``, which are
    indented alike: an entry moved to the start of its line among indented ones. YAML reads it as a key of the
    block outside, and notices the slip only at the next line, which is right where it stands, so the message
    named the one line not to change. At the start of its line, the line before it may be deeper (the last key of
    an entry written as a block): told to move ``noticed`` out to the start of its line too, the artist got two
    unknown keys. Not a line of one of ``top_keys`` (``assets: {}`` above an indented entry), which is where it
    belongs: indenting it was no fix."""
    outdented = _content_line(lines, noticed, -1)
    if outdented is None or (before := _content_line(lines, outdented, -1)) is None:
        return None
    if lines.text_of(outdented).split(":")[0].strip() in top_keys:
        return None
    out_at, at, before_at = (indent_of(lines.text_of(line)) for line in (outdented, noticed, before))
    return outdented if out_at < at <= before_at and (at == before_at or out_at == 0) else None


def _outdented_fix(lines: LineIndex, outdented: int, noticed: int) -> str:
    """What to do with line ``outdented``, an entry at the start of its line among the indented entries around it
    (``noticed`` the one below): indent it as they are, in spaces as every indent fix says ('as they are' left
    the artist to count them), unless one of them has its name, which indenting would give twice; then it is a
    duplicate of that entry (a line copied and moved out of its place), and one is to go."""
    said = f"line {outdented} is indented less than the lines above and below it"
    key = _key_of(lines.text_of(outdented))
    twin = next((line for line in _siblings(lines, outdented, noticed) if key and _key_of(lines.text_of(line)) == key),
                None)
    if twin is None:
        return f"{said}: {indented(indent_of(lines.text_of(noticed)))}, as line {noticed}"
    return (f"{said}, and is a duplicate of the entry {key} at line {twin}: delete one of the two (indented as they "
            f"are, it would give {key} twice)")


def _siblings(lines: LineIndex, outdented: int, noticed: int) -> list[int]:
    """The lines of the block that line ``outdented`` stands in the middle of, at the indent of line ``noticed``
    below it: those above it and those from ``noticed`` down, up to where a line is indented less."""
    indent = indent_of(lines.text_of(noticed))
    found = []
    for start, step in ((outdented, -1), (noticed - 1, 1)):
        line = _content_line(lines, start, step)
        while line is not None and indent_of(lines.text_of(line)) >= indent:
            if indent_of(lines.text_of(line)) == indent:
                found.append(line)
            line = _content_line(lines, line, step)
    return found


def _key_of(text: str) -> str:
    """The key line ``text`` gives (``up`` of ``  up: {op: upscale}``), or "" where it gives none."""
    return text.split(":")[0].strip() if ":" in text else ""


def _indent_fix(lines: LineIndex, noticed: int, top_keys: Collection[str]) -> tuple[int, str]:
    """The line to fix and why, where line ``noticed`` is indented unlike any block above it holds its entries (a
    space more or less than its siblings), with the fix: the indent of the block nearest to its own, with a line
    that has it. Of two as near, the top's is not meant (the line is indented at all); two others are both named,
    since either reads as YAML and only the artist knows which entry the line belongs to. A section of
    ``top_keys`` (`` models:``) is meant at the top, however near another block is: indented as an entry it
    became one; any other line is meant in a block, not at the top, where the spec has ``top_keys``. Where a
    block's first line is its only one, and the line below ``noticed`` is indented as ``noticed`` is, the first
    line slipped (moved to its section's indent, or far in), not the lines below it.
    "Indented differently from the lines above it" gave no fix, and a one-space slip is hard to see."""
    indent = indent_of(lines.text_of(noticed))
    above = _content_line(lines, noticed, -1)
    if above is not None and indent_of(lines.text_of(above)) < indent and (said := _without_colon(lines, above)):
        return above, said  # `legacy`, a comment, then its keys: a name and its keys a comment apart
    if (above is not None and indent_of(lines.text_of(above)) < indent
            and (flow := _FLOW_VALUE.search(lines.text_of(above)))
            and (not flow[1][1:-1].strip() or _a_setting(lines.text_of(noticed), flow[1]))):
        return _under_brackets(lines, noticed, above, flow[1])
    if (below := _first_entry_slipped(lines, above, noticed)) is not None:
        return noticed, (f"line {noticed} is indented {counted(indent, 'space')}, unlike the lines below it: "
                         f"{indented(indent_of(lines.text_of(below)))}, as line {below}")
    levels = _open_levels(lines, noticed)
    if indent in levels and lines.text_of(noticed).lstrip().startswith("-"):
        if not (lists := [level for level, line in levels.items()
                          if level > indent and lines.text_of(line).lstrip().startswith("-")]):
            return noticed, (f"line {noticed} is a list entry ('-') among the keys above it, which YAML cannot mix; "
                             "write it as a key (name: value), or put the list under a key of its own, its '-' "
                             "lines indented below it")
        levels = {min(lists): levels[min(lists)]}  # an entry of the list above, slipped out to its key's indent
    nearest = min(abs(level - indent) for level in levels)
    meant = [level for level in sorted(levels, reverse=True) if abs(level - indent) == nearest]
    if len(meant) > 1:
        meant = [level for level in meant if level]
    if 0 in levels and _a_top_key(lines.text_of(noticed), levels, top_keys):
        meant = [0]
    elif first := next((line for _, line in sorted(levels.items(), key=lambda item: abs(item[0] - indent))
                        if _slipped_first(lines, line, noticed)), None):
        return first, (f"line {first} is {_indent_words(indent_of(lines.text_of(first)))}, unlike the lines below "
                       f"it: {indented(indent)}, as line {noticed}")
    elif meant == [0] and top_keys and len(levels) > 1:  # at the start of its line, an entry is a key the spec refuses
        meant = [min(level for level in levels if level)]
    fixes = [f"{indented(level)}, as line {levels[level]}" for level in meant]
    either = f", or {fixes[1].removeprefix('indent it ')}, whichever entry it belongs to" if len(fixes) > 1 else ""
    said = f"line {noticed} is indented {counted(indent, 'space')}, unlike the lines above it"
    return noticed, f"{said}: {fixes[0]}{either}"


_SECTION = re.compile(r"\s*([^\s:#]+):\s*(#.*)?$")  # ``models:``: a key whose entries are on the lines below


def _first_entry_slipped(lines: LineIndex, above: int | None, noticed: int) -> int | None:
    """The line below ``noticed`` whose indent it is meant to have, where ``noticed`` is the first entry of the key
    on line ``above`` (``legacy:``, nothing after it) and the entries below it are indented under that key: told
    the indent of the blocks above, the line left the key empty and the lines below it indented under nothing.
    None where ``noticed`` holds entries of its own (``up:``), whose indent those lines do not tell."""
    below = _content_line(lines, noticed, 1)
    if above is None or below is None or _SECTION.match(lines.text_of(noticed)):
        return None
    if not _SECTION.match(lines.text_of(above)):
        return None
    return below if indent_of(lines.text_of(below)) > indent_of(lines.text_of(above)) else None


def _a_top_key(line: str, levels: Collection[int], top_keys: Collection[str]) -> bool:
    """Whether ``line``, which YAML could take at one of ``levels``, is one of the spec's ``top_keys`` or a block
    that anchors share (``x-up: &up {...}``), each of which is meant at the start of its line: a section
    (`` models:``) wherever it is, a key with its value (`` build_dir: out``) where it is left of every block,
    since an entry's own ``device: cpu`` may be indented off inside its entry."""
    key = _key_of(line)
    if _SECTION.match(line) and key in top_keys:
        return True
    inside = min((level for level in levels if level), default=0)
    return bool(top_keys) and (key in top_keys or key.startswith("x-")) and indent_of(line) < inside


def _a_setting(line: str, value: str) -> bool:
    """Whether ``line`` is one setting that belongs in the brackets of ``value`` (``scale: 2`` in ``{op: upscale}``,
    ``- old`` in a list it holds), not an entry of its own (``dn: {op: upscale}``, or ``dn:`` above its settings)."""
    if _FLOW_VALUE.search(line) is not None or _SECTION.match(line) is not None:
        return False
    return "[" in value if line.lstrip().startswith("-") else value.startswith("{")


_FLOW_VALUE = re.compile(r":\s*(\{.*\}|\[.*\])\s*(#.*)?$")  # ``up: {op: upscale}``: a key given its value on its line


def _under_brackets(lines: LineIndex, noticed: int, above: int, value: str) -> tuple[int, str]:
    """The fix for line ``noticed`` indented under line ``above``, which gives its key's value on its line in
    brackets (``value``), so that no line may go under it: an empty one (``assets: {}``) is deleted, and the
    line's setting goes inside one that holds some (``up: {op: upscale}`` then ``    scale: 2``). Told to indent
    as the line above, the setting became an asset or source of its own. (A line that gives its own value in
    brackets is an entry like the one above, indented off: the caller tells it their indent.)"""
    brackets = value[0] + value[-1]
    if not value[1:-1].strip():
        return above, (f"line {noticed} is indented under line {above}, whose {value} says it holds nothing: "
                       f"delete the {value} on line {above}")
    entry = lines.text_of(noticed).split(" #")[0].strip()
    if entry.startswith("-"):
        entry, brackets = entry.removeprefix("-").strip(), "[]"
    return noticed, (f"line {noticed} is indented under line {above}, whose {brackets} holds its entries on that "
                     f"line: move {entry!r} inside the {brackets} on line {above}, after a comma")


def _slipped_first(lines: LineIndex, first: int, noticed: int) -> bool:
    """Whether line ``first`` is the first line of a block that ``noticed`` is in (the line above it is indented
    less than both, or is a section, ``sources:``, that ``first`` moved to the start of its line made empty), and
    the line below ``noticed``, the next one at that block's level, is indented as ``noticed`` is: the block's
    first entry slipped, not the entries below it, each of which was said in turn as its fix was made. A section
    made empty needs no line below to tell: a section holds its entries. Not the spec's first line, which no
    block holds (``assets:`` above an entry indented far in)."""
    above, below = _content_line(lines, first, -1), _content_line(lines, noticed, 1)
    if above is None:
        return False
    outer, indent, own = (indent_of(lines.text_of(line)) for line in (above, noticed, first))
    if outer == own < indent:
        return _SECTION.match(lines.text_of(above)) is not None
    return outer < min(own, indent) and own != indent and below is not None and indent_of(lines.text_of(below)) == indent


def _content_line(lines: LineIndex, line: int, step: int) -> int | None:
    """The nearest line after ``line`` (before it, with ``step`` -1) that is neither blank nor a comment."""
    return next((n for n in range(line + step, 0 if step < 0 else len(lines.starts) + 1, step)
                 if _is_content(lines.text_of(n))), None)


def _is_content(text: str) -> bool:
    """Whether line ``text`` holds YAML, not blank nor only a comment: the lines whose indent YAML reads."""
    return text.strip()[:1] not in ("", "#")


def _open_levels(lines: LineIndex, noticed: int) -> dict[int, int]:
    """The indents at which YAML would take line ``noticed`` (each block still open there, the top's included),
    each with the nearest line above that has it: going up, each line indented less than all those below it, but
    for a line inside brackets opened above it (``up: {op: upscale,`` then ``      from: legacy}``), whose indent
    YAML does not read. One at least: PyYAML notices the slip inside a block that starts above."""
    levels: dict[int, int] = {}
    lowest = None
    continued = _inside_brackets(lines, noticed)
    for line in range(noticed - 1, 0, -1):
        text = lines.text_of(line)
        if not _is_content(text) or line in continued:
            continue
        if lowest is None or indent_of(text) < lowest:
            lowest = indent_of(text)
            levels[lowest] = line
    return levels


def _inside_brackets(lines: LineIndex, noticed: int) -> set[int]:
    """The lines above ``noticed`` whose first token is inside a ``[`` or ``{`` opened on a line above them."""
    depth, first_depth = 0, dict[int, int]()
    try:
        for token in yaml.scan(lines.text[: lines.starts[noticed - 1]], Loader=yaml.SafeLoader):
            first_depth.setdefault(lines.of(token.start_mark), depth)
            if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
                depth += 1
            elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
                depth = max(depth - 1, 0)
    except yaml.YAMLError:
        pass  # a slip above: the lines before it are what counts
    return {line for line, opened in first_depth.items() if opened}


def _indent_words(spaces: int) -> str:
    """How a line of ``spaces`` of indent is indented, in words."""
    return f"indented {counted(spaces, 'space')}" if spaces else "not indented"


def indented(spaces: int) -> str:
    """The fix that gives a line ``spaces`` of indent, in words."""
    return f"indent it {counted(spaces, 'space')}" if spaces else "move it to the start of its line"


def indent_of(line: str) -> int:
    """The spaces ``line`` is indented by, as YAML counts a block's indent (a tab is none)."""
    return len(line) - len(line.lstrip(" "))


def _left_open(lines: LineIndex) -> tuple[str, int] | None:
    """The innermost [ or { that the file never closes, with its line: one left open after a comma or at a
    line's end (``sources: [``) is noticed at the end of the file, which PyYAML gives as where it started."""
    opened: list[yaml.Token] = []
    try:
        for token in yaml.scan(lines.text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
                opened.append(token)
            elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)) and opened:
                opened.pop()
    except yaml.YAMLError:
        pass  # a later slip: the brackets before it are what counts
    if not opened:
        return None
    bracket = "[" if isinstance(opened[-1], yaml.FlowSequenceStartToken) else "{"
    return bracket, lines.of(opened[-1].start_mark)


def _quote_closed_late(lines: LineIndex, mark: yaml.Mark) -> int | None:
    """The line where the quoted value that ends on ``mark``'s line, just before it, opened, when that is an
    earlier line: a quote left open that the next quote in the file closed."""
    last = None
    try:
        for token in yaml.scan(lines.text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= mark.index:
                break
            last = token
    except yaml.YAMLError:
        pass  # the same slip again, further on: the tokens before it are what counts
    if isinstance(last, yaml.ScalarToken) and last.style in ('"', "'"):
        opened, closed = lines.of(last.start_mark), lines.line(last.end_mark.index - 1)
        return opened if opened < closed == lines.of(mark) else None  # closed on the line PyYAML flagged
    return None
