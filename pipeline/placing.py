"""Notes of the outputs a step is about to place, so that a step killed before it listed them leaves none.

A step lists what it built in the manifest only when it ends. Killed outright before that (``kill -9``,
the OOM killer), the outputs it had placed are listed nowhere. The next build makes them again and lists
them, unless the spec dropped them meanwhile (an asset removed, a lower ``count``, a source file deleted):
then nothing would ever delete them, and a game would ship them. So a step first writes the paths it may
place into a note in ``<build_dir>/.placing/``, and deletes the note once its rows are written; a later
build deletes each file of a dead step's note that no row lists and no live step may be placing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from ops.atomic import write_bytes_atomic
from pipeline.build import remove_output
from pipeline.manifest import read_manifest
from pipeline.processes import is_gone, process_space, this_process
from pipeline.spec import Spec

log = logging.getLogger(__name__)

PLACING = ".placing"
UNJUDGED_AGE = 24 * 3600  # seconds after which a note whose process cannot be seen counts as dead


def note_placing(build_dir: Path, paths: Iterable[Path]) -> Path:
    """Write the note of a step that may place ``paths`` (under ``build_dir``); delete it once they are listed."""
    note = build_dir / PLACING / f"{uuid.uuid4().hex}.json"
    record = {"space": process_space(), "process": this_process(),
              "paths": sorted(path.relative_to(build_dir).as_posix() for path in paths)}
    write_bytes_atomic(note, json.dumps(record).encode())
    return note


def clear_dead_notes(spec: Spec) -> int:
    """Delete what dead steps placed and no manifest row lists; returns how many files went."""
    notes = sorted((spec.build_dir / PLACING).glob("*.json"))
    if not notes:
        return 0
    dead, live = [], set()
    for note in notes:
        try:
            record = json.loads(note.read_bytes())
            paths = set(record["paths"])
            ended = is_gone(record["space"], record["process"]) or time.time() - note.stat().st_mtime > UNJUDGED_AGE
        except (OSError, ValueError, KeyError, TypeError):
            continue  # gone meanwhile: its step ended and listed its outputs
        if ended:
            dead.append((note, paths))
        else:
            live |= paths
    # Rows are read after the notes: a step that ended meanwhile has listed its outputs by now.
    listed = {(spec.root_dir / str(path)).resolve() for row in read_manifest(spec.build_dir) for path in row.get("outputs") or {}}
    removed = 0
    for note, paths in dead:
        for path in sorted(paths - live):
            output = spec.build_dir / path
            if output.is_file() and output.resolve() not in listed:
                remove_output(spec.build_dir, output)
                removed += 1
        note.unlink(missing_ok=True)
    if removed:
        log.warning("removed %d output(s) that a killed build placed in %s but never listed (the spec has dropped "
                    "them since, or the next build lists them again)", removed, spec.build_dir)
    return removed
