"""Reading a spec's YAML text: booleans and numbers as YAML 1.2 reads them, and the line of every key.

``pipeline.spec`` checks the data this makes and names each problem's line from the lines this finds; how
PyYAML is made to give both is kept here, out of the way of those checks.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from pipeline.yaml_errors import LineIndex


class SpecLoader(yaml.SafeLoader):
    """YAML as version 1.2 reads booleans and numbers. YAML 1.1, PyYAML's default, also reads ``on``, ``off``,
    ``yes`` and ``no`` as booleans, which would name a source ``on`` ``True`` (a param that wants a boolean
    still takes ``yes`` or ``off``: its validation reads those words); ``12:30`` as 750, a number in base 60,
    which would name a key ``12:30:`` 750; and ``1e3`` as text, since its floats need a dot, which would make
    ``steps: 1e3`` no number. A value that is not what its tag, or its look (``2024-02-30``), says is reported
    at its line."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        return self._checked(super().construct_yaml_int, node, "a whole number")

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        return self._checked(super().construct_yaml_float, node, "a number")

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> datetime.date:
        return self._checked(super().construct_yaml_timestamp, node, "a date")

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return self._checked(super().construct_yaml_bool, node, "true or false")

    def _checked(self, construct: Callable[[yaml.ScalarNode], Any], node: yaml.ScalarNode, kind: str) -> Any:
        try:
            return construct(node)
        except (ValueError, KeyError) as exc:  # KeyError: a bool's word that is none (!!bool maybe)
            if self.resolve(yaml.ScalarNode, node.value, (True, False)) == node.tag:  # untagged: read by its look
                said = f"YAML reads {node.value!r} as {kind}, and it is none ({exc}); put it in quotes, or fix it"
            else:
                said = (f"{node.value!r} is tagged {node.tag.rsplit(':', 1)[-1]} but is not {kind}; remove the tag or "
                        "fix the value")
            raise yaml.constructor.ConstructorError(None, None, said, node.start_mark) from None


_YAML_1_2 = {  # PyYAML's own patterns, less base 60, and with an exponent without a dot or a sign (017 stays octal)
    "tag:yaml.org,2002:bool": (r"true|True|TRUE|false|False|FALSE", "tTfF"),
    "tag:yaml.org,2002:int": (r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+", "-+0123456789"),
    "tag:yaml.org,2002:float": (
        r"[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)|[-+]?[0-9][0-9_]*\.[0-9_]*|[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+0123456789."),
}
SpecLoader.add_constructor("tag:yaml.org,2002:int", SpecLoader.construct_yaml_int)
SpecLoader.add_constructor("tag:yaml.org,2002:float", SpecLoader.construct_yaml_float)
SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", SpecLoader.construct_yaml_timestamp)
SpecLoader.add_constructor("tag:yaml.org,2002:bool", SpecLoader.construct_yaml_bool)
SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _YAML_1_2]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, (_pattern, _first) in _YAML_1_2.items():
    SpecLoader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


class KeyLines:
    """The line of every mapping key, and what YAML itself lets through: a key given twice (YAML keeps the last
    silently), an alias inside its own anchor (``sources: &a {legacy: *a}``), which has no end, and aliases of
    aliases that repeat a few lines into billions of entries, which would take hours and all memory to check."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, LineIndex(text)
        self.lines: dict[tuple[str, ...], int] = {}
        self.written: dict[tuple[str, ...], str] = {}  # a key YAML read as a value (0x1F: is 31) as it is typed
        self.twice: list[str] = []
        self.repeated: set[tuple[str, ...]] = set()  # where a key is given twice: the checks leave their follow-ons
        self.loops: list[str] = []
        # A spec without aliases has fewer entries than characters; aliases may repeat it to a million entries.
        self.entries_left = max(len(text), 1_000_000)
        self._constructor = SpecLoader("")

    def _key(self, node: yaml.Node) -> Any:
        """The key as the loaded data has it (``true:`` is ``True``), so its line is found under that name."""
        typed = node.tag.rsplit(":", 1)[-1] in ("bool", "null", "int", "float")  # not a merge key (<<)
        return self._constructor.construct_object(node) if isinstance(node, yaml.ScalarNode) and typed else node.value

    def shown(self, at: tuple[str, ...]) -> str:
        """The key at ``at`` for a message, each part as the spec writes it: ``assets.0x1F``, not ``assets.31``,
        which names a key the artist cannot find in the file."""
        return ".".join(self.written.get(at[: n + 1], part) for n, part in enumerate(at))

    def walk(self, node: yaml.Node, at: tuple[str, ...] = (), inside: frozenset[int] = frozenset()) -> None:
        if self.entries_left < 0:  # said once, below
            return
        if id(node) in inside:
            line = self.lines.get(at, self.text.of(node.start_mark))
            self.loops.append(f"{self.path}:{line}: {self.shown(at)}: this alias names a "
                              "mapping or list it is inside of; copy what you meant instead")
            return
        self.entries_left -= 1
        if self.entries_left < 0:
            self.loops.append(f"{self.path}:{self.lines.get(at[:1], 1)}: {at[0]}: its aliases (*name) repeat "
                              "anchored entries into more entries than any spec needs; write out what you meant instead")
            return
        inside = inside | {id(node)}
        if isinstance(node, yaml.MappingNode):
            keyed = [(str(self._key(key_node)), key_node, value_node) for key_node, value_node in node.value]
            given: dict[str, list[int]] = {}  # key -> the lines it is on, one for each time it is given
            for key, key_node, _ in keyed:
                given.setdefault(key, []).append(self.text.of(key_node.start_mark))
            times: dict[str, int] = {}
            for key, key_node, value_node in keyed:
                here = (*at, key)
                line = self.text.of(key_node.start_mark)
                if isinstance(key_node, yaml.ScalarNode) and key_node.value and key_node.value != key:
                    self.written[here] = key_node.value
                times[key] = times.get(key, -1) + 1
                if times[key]:  # `assets:` twice: the first's entries are dropped without a word
                    self.repeated.add(here)
                    self.twice.append(f"{self.path}:{line}: {self.shown(here)}: {_twice(key, times[key], given[key])}")
                self.lines[here] = line
                self.walk(value_node, here, inside)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                here = (*at, str(index))
                self.lines[here] = self.text.of(item.start_mark)
                self.walk(item, here, inside)


def _twice(key: str, time: int, lines: list[int]) -> str:
    """Why a key given again (``lines[time]`` is the line of this time, the others those of the others) is refused,
    and which one YAML keeps: the last, so with three the second is not the one kept. Two merge keys (``<<:``) are
    both merged by PyYAML, not one kept: the fix is one merge key that lists both."""
    others = [str(line) for n, line in enumerate(lines) if n != time]
    also = f"also at line{'s' if len(others) > 1 else ''} {', '.join(others)}"
    if key == "<<":
        return f"this merge key is given twice ({also}); merge them in one: <<: [*first, *second]"
    kept = "this one" if time == len(lines) - 1 else f"the one at line {lines[-1]}"
    return f"this key is given twice; keep one (it is {also}, and YAML would take {kept} alone)"
