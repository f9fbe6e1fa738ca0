"""Notes of the outputs a step is about to place, so that a step killed before it listed them leaves none.

A step lists what it built in the manifest only when it ends. Killed outright before that (``kill -9``,
the OOM killer), the outputs it had placed are listed nowhere. The next build makes them again and lists
them, unless the spec dropped them meanwhile (an asset removed, a lower ``count``, a source file deleted):
then nothing would ever delete them, and a game would ship them. So a step first writes the paths it may
place into a note in ``<build_dir>/.placing/``, and deletes the note once its rows are written; a later
build deletes each file of a dead step's note that no row lists and no live step may be placing. Notes
are written and judged under one lock, so a step never places a file that a judge has already decided
to delete.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from ops.atomic import leftover_temporaries, unlink, write_bytes_atomic
from pipeline.cache import ContentStore
from pipeline.hashing import hash_file
from pipeline.locks import exclusive
from pipeline.manifest import manifest_rows_or_none
from pipeline.outputs import as_listed, remove_output
from pipeline.processes import is_gone, process_space, this_process
from pipeline.spec import Spec
from pipeline.words import counted

log = logging.getLogger(__name__)

PLACING = ".placing"
UNJUDGED_AGE = 24 * 3600  # seconds after which a note whose process cannot be seen (another machine's) counts as dead


def note_placing(build_dir: Path, paths: Iterable[Path]) -> Path:
    """Write the note of a step that may place ``paths`` (under ``build_dir``); delete it once they are listed."""
    note = build_dir / PLACING / f"{uuid.uuid4().hex}.json"
    record = {"space": process_space(), "process": this_process(),
              "paths": sorted(path.relative_to(build_dir).as_posix() for path in paths)}
    with exclusive(build_dir / PLACING / ".lock"):
        write_bytes_atomic(note, json.dumps(record).encode())
    return note


def clear_dead_notes(spec: Spec, store: ContentStore, hash_of: Callable[[Path], str] = hash_file) -> int:
    """Delete what dead steps placed and no manifest row lists as it is (``_placed_over``); returns how many files
    went. A build folder this user cannot write (a read-only checkout a sensor watches) is left as it is."""
    folder = spec.build_dir / PLACING
    if not any(folder.glob("*.json")):
        return 0
    try:
        return _clear(spec, folder, store, hash_of)
    except OSError as exc:
        log.debug("cannot judge the placing notes in %s: %s", folder, exc)
        return 0


def _clear(spec: Spec, folder: Path, store: ContentStore, hash_of: Callable[[Path], str]) -> int:
    with exclusive(folder / ".lock"):
        dead, live = _judge(sorted(folder.glob("*.json")))
        if not dead:
            return 0
        listed = _listed(spec)
        if listed is None:
            return 0  # the manifest cannot be read just now: what is listed cannot be told
        _remove_temporaries(spec.build_dir, {path for _, paths in dead for path in paths}, live)
        removed = sum(_clear_note(spec, note, paths - live, listed, store, hash_of) for note, paths in dead)
    if removed:
        log.warning("removed %s that a killed build placed in %s but never listed; those the spec still "
                    "has are put back from the cache", counted(removed, "output"), spec.build_dir)
    return removed


def _clear_note(spec: Spec, note: Path, paths: set[str], listed: dict[str, str], store: ContentStore,
                hash_of: Callable[[Path], str]) -> int:
    """Delete what one dead step's note names and no row lists as it is, then the note; returns how many files
    went. A file that cannot be removed keeps the note, so the next build tries again."""
    removed, left = 0, False
    for path in sorted(paths):
        output = spec.build_dir / path
        if not output.is_file():
            continue
        if (row_has := listed.get(as_listed(spec, output))) is None:
            written = None  # listed nowhere
        elif (written := _placed_over(output, row_has, store, hash_of)) is None:
            continue
        try:
            removed += remove_output(spec.build_dir, output, written=written)
        except OSError as exc:  # another user's file in a shared folder
            log.warning("cannot remove %s, which a killed build placed but never listed: %s", output, exc)
            left = True
    if not left:
        with contextlib.suppress(OSError):  # tried again next time
            note.unlink(missing_ok=True)
    return removed


def _placed_over(output: Path, listed: str, store: ContentStore, hash_of: Callable[[Path], str]) -> str | None:
    """The hash of ``output`` where the dead step placed it over what its row lists (``listed``): other content,
    which the cache holds, so a build made it for inputs or params that have changed again since. ``remove_output``
    needs it to delete a build's file through a link out of the build folder too. None where the file stays:
    content the cache lacks is a hand edit, which a build moves to ``.edited`` with a warning."""
    try:
        digest = hash_of(output)
    except OSError:  # unreadable just now: what it holds cannot be told, so it stays, as a hand edit would
        return None
    return digest if digest != listed and store.has_object(digest) else None


def _remove_temporaries(build_dir: Path, dead: set[str], live: set[str]) -> None:
    """Delete the temporaries that dead steps left beside the paths they noted (killed between writing an output
    and renaming it into place): nothing would ever read them, yet a game's packaging of the build folder takes
    them along. None beside a path a live step may be writing, nor outside the build folder."""
    def beside(paths: set[str]) -> set[Path]:
        inside = [build_dir / path for path in paths if ".." not in Path(path).parts]
        return leftover_temporaries(path for path in inside if path.is_relative_to(build_dir))

    for temporary in sorted(beside(dead) - beside(live)):
        try:
            unlink(temporary)
        except OSError as exc:  # another user's file in a shared folder: tried again next time
            log.warning("cannot remove %s, which a killed build left half-written: %s", temporary, exc)


def _judge(notes: list[Path]) -> tuple[list[tuple[Path, set[str]]], set[str]]:
    """(each dead note with its paths, the paths of every live one)."""
    dead, live = [], set()
    for note in notes:
        try:
            record = json.loads(note.read_bytes())
            paths = {str(path) for path in record["paths"]}
            gone = is_gone(record["space"], str(record["process"]))
            if gone is None:
                gone = time.time() - note.stat().st_mtime > UNJUDGED_AGE
        except (OSError, ValueError, KeyError, TypeError):  # gone meanwhile (its step ended and listed its
            continue  # outputs), or damaged: what it names stays, as an unlisted output does
        if gone:
            dead.append((note, paths))
        else:
            live |= paths
    return dead, live


def _listed(spec: Spec) -> dict[str, str] | None:
    """Every output path the manifest lists, relative to the spec's folder as rows give them, with its hash as
    listed; None where a manifest is there but cannot be read."""
    rows = manifest_rows_or_none(spec.build_dir)
    if rows is None:
        return None
    return {str(path): str(digest) for row in rows if isinstance(outputs := row.get("outputs"), dict)
            for path, digest in outputs.items()}
