"""Folders that hold one spec's work: its build folder, and the Dagster instance its builds record in.

A build deletes the outputs of the assets its spec does not have, and drops the partitions its sources do
not have, so two specs sharing one build folder, or one instance with a source of the same name, would
undo each other's work. Each folder records the specs that use it, as paths relative to the folder so
that a project moved or copied whole keeps its folders, and a renamed spec takes its folders over.
"""

from __future__ import annotations

import os
from pathlib import Path

from ops.atomic import write_bytes_atomic
from pipeline.spec import Spec, SpecError, load_spec

BUILT_FROM = ".built-from"  # in the build folder
INSTANCE_SPECS = "remaster-specs"  # in DAGSTER_HOME, one a line


def check_build_dir(spec: Spec) -> None:
    """Refuse a build folder that another spec, still there, builds into."""
    others = _other_specs(spec.build_dir, BUILT_FROM, spec)
    if others:
        line = spec.lines.get(("build_dir",))
        raise SpecError([f"{spec.path}{f':{line}' if line else ''}: build_dir {spec.build_dir} holds the outputs of "
                         f"{others[0]}, and building this spec there would delete them as those of assets it does not "
                         "have; give each spec its own build_dir"])


def claim_build_dir(spec: Spec) -> None:
    check_build_dir(spec)
    _record(spec.build_dir, BUILT_FROM, [spec.path])


def claim_instance(home: Path, spec: Spec) -> None:
    """Refuse a Dagster instance (``DAGSTER_HOME``) that other specs, still there, with a source, model or
    asset of the same name record their builds in: partitions of one source would be dropped by the other's
    builds, and the runs of one asset mixed with the other's. Specs with different names may share one."""
    others = _other_specs(home, INSTANCE_SPECS, spec)
    for other in others:
        try:
            shared = sorted(_names(spec) & _names(load_spec(other)))
        except SpecError:
            continue  # a broken spec builds nothing: it cannot clash
        if shared:
            raise SpecError([f"{spec.path}: DAGSTER_HOME {home} records the builds of {other}, which also has "
                             f"{', '.join(shared)}; their partitions and runs would mix: give each project its own "
                             "DAGSTER_HOME (mkdir -p .dagster && export DAGSTER_HOME=$PWD/.dagster)"])
    _record(home, INSTANCE_SPECS, [*others, spec.path])


def _names(spec: Spec) -> set[str]:
    return {*spec.sources, *spec.targets}


def _other_specs(folder: Path, mark: str, spec: Spec) -> list[Path]:
    """The specs recorded in ``folder`` besides ``spec`` that are still there."""
    try:
        recorded = (folder / mark).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    others = dict.fromkeys((folder / line.strip()).resolve() for line in recorded if line.strip())
    return [other for other in others if other != spec.path.resolve() and other.is_file()]


def _record(folder: Path, mark: str, specs: list[Path]) -> None:
    text = "".join(f"{os.path.relpath(spec.resolve(), folder.resolve())}\n" for spec in specs)
    try:
        same = (folder / mark).read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        same = False
    if not same:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(folder / mark, text.encode())
