"""Find the partitions of a source on disk: one per texture file, or one per photo-pair folder."""

from __future__ import annotations

import difflib
import logging
import os
import stat
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ops.formats import READABLE_SUFFIXES, may_be_image
from pipeline.globs import Glob
from pipeline.spec import Source, Spec
from pipeline.words import some, spelled

log = logging.getLogger(__name__)

WINDOWS_EXTRAS = {"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini"}  # Explorer's, beside pictures
FOLDER_DEPTH = 100  # folders below a root the scan reads at most: Python's walk recurses, and 1,000 crash it
LINKED_PATHS = 4  # paths, itself included, by which one folder is read at most: a library linked from a few places


class MissingPairError(ValueError):
    """A photo-pair folder lacks its flash or guide photo, or has one photo that both globs take."""


def scan_source(
    source: Source, skipped: list[str] | None = None, built: Collection[str] = (), written: Collection[Path] = ()
) -> dict[str, dict[str, Path]]:
    """Map each partition key to its input files by role, sorted by key.

    A texture's key is its path relative to ``root`` (``walls/brick01.png``);
    a pair's key is its folder relative to ``root`` (``oak``). A root with no
    match yields no partitions, and is warned about as files that cannot be
    partitions are: when ``skipped`` is given, appended to it (a build fails on them);
    of two whose outputs would collide, a key in ``built`` (it has outputs) is kept.
    A scan that cannot be trusted to have seen every file, or that leads into a folder the build
    writes (``written``), yields nothing: the source's outputs are kept rather than taken for deleted.
    """
    skipped = [] if skipped is None else skipped
    if not source.root.is_dir():
        _skip(skipped, f"{source.called()}: {_not_a_folder(source, written)}")
        return {}
    if source.kind == "textures":
        files, blocked, special = _glob(source.root, source.patterns["image"], source.exclude, written)
        found = {_key(path, source.root): {"image": path} for path in files}
    else:
        found, blocked, special = _pairs(source, written)
    if blocked:  # what is not seen would be taken for deleted files, and their outputs removed
        _skip(skipped, f"{source.called()}: {'; '.join(blocked)}; nothing is built from it, its outputs are kept")
        return {}
    if special:
        _skip(skipped, _not_regular(source, special))
    if nowhere := _roles_found_nowhere(source, found):
        _skip(skipped, _found_nowhere(source, nowhere[0], found))
        return {}
    usable = {key: roles for key, roles in found.items() if _usable_key(key, source, skipped)}
    partitions = _without_stem_clashes(usable, source, skipped, built)
    if not partitions:
        _skip(skipped, nothing_found(source, written))
    return dict(sorted(partitions.items()))


def _not_regular(source: Source, special: dict[Path, str]) -> str:
    """Why the files a glob takes that are no regular file (a pipe, a socket, a link to a device) are left out,
    in one line: reading a pipe waits for a writer without end, and a device such as /dev/zero never ends, so
    the scan does not offer them to any command."""
    named = [f"{_key(path, source.root)} ({kind})" for path, kind in sorted(special.items())]
    them = "it" if len(named) == 1 else "them"
    return (f"{source.called()}: skipping {some(named)}: not a regular file, which no command reads (a pipe waits "
            f"for a writer, a device may never end); delete {them}, or add {them} to exclude")


def nothing_found(source: Source, written: Collection[Path] = ()) -> str:
    """What a scan of ``source`` that found no file says; ``validate`` says ``passed_over_by_default`` instead,
    where that names the files the glob passes over: the two said the one thing twice, once without the fix."""
    fix = "root, glob or exclude" if source.exclude else "root or glob"
    return (f"{source.called()}: no file in {source.describe()}; nothing is built from it, its outputs are kept (fix "
            f"its {fix}, or mount the share){_in_subfolders(source, written)}")


def _in_subfolders(source: Source, written: Collection[Path]) -> str:
    """Where a ``textures`` glob without a folder in it (``*.png``) finds nothing at the top of its root but its
    ``**/`` form takes files below it, that the glob reads the root's own files only, with the glob that takes them:
    an artist sorting textures into subfolders (``walls``, ``floors``) reads ``*.png`` as every PNG."""
    pattern = source.patterns.get("image", "")
    if source.kind != "textures" or "/" in pattern:
        return ""
    deeper = [path for path in _glob(source.root, f"**/{pattern}", source.exclude, written)[0]
              if path.parent != source.root and _utf8(_key(path, source.root))]  # others: skipped (not UTF-8)
    if not deeper:
        return ""
    files = "a file in its folders matches" if len(deeper) == 1 else f"{len(deeper)} files in its folders match"
    return (f"; glob: \"{pattern}\" takes only the files directly in {source.root.name}, and {files} it "
            f"({some([_key(path, source.root) for path in deeper])}): give glob: \"**/{pattern}\" to take them")


def gone_from(source: Source) -> str:
    """What became of a partition that a scan of ``source`` no longer finds, for status, the build that deletes its
    outputs, and a UI run of it: a pair's partition is a folder of photos, kept while either glob takes a photo in
    it, and "its source file is gone" sent the artist looking for one file among them."""
    if source.kind == "photo_pairs":
        return "its photo pair folder is gone, or the source's flash and guide globs or exclude leave out all its photos"
    return "its source file is gone, or the source's glob or exclude leaves it out"


def empty_inputs(source: Source, partitions: dict[str, dict[str, Path]]) -> str | None:
    """Why the files of ``source``'s ``partitions`` that are empty (0 bytes: an export or a copy that stopped at
    its start) fail each build, with the fix; None where none is. ``init`` and ``validate`` say it ahead of the
    build that fails them. A photo both of a pair's globs take is named once."""
    files = list(dict.fromkeys(Path(os.path.relpath(path, source.root)).as_posix() for roles in partitions.values()
                               for path in roles.values() if _size(path) == 0))
    if not files:
        return None
    them = "it" if len(files) == 1 else "them"
    return (f"{source.called()}: {some(files)} {'is' if len(files) == 1 else 'are'} empty (0 bytes: an export or a "
            f"copy that stopped at its start), which each build fails; re-export or copy {them} again, or delete "
            f"{them}")


def _size(path: Path) -> int | None:
    """``path``'s size, or None where it cannot be read (the build says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def unreadable_by_name(source: Source, partitions: dict[str, dict[str, Path]]) -> list[str]:
    """The texture keys of ``partitions`` whose extension is no image format (``walls/readme.txt``): a glob
    wider than meant, which ``validate`` says before each build fails them. A photo pair's photo is chosen
    among several already (``_photo``), and its failure says which file to export."""
    if source.kind != "textures":
        return []
    return [key for key, roles in partitions.items() if not may_be_image(roles["image"].suffix)]


def passed_over_by_default(spec: Spec, source: Source) -> str | None:
    """Why a ``textures`` source whose glob the spec leaves at its default, ``**/*.png``, builds none of the
    images of other formats under its root (``Moos Stein.JPG``), with the glob that takes them: an artist who
    never wrote a glob did not choose to leave them out, and nothing else says they are not built. A glob the
    spec gives is taken as meant, in the entry or in an anchor it merges (``<<: *defaults``); an anchor that gives
    none leaves the default, and its images unsaid."""
    if source.kind != "textures" or source.globs_given or not source.root.is_dir():
        return None
    written = (spec.build_dir, spec.cache_dir)
    readable = "{" + ",".join(suffix[1:] for suffix in READABLE_SUFFIXES) + "}"
    taken = set(_glob(source.root, source.patterns["image"], source.exclude, written)[0])
    others = [path for path in _glob(source.root, f"**/*.{readable}", source.exclude, written)[0] if path not in taken]
    if not others:
        return None
    formats = ",".join(dict.fromkeys(["png", *sorted({path.suffix[1:].lower() for path in others})]))
    files, them = ("an image", "it") if len(others) == 1 else (f"{len(others)} images", "them")
    return (f"{source.called()}: takes PNG files alone (glob defaults to **/*.png), so {files} under {source.root} "
            f"will not be built ({some([_key(path, source.root) for path in others])}); to build {them}, give it glob: \"**/*.{{{formats}}}\"")


def _roles_found_nowhere(source: Source, found: dict[str, dict[str, Path]]) -> list[str]:
    """The roles (``flash``, ``guide``) of a photo-pair source that no pair folder ``found`` has a photo for:
    a typo in that glob (``*/flsh.*``), not every photo gone. Each pair would fail as incomplete, told to add
    the photo that is there, and its outputs would go as a dropped pair's do."""
    if source.kind != "photo_pairs" or not found:
        return []
    return [role for role in source.patterns if not any(role in roles for roles in found.values())]


def _found_nowhere(source: Source, role: str, found: dict[str, dict[str, Path]]) -> str:
    """Why a photo-pair source whose ``role`` photo no pair folder has builds nothing, with both fixes: the glob
    may be misspelt, or the photos not there yet (one pair folder made before its guide photo is shot), and an
    artist whose glob is right needs to be told to add the photos."""
    if len(found) == 1:
        folder = next(iter(found))
        where, add = f"its pair folder {folder}", f"add the {role} photo to {source.root / folder}"
    else:
        where, add = f"any of its {len(found)} pair folders", f"add the pair folders' {role} photos"
    return (f"{source.called()}: its {role} glob {source.patterns[role]} matches no photo in {where}; nothing is "
            f"built from it, its outputs are kept (fix the {role} glob if it is misspelt, or {add})")


def scan_for_build(
    spec: Spec, source: Source, listed: Iterable[tuple[str, str]], skipped: list[str] | None = None
) -> dict[str, dict[str, Path]]:
    """``scan_source`` as a build of ``spec`` scans: a partition the manifest's (asset, partition) rows
    ``listed`` give outputs to keeps them in a clash, and the build and cache folders are never read."""
    built = {key for asset, key in listed if asset in spec.assets and spec.source_of(asset).name == source.name}
    return scan_source(source, skipped, built, (spec.build_dir, spec.cache_dir))


def _glob(
    root: Path, pattern: str, exclude: tuple[str, ...] = (), written: Collection[Path] = ()
) -> tuple[list[Path], list[str], dict[Path, str]]:
    """Files under ``root`` that ``pattern`` takes and ``exclude`` does not (``Glob``), through symlinked folders
    (a shared library linked in; a link back up to a folder it is inside is not followed, which would loop),
    leaving out hidden files and folders (a write in progress, ``.git``). Second, what makes the files found
    untrustworthy as all there are, or unsafe to read, each said with how to fix it (``_Untrusted``). Third, the
    paths ``pattern`` takes that are no regular file nor folder, by kind (``_special_kind``): they are left out."""
    glob, untrusted = Glob(pattern, exclude), _Untrusted(root)
    outputs = [Path(os.path.realpath(folder)) for folder in written]
    output_ids = {(info.st_dev, info.st_ino) for info in map(_stat_or_none, outputs) if info is not None}
    found: list[Path] = []
    special: dict[Path, str] = {}
    above: dict[str, frozenset[tuple[int, int]]] = {}  # folder -> the folders it is inside, itself included
    walked: dict[tuple[int, int], int] = {}  # each folder read -> by how many paths
    for folder, folders, files in os.walk(root, followlinks=True, onerror=untrusted.refused):
        info = os.stat(folder)
        identity = (info.st_dev, info.st_ino)
        ancestors = above.get(os.path.dirname(folder), frozenset())
        relative = Path(folder).relative_to(root).parts
        into = identity in output_ids or os.path.islink(folder) and any(  # a real folder inside is met at its top
            Path(os.path.realpath(folder)).is_relative_to(out) for out in outputs)
        if identity in ancestors or walked.get(identity, 0) >= LINKED_PATHS or into:
            if identity not in ancestors:
                (untrusted.too_many if identity in walked else untrusted.into_outputs).append("/".join(relative))
            folders[:] = []
            continue
        above[folder], walked[identity] = ancestors | {identity}, walked.get(identity, 0) + 1
        # sorted: which of two paths to a folder is first is fixed
        folders[:] = sorted(name for name in folders if not name.startswith(".") and glob.enters((*relative, name)))
        if folders and len(relative) >= FOLDER_DEPTH:
            untrusted.too_deep.append("/".join(relative))
            folders[:] = []
        for name in files:
            path = Path(folder) / name
            parts = (*relative, name)
            if name.startswith(".") or name.lower() in WINDOWS_EXTRAS:
                continue
            taken = glob.takes(parts)
            try:
                is_file = taken and path.is_file()
            except OSError:  # a folder this user may list but not enter
                untrusted.unreadable.append(_shown(path.parent, root))
                continue
            if is_file:
                found.append(path)
            elif taken and (kind := _special_kind(path)) is not None:
                special[path] = kind
            elif (taken or glob.may_hold(parts)) and path.is_symlink() and not os.path.exists(path):
                untrusted.dangling.append(path)  # a link to nowhere, or nowhere this user sees
    return sorted(found), untrusted.said(), special


def _special_kind(path: Path) -> str | None:
    """What ``path`` is where it is no regular file nor folder, as an artist would name it; None otherwise, and
    where it cannot be read (a dangling link, which ``_glob`` says itself)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kinds = [(stat.S_ISFIFO, "pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device")]
    kind = next((name for test, name in kinds if test(mode)), None)
    if kind is None:
        return None
    return f"a link to the {kind} {os.path.realpath(path)}" if path.is_symlink() else f"a {kind}"


def _shown(folder: Path, root: Path) -> str:
    """``folder`` as a message names it: relative to ``root``, or ``root`` itself in full."""
    return str(root) if folder == root else _key(folder, root)


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:  # not made yet
        return None


def _fscks(path: str) -> bool:
    """Whether ``path`` is the ``lost+found`` at the top of a file system (a share mounted as a root has
    one): fsck's, never textures, and unreadable but to root."""
    return os.path.basename(path) == "lost+found" and os.path.ismount(os.path.dirname(path))


@dataclass
class _Untrusted:
    """What makes the files a scan of ``root`` finds untrustworthy as all there are, or unsafe to read, by kind."""

    root: Path
    dangling: list[Path] = field(default_factory=list)  # links to nowhere (a linked share that is not mounted)
    unreadable: list[str] = field(default_factory=list)  # folders this user cannot read
    too_many: list[str] = field(default_factory=list)  # folders reached by more than LINKED_PATHS paths
    into_outputs: list[str] = field(default_factory=list)  # links into a folder the build writes (``written``)
    too_deep: list[str] = field(default_factory=list)  # folders with folders more than FOLDER_DEPTH below root

    def refused(self, error: OSError) -> None:
        """``os.walk``'s ``onerror``: a folder it cannot list, but for fsck's ``lost+found``."""
        if not _fscks(str(error.filename)):
            self.unreadable.append(_shown(Path(error.filename), self.root))

    def said(self) -> list[str]:
        """``_glob``'s second result: one message per kind of problem, naming the first three paths."""
        root = self.root
        problems = [
            ([f"{_key(link, root)} -> {_target(link)}" for link in sorted(self.dangling)],
             f"a link in {root} to a folder or file that is not there (an unmounted share, or a folder renamed or "
             "moved?; mount it, point the link at where the folder is now, or delete the link)"),
            (sorted(set(self.unreadable)), "a folder this user cannot read (give it read access, or add its path to exclude)"),
            (self.too_many, f"a folder reached by more than {LINKED_PATHS} paths, itself included, through links that "
                            "can multiply the files without end (keep fewer links to it)"),
            (self.into_outputs, "a link into the build or cache folder, whose outputs would become inputs (delete the link)"),
            (self.too_deep, f"a folder with folders more than {FOLDER_DEPTH} levels below {root}, which the scan does not "
                            "read (move the textures up, or add its path to exclude)"),
        ]
        return [spelled(f"{some(paths)}: {problem}") for paths, problem in problems if paths]


def _target(link: Path) -> str:
    """Where ``link`` points, for a message; a link this user may not read (under /proc) is said so."""
    try:
        return os.readlink(link)
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"


def _key(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _pairs(
    source: Source, written: Collection[Path] = ()
) -> tuple[dict[str, dict[str, Path]], list[str], dict[Path, str]]:
    """Pair folder -> its photos by role, what makes the scan untrustworthy, and what either glob takes that is no
    regular file (as ``_glob`` gives them)."""
    by_folder: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    blocked: list[str] = []
    special: dict[Path, str] = {}
    for role in ("flash", "guide"):
        files, problems, others = _glob(source.root, source.patterns[role], source.exclude, written)
        blocked += [problem for problem in problems if problem not in blocked]
        special |= others
        for path in files:
            by_folder[_key(path.parent, source.root)][role].append(path)
    pairs = {folder: {role: _photo(source, folder, role, paths) for role, paths in roles.items()}
             for folder, roles in by_folder.items()}
    return pairs, blocked, special


def _photo(source: Source, folder: str, role: str, paths: list[Path]) -> Path:
    """The photo of ``role`` in a pair folder, of the (sorted) ``paths`` that match: images remaster reads
    come first, so a camera's RAW file or an editor's backup beside the JPEG (``flash.CR2``, ``flash.bak``),
    which ``flash.*`` matches too and which sorts first, is not taken for it; and of those, a lossless one
    (``flash.tif``, the 16-bit master beside its JPEG preview)."""
    def rank(path: Path) -> int:
        return READABLE_SUFFIXES.index(path.suffix.lower())

    images = sorted((path for path in paths if path.suffix.lower() in READABLE_SUFFIXES), key=rank) or paths
    if len(images) > 1 and images[1].suffix.lower() == images[0].suffix.lower():  # which is meant is a guess
        log.warning("%s: pair %s: several %s photos match, using %s", source.called(), folder, role, images[0].name)
    return images[0]


def missing_photo(source: Source, key: str, roles: dict[str, Path]) -> str | None:
    """Why the pair folder ``key`` cannot be built where it lacks a photo (a guide not shot yet), naming the folder
    and the fix; None where it has both. A build fails the pair with it, and ``validate`` says it ahead."""
    missing = [role for role in source.patterns if role not in roles]
    if not missing:
        return None
    wanted = ", ".join(f"{role} ({source.patterns[role]})" for role in missing)
    excluded = [path.name for role in missing for path in _in_pair_folder(source, key, source.patterns[role])
                ] if source.exclude else []
    unless = f"; exclude leaves out {', '.join(excluded)}" if excluded else ""
    return f"{source.root / key}: missing the {wanted} photo of this pair; add it or remove the folder{unless}"


def pair_inputs(source: Source, key: str, roles: dict[str, Path]) -> dict[str, Path]:
    """The inputs of a pair, or a clear error naming the folder when one half is missing."""
    if (missing := missing_photo(source, key, roles)) is not None:
        raise MissingPairError(missing)
    if (twice := one_photo_for_both(source, roles)) is not None:
        raise MissingPairError(twice)
    return roles


def one_photo_for_both(source: Source, roles: dict[str, Path]) -> str | None:
    """Why a pair's flash and guide are one photo, which fitted to itself makes maps of the flash photo alone, for
    the pair's failure and ``validate``'s warning ahead of it; None where they are two (or one is missing)."""
    flash, guide = roles.get("flash"), roles.get("guide")
    if flash is None or guide is None:
        return None
    if flash == guide:  # globs that overlap (*/IMG_*.jpg for both)
        return (f"{flash}: taken as both the flash and the guide photo of this pair, since the flash glob "
                f"({source.patterns['flash']}) and the guide glob ({source.patterns['guide']}) both match it; make "
                "them tell the photos apart (name them flash.jpg and guide.jpg, which the globs */flash.* and "
                "*/guide.* take)")
    if _same_file(flash, guide):  # guide.jpg a link to flash.jpg
        return (f"{guide}: the same file as the flash photo {flash} (a link to it); a pair needs two photos, the "
                "flash one and the guide one taken without flash: put the guide photo there")
    return None


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths lead to one file (a symbolic or hard link); not where either cannot be read, which the
    op then says."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _in_pair_folder(source: Source, key: str, pattern: str) -> list[Path]:
    """The photos in pair folder ``key`` that ``pattern`` matches, excluded or not: a pair's photos are
    directly in its folder, so this need not walk the whole root."""
    folder, parts, glob = source.root / key, PurePosixPath(key).parts, Glob(pattern)
    try:
        paths = sorted(folder.iterdir())
    except OSError:  # gone or unreadable since the scan: nothing to say about it
        return []
    return [path for path in paths if not path.name.startswith(".") and path.is_file()
            and glob.matches((*parts, path.name))]


def output_stem(source: Source, key: str) -> str:
    """A partition's outputs are named by this: a texture's key without its extension, a pair's
    folder as it is (``2024.05.01_oak`` has no extension to drop)."""
    return PurePosixPath(key).with_suffix("").as_posix() if source.kind == "textures" else key


def _not_a_folder(source: Source, written: Collection[Path]) -> str:
    """Why ``source``'s root gives no files, with the fix: a root naming one texture (``textures/brick.png``) is
    not a folder that does not exist."""
    kept = "nothing is built from it, its outputs are kept"
    if not source.root.is_file():
        return (f"folder {source.root} does not exist; {kept} (fix its root, or mount the share)"
                f"{_spelt_close(source.root, written)}")
    fix = (f"give its folder as root, and glob: {source.root.name} to take only it" if source.kind == "textures"
           else "give as root the folder that holds a folder per pair")
    return f"{source.root} is a file, not a folder; {kept} ({fix})"


def _spelt_close(root: Path, written: Collection[Path]) -> str:
    """The folder beside a missing ``root`` whose name is spelt closest to it, in any letter case (``old textures``
    for ``Old Textures``): a name typed from memory differs from the folder's in case or a letter, which Linux's
    file names tell apart where Windows and macOS do not, and "does not exist" left the artist to find which. A
    folder renamed away on purpose (``textures.away``) is not offered, nor one the build writes (``written``:
    ``root: Build`` beside ``build``), whose outputs taken as inputs the spec refuses."""
    outputs = {os.path.realpath(folder) for folder in written}
    try:
        names = {entry.name.lower(): entry.name for entry in os.scandir(root.parent)
                 if entry.is_dir() and not entry.name.startswith(".") and _utf8(entry.name)
                 and os.path.realpath(entry.path) not in outputs}
    except OSError:  # its parent is missing too (path/to/hires), or unreadable: nothing to compare with
        return ""
    close = difflib.get_close_matches(root.name.lower(), sorted(names), n=1, cutoff=0.8)  # textures.away: moved
    return f"; did you mean the folder {root.parent / names[close[0]]}?" if close else ""


def _skip(skipped: list[str], message: str) -> None:
    """Log and keep ``message``, any name in it not UTF-8 (a root or file in an old archive's encoding) ``spelled``:
    the name's raw bytes stopped a UTF-8 log, and pytest-xdist's worker sending a test's log."""
    message = spelled(message)
    log.warning("%s", message, extra={"skip": True})  # validate says it among its own warnings instead
    skipped.append(message)


def _utf8(name: str) -> bool:
    """Whether ``name`` is text, not the bytes of another encoding, which Python keeps as surrogates: a spec cannot
    spell it, nor a key of Dagster's."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _usable_key(key: str, source: Source, skipped: list[str]) -> bool:
    if not _utf8(key):
        _skip(skipped, f"{source.called()}: skipping {spelled(key)!r}: its name is not UTF-8 (an old archive's "
                       f"encoding, such as Latin-1); rename it")
        return False
    if "..." in key or any(unicodedata.category(character) == "Cc" for character in key):  # Dagster refuses "..."
        _skip(skipped, f"{source.called()}: skipping {key!r}: names with '...' or control characters cannot be "
                       f"partitions; rename it")
        return False
    return True


def _one_name_on_windows_and_macos(stem: str) -> str:
    """What Windows and macOS file systems take a name for: letter case ignored (lower-cased, not casefolded:
    they keep Strasse and Straße apart) and accents as one character (macOS stores e + combining acute)."""
    return unicodedata.normalize("NFC", stem).lower()


def _without_stem_clashes(
    partitions: dict[str, dict[str, Path]], source: Source, skipped: list[str], built: Collection[str]
) -> dict[str, dict[str, Path]]:
    """Outputs are named by ``output_stem``: textures ``brick.png`` and ``brick.tga`` would collide, and so
    would ``Brick.png`` and ``brick.png`` on Windows and macOS, in an engine's asset database, or in a
    checkout there. The one already ``built`` keeps its outputs (a ``brick.png`` added beside it must not
    take them over), else the first by name. Two told apart by case alone that were both built (before
    this rule) are both kept, with a warning: deleting either's outputs would lose work nothing replaces."""
    kept: dict[str, dict[str, Path]] = {}
    stems: dict[str, str] = {}  # a stem as Windows and macOS take it -> the key that has it
    for key in sorted(partitions, key=lambda k: (k not in built, k)):
        stem = output_stem(source, key)
        other = stems.get(_one_name_on_windows_and_macos(stem))
        if other is not None and output_stem(source, other) == stem:
            _skip(skipped, f"{source.called()}: skipping {key}: its outputs would overwrite those of {other}; rename one")
            continue
        if other is not None and key in built:
            log.warning("%s: %s and %s differ only in case (one file on Windows and macOS) or in how an accent is "
                        "encoded (one file on macOS); rename one", source.called(), other, key)
        elif other is not None:
            _skip(skipped, f"{source.called()}: skipping {key}: its outputs would overwrite those of {other} where "
                           f"case (Windows, macOS) or the encoding of an accent (macOS) does not tell names apart; "
                           f"rename one")
            continue
        stems[_one_name_on_windows_and_macos(stem)] = key
        kept[key] = partitions[key]
    return kept

