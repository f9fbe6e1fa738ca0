"""Read ``assets_spec.yaml`` into a validated :class:`Spec`.

Reading YAML is kept apart from building Dagster definitions so tests can feed
inline YAML. Every problem is reported with the file, the line, the key and
what was expected, all at once, so an artist fixes a spec in one pass.

Beside it: ``spec_yaml`` (the YAML 1.2 loader, each key's line), ``globs`` (a
source's globs, checked and matched), ``spec_messages`` (pydantic's errors in
words), ``dagster_names`` (Dagster's rules for names) and ``spec_reload``
(whether the file changed since Dagster loaded it).
"""

from __future__ import annotations

import difflib
import errno
import functools
import os
import re
import shlex
import stat
import typing
import unicodedata
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ops.atomic import file_in_the_way
from ops.device_names import DEVICE_PATTERN, device_hint
from ops.registry import OPS, Guard, OpDef, OpParams, output_for
from pipeline.dagster_names import files_asset_name, takes_name, takes_schedule, trained_from
from pipeline.globs import glob_problem, with_slashes
from pipeline.spec_messages import did_you_mean, validation_problems, yaml_kind
from pipeline.spec_yaml import KeyLines, SpecLoader
from pipeline.words import counted
from pipeline.yaml_errors import indent_of, indented, yaml_problem

SPEC_FILE = "assets_spec.yaml"  # what the CLI, the Dagster definitions and the demo look for
MODEL_FILE = "model.pt"  # a model's weights, <build_dir>/<model>/model.pt
SPEC_KEYS = ("build_dir", "cache_dir", "device", "schedule", "timezone", "sources", "models", "assets")
_SECTIONS = ("sources", "models", "assets")
_FROM_SECTIONS = {"models": ("sources",), "assets": ("sources", "assets")}  # the sections a from: there names from
_ENTRY = {"sources": "a source", "models": "a model", "assets": "an asset"}  # what YAML reads a key under each as
FREE_PREFIX = "x-"  # top-level keys left alone, for blocks that anchors share (as docker-compose has them)
CheckLevel = Literal["error", "warn", "off"]
CHECK_LEVELS: tuple[CheckLevel, ...] = typing.get_args(CheckLevel)
TARGET_KEYS = ("op", "from", "checks")  # a model's or asset's keys besides its op's params
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")  # Dagster's own rule for names
FOLDER_NAME_MAX = 255  # bytes in a file or folder name, on Linux, Windows and macOS alike
DEFAULT_SCHEDULE = "0 3 * * *"  # nightly full rebuild at 03:00
_ROLE_WORDS = {
    frozenset({"image"}): "one image per partition (a textures source or a one-image asset)",
    frozenset({"flash", "guide"}): "a flash and a guide photo per partition (a photo_pairs source)",
}


class SpecError(ValueError):
    """One or more problems in a spec file; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class TexturesSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["textures"]
    root: str
    glob: str = "**/*.png"
    exclude: str | list[str] | None = Field(None, description="glob or globs, relative to root, of files to leave out")


class PhotoPairsSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["photo_pairs"]
    root: str
    flash: str = Field(description="glob, relative to root, matching one flash photo per folder")
    guide: str = Field(description="glob, relative to root, matching one guide photo per folder")
    exclude: str | list[str] | None = Field(None, description="glob or globs, relative to root, of photos to leave out")


@dataclass(frozen=True)
class Source:
    """Where raw files are; each file (textures) or folder (photo_pairs) is a partition."""

    name: str
    kind: Literal["textures", "photo_pairs"]
    root: Path
    patterns: dict[str, str]  # role -> glob: {"image": ...} or {"flash": ..., "guide": ...}
    exclude: tuple[str, ...] = ()  # globs of files left out, whatever ``patterns`` match
    defined_at: str = field(default="", compare=False)  # "assets_spec.yaml:4", where the spec defines it
    # Whether the spec gives its globs, in the entry or an anchor it merges (<<: *defaults), not the default **/*.png
    globs_given: bool = field(default=True, compare=False)

    def called(self) -> str:
        """``/project/assets_spec.yaml:4: source 'legacy'``: how a message about this source begins, so a
        warning from a scan points at the spec's line as a spec error does."""
        return f"{self.defined_at}: source {self.name!r}" if self.defined_at else f"source {self.name!r}"

    def describe(self) -> str:
        """``textures/legacy matching **/*.png``, or a pair's two globs, for messages."""
        globs = ", ".join(self.patterns.values()) if len(self.patterns) == 1 else ", ".join(
            f"{role} {glob}" for role, glob in self.patterns.items())
        return f"{self.root} matching {globs}" + (f" except {', '.join(self.exclude)}" if self.exclude else "")


@dataclass(frozen=True)
class Target:
    """A model (trained from a whole source) or an asset (one output set per partition)."""

    name: str
    section: Literal["models", "assets"]
    op: OpDef
    upstream: str  # the source or asset named by ``from``
    params: OpParams
    model: str | None = None  # name of the model asset this target uses, if any
    checks: Mapping[str, CheckLevel] = field(default_factory=dict)  # guard name -> the spec's level for it

    def guards(self) -> tuple[Guard, ...]:
        """The op's guards at the levels the spec's ``checks`` gives: ``warn`` makes a blocking guard
        advisory (a texture of planks that the copy guard takes for a copy), ``error`` the other way round,
        ``off`` drops it. Not part of any cache key: a guard only judges what was made."""
        levels = {g.name: self.checks.get(g.name, "error" if g.blocking else "warn") for g in self.params.guards()}
        return tuple(replace(g, blocking=levels[g.name] == "error") for g in self.params.guards() if levels[g.name] != "off")


@dataclass(frozen=True)
class Spec:
    path: Path
    build_dir: Path
    cache_dir: Path
    device: str
    schedule: str
    sources: dict[str, Source]
    models: dict[str, Target]
    assets: dict[str, Target]
    lines: dict[tuple[str, ...], int] = field(default_factory=dict, compare=False)
    timezone: str = "UTC"  # the schedule's: Dagster reads a cron expression in UTC unless told otherwise
    given: Path | None = field(default=None, compare=False)  # ``path`` as named, links not followed: what a reload reads
    text: str = field(default="", compare=False, repr=False)  # as read from ``path``
    # Each folder as the spec writes it (build_dir, cache_dir, a source's root), with where it led when loaded.
    folders: tuple[tuple[str, Path], ...] = field(default=(), compare=False, repr=False)

    @property
    def root_dir(self) -> Path:
        return self.path.parent

    @functools.cached_property
    def targets(self) -> dict[str, Target]:
        """The models and assets by name: made once, since ``source_of`` and every check ask it per entry, and a
        new dict per call would make validating a spec take time quadratic in its entries."""
        return {**self.models, **self.assets}

    def source_of(self, name: str) -> Source:
        """The source whose partitions ``name`` (a source or an asset) follows."""
        while name not in self.sources:
            name = self.targets[name].upstream
        return self.sources[name]

    def assets_before(self, target: Target) -> list[Target]:
        """The assets ``target`` is built from, nearest first: a UI run of it alone reads what each of them made, and
        one out of date two assets up (a multiply's variants, then enlarged, then exported) left the nearest current
        for what it read, so that only it tells."""
        chain: list[Target] = []
        upstream = self.assets.get(target.upstream) if target.section == "assets" else None
        while upstream is not None:
            chain.append(upstream)
            upstream = self.assets.get(upstream.upstream)
        return chain

    def output_names(self, target: Target) -> tuple[str, ...] | None:
        """The files ``target`` writes per partition: its op's several (multiply's variants, a material's maps),
        or one per image of ``images_each`` (``variant_00.dds``); None for one image."""
        return self._written(target, frozenset())

    def images_each(self, target: Target) -> tuple[str, ...]:
        """The images of the asset ``target`` is chained from that its op is applied to each of: that asset's
        several PNGs, to a one-image op, where they are no maps of one surface (multiply's variants, or another
        one-image op's made from each of them); or the maps ``target`` reads by name in each variant's folder
        (export_dds's ``maps`` of a multiply of a material: ``variant_00/albedo.png``, ...). Empty where ``target``
        reads one image, or a material's maps."""
        return self._images_each(target, frozenset())

    def _written(self, target: Target, seen: frozenset[str]) -> tuple[str, ...] | None:
        """``output_names``; ``seen`` as ``_images_each`` takes it."""
        each = self._images_each(target, seen)
        return tuple(output_for(target.params, image) for image in each) if each else target.params.output_names()

    def _images_each(self, target: Target, seen: frozenset[str]) -> tuple[str, ...]:
        """``images_each``; ``seen``: the assets below on the chain, so that a cycle (refused) ends the walk."""
        upstream = self.assets.get(target.upstream) if target.section == "assets" else None
        params = target.params
        if upstream is None or upstream.name in seen or upstream.params.surface_maps():
            return ()
        if params.input_roles() != {"image"}:
            return _maps_each(params, upstream.params)
        if params.output_names() is not None:
            return ()
        names = self._written(upstream, seen | {target.name})
        return names if names and all(name.endswith(".png") for name in names) else ()

    def resolve(self, path: str | Path) -> Path:
        """A spec-relative path made absolute."""
        return _resolved(self.root_dir, path)

    def warnings(self) -> list[str]:
        """What is valid but likely a slip: a spec that builds nothing (sources alone; ``assets:`` indented under
        ``sources:`` is an error, of ``_indented_section``), and weights files that are not there (yet), which fail
        every partition using one."""
        nothing = [] if self.targets else [
            f"{self.path}: no models or assets are defined, so a build makes nothing; add an assets: section "
            "at the top level (see README)"
        ]
        return nothing + [
            f"{self.path}:{self.lines.get((target.section, target.name), '?')}: {target.section}.{target.name}.{name}: "
            f"building {target.name} fails: {self.resolve(path)} {problem}"
            for target in self.targets.values()
            for name, path in target.params.file_params().items()
            if (problem := not_a_file(self.resolve(path)))
        ] + self.unread_warnings()

    def unread_warnings(self, name: str | None = None) -> list[str]:
        """A param given where its op does not read it (another method's setting), of every entry or of ``name``
        (a UI run's log of it): an artist who sets ``normal_strength`` on a photo fit for steeper normals gets the
        same maps, and would not know why. Not one the entry takes through a merge key (``<<: *variants``) alone:
        shared with entries that read it, it is no slip, and cannot be removed for this one."""
        found: list[tuple[int, str]] = []
        for target in self.targets.values() if name is None else [self.targets[name]]:
            unread = target.params.unread_fields()
            for name in target.params.model_fields_set & unread.keys():
                at = (target.section, target.name, name)
                if at not in self.lines and (*at[:2], "<<") in self.lines:
                    continue
                line = self.lines.get(at, self.lines.get(at[:2], 0))
                found.append((line, f"{self.path}:{line or '?'}: {'.'.join(at)}: not read with the params given here, "
                                    f"so it changes nothing ({unread[name]}): remove it"))
        return [message for _, message in sorted(found)]


def _maps_each(params: OpParams, upstream: OpParams) -> tuple[str, ...]:
    """The maps ``params`` reads by name in each variant's folder ``upstream`` writes (``variant_00/albedo.png``),
    where every variant holds them all; empty otherwise, which ``validate`` refuses naming the maps there are."""
    roles = sorted(params.input_roles())
    variants = upstream.variant_maps()
    if not variants or any(role.removesuffix(".png") not in maps for maps in variants.values() for role in roles):
        return ()
    return tuple(f"{variant}/{role}" for variant in variants for role in roles)


def _resolved(base: Path, path: str | Path) -> Path:
    """``path`` made absolute against ``base`` (the spec's folder); ``~`` and ``~/...`` in the user's home,
    while ``~backup/...`` stays a folder of that name (not that user's home)."""
    text = str(path)
    return real_path(base / (Path(text).expanduser() if text == "~" or text.startswith("~/") else Path(text)))


def real_path(path: Path) -> Path:
    """``path`` with its links followed, as far as they lead: a link that leads back to itself is left as it
    is, for the read of it to say so (``Path.resolve`` raises RuntimeError on one in Python 3.11 and 3.12)."""
    return Path(os.path.realpath(path))


def load_spec(path: str | Path) -> Spec:
    """Read and validate the spec at ``path``."""
    given = Path(path).absolute()
    path = real_path(given)
    if _is_stream(given):
        raise SpecError([f"{given}: cannot read the spec: it is a pipe or a device, not a file; save the spec as a "
                         "file and give its path with --spec (its folders are read from the folder it is in)"])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([f"{path}: cannot read the spec: {_unreadable_spec(path, exc)}"]) from exc
    except UnicodeDecodeError as exc:  # Notepad's "ANSI" or "Unicode" (UTF-16)
        line = path.read_bytes().count(b"\n", 0, exc.start) + 1
        raise SpecError([f"{path}:{line}: the spec is not UTF-8 text; save it as UTF-8"]) from exc
    return replace(parse_spec(text, path), given=given, text=text)


def _is_stream(given: Path) -> bool:
    """Whether ``given`` leads to a pipe or a device (``--spec /dev/stdin``, ``<(...)``, ``/dev/zero``), not a
    file, which the spec must be: followed, a pipe's link leads nowhere, so reading it would say there is no
    spec file, and /dev/zero would be read until the memory runs out."""
    try:
        mode = os.stat(given).st_mode
    except OSError:  # not there, or not reachable: the read says which
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _unreadable_spec(path: Path, exc: OSError) -> str:
    """Why the spec at ``path`` cannot be read, with the fix: remaster run from a subfolder of the project looks
    for the spec there, and ``--spec`` given the project's folder names no file."""
    if path.is_dir():
        inside = path / SPEC_FILE
        if inside.is_file():
            return f"it is a folder; give the spec file in it: --spec {shlex.quote(str(inside))}"
        return f"it is a folder, and holds no {SPEC_FILE}; give the spec file's path with --spec"
    if exc.errno == errno.ELOOP:
        return "it is a link that leads back to itself; point it at the spec file"
    if not path.exists():
        above = next((folder / SPEC_FILE for folder in path.parent.parents if (folder / SPEC_FILE).is_file()), None)
        found = f"; a folder above holds one: --spec {shlex.quote(str(above))}" if above else ""
        return ("there is no spec file here; run remaster in the project's folder, or give the spec's path with "
                f"--spec{found}")
    return str(exc.strerror or exc)


def parse_spec(text: str, path: Path) -> Spec:
    """Validate spec ``text`` as if read from ``path`` (used for relative paths and messages)."""
    keys = KeyLines(path, text)
    try:
        node = yaml.compose(text, Loader=SpecLoader)
        keys.walk(node)  # before the data is made from the same nodes, which moves merged keys (<<) into their mappings
        data = SpecLoader("").construct_document(node) if node is not None else None  # the text is read once
    except yaml.YAMLError as exc:
        raise SpecError([yaml_problem(exc, text, path, SPEC_KEYS)]) from exc
    except RecursionError as exc:
        raise SpecError([f"{path}: not valid YAML: brackets or indents nest too deeply to read"]) from exc
    if data is None:  # an emptied file (a sync client, a bad merge) must not read as "remove every asset"
        raise SpecError([f"{path}: the spec is empty; restore it from version control, or write one (see README)"])
    if keys.loops:  # the data has no end: checking it would not either
        raise SpecError(keys.loops)
    return _Checker(path, keys).check(data)


class _Checker:
    """Walks the parsed mapping, collecting every problem with its line."""

    def __init__(self, path: Path, keys: KeyLines):
        self.path = path
        self.keys = keys
        self.lines = keys.lines
        self.problems = keys.twice
        self.folders: list[tuple[str, Path]] = []

    def fail(self, at: tuple[str, ...], message: str) -> None:
        problem = f"{self.where(at)}: {self.keys.shown(at) or '(top level)'}: {message}"
        if problem not in self.problems:
            self.problems.append(problem)

    def where(self, at: tuple[str, ...]) -> str:
        """``<spec>:<line>`` of the key at ``at``, or of the nearest key above it that has a line (one
        brought in by a merge key has none of its own)."""
        line = next((self.lines[at[:n]] for n in range(len(at), 0, -1) if at[:n] in self.lines), None if at else 1)
        return f"{self.path}:{line}" if line else str(self.path)

    def check(self, data: Any) -> Spec:
        """The spec ``data`` gives; raises SpecError with every problem found, ``problems`` given included."""
        if not isinstance(data, dict):
            self.fail((), "the spec must be a mapping with keys " + ", ".join(SPEC_KEYS))
            raise SpecError(self.problems)
        misspelled = self._unknown_top_keys(data)
        build_dir = self._path_value(data, "build_dir", "build")
        cache_dir = self._path_value(data, "cache_dir", ".remaster/cache")
        device = _text(data, "device", "auto")
        if not DEVICE_PATTERN.fullmatch(device):
            self.fail(("device",), f"expected auto, cpu, cuda or cuda:N, got {_shown(device)}{device_hint(device)}")
        schedule = _text(data, "schedule", DEFAULT_SCHEDULE)
        if not takes_schedule(schedule):
            expected = "a cron expression like '0 3 * * *' (minute hour day month weekday)"
            self.fail(("schedule",), f"expected {expected}, got {_shown(schedule)}")
        timezone = _text(data, "timezone", "UTC")
        if not _is_timezone(timezone):
            self.fail(("timezone",), f"expected a time zone name such as Europe/Berlin or America/Los_Angeles (the one "
                                     f"the schedule's hours are in), got {_shown(timezone)}"
                                     f"{_spelt_so(timezone)}")
        entries: dict[str, dict[str, Any]] = {}
        beside: dict[str, set[str]] = {}
        for section in _SECTIONS:
            entries[section] = self._section(data, section)
            for inner, names in self._beside_a_section(section, entries[section]).items():
                beside.setdefault(inner, set()).update(names)
        sources = {
            name: source for name, entry in entries["sources"].items() if (source := self._source(name, entry)) is not None
        }
        # Names count as given even when their own entry is broken, so one mistake is reported once.
        self.given = {section: set(named) | misspelled.get(section, set()) | beside.get(section, set())
                      | self._dropped(section) for section, named in entries.items()}
        folders: dict[str, str] = {}
        models = self._targets(entries["models"], "models", self.given["sources"], folders)
        assets = self._chained(self._targets(entries["assets"], "assets", self.given["sources"] | self.given["models"],
                                             folders))
        spec = Spec(self.path, build_dir, cache_dir, device, schedule, sources, models, assets, self.lines, timezone,
                    folders=tuple(self.folders))
        self._check_graph(spec)
        if self.problems:
            raise SpecError(self.problems)
        return spec

    def _path_value(self, data: dict[str, Any], key: str, default: str) -> Path:
        value = data.get(key, default)
        if not isinstance(value, str) or not value:
            self.fail((key,), f"expected a folder path, got {value!r}")
            value = default
        self._check_slashes((key,), value)
        return self._folder(value)

    def _folder(self, written: str) -> Path:
        """The folder ``written`` names, made absolute against the spec's folder, links followed; kept with how it
        is written, so that a link retargeted since shows as a change to the spec (``changed_since_loaded``)."""
        folder = _resolved(self.path.parent, written)
        self.folders.append((written, folder))
        return folder

    def _check_slashes(self, key: tuple[str, ...], path: str, *, glob: bool = False) -> None:
        """A path or glob written with Windows' backslashes is read by Windows alone (a glob by none: brace
        expansion drops a backslash, so ``walls\\*.png`` takes the files named ``walls*.png``), so the spec a
        Windows machine wrote finds no files on Linux CI. In a glob, a backslash before a brace, a comma or a
        backslash escapes it (``\\{a,b\\}.png``) and stays."""
        fixed = with_slashes(path) if glob else path.replace("\\", "/")
        if fixed != path:
            self.fail(key, f"'{path}' holds a backslash; write / between folders, which every system reads: '{fixed}'")

    def _unknown_top_keys(self, data: dict[str, Any]) -> dict[str, set[str]]:
        """Reports each top-level key the spec does not take, with the one it is closest to; returns, for a
        misspelled ``sources``, ``models`` or ``assets``, the names under it. They count as given, so that
        ``sourcse:`` is one error, not one more for each ``from: legacy`` with a near name offered instead."""
        misspelled: dict[str, set[str]] = {}
        slipped = self._slipped_section(data)
        for key in data:
            if key in SPEC_KEYS or str(key).startswith(FREE_PREFIX):
                continue
            meant = difflib.get_close_matches(str(key), SPEC_KEYS, n=1)
            fix = None
            if (anchor := self._anchor_of(str(key))) is not None:  # `enlarge: &enlarge {op: upscale}`: shared
                fix = f"it gives the anchor &{anchor}, as a block that anchors share does: name it {FREE_PREFIX}{key}"
            elif (section := _section_of_entry(data[key])) is not None and section == slipped:  # said once, below
                misspelled.setdefault(section, set()).add(str(key))
                continue
            elif section is not None:  # `sr2x:` where `  sr2x:` was meant
                fix = self._moved_entry_fix(data, str(key), section)
                misspelled.setdefault(section, set()).add(str(key))
            if (hidden := _invisible(str(key))) is not None:  # `\u00a0 legacy:` pasted from a chat: not indented
                fix = f"it holds {hidden}, which YAML does not read as a space: retype it"
            self.fail((str(key),), f"unknown key; {fix or _spec_keys_hint(meant)}")
            if meant and meant[0] in _SECTIONS and meant[0] not in data and isinstance(data[key], dict):
                misspelled[meant[0]] = {str(name) for name in data[key]}
        if slipped is not None and slipped in misspelled:
            spaces = self._line_indent(self.lines[(slipped,)])
            self.fail((slipped,), f"{slipped}: is indented {counted(spaces, 'space')}, as its entries beside it are, "
                      f"so YAML reads them as top-level keys; move {slipped}: to the start of its line, keeping its "
                      "entries indented below it")
        return misspelled

    def _slipped_section(self, data: dict[str, Any]) -> str | None:
        """The section (``assets:``) that is the spec's first key and holds nothing, indented: YAML takes the first
        line's indent for the top level, so the entries beside it are top-level keys. Each was told to be indented
        under it, which it was already; the one line to fix is the section's."""
        first = min(data, key=lambda key: self.lines.get((str(key),), 0), default=None)
        if first not in _SECTIONS or data[first] is not None:
            return None
        return first if self._line_indent(self.lines[(first,)]) else None

    def _line_indent(self, line: int) -> int:
        return indent_of(self.keys.text.text_of(line))

    def _moved_entry_fix(self, data: dict[str, Any], key: str, section: str) -> str:
        """The fix for top-level ``key``, an entry of ``section`` written at the start of its line: indent it under
        ``section`` (and delete the ``{}`` of an ``assets: {}``, under which YAML refuses an indented entry),
        unless ``section`` has an entry of that name already, which indenting would give twice: then it is a
        duplicate of that entry (a line copied and moved out of its place), and one is to go."""
        said = f"it reads as {_ENTRY[section]} written at the start of its line"
        entries = data.get(section)
        if not isinstance(entries, dict) or key not in entries:
            heading = self.lines.get((section,))
            emptied = f" and delete the {{}} after it{f' (line {heading})' if heading else ''}" if entries == {} else ""
            return f"{said}: {indented(self._entry_indent(section, entries))} under {section}:{emptied}"
        line = self.lines.get((section, key))
        twin = f"the {_ENTRY[section].split()[1]} {key}{f' at line {line}' if line else ''}"
        return (f"{said}, and is a duplicate of {twin}: delete one of the two (indented under {section}:, it would "
                f"give {key} twice)")

    def _entry_indent(self, section: str, entries: Any) -> int:
        """How far the entries of ``section`` are indented, read off the first on a line of its own (2 where none
        is): a line moved out of a section indented 4 spaces and told to take 2 would be refused by YAML."""
        for name in entries if isinstance(entries, dict) else ():
            line = self.lines.get((section, str(name)))
            if line is not None and line != self.lines.get((section,)):
                return self._line_indent(line)
        return 2

    def _anchor_of(self, key: str) -> str | None:
        """The anchor top-level ``key`` gives on its line (``enlarge: &enlarge {op: upscale, ...}``), or None: a block
        of shared settings named without ``x-``, which holds an ``op`` or a ``kind`` as an entry does, and was told
        to be indented under its section, where it becomes an entry of its own."""
        line = self.lines.get((key,))
        text = self.keys.text.text_of(line) if line else ""  # as YAML counts lines, less a byte-order mark
        found = re.match(rf"{re.escape(key)}[ \t]*:[ \t]*&([^\s{{\[,]+)", text)
        return found[1] if found else None

    def _section(self, data: dict[str, Any], section: str) -> dict[str, Any]:
        value = data.get(section) or {}
        if not isinstance(value, dict):
            self.fail((section,), "expected a mapping of name: {...}")
            return {}
        named = {}
        for name, entry in value.items():
            if (problem := _name_problem(name)) is None:
                named[str(name)] = entry
            else:
                self.fail((section, str(name)), problem)
        return named

    def _beside_a_section(self, section: str, named: dict[str, Any]) -> dict[str, set[str]]:
        """Takes out of ``named`` the entries below another section indented under ``section`` as they are
        (``  models:`` then ``  sr2x: {...}``, under ``sources:``), which YAML reads as entries of ``section``, and
        returns them by the section they were written for. That section's line is the one slip, said by
        ``_indented_section``: checked as sources, each was also told its kind is missing, and each model: naming
        one that it names no model."""
        moved: dict[str, set[str]] = {}
        inner = None
        for name in sorted(named, key=lambda name: self.lines.get((section, name), 0)):
            if name in _SECTIONS and name != section and named[name] is None:
                inner = name
            elif inner is not None:
                moved.setdefault(inner, set()).add(name)
                del named[name]
        return moved

    def _source(self, name: str, entry: Any) -> Source | None:
        at = ("sources", name)
        if self._indented_section("sources", name, entry, "kind"):
            return None
        if not isinstance(entry, dict):
            self.fail(at, "expected a mapping like {kind: textures, root: ..., glob: ...}")
            return None
        kind = entry.get("kind")
        kinds: dict[str, type[BaseModel]] = {"textures": TexturesSource, "photo_pairs": PhotoPairsSource}
        schema = kinds.get(kind) if isinstance(kind, str) else None
        if schema is None:
            hint = did_you_mean(kind, list(kinds)) if isinstance(kind, str) else ""
            self.fail((*at, "kind"), f"expected textures or photo_pairs, got {kind!r}{hint}")
            return None
        entry = dict(entry)
        self._spec_keys_inside(entry, at, schema.model_fields)
        parsed = self._validate(schema, entry, at)
        if parsed is None:
            return None
        patterns = (
            {"image": parsed.glob}
            if isinstance(parsed, TexturesSource)
            else {"flash": parsed.flash, "guide": parsed.guide}
        )
        # None where every line of the list is commented out: nothing left out
        exclude = (parsed.exclude,) if isinstance(parsed.exclude, str) else tuple(parsed.exclude or ())
        self._check_slashes((*at, "root"), parsed.root)
        for role, pattern in patterns.items():
            self._check_glob((*at, "glob" if role == "image" else role), pattern)
        if patterns.get("flash", "") == patterns.get("guide"):
            self.fail((*at, "guide"), f"the same glob as flash ({patterns['flash']}): each pair would take one photo "
                      "for both; give each its own (flash: \"*/flash.*\", guide: \"*/guide.*\")")
        for pattern in exclude:
            self._check_glob((*at, "exclude"), pattern)
        given = not isinstance(parsed, TexturesSource) or "glob" in parsed.model_fields_set
        return Source(name, parsed.kind, self._folder(parsed.root), patterns, exclude, self.where(at), given)

    def _indented_section(self, section: str, name: str, entry: Any, key: str) -> bool:
        """Whether entry ``name`` under ``section`` is another section indented under it (``assets:`` two spaces
        in, below ``sources:``), which YAML reads as one of its entries: said so, with the fix, where the entry's
        own checks would call its ``key`` (``kind``, ``op``) missing. An entry holding ``key`` is one so named."""
        if name == section or name not in _SECTIONS or (isinstance(entry, dict) and key in entry):
            return False
        self.fail((section, name), f"{name}: is indented under {section}:, so YAML reads it as {_ENTRY[section]}; "
                  f"move {name}: to the start of its line, as {section}: is, keeping its entries indented below it")
        return True

    def _check_glob(self, key: tuple[str, ...], pattern: str) -> None:
        self._check_slashes(key, pattern, glob=True)
        if (problem := glob_problem(pattern, exclude=key[-1] == "exclude")) is not None:
            self.fail(key, problem)

    def _targets(
        self, entries: dict[str, Any], section: Literal["models", "assets"], known: set[str], folders: dict[str, str]
    ) -> dict[str, Target]:
        """``folders`` maps the case-folded names of the models and assets seen so far to their names: each is a
        folder under build_dir, and a case-insensitive disk (Windows, macOS) would take two of them for one."""
        targets: dict[str, Target] = {}
        for name, entry in entries.items():
            at = (section, name)
            if self._indented_section(section, name, entry, "op"):
                continue
            if name in known:
                self.fail(at, "this name is already used by a source or model; names must be unique")
                continue
            if len(name) > FOLDER_NAME_MAX:  # NAME_PATTERN's characters are a byte each
                self.fail(at, f"this name is {len(name)} characters long, and it names a folder under build_dir, "
                              f"which may be {FOLDER_NAME_MAX} at most; shorten it")
                continue
            twin = folders.setdefault(name.lower(), name)  # lower, not casefold: NTFS tells Straße from strasse
            if twin != name:
                self.fail(at, f"this name and {twin!r} differ only in case, and their folders under build_dir would "
                              "be one folder on Windows and macOS; rename one")
                continue
            if not isinstance(entry, dict):
                self.fail(at, "expected a mapping like {op: ..., from: ...}")
                continue
            target = self._target(name, section, dict(entry))
            if target is not None:
                targets[name] = target
        return targets

    def _chained(self, assets: dict[str, Target]) -> dict[str, Target]:
        """Each asset with its params as chained from the asset it is built from (``OpParams.chained_from``: a
        multiply from a material learns its maps); one whose chain they refuse is reported at its ``from``."""
        chained = {}
        for name, target in assets.items():
            upstream = assets.get(target.upstream)
            try:
                params = target.params.chained_from(upstream.params if upstream else None)
                chained[name] = replace(target, params=params)
            except ValueError as exc:
                self.fail(("assets", name, "from"), f"{target.upstream!r}: {exc}")
        return chained

    def _target(self, name: str, section: Literal["models", "assets"], entry: dict[str, Any]) -> Target | None:
        at = (section, name)
        op_name = entry.pop("op", None)
        upstream = entry.pop("from", None)
        want = "model" if section == "models" else "map"
        choices = sorted(n for n, op in OPS.items() if op.kind == want)
        op = OPS.get(op_name) if isinstance(op_name, str) else None
        if op is None:
            said = "missing: say which op builds it" if op_name is None else f"unknown op {op_name!r}"
            hint = did_you_mean(op_name, choices) if isinstance(op_name, str) else ""
            self.fail((*at, "op"), f"{said}; expected one of {', '.join(choices)}{hint}")
            return None
        if op.kind != want:
            other = "models" if section == "assets" else "assets"
            self.fail((*at, "op"), f"op {op_name!r} belongs under {other}:, not {section}:")
            return None
        if upstream is None:
            inputs = sorted(self._inputs_but(name, section))
            self.fail((*at, "from"), f"missing: say what it is built from, one of {', '.join(inputs) or '(none defined)'}")
            return None
        if isinstance(upstream, list):  # from: [legacy, walls]
            one = "one source" if section == "models" else "one source or asset"
            self.fail((*at, "from"), f"expected {one}, got a list {upstream!r}: make one {section.removesuffix('s')} "
                      "for each, or one source whose glob takes them all")
            return None
        if not isinstance(upstream, str) or not any(upstream in named for named in self.given.values()):
            inputs = sorted(self._inputs_but(name, section))
            where = self._commented_out(upstream, _FROM_SECTIONS[section]) if isinstance(upstream, str) else ""
            hint = did_you_mean(upstream, inputs) if isinstance(upstream, str) else ""
            fix = (f"it is commented out {where}" if where
                   else f"expected one of {', '.join(inputs) or '(none defined)'}{hint}")
            self.fail((*at, "from"), f"{upstream!r} names no source or asset; {fix}")
            return None
        checks = entry.pop("checks", None)
        self._spec_keys_inside(entry, at, op.params_model().model_fields)
        params = self._validate(op.params_model(), entry, at, entry_keys=TARGET_KEYS)
        if params is None:
            return None
        model = getattr(params, "model", None)
        return Target(name, section, op, upstream, params, model if isinstance(model, str) else None,
                      self._checks(checks, params, (*at, "checks")))

    def _spec_keys_inside(self, entry: dict[str, Any], at: tuple[str, ...], fields: Mapping[str, Any]) -> None:
        """Reports and drops each key of the spec's top level that ``entry`` gives (``device: cpu`` on one asset,
        or indented under it): "unknown key" did not say it is the spec's, where it is taken."""
        owner = {"sources": "a source's", "models": "a model's", "assets": "an asset's"}[at[0]]
        for key in [key for key in entry if key in SPEC_KEYS and key not in fields]:
            del entry[key]
            flag = " (or --device for one build)" if key == "device" else ""
            self.fail((*at, key), f"{key} is a top-level key of the spec{flag}, not {owner}: move it to the top of "
                                  "the file, unindented, where it holds for the whole spec")

    def _inputs_but(self, name: str, section: Literal["models", "assets"]) -> set[str]:
        """What entry ``name`` may be built from, for a message: made only where one is wrong, since a copy of every
        name per entry would make validating a spec take time quadratic in its entries."""
        return self.given["sources"] | (self.given["assets"] - {name} if section == "assets" else set())

    def _checks(self, checks: Any, params: OpParams, at: tuple[str, ...]) -> dict[str, CheckLevel]:
        names = [g.name for g in params.guards()]
        if checks is None:  # absent, or an empty ``checks:``
            return {}
        if not isinstance(checks, dict):
            self.fail(at, f"expected a mapping like {{{names[0] if names else 'guard'}: warn}}")
            return {}
        checks = {guard: _check_level(level) for guard, level in checks.items()}
        for guard, level in checks.items():
            if guard not in names:
                self.fail((*at, str(guard)), f"no such guard here; this op's are {', '.join(names) or '(none)'}")
            elif level not in CHECK_LEVELS:
                self.fail((*at, str(guard)), f"expected one of {', '.join(CHECK_LEVELS)}, got {level!r}")
        return {guard: level for guard, level in checks.items() if guard in names and level in CHECK_LEVELS}

    def _validate(
        self, schema: type[BaseModel], entry: dict[str, Any], at: tuple[str, ...], entry_keys: tuple[str, ...] = ()
    ) -> Any:
        """``entry`` as ``schema``; ``entry_keys`` are the entry's own keys beside the schema's (``op``), for hints."""
        try:
            return schema.model_validate(entry)
        except ValidationError as exc:
            for loc, message in validation_problems(schema, exc, entry_keys):
                self.fail((*at, *loc), message)
            return None

    def _check_graph(self, spec: Spec) -> None:
        """Checks between entries; an entry that did not parse was reported already and is skipped."""
        for target in spec.targets.values():
            at = (target.section, target.name)
            upstream = spec.targets.get(target.upstream)
            if target.section == "models":
                if target.upstream not in self.given["sources"]:
                    self.fail((*at, "from"), "a model trains from a source (a folder of reference textures), not an asset")
            elif target.upstream in self.given["models"]:
                self.fail((*at, "from"), _from_a_model(target))
            elif upstream is not None and spec.output_names(upstream) is not None:
                if not spec.images_each(target):
                    self._check_maps(spec, target, upstream)
            else:
                source = spec.sources.get(target.upstream)
                given = {"image"} if source is None or source.kind == "textures" else {"flash", "guide"}
                if (source is not None or upstream is not None) and set(target.params.input_roles()) != given:
                    hint = target.params.inputs_hint()
                    self.fail((*at, "from"), f"{target.op.name} with these params takes "
                              f"{_roles_in_words(target.params.input_roles())}, but {target.upstream!r} gives "
                              f"{_roles_in_words(frozenset(given))}{f'; {hint}' if hint else ''}")
            if target.model is not None and target.model not in self.given["models"]:
                self.fail((*at, "model"), self._no_such_model(spec, target.model))
            for key, path in target.params.file_params().items():
                self._check_built_file(spec, target, key, spec.resolve(path))
        for trained in trained_from(spec):
            name = files_asset_name(trained)
            section = "sources" if name in spec.sources else spec.targets[name].section if name in spec.targets else None
            if section is not None:
                self.fail((section, name), f"this name is taken by {trained}/files, the source asset of all the files "
                          f"models train from; rename it")
        self._check_cycles(spec)
        for key, folder in (("build_dir", spec.build_dir), ("cache_dir", spec.cache_dir)):
            shown = folder if (key,) in self.lines else f"{folder} (the default)"  # a root: . meets folders never written
            if (blocker := file_in_the_way(folder)) is not None:
                what = ("is a file, where remaster keeps a folder" if blocker == folder
                        else f"cannot be made, since {blocker} is a file")
                self.fail((key,), f"{shown} {what}: move the file away, or set {key} to another folder")
            for source in spec.sources.values():
                if folder == source.root or source.root.is_relative_to(folder):
                    self.fail((key,), f"{shown} contains the source {source.name!r}; outputs would overwrite inputs: "
                              f"set {key} to a folder of its own")
                elif folder.is_relative_to(source.root):
                    self.fail((key,), f"{shown} is inside the root of source {source.name!r}; outputs would become "
                              f"inputs: set {key} to a folder outside {source.root}, or move the source's files into "
                              "a folder of their own and give that as its root")
        if spec.build_dir.is_relative_to(spec.cache_dir) or spec.cache_dir.is_relative_to(spec.build_dir):
            moved = "cache_dir" if ("cache_dir",) in self.lines else "build_dir"  # the one the spec moved
            self.fail((moved,), f"build_dir {spec.build_dir} and cache_dir {spec.cache_dir} overlap; cache gc would "
                      "delete outputs and outputs could overwrite the cache: give them separate folders")

    def _commented_out(self, name: str, sections: tuple[str, ...], seen: set[str] | None = None) -> str:
        """``at line 13: delete the # at its start``, where ``name`` is commented out: where a comment line of the
        spec starts with ``name:`` under one of ``sections`` (the ones the key names an entry of), with the
        commented-out section line above it too (``# models:``): an entry of ``remaster init``'s spec left commented out (its
        ``reference`` source, its ``sr2x`` model), which a ``did you mean`` of another name sent the artist looking
        elsewhere for. Only an entry's line is one (``# legacy: {...}``, or ``# legacy:`` above its keys): a note in
        prose (``# legacy: the 2004 release``) is not uncommented, nor is an entry of another section (a ``model:
        legacy`` is not sent to a source ``legacy``, which uncommented names no model still). The message leads
        with it: it is the fix, and a list of the names defined (``(none defined)``) is not. ``seen``: the names
        said already (added to), each said once where two entries are built from it."""
        lines = self.keys.text.text.splitlines()
        found = ((number, _heading_above(lines, number)) for number, line in enumerate(lines, 1)
                 if re.match(rf"[ \t]*#[ \t]*{re.escape(name)}[ \t]*:[ \t]*(?:[{{#]|$)", line))
        entry, heading = next(((number, heading) for number, heading in found
                               if heading and _section_named(lines[heading - 1]) in sections), (0, 0))
        if not entry:
            return ""
        section = _section_named(lines[heading - 1])
        also = (f" and the {_comment_mark(lines[heading - 1])} at the start of line {heading} ({section}:)"
                if lines[heading - 1].startswith("#") else "")
        seen = set() if seen is None else seen
        seen.add(name)
        inputs = self._commented_out_inputs(lines[entry - 1], section, seen)
        return f"at line {entry}: delete the {_comment_mark(lines[entry - 1])} at its start{also}{inputs}"

    def _commented_out_inputs(self, line: str, section: str | None, seen: set[str]) -> str:
        """``; its from: reference is commented out too, at line 8: ...`` for each name the commented-out entry on
        ``line`` is built from (its ``from:``, an asset's ``model:``) that is defined nowhere and commented out as
        well: init writes the model ``sr2x`` and its source ``reference`` commented out, and an artist who
        uncommented the model alone, as told, failed validate again on its ``from:``."""
        try:
            loaded = yaml.safe_load(re.sub(r"^[ \t]*#[ \t]*", "", line))
        except yaml.YAMLError:
            return ""
        entry = next(iter(loaded.values()), None) if isinstance(loaded, dict) and loaded else None
        if not isinstance(entry, dict):
            return ""
        said = ""
        for key, sections in (("from", _FROM_SECTIONS.get(section or "", ())),
                              ("model", ("models",) if section == "assets" else ())):
            named = entry.get(key)
            if (sections and isinstance(named, str) and named not in seen
                    and not any(named in given for given in self.given.values())
                    and (where := self._commented_out(named, sections, seen))):
                said += f"; its {key}: {named} is commented out too, {where}"
        return said

    def _no_such_model(self, spec: Spec, model: str) -> str:
        """Why ``model`` names no model, with the fix: a path written as a name (``model: weights/esrgan.pth``)
        is a weights file's, which ``{path: ...}`` gives, and the weights a model of the spec writes are that
        model's, which its name gives."""
        models = sorted(self.given["models"])
        if NAME_PATTERN.match(model):
            if where := self._commented_out(model, ("models",)):
                return f"{model!r} names no model; it is commented out {where}"
            return (f"{model!r} names no model; expected one of {', '.join(models) or '(none defined)'} or "
                    f"{{path: weights.pth}}{did_you_mean(model, models)}")
        owner = next((name for name in models if spec.resolve(model) == spec.build_dir / name / MODEL_FILE), None)
        if owner is not None:
            return f"{model!r} is the weights file model {owner} writes: name the model, model: {owner}"
        return f"{model!r} is a path, not a model's name: a weights file is given as model: {{path: {model}}}"

    def _check_built_file(self, spec: Spec, target: Target, key: str, path: Path) -> None:
        """A file param inside a model's or asset's folder under build_dir names what builds write: a model's weights
        there are retrained after the assets given them by path are made (a build orders an asset after a model it
        names, not after a file), which a build then reports as done though they are stale; and any other file
        there may be replaced or deleted."""
        owner = next((name for name in spec.targets if path.is_relative_to(spec.build_dir / name)), None)
        if owner is None:
            return
        at = (target.section, target.name, key)
        if owner in spec.models and path == spec.build_dir / owner / MODEL_FILE and key == "model":
            self.fail(at, f"{path} is the weights file model {owner} writes, which a build may retrain after "
                      f"{target.name} is made from it: write model: {owner}")
        else:
            self.fail(at, f"{path} is inside the folder {owner} builds to, whose files builds replace and delete: "
                      "keep weights files outside it (copy a trained model.pt elsewhere to keep it as it is)")

    def _check_maps(self, spec: Spec, target: Target, upstream: Target) -> None:
        """An asset chained from one that writes several files per input reads some of its maps by name (export_dds
        from a material, or from each variant of a multiply of one), or, with an op that takes one image, is applied
        to each of its PNGs (``images_each``: multiply's variants as DDS); nothing else reads another op's several
        files. Those are still files: a second spec can take their folder for a textures source, which the refusal
        says to an op that makes several files from one image (multiply, from another's variants), since an artist
        told only where not to chain from did not know how to go on."""
        variants = upstream.params.variant_maps()
        written = upstream.params.surface_maps() or next(iter(variants.values()), ())
        wanted = target.params.input_roles()
        at = (target.section, target.name)
        if "image" in wanted or "flash" in wanted or not written:
            names = spec.output_names(upstream) or ()
            several = wanted == {"image"} and target.params.output_names() is not None  # multiply, a material
            hint = ", or export its maps with export_dds's maps" if written else (
                f"; to give its files to {target.op.name}, make {spec.build_dir / upstream.name} the root of a textures "
                "source in a second spec (with a build_dir of its own) and build that after this one"
                if several and all(name.endswith(".png") for name in names) else "")
            self.fail((*at, "from"), f"{target.upstream!r} writes several files per input "
                      f"({_files_in_words(names, variants)}); chain from a one-image asset{hint}"
                      f"{_before_the_material(spec, target, upstream) if variants else ''}")
        elif missing := sorted(wanted - {PurePosixPath(name).name for name in spec.output_names(upstream) or ()}):
            self.fail((*at, "maps"), f"{target.upstream!r} writes no {', '.join(missing)} with its params; its maps "
                      f"are {', '.join(written)}")

    def _dropped(self, section: str) -> set[str]:
        """The names of the entries in each copy of ``section`` where it is given twice, the ones YAML dropped
        included: the twice-given key's problem says why they are gone, so a ``from:`` naming one is not said to
        name nothing too."""
        if (section,) not in self.keys.repeated:
            return set()
        return {at[1] for at in self.lines if len(at) == 2 and at[0] == section}

    def _check_cycles(self, spec: Spec) -> None:
        """Each ``from:`` cycle once, at its first asset in the spec, with the chain: told at each member (``a -> b
        -> a`` and ``b -> a -> b``) and at each asset chained from it, one fix was said as several problems. Not a
        cycle through an asset given twice, or holding a key given twice (a line copied and not renamed): that
        problem, said already, is its cause, since YAML kept the last of the two, which the artist did not mean to
        chain from."""
        twice = {at[1] for at in self.keys.repeated if len(at) > 1 and at[0] == "assets"}
        said: set[str] = set()
        for name, target in spec.assets.items():
            seen = [name]
            upstream = target.upstream
            while upstream in spec.assets and upstream not in seen:
                seen.append(upstream)
                upstream = spec.assets[upstream].upstream
            if upstream == name and said.isdisjoint(seen) and twice.isdisjoint(seen):
                said.update(seen)
                self.fail(("assets", name, "from"), "cycle: " + " -> ".join([*seen, upstream]))


def _heading_above(lines: list[str], number: int) -> int | None:
    """The number of the nearest section line (``assets:``, or ``# models:`` commented out) above line ``number``:
    the section a commented-out entry there was written in."""
    return next((above for above in range(number - 1, 0, -1) if _section_named(lines[above - 1]) is not None), None)


def _section_named(line: str) -> str | None:
    """The section ``line`` starts, commented out or not (``# models:``), or None."""
    found = re.match(rf"#?[ \t]*({'|'.join(_SECTIONS)})[ \t]*:", line)
    return found.group(1) if found else None


def _comment_mark(line: str) -> str:
    """What to delete to uncomment ``line``: the ``#`` with the space after it, where it has one (``# models:``,
    as ``init`` writes it), since the space left behind indents the line out of its place and the spec no longer
    loads."""
    return "'# '" if re.match(r"[ \t]*# ", line) else "#"


def _section_of_entry(entry: Any) -> str | None:
    """The section an entry belongs in, told by its ``kind`` (a source) or its ``op`` (a model or an asset), for a
    top-level key that is one: an entry a slip of indentation moved to the start of its line was called an unknown
    spec key, and every ``from:`` or ``model:`` naming it a name defined nowhere."""
    if not isinstance(entry, dict):
        return None
    if entry.get("kind") in ("textures", "photo_pairs"):
        return "sources"
    op = OPS.get(entry["op"]) if isinstance(entry.get("op"), str) else None
    return None if op is None else "models" if op.kind == "model" else "assets"


def _from_a_model(target: Target) -> str:
    """Why an asset is not built from a model, with the fix: a model's weights are no images, and only ops with
    a ``model`` key use them (``upscale``, which has none, was told to name it under ``model:``)."""
    said = f"{target.upstream!r} is a model, not images to build from"
    if "model" in type(target.params).model_fields:
        named = "" if target.model == target.upstream else f", and name the model under model: {target.upstream}"
        return f"{said}: give from: the source or asset to build from{named}"
    users = " or ".join(sorted(name for name, op in OPS.items() if "model" in op.params_model().model_fields))
    return (f"{said}: give from: a source or asset; a model is used by op: {users} (with model: "
            f"{target.upstream}), not by {target.op.name}")


def not_a_file(path: Path) -> str | None:
    """Why a weights file named in the spec cannot be read, for a message, or None where it can: a folder (an
    unzipped download), a device or a pipe (``/dev/null``, which exists), or nothing at all."""
    if path.is_file():
        return None
    if path.is_dir():
        return "is a folder; name the file in it"
    return "is a device or a pipe, not a file; name the weights file" if path.exists() else "does not exist"


def _files_in_words(names: tuple[str, ...], variants: Mapping[str, tuple[str, ...]]) -> str:
    """An asset's files per input, for a message: those of its first variant alone where it writes a folder per
    variant (a multiply of a material), whose list of every variant's maps hid the refusal's reason and fix."""
    if len(variants) < 2:
        return ", ".join(names)
    first = next(iter(variants))
    shown = [name for name in names if name.startswith(f"{first}/")]
    return f"{', '.join(shown)}, and so on in each of its {len(variants)} variants' folders"


def _before_the_material(spec: Spec, target: Target, upstream: Target) -> str:
    """Where an op that makes one image from one (upscale, super_resolve) is chained from a multiply of a material,
    which it cannot take each map of as its kind (a normal map as vectors), how to get what it would make: the
    material made from its output, and multiplied from that; "" for another op. A material fitted from photo pairs
    has no textures to enlarge first (the op takes one image, not a pair), and was told to chain it from one."""
    params = target.params
    if params.input_roles() != {"image"} or params.output_names() is not None or params.output_suffix() != ".png":
        return ""
    op, material = target.op.name, spec.assets[upstream.upstream]
    if (source := spec.sources.get(material.upstream)) is not None and source.kind == "photo_pairs":
        return (f"; {material.name!r} is fitted from the photo pairs of {source.name!r}, which {op} does not take: "
                "its maps have as many texels as the photos, so for more detail photograph the surface closer or at a "
                f"higher resolution, and for larger variants raise {upstream.name}'s size")
    return (f"; to {op} them, {op} the textures before the material: chain {upstream.upstream!r} from an asset "
            f"with op: {op}")


def _roles_in_words(roles: frozenset[str]) -> str:
    """What an op takes per partition, for a message: ``_ROLE_WORDS``'s, or the maps it names."""
    maps = ", ".join(sorted(name.removesuffix(".png") for name in roles))
    return _ROLE_WORDS.get(roles) or f"the maps {maps} of an asset that writes several (a material)"


def _check_level(level: Any) -> Any:
    """A guard's level as given, with the words YAML 1.1 read as booleans, which specs used for it, in any case:
    ``off``/``no``/``false`` turn a guard off, ``on``/``yes``/``true`` make it an error."""
    words = {"true": "error", "yes": "error", "on": "error", "false": "off", "no": "off"}
    if isinstance(level, bool):
        return "error" if level else "off"
    return words.get(level.lower(), level.lower()) if isinstance(level, str) else level


def _name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a source, model or asset, or None when it can."""
    if isinstance(name, bool) or name is None:  # `true:`, `null:` or `~:`; `on:` and `no:` are names (YAML 1.2)
        return f"YAML reads this key as {'nothing' if name is None else 'a boolean'}, not a name; pick another name"
    if not isinstance(name, str):  # `2:`, `0x1F:`, `1e3:`, `2024-05-01:` are values to YAML
        return f"YAML reads this key as {yaml_kind(name)} ({name}), not a name; put it in quotes"
    if not NAME_PATTERN.match(name):
        hidden = _invisible(name)
        return ("names are letters, digits and _ only (they become folder names under build_dir, "
                "so '/', '..' and spaces are not allowed)" + (f"; this one holds {hidden}: retype it" if hidden else ""))
    if not takes_name(name):
        return f"Dagster reserves the name {name!r} (Python keywords, input, output, type, config, context, ...); pick another"
    return None


def _spec_keys_hint(meant: list[str]) -> str:
    """The keys a spec takes, after the one closest to an unknown key where there is one: said only where no fix
    is known, since after a fix (indent it, name it x-...) the list reads as a second, different fix."""
    guess = f"did you mean {meant[0]!r}? " if meant else ""
    return f"{guess}expected one of {', '.join(SPEC_KEYS)} (or {FREE_PREFIX}<name> for a block that anchors share)"


def _invisible(text: str) -> str | None:
    """The first character of ``text`` that shows as a space or as nothing (``an invisible U+00A0``), which
    text pasted from a chat or a web page brings; None where there is none. A message naming the key would
    show it unseen."""
    hidden = next((char for char in text if char != " " and unicodedata.category(char) in ("Zs", "Cf")), None)
    return None if hidden is None else f"an invisible U+{ord(hidden):04X} ({unicodedata.name(hidden, 'unnamed')})"


def _text(data: dict[str, Any], key: str, default: str) -> str:
    """A top-level setting as text: ``default`` where the key is absent, "" where it is given empty
    (``timezone:`` with nothing after it, which YAML reads as null)."""
    value = data.get(key, default)
    return "" if value is None else str(value)


def _shown(value: str) -> str:
    """A setting's value in a message: quoted, or ``nothing`` where it is empty."""
    return repr(value) if value else "nothing"


@functools.cache
def _time_zones() -> frozenset[str]:
    """The IANA time zone names, without the files beside them in the database that are no zone of their own."""
    return frozenset(zoneinfo.available_timezones() - {"localtime", "posixrules", "Factory"})


def _spelt_so(zone: str) -> str:
    """``; did you mean 'Europe/Berlin'?`` for ``europe/berlin``: a name only spelt otherwise, never a
    near one (``PST`` is no typo of ``MST``)."""
    spelt = next((name for name in sorted(_time_zones()) if name.lower() == zone.lower()), None)
    return f"; did you mean {spelt!r}?" if spelt else ""


def _is_timezone(name: str) -> bool:
    """Dagster's own check of a schedule's time zone, on an IANA name spelt as the time zone database spells it:
    ``PST`` is refused, ``US/Pacific`` taken. Dagster also takes ``localtime`` (whatever the machine running the
    daemon is set to) and, where the disk ignores case (macOS, Windows), ``europe/berlin``, which a Linux
    machine would then refuse."""
    return name in _time_zones() and takes_schedule(DEFAULT_SCHEDULE, name)
