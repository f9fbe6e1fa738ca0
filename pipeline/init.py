"""``remaster init``: a starter spec written from what a studio's folder holds, so that a first build on its own
data does not wait for a spec written by hand from the README's example.

The spec is written as text from a template, not dumped from data, so each line keeps the comment that says what
it does; the text is read back with the spec loader, and each source scanned as a build scans it, before it is
written: a spec ``init`` writes is one that ``validate`` takes and ``build`` finds files in.
"""

from __future__ import annotations

import itertools
import json
import keyword
import math
import os
import re
import shlex
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ops.atomic import file_in_the_way, write_bytes_atomic
from ops.formats import READABLE_SUFFIXES
from ops.preview import sides
from pipeline.claims import BUILT_FROM, dagster_home, make_project_instance
from pipeline.dagster_names import takes_name
from pipeline.globs import Glob
from pipeline.sources import WINDOWS_EXTRAS, empty_inputs, scan_source
from pipeline.spec import SPEC_FILE, Spec, parse_spec, real_path
from pipeline.words import counted, some, spelled

NORMAL_ENDINGS = ("_n", "_normal", "_nrm")  # a normal map's name: brick_n.png, brick_normal.tga, brick_nrm.png
NORMAL_FILES = "**/*{" + ",".join(NORMAL_ENDINGS) + "}.*"  # the exclude that keeps them out of a colour source
PHOTO_ROLES = ("flash", "guide")  # a photo pair's folder holds flash.* and guide.*, as the README's example has it
BUILD_MARK = "manifest.json"  # a folder holding one is a build folder: its outputs are not the studio's files
_YAML_WORDS = {"true", "false", "null"}  # names YAML 1.2 reads as values, not text
_NAME_MAX = 64  # characters a source named after a folder keeps: its assets add suffixes, and name folders
_MEASURED = 50  # textures of a colour source whose headers are read to tell its typical size
ROOT = PurePosixPath(".")  # the scanned folder itself, as the key of what lies directly in it
_Found = list[tuple[PurePosixPath, list[str]]]  # each folder under the scanned one that holds images, with their names
_YAML_ESCAPED = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")  # written as \\uXXXX in a quoted string
# Latin letters (casefolded) that NFKD does not decompose into a letter and an accent: Łódź, Œuvre, Ærø, Þing
_LATIN_LETTERS = str.maketrans({"ł": "l", "œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ð": "d", "þ": "th",
                                "ħ": "h", "ı": "i", "ŧ": "t", "ŀ": "l"})
_GLOB_CHARACTERS = {"[": "[[]", "*": "[*]", "?": "[?]", "{": "\\{", "}": "\\}", ",": "\\,", "\\": "\\\\"}


class NotAFolder(ValueError):
    """What ``init`` was given to scan is no folder."""


class NothingToRead(ValueError):
    """The folder holds no file remaster reads."""


class SpecInTheWay(FileExistsError):
    """A spec is already where ``init`` would write one."""


@dataclass
class _Group:
    """What one top-level folder holds: colour textures, normal maps, photo-pair folders, folders that hold
    only one of a pair's photos, pair folders in a pair's folder (which are the pair's) and links to nowhere, each
    a path relative to the scanned folder."""

    colour: list[PurePosixPath] = field(default_factory=list)
    normals: list[PurePosixPath] = field(default_factory=list)
    pairs: list[PurePosixPath] = field(default_factory=list)
    halves: list[PurePosixPath] = field(default_factory=list)
    nested: list[PurePosixPath] = field(default_factory=list)
    links: list[PurePosixPath] = field(default_factory=list)  # links to nowhere its sources' scans would meet


@dataclass(frozen=True)
class Started:
    """A starter spec written: where, and each source with what a build of it finds."""

    path: Path
    spec: Spec
    found: dict[str, str]  # source -> what a scan of it finds, in words: "3 colour textures in walls"
    warnings: list[str]  # what no source takes, and what a build of a source skips, and why


def shell_word(text: str) -> str:
    """``text`` as a word of a command a shell reads back as ``text``: ``shlex.quote``'s, or, where it holds a
    control character (a folder named with a line break), bash's and zsh's ``$'...'``, which spells it as an
    escape (``$'new\\nline'``), so the command is one line, pasted whole."""
    if text.isprintable():
        return shlex.quote(text)
    return "$'" + "".join(_escaped(char) for char in text) + "'"


def _escaped(char: str) -> str:
    """``char`` inside ``$'...'``: a quote or backslash escaped, a control character as ``\\n``, ``\\x1b`` or
    ``\\u202e``, a letter as it is."""
    if char in "'\\":
        return "\\" + char
    if char.isprintable():
        return char
    return ascii(char)[1:-1] if ord(char) < 0x80 else f"\\u{ord(char):04x}"


def _command(words: list[str]) -> str:
    """``words`` as a command line, each a ``shell_word``."""
    return " ".join(map(shell_word, words))


def write_starter_spec(folder: Path, spec_path: Path, *, force: bool = False) -> Started:
    """Scan ``folder`` and write a spec for what it holds to ``spec_path`` (refused where one is there, unless
    ``force``). Raises NotAFolder, SpecInTheWay, NothingToRead, SpecError (a spec this code got wrong) and
    OSError (the spec could not be written). What it says names files as they are: the CLI shows their line
    breaks and other control characters as escapes (``shown``), as it does every name it prints."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise NotAFolder(f"{folder} {what}; give remaster init the folder that holds the textures and photo pairs")
    _refuse_spec_path(spec_path, force)
    scanned, spec_folder = Path(os.path.abspath(folder)), Path(os.path.abspath(spec_path)).parent
    again = _again(folder, spec_path)
    warnings: list[str] = []
    dangling: list[PurePosixPath] = []
    unspelled: list[Path] = []
    builds: list[Path] = []
    images = _image_folders(scanned, unspelled, dangling, builds)
    if photos := _photos_of_a_pair(images):
        raise NothingToRead(_pair_root(scanned, photos))
    groups, left_out = _outside(_groups(images), scanned, spec_folder)
    groups, backslashed = _spellable(groups, scanned, spec_folder)
    _leave_out_links(groups, dangling)
    warnings += [_build_folders(scanned, others, again)] if (others := _not_remaster_s(builds)) else []
    warnings += [_links_to_nowhere(scanned, dangling, again)] if dangling else []
    warnings += [_holds_the_spec(folder, spec_folder, left_out, again)] if left_out else []
    warnings += [_backslashed(scanned, backslashed, again)] if backslashed else []
    warnings += [_spelled_apart(scanned, alike, again) for alike in _look_alike(groups)]
    if not groups:
        said = [_not_utf8(scanned, path, again) for path in unspelled] + warnings
        raise NothingToRead("; ".join(said or [_nothing_to_read(folder)]))
    text, holds = _starter_text(scanned, groups, spec_folder)
    spec = parse_spec(text, spec_path.absolute())
    found = _scanned(spec, holds, warnings)
    warnings += [_not_utf8(scanned, path, again) for path in unspelled if not _met_by_a_scan(spec, path)]
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(spec_path, text.encode("utf-8"))
    _make_instance(spec, warnings)
    return Started(spec_path, spec, found, warnings)


def _make_instance(spec: Spec, warnings: list[str]) -> None:
    """The project's Dagster instance (``.dagster`` beside the spec), as ``remaster demo`` makes it, so that the
    builds run before the first ``remaster ui`` are recorded where that UI shows them, not in a throwaway one.
    ``DAGSTER_HOME``, where set, is the artist's choice and is left alone, but checked as a build checks it, so
    that one the build next refuses (relative, or no folder) is said now. One that cannot be made is a warning:
    the spec is written, and builds still run."""
    try:
        home = dagster_home()
    except ValueError as exc:
        warnings.append(f"{exc}; until then, remaster validate, status, build and ui stop there (exit 2)")
        return
    if home is not None:
        return
    try:
        make_project_instance(spec)
    except ValueError as exc:
        warnings.append(f"{exc}; until then, builds are recorded in a throwaway instance the UI does not show")


def _refuse_spec_path(spec_path: Path, force: bool) -> None:
    """Refuse to write the spec over one that is there (unless ``force``), or a folder, or below a file."""
    if (standing := file_in_the_way(spec_path.parent)) is not None:
        raise SpecInTheWay(f"--spec {spec_path}: {standing} is a file, not a folder; give --spec a path in a folder")
    if spec_path.is_dir():
        raise SpecInTheWay(f"{spec_path} is a folder; give --spec the path of the spec file to write "
                           f"({spec_path / SPEC_FILE})")
    if spec_path.exists() and not force:
        raise SpecInTheWay(f"{spec_path} exists; give --force to overwrite it, or --spec PATH to write the new spec "
                           "elsewhere")


def _scanned(spec: Spec, holds: dict[str, str], warnings: list[str]) -> dict[str, str]:
    """What a build finds in each source, in words (``3 colour textures in walls``), from the scan a build makes;
    what that skips (``brick.png`` and ``brick.tga``, whose outputs collide), and the empty files it takes, go to
    ``warnings``, said now rather than by the first build."""
    found = {}
    for name, source in spec.sources.items():
        partitions = scan_source(source, warnings)
        warnings += [empty] if (empty := empty_inputs(source, partitions)) else []
        found[name] = f"{counted(len(partitions), holds[name])} in {_root(source.root, Path.cwd())}"
    return found


def _nothing_to_read(folder: Path) -> str:
    """Why ``init`` wrote nothing for ``folder``, naming the files it looks for."""
    suffixes = ", ".join(READABLE_SUFFIXES)
    return (f"{folder.absolute()}: no file remaster can build from: it looks for textures ({suffixes}) and photo "
            "pairs (a folder holding a flash.* and a guide.* photo) in the folders below it, passing over hidden ones "
            "and build folders; give remaster init the folder that holds them")


def _outside(groups: dict[PurePosixPath, _Group], folder: Path,
             spec_folder: Path) -> tuple[dict[PurePosixPath, _Group], list[PurePosixPath]]:
    """The groups whose root (``folder`` itself for ``ROOT``'s) does not hold the spec's folder, and the files and
    pair folders of those whose root does: the spec's folder holds the build and the cache, which a source's root
    may not hold, since outputs would become inputs. Both are compared with links followed, as the spec's loader
    follows them (a linked FOLDER whose real folder holds the spec's)."""
    kept: dict[PurePosixPath, _Group] = {}
    left_out: list[PurePosixPath] = []
    for top, group in groups.items():
        if real_path(spec_folder).is_relative_to(real_path(folder / top)):
            left_out += [*group.colour, *group.normals, *group.pairs]
        else:
            kept[top] = group
    return kept, sorted(left_out)


def _spellable(groups: dict[PurePosixPath, _Group], folder: Path,
               spec_folder: Path) -> tuple[dict[PurePosixPath, _Group], list[PurePosixPath]]:
    """The groups whose root, as the spec writes it, holds no backslash, and the top-level folders of those whose
    root does: a folder so named on Linux or macOS (unpacked from a Windows archive) is one a root cannot name,
    since the spec reads a backslash in a root as Windows' folder separator and refuses it."""
    kept = {top: group for top, group in groups.items() if "\\" not in _root(folder / top, spec_folder)}
    return kept, sorted(set(groups) - set(kept))


def _backslashed(folder: Path, tops: list[PurePosixPath], again: str) -> str:
    """Why the files in ``tops``, folders under ``folder`` whose root would hold a backslash, are in no source,
    and the fix, ending with ``again``, the command that runs init again."""
    shown = [(folder / top).as_posix() for top in tops]
    return (f"left out the files in {some(shown)}: a source's root cannot hold a backslash, which the spec reads as "
            "Windows' folder separator; rename the folder without it and run " + again)


def _holds_the_spec(folder: Path, spec_folder: Path, paths: list[PurePosixPath], again: str) -> str:
    """Why ``paths`` under ``folder`` are in no source, with the fix that moves nothing first: the spec written
    in a folder of its own beside ``folder``, whose sources then take them where they are; or the files moved,
    and ``again``, the command that runs init again."""
    scanned = Path(os.path.abspath(folder))
    beside = _spec_beside(scanned)
    given = "" if scanned == Path.cwd() else f" {shell_word(_path_word(folder))}"
    return (f"left out {some([path.as_posix() for path in paths])} in {scanned}: a source's root cannot hold the "
            f"spec's folder ({spec_folder}), which holds the build and the cache; to build them where they are, write "
            f"the spec in a folder of its own: remaster init{given} --spec {shell_word(str(beside))}; or move them "
            f"into a folder of their own (textures, photos) and run {again}")


def _again(folder: Path, spec_path: Path) -> str:
    """The command that runs this ``init`` again, over the spec it writes: with the folder and the ``--spec`` it
    was given (each left out where it is the default), so that it works as printed from where this one ran, where
    a bare ``remaster init --force`` scanned another folder, or wrote a spec beside the one the build reads."""
    given = [] if Path(os.path.abspath(folder)) == Path.cwd() else [_path_word(folder)]
    default = os.path.abspath(spec_path) == os.path.abspath(folder / SPEC_FILE)
    return _command(["remaster", "init", *given, *([] if default else ["--spec", _path_word(spec_path)]), "--force"])


def _path_word(path: Path) -> str:
    """``path`` as a command's word: ``./-x`` for a folder named ``-x``, which the command would read as an
    option (``No such option: -x``)."""
    return f"./{path}" if str(path).startswith("-") else str(path)


def _spec_beside(scanned: Path) -> Path:
    """Where the command ``_holds_the_spec`` gives writes the spec: ``<FOLDER>-remaster``, or the first
    ``<FOLDER>-remaster-N`` that is no file and holds no spec, so that the command, run as said, is not refused
    for a spec there already (one written by that command before)."""
    names = itertools.chain([f"{scanned.name}-remaster"], (f"{scanned.name}-remaster-{n}" for n in itertools.count(2)))
    return next(path for name in names
                if not (path := scanned.parent / name / SPEC_FILE).exists() and file_in_the_way(path.parent) is None)


def _photos_of_a_pair(found: _Found) -> list[str]:
    """The images directly in the scanned folder (``found`` as ``_image_folders`` gives it) where it is itself a
    pair's folder (it holds a flash and a guide photo), whose pair no source can take, and all under which is the
    pair's: none otherwise."""
    names = dict(found).get(ROOT, [])
    return names if {_stem(name) for name in names}.issuperset(PHOTO_ROLES) else []


def _pair_root(folder: Path, photos: list[str]) -> str:
    """Why ``photos``, a flash and a guide photo directly in ``folder``, are in no source, and the command that
    takes them: a pair is a folder below a source's root, named by it, and ``folder`` is the highest root ``init``
    writes, so the root is the folder above, which cannot hold the spec's folder either (it holds the build and
    the cache): the spec goes beside that one, as for a flat folder."""
    above = folder.parent
    command = _command(["remaster", "init", str(above), "--spec", str(_spec_beside(above))])
    return (f"left out {', '.join(photos)} in {folder}: a photo pair is a folder below the folder remaster init "
            f"scans; to take it as a pair, run remaster init on the folder above, with the spec beside that one: "
            f"{command} (it takes the other folders in {above} too)")


def _groups(found: _Found) -> dict[PurePosixPath, _Group]:
    """The images ``found`` under the scanned folder (no pair's folder itself), as ``_image_folders`` gives them,
    by top-level folder (``ROOT`` for those directly in the folder, and for the top-level folders that are pair
    folders), each sorted into colour textures, normal maps, pair folders (everything under one is the pair's: a
    ``ground_truth`` folder beside the photos, or a pair folder, which is then nested: the pair's) and half
    pairs."""
    groups: dict[PurePosixPath, _Group] = defaultdict(_Group)
    pairs: set[PurePosixPath] = set()
    for where, names in found:  # a folder before those in it
        roles = {role for role in PHOTO_ROLES if any(_stem(name) == role for name in names)}
        if enclosing := pairs.intersection(where.parents):
            if roles == set(PHOTO_ROLES):  # a pair's, which a pairs glob at any depth must leave out
                groups[_pair_group(min(enclosing))].nested.append(where)
            continue
        if roles == set(PHOTO_ROLES):
            pairs.add(where)
            groups[_pair_group(where)].pairs.append(where)
        else:
            _sort_images(groups[PurePosixPath(*where.parts[:1])], where, names, roles)
            if roles and len(where.parts) == 1:  # a top-level half pair: the root's pairs glob must leave it out
                groups[ROOT].halves.append(where)
    return {top: group for top, group in groups.items() if group.colour or group.normals or group.pairs}


def _pair_group(pair: PurePosixPath) -> PurePosixPath:
    """The group of pair folder ``pair``: its top-level folder's, and the root's for a top-level pair folder."""
    return PurePosixPath(*pair.parts[:1]) if len(pair.parts) > 1 else ROOT


def _sort_images(group: _Group, where: PurePosixPath, names: list[str], roles: set[str]) -> None:
    """The images ``names`` in folder ``where`` into ``group``'s colour textures and normal maps; a folder with
    only one of a pair's photos is a half pair, which the pairs' globs must leave out."""
    if roles:
        group.halves.append(where)
    for name in names:
        (group.normals if _is_normal_map(name) else group.colour).append(where / name)


def _image_folders(folder: Path, unspelled: list[Path], dangling: list[PurePosixPath], builds: list[Path]) -> _Found:
    """Each folder under ``folder`` (relative to it) with the names of the images in it, passing over hidden
    files and folders, Explorer's files, build folders (added to ``builds``), folders whose name is not UTF-8
    (added to ``unspelled``) and links to nowhere (added to ``dangling``, or to ``unspelled`` where no exclude can
    spell their name).
    Linked folders are followed, as a source's scan follows them (a studio links its texture share into the
    project), each real folder once: a link to a folder above would lead round without end."""
    found = []
    seen = {os.path.realpath(folder)}
    for root, folders, files in os.walk(folder, followlinks=True):
        folders[:] = [name for name in sorted(folders)
                      if _spelled(Path(root, name), unspelled) and _wanted(Path(root, name), seen, builds)]
        links = [name for name in files if not name.startswith(".") and _dangles(Path(root, name))]
        where = PurePosixPath(Path(root).relative_to(folder).as_posix())
        dangling += [where / name for name in sorted(links) if _spelled(Path(root, name), unspelled)]
        names = sorted(name for name in files if _is_image(name) and name not in links)
        if names:
            found.append((where, names))
    return found


def _dangles(path: Path) -> bool:
    """Whether ``path`` is a link to a file or folder that is not there (an unmounted share, a folder moved)."""
    return path.is_symlink() and not os.path.exists(path)


def _leave_out_links(groups: dict[PurePosixPath, _Group], dangling: list[PurePosixPath]) -> None:
    """Each of ``dangling`` into the group whose sources' scans would meet it, which the sources then exclude: a
    scan that meets a link to nowhere skips its whole source (what lay there would be taken for deleted files,
    and their outputs removed), where one link is all that is missing. A top-level folder's sources reach all
    below it; the root's textures sources only what lies directly in it, and its pairs source (``*/flash.*``) the
    top-level folders too (a ``flash.CR2`` linked to a RAW on a drive not mounted)."""
    for top, group in groups.items():
        if top != ROOT:
            group.links = [link for link in dangling if top in link.parents]
        else:  # links directly in the root, and for its pairs source those in its top-level folders too
            group.links = [link for link in dangling if len(link.parts) <= (2 if group.pairs else 1)]


def _links_to_nowhere(folder: Path, dangling: list[PurePosixPath], again: str) -> str:
    """Why ``dangling``, links under ``folder`` to nowhere, are in no source, and the fix, ending with ``again``,
    the command that runs init again."""
    shown = [f"{link} -> {os.readlink(folder / link)}" for link in dangling]
    return (f"left out {some(shown)} in {folder}: a link to a folder or file that is not there (an unmounted share, "
            "or a folder renamed or moved?), which a source whose folder holds it excludes, so that builds take the "
            f"rest; mount it or point the link at where it is now, then run {again}")


def _spelled(path: Path, unspelled: list[Path]) -> bool:
    """Whether the name of ``path`` (a folder, or a link to nowhere) is UTF-8, as a spec's text is: one in another
    encoding (an old archive's Latin-1), which a root or an exclude naming it cannot spell, is left out, added to
    ``unspelled``."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:  # bytes of another encoding, kept by Python as surrogates
        unspelled.append(path)
        return False
    return True


def _not_utf8(folder: Path, path: Path, again: str) -> str:
    """Why ``path`` under ``folder`` (a folder, or a link to nowhere), whose name is not UTF-8, is in no source,
    and the fix, ending with ``again``, the command that runs init again."""
    shown = path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return (f"left out {shown!r} in {folder}: its name is not UTF-8 (an old archive's encoding, such as Latin-1), "
            f"which a spec cannot hold; rename it and run {again}")


def _met_by_a_scan(spec: Spec, folder: Path) -> bool:
    """Whether a source's glob takes a file in ``folder`` (whose name is not UTF-8), which the source's scan then
    skips, naming the file and the fix, as each build does: ``init`` saying the folder too said it twice."""
    real = real_path(folder)
    reaching: list[tuple[Path, list[Glob]]] = []  # each source whose root holds the folder, with its globs
    for source in spec.sources.values():
        if real.is_relative_to(root := real_path(source.root)):
            reaching.append((root, [Glob(pattern, source.exclude) for pattern in source.patterns.values()]))
    for where, _, files in os.walk(real):  # links not followed: a link back up would lead round without end
        for root, globs in reaching:
            paths = [Path(where, name).relative_to(root).parts for name in files if not name.startswith(".")]
            if any(glob.takes(parts) for glob in globs for parts in paths):
                return True
    return False


def _wanted(path: Path, seen: set[str], builds: list[Path]) -> bool:
    """Whether the walk enters folder ``path``: not hidden, not a build folder (added to ``builds``): one holding a
    ``manifest.json``, or the record of its spec a remaster build writes before any output (a first build killed
    before it wrote its manifest), and not a real folder it has entered already (which it then adds to ``seen``)."""
    real = os.path.realpath(path)
    if path.name.startswith(".") or real in seen:
        return False
    seen.add(real)
    if (path / BUILD_MARK).is_file() or (path / BUILT_FROM).is_file():
        builds.append(path)
        return False
    return True


def _not_remaster_s(builds: list[Path]) -> list[Path]:
    """The folders of ``builds`` (each holding a ``manifest.json``, or a remaster build's record) that no remaster
    build recorded its spec in: another tool's manifest may lie beside a studio's own textures, which init then
    passes over, so it says so; a remaster build folder's images are its outputs, passed over without a word."""
    return [path for path in builds if not (path / BUILT_FROM).is_file()]


def _build_folders(folder: Path, builds: list[Path], again: str) -> str:
    """Why ``builds``, folders under ``folder`` holding a ``manifest.json`` no remaster build wrote, are in no
    source, and the fix, ending with ``again``, the command that runs init again."""
    shown = [path.relative_to(folder).as_posix() for path in builds]
    return (f"passed over {some(shown)} in {folder}: it holds a {BUILD_MARK}, which marks a build folder, whose "
            "images are a build's outputs; if it holds textures of yours (another tool's manifest), move them into a "
            f"folder of their own and run {again}")


def _is_image(name: str) -> bool:
    return (not name.startswith(".") and name.lower() not in WINDOWS_EXTRAS
            and PurePosixPath(name).suffix.lower() in READABLE_SUFFIXES)


def _stem(name: str) -> str:
    return PurePosixPath(name).stem.lower()


def _is_normal_map(name: str) -> bool:
    """Whether ``name`` is a normal map's, as the colour sources' exclude (``NORMAL_FILES``) takes it: a normal map's
    ending before any dot-part (``brick_n.png``, and ``brick_n.old.png``, which that exclude keeps out of colour
    too, so a source must take it)."""
    return any(f"{ending}." in name.lower() for ending in NORMAL_ENDINGS)


def _starter_text(folder: Path, groups: dict[PurePosixPath, _Group], spec_folder: Path) -> tuple[str, dict[str, str]]:
    """The spec's text, and what each of its sources holds (``colour texture``): a textures source per top-level
    folder of colour textures (and one, named after ``folder``, of those directly in it), one of its normal maps,
    a photo_pairs source of its pair folders; an upscale and an export_dds of each textures source, a material and
    its export of each photo_pairs source; and, commented out, the other ops, with the README section for each."""
    draft = _Draft()
    alike = {top for tops in _look_alike(groups) for top in tops}
    for top, group in sorted(groups.items()):
        root = (_escaped_letters if top in alike else _quoted)(_root(folder / top, spec_folder))
        base = draft.name(top.name or folder.name, longest=_NAME_MAX)
        if group.colour:
            draft.colour(base, root, top, group, _median_texels(folder, group.colour))
        if group.normals:
            draft.normals(base, root, top, group)
        if group.pairs:
            draft.pairs(base, root, top, group)
    build_dir = _build_dir([folder / top for top in groups], spec_folder)
    head = _HEAD.format(folder=_quoted(spelled(str(folder))), build_dir=f"build_dir: {build_dir}".ljust(33))
    return head + draft.text(), draft.holds


def _median_texels(folder: Path, files: list[PurePosixPath]) -> float:
    """The median size, in texels, of ``files`` under ``folder``, from the headers of at most ``_MEASURED`` of
    them spread over the list (a studio's folder may hold thousands): which colour source holds the legacy
    textures to enlarge. Infinite where no header reads, so that such a source is the last one picked. Only plain
    files are opened: opening a pipe named like an image (``mkfifo``) waits for a writer, and init with it."""
    measured = [folder / path for path in files[::math.ceil(len(files) / _MEASURED)]]
    found = [math.prod(size) for path in measured if path.is_file() and (size := sides(path)) is not None]
    return statistics.median(found) if found else math.inf


_HEAD = """\
# Written by remaster init from the files in {folder}: a start, to edit.
# Each op's keys and defaults: README "The ops"; globs and exclude: README "Sources in detail".
{build_dir}# outputs, relative to this file
cache_dir: .remaster/cache       # content-addressed store; may be an absolute or shared path
device: auto                     # CUDA when available, else CPU
"""


def _look_alike(groups: dict[PurePosixPath, _Group]) -> list[list[PurePosixPath]]:
    """The top-level folders of ``groups`` whose names print alike but are spelled apart, in sets: ``Café`` with
    its é one letter (NFC, as Windows and most Linux tools write it) beside ``Café`` with an e and an accent mark
    (NFD, as macOS wrote names, and its archives keep them), or ``walls`` beside ``walls`` with a zero-width space
    pasted in. They are two folders, so two sources, whose names (``cafe``, ``cafe_2``) and roots would read
    alike."""
    by_look: dict[str, list[PurePosixPath]] = defaultdict(list)
    for top in groups:
        by_look[unicodedata.normalize("NFC", _drawn(top.name))].append(top)
    return [sorted(tops) for _, tops in sorted(by_look.items()) if len(tops) > 1]


def _drawn(text: str) -> str:
    """``text`` without its format characters (a zero-width space, a direction mark), which a screen does not
    draw: as it reads."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def _spelled_apart(folder: Path, alike: list[PurePosixPath], again: str) -> str:
    """Why folders ``alike`` under ``folder`` are sources of their own each, how the spec writes their roots
    apart, and the fix where they are one set of textures, ending with ``again``, the command that runs init
    again."""
    spelled = [_escaped_letters(top.as_posix()) for top in alike]
    return (f"{some([top.as_posix() for top in alike])} in {folder} are {len(alike)} folders whose names look alike "
            f"but are spelled apart ({', '.join(spelled)}: an accent as part of its letter or as a mark after it, as "
            "macOS writes names, or a character not drawn, such as a zero-width space), each a source of its own, its "
            f"root so written in the spec; if they hold one set of textures, move them into one folder and run {again}")


def _escaped_letters(text: str) -> str:
    """``text`` as a YAML double-quoted string with each letter outside ASCII written as its code point
    (``"Caf\\u00e9"``, ``"Cafe\\u0301"``), which YAML reads back as it is: two roots that print alike read apart."""
    return re.sub("[^\x00-\x7f]", lambda match: _code_point(match.group()), _quoted(text))


def _code_point(char: str) -> str:
    """``char`` as YAML's ``\\uXXXX`` escape, or ``\\UXXXXXXXX`` beyond the first 65,536."""
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def _build_dir(roots: list[Path], spec_folder: Path) -> str:
    """The spec's build folder: ``build``, as the README's spec has it, unless a source's root is that folder or
    lies in it (a studio's own textures in a folder named ``build``), or it is a file (a build script), which the
    spec's loader refuses, since outputs would overwrite inputs or have no folder: ``remaster_build`` then, or the
    first ``remaster_build_N`` that is neither."""
    names = itertools.chain(["build", "remaster_build"], (f"remaster_build_{count}" for count in itertools.count(2)))
    return next(name for name in names if file_in_the_way(spec_folder / name) is None
                and not any(real_path(root).is_relative_to(real_path(spec_folder / name)) for root in roots))


def _reference(reference: str, model: str) -> list[str]:
    """The commented-out source of high-resolution textures, named ``reference``, and the model ``model`` trained
    on it: which textures those are, remaster cannot tell."""
    return [f'  # {reference}: {{kind: textures, root: path/to/hires, glob: "**/*.png"}}   # high-resolution textures '
            'to train a super-resolution model on: which they are, remaster cannot tell',
            f"# models:                       # a model trained on {reference}: README \"Super-resolution: "
            "train_srcae and super_resolve\"",
            f"#   {model}: {{op: train_srcae, from: {reference}, scale: 2, steps: 3000}}   # trains about 4 minutes "
            "on a 2-core CPU, under a minute on a GPU (6,000 steps took 453 s and 48 s: README \"Measured quality\", "
            "\"On a GPU\")"]


@dataclass
class _Draft:
    """The spec's lines as they are written: its sources' and assets', the names taken, and what each source
    holds, in words."""

    sources: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)
    holds: dict[str, str] = field(default_factory=dict)
    enlarged: dict[str, str] = field(default_factory=dict)  # colour source -> its 2x upscale's asset
    texels: dict[str, float] = field(default_factory=dict)  # colour source -> its textures' median size, in texels

    def text(self) -> str:
        """The sources and assets, with the ops not used shown commented out on the colour source whose textures
        are smallest (the first of those alike): a studio's folder often holds the high-resolution textures a
        model is to be trained on beside the legacy ones to enlarge, and the first by name was as often the
        former, which a model trained on them has nothing to add to. Their names are taken last, after the
        folders' sources and assets, so that each one uncommented is a name no other holds (a folder
        ``walls_variants`` beside ``walls``), and the folders' names stay as they are."""
        reference, model = self.name("reference"), self.name("sr2x")
        smallest = min(self.texels, key=self.texels.__getitem__, default=None)
        others = self._commented_ops(smallest, reference, model) if smallest is not None else []
        return "\n".join(["sources:", *self.sources, *_reference(reference, model), "assets:", *self.assets,
                          *others]) + "\n"

    def _commented_ops(self, source: str, reference: str, model: str) -> list[str]:
        """The ops the starter spec does not run, commented out, on colour textures ``source``, with names no
        other line holds: ``model``'s ``super_resolve`` (trained on source ``reference``) and a ``multiply`` of its
        2x upscale."""
        return _other_ops(self.name(f"{source}_sr"), self.name(f"{source}_variants"), source, self.enlarged[source],
                          reference, model)

    def name(self, wanted: str, longest: int | None = None) -> str:
        """A name the spec takes made from ``wanted`` (a folder's name): lower case, letters, digits and ``_``,
        not a word YAML or Dagster reserves, and not one taken already. Accents are dropped from their letters
        (``Wände`` is ``wande``, ``Straße`` ``strasse``), where each such letter became a ``_`` (``w_nde``), and
        the Latin letters that hold no accent to drop are spelled in ASCII (``Łódź`` is ``lodz``, ``Œuvre``
        ``oeuvre``), where they were dropped (``odz``, ``uvre``). A name with no Latin letter (``Стены``) is
        ``textures``, then ``textures_2``. Characters not drawn (a zero-width space) are left out, as they are
        not read. ``longest`` caps the name as it is spelled here, not ``wanted``: a letter may spell as several
        (``ß`` as ``ss``, ``㎉`` as ``kcal``), and a folder's 64 such letters made names longer than a folder's."""
        latin = _drawn(wanted).casefold().translate(_LATIN_LETTERS)
        unaccented = "".join(char for char in unicodedata.normalize("NFKD", latin) if not unicodedata.combining(char))
        name = re.sub(r"[^a-z0-9_]+", "_", unaccented)[:longest].strip("_") or "textures"
        if name[0].isdigit() or name in _YAML_WORDS or keyword.iskeyword(name) or not takes_name(name):
            name = f"from_{name}"
        unique, count = name, 1
        while unique in self.taken:
            count += 1
            unique = f"{name}_{count}"
        self.taken.add(unique)
        return unique

    def source(self, name: str, fields: str, comment: str, *, holds: str) -> None:
        """A source's line, ``name: {fields}   # comment``; ``holds`` says what its files are, in words."""
        self.sources.append(f"  {name}: {{{fields}}}   # {comment}")
        self.holds[name] = holds

    def asset(self, name: str, fields: str, comment: str) -> None:
        """An asset's line, ``name: {fields}   # comment``."""
        self.assets.append(f"  {name}: {{{fields}}}   # {comment}")

    def colour(self, base: str, root: str, top: PurePosixPath, group: _Group, texels: float) -> None:
        """A textures source, named ``base``, of ``group``'s colour textures (less its normal maps and pair
        folders), its 2x upscale and that one's DDS; ``root`` is the source's root as the spec writes it, quoted,
        as for ``normals`` and ``pairs``; ``texels``, its textures' median size."""
        pair_folders = _pair_folders(top, group)
        links = _links(top, group)
        left_out = [NORMAL_FILES, *pair_folders, *links]
        glob = _files("*", group.colour, top)
        left = ["normal maps"] + (["photo pair folders"] if pair_folders else []) + (
            ["links to nowhere"] if links else [])
        why = " and ".join(left)
        self.source(base, f"kind: textures, root: {root}, glob: {_quoted(glob)}, exclude: {_list(left_out)}",
                    f"colour textures; {why} left out", holds="colour texture")
        enlarged, dds = self.name(f"{base}_2x"), self.name(f"{base}_dds")
        self.enlarged[base] = enlarged
        self.texels[base] = texels
        self.asset(enlarged, f"op: upscale, from: {base}, scale: 2, filter: lanczos",
                   "a plain 2x resize, the baseline: README \"upscale: the baseline\"")
        self.asset(dds, f"op: export_dds, from: {enlarged}, resize_to_blocks: true",
                   "DDS with mipmaps as a game loads it (BC1, BC3 with alpha), sides made multiples of 4")

    def normals(self, base: str, root: str, top: PurePosixPath, group: _Group) -> None:
        """A textures source of ``group``'s normal maps, enlarged and exported as vectors (``kind: normal``)."""
        source = self.name(f"{base}_normals")
        dotted = any(not _stem(path.name).endswith(NORMAL_ENDINGS) for path in group.normals)  # brick_n.old.png
        glob = _files("*{" + ",".join(NORMAL_ENDINGS) + "}" + ("{,.*}" if dotted else ""), group.normals, top)
        left_out = [*_pair_folders(top, group), *_links(top, group)]
        exclude = f", exclude: {_list(left_out)}" if left_out else ""
        self.source(source, f"kind: textures, root: {root}, glob: {_quoted(glob)}{exclude}",
                    f"normal maps, by name ({', '.join('*' + ending + '.*' for ending in NORMAL_ENDINGS)})",
                    holds="normal map")
        enlarged, dds = self.name(f"{source}_2x"), self.name(f"{source}_dds")
        self.asset(enlarged, f"op: upscale, from: {source}, scale: 2, kind: normal",
                   "resized as vectors and renormalized, not as colour")
        self.asset(dds, f"op: export_dds, from: {enlarged}, kind: normal, resize_to_blocks: true",
                   "BC5, as engines load normal maps")

    def pairs(self, base: str, root: str, top: PurePosixPath, group: _Group) -> None:
        """A photo_pairs source of ``group``'s pair folders (one level below its root where all are there, at any
        depth otherwise), its two_shot material and the material's maps as DDS."""
        source = self.name(f"{base}_pairs") if group.colour or group.normals else base
        depth = "*" if all(len(pair.relative_to(top).parts) == 1 for pair in group.pairs) else "**"
        left_out = [_literal(half.relative_to(top)) + "/**" for half in group.halves if half != top]
        if depth == "**" and top in group.halves:  # a flash photo in the root itself: a pair with no folder
            left_out += [f"{role}.*" for role in PHOTO_ROLES]
        if depth == "**":  # a pair's folder holding another pair: the first one's, as the pair folder's files are
            left_out += [_literal(nested.relative_to(top)) + "/**" for nested in group.nested]
        left_out += _links(top, group, pairs=True)
        exclude = f", exclude: {_list(left_out)}" if left_out else ""
        self.source(source, f"kind: photo_pairs, root: {root}, flash: \"{depth}/flash.*\", "
                            f"guide: \"{depth}/guide.*\"{exclude}",
                    "a pair per folder holding flash.* and guide.*", holds="photo pair")
        material, dds = self.name(f"{source}_material"), self.name(f"{source}_material_dds")
        self.asset(material, f"op: material, from: {source}, method: two_shot",
                   "PBR maps and a glTF per pair: README \"Photo to material: material\"")
        self.asset(dds, f"op: export_dds, from: {material}, maps: [albedo, normal, roughness], resize_to_blocks: true",
                   "the maps as a game loads them")


def _other_ops(sr: str, variants: str, source: str, enlarged: str, reference: str, model: str) -> list[str]:
    """The ops the starter spec does not run, commented out, as assets ``sr`` and ``variants``, on colour textures
    ``source`` (``enlarged``, its 2x upscale) and the commented model ``model``, trained on the commented source
    ``reference``: the super_resolve's comment names that source as its commented line spells it (``reference_2``
    beside a folder named ``reference``), so the line it asks to uncomment is one that is there. The multiply is
    set for a first try on a CPU: ``patch``, two small variants of each enlarged texture, seconds a texture, where
    the op's defaults (``gram``, four 512² variants) take minutes a texture; its comment gives the figures that
    choice rests on, and the smallest texture ``patch`` takes."""
    return [f"  # {sr}: {{op: super_resolve, from: {source}, model: {model}}}   # enlarged by the model {model} "
            f"(uncomment {reference} and models above)",
            f"  # {variants}: {{op: multiply, from: {enlarged}, method: patch, count: 2, size: 256}}   # new "
            "tiling textures like each enlarged one; patch takes about 4 s of CPU a 512² variant with its checks, "
            "method: gram about 34 s, closer in fine detail but losing large shapes (bricks, tiles); textures under "
            "64 px: gram (patch's variants of them come out copies): README \"Texture multiplier: multiply\""]


def _list(globs: list[str]) -> str:
    return "[" + ", ".join(map(_quoted, globs)) + "]"


def _pair_folders(top: PurePosixPath, group: _Group) -> list[str]:
    """Excludes of ``group``'s pair folders, whose photos are the pairs' and not textures; none for ``ROOT``'s,
    whose globs take no folder's files."""
    return [_literal(pair.relative_to(top)) + "/**" for pair in group.pairs] if top != ROOT else []


def _links(top: PurePosixPath, group: _Group, *, pairs: bool = False) -> list[str]:
    """Excludes of the links to nowhere of ``group`` that its textures sources' scans (or, with ``pairs``, its
    pairs source's) would meet, each naming one: a build's scan then passes over it alone. The root's textures
    sources take only what lies directly in it, so only the links there."""
    links = group.links if pairs or top != ROOT else [link for link in group.links if link.parent == ROOT]
    return [_literal(link.relative_to(top)) for link in links]


def _files(name: str, files: list[PurePosixPath], top: PurePosixPath) -> str:
    """A glob of files named ``name`` with the extensions of ``files``, in any folder below top-level folder
    ``top`` (``**/*.{png,tga}``), and directly in it alone for ``ROOT`` (``*.png``), whose folders are sources of
    their own: a file is taken once."""
    suffixes = sorted({file.suffix.lower()[1:] for file in files})
    depth = "" if top == ROOT else "**/"
    return f"{depth}{name}." + (suffixes[0] if len(suffixes) == 1 else "{" + ",".join(suffixes) + "}")


def _literal(path: PurePosixPath) -> str:
    """``path`` as a glob that matches it alone: its wildcards, braces and commas taken as characters."""
    return "".join(_GLOB_CHARACTERS.get(char, char) for char in path.as_posix())


def _quoted(text: str) -> str:
    """``text`` as a YAML double-quoted string (JSON's is one), so that ``*``, ``#``, ``:`` and accents stay text;
    with the characters JSON writes as they are but YAML refuses in a spec or reads as a line's end (DEL, C1
    controls, the Unicode line and paragraph separators, a byte-order mark) escaped, as both read ``\\uXXXX``."""
    return _YAML_ESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", json.dumps(text, ensure_ascii=False))


def _root(path: Path, spec_folder: Path) -> str:
    """``path`` relative to the spec's folder, as roots are read, with forward slashes, so that the project moves
    with the textures beside it; absolute where the two share no folder but the drive's root (``/mnt/share`` and
    ``/home/me/project``), which would read as a climb to the top, or lie on other drives (Windows)."""
    try:
        shared = os.path.commonpath([path, spec_folder])
    except ValueError:
        return path.as_posix()
    return path.as_posix() if shared == path.anchor else Path(os.path.relpath(path, spec_folder)).as_posix()
