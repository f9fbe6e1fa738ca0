"""Folders that hold one spec's work: its build folder, and the Dagster instance its builds record in.

A build deletes the outputs of the assets its spec does not have, and drops the partitions its sources do
not have, so two specs sharing one build folder, or one instance with a source of the same name, would
undo each other's work. Each folder records the specs that use it, with the names each had when it last
built, as paths relative to the folder so that a project moved or copied whole keeps its folders, and a
renamed spec takes its folders over.
"""

from __future__ import annotations

import os
from pathlib import Path

from ops.atomic import write_bytes_atomic
from pipeline.spec import Spec, SpecError

BUILT_FROM = ".built-from"  # in the build folder; in both, a line per spec: its path, a tab and its names
INSTANCE_SPECS = "remaster-specs"  # in DAGSTER_HOME


def check_build_dir(spec: Spec) -> None:
    """Refuse a build folder where another spec, still there, has built assets this one lacks: building this one
    there would delete their outputs. Checkouts of one spec (CI agents on one shared folder) may share it."""
    mine = set(spec.targets)
    for other, names in _other_specs(spec.build_dir, BUILT_FROM, spec).items():
        if lost := sorted(names - mine):
            line = spec.lines.get(("build_dir",))
            raise SpecError([f"{spec.path}{f':{line}' if line else ''}: build_dir {spec.build_dir} holds the outputs "
                             f"of {other}, whose {', '.join(lost)} this spec does not have: building it there would "
                             "delete them; give each spec its own build_dir"])


def claim_build_dir(spec: Spec) -> None:
    check_build_dir(spec)
    _record(spec.build_dir, BUILT_FROM, {**_other_specs(spec.build_dir, BUILT_FROM, spec), spec.path: set(spec.targets)})


def claim_instance(home: Path, spec: Spec) -> None:
    """Refuse a Dagster instance (``DAGSTER_HOME``) where other specs, still there, with a source, model or
    asset of the same name (as they had it when they last built) record their builds: partitions of one source
    would be dropped by the other's builds, and the runs of one asset mixed with the other's. Specs with
    different names may share one."""
    others = _other_specs(home, INSTANCE_SPECS, spec)
    mine = {*spec.sources, *spec.targets}
    for other, names in others.items():
        if shared := sorted(mine & names):
            raise SpecError([f"{spec.path}: DAGSTER_HOME {home} records the builds of {other}, which also has "
                             f"{', '.join(shared)}; their partitions and runs would mix: give each project its own "
                             "DAGSTER_HOME (mkdir -p .dagster && export DAGSTER_HOME=$PWD/.dagster)"])
    _record(home, INSTANCE_SPECS, {**others, spec.path: mine})


def _other_specs(folder: Path, mark: str, spec: Spec) -> dict[Path, set[str]]:
    """The specs recorded in ``folder`` besides ``spec`` that are still there, with the names recorded."""
    try:
        lines = (folder / mark).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    recorded = {}
    for line in lines:
        path, _, names = line.partition("\t")
        if path.strip():
            recorded[(folder / path.strip()).resolve()] = set(names.split())
    return {other: names for other, names in recorded.items() if other != spec.path.resolve() and other.is_file()}


def _record(folder: Path, mark: str, specs: dict[Path, set[str]]) -> None:
    text = "".join(f"{os.path.relpath(path.resolve(), folder.resolve())}{chr(9) + ' '.join(sorted(names)) if names else ''}\n"
                   for path, names in specs.items())
    try:
        same = (folder / mark).read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        same = False
    if not same:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(folder / mark, text.encode())
