"""Folders that hold one spec's work: its build folder, and the Dagster instance its builds record in.

A build deletes the outputs of the assets its spec does not have and of the files its sources do not
have, and drops the partitions its sources do not have, so two specs sharing one build folder, or one
instance with a source of the same name, would undo each other's work. Each folder records the specs
that use it, as paths relative to the folder (so that a project moved or copied whole keeps its
folders, and a renamed spec takes its folders over) with the names each had when it last built.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable
from pathlib import Path

from ops.atomic import write_bytes_atomic
from pipeline.locks import exclusive
from pipeline.spec import Spec, SpecError, real_path

BUILT_FROM = ".built-from"  # in the build folder; in both, a line per spec: its path, a tab, its names
INSTANCE_SPECS = "remaster-specs"  # in DAGSTER_HOME
PROJECT_INSTANCE = ".dagster"  # beside the spec: the instance ``remaster ui`` makes where DAGSTER_HOME is unset
# Dagster warns "No dagster.yaml found" at every start of an instance without one; this one says what it is for.
# Telemetry off: remaster's own builds, and an artist's first command (remaster demo) would otherwise open with
# Dagster's page-long notice of it. The comment says how to turn it on.
INSTANCE_SETTINGS = (
    "# Settings of this project's Dagster instance (run storage, telemetry, ...), which remaster ui and the\n"
    "# remaster CLI share: see https://docs.dagster.io/deployment/oss/dagster-yaml. Dagster's usage statistics\n"
    "# (https://docs.dagster.io/about/telemetry) are off here; set enabled: true to send them.\n"
    "telemetry:\n"
    "  enabled: false\n"
)
Recorded = dict[Path, set[str]]  # a spec still on disk -> its names


# What unsetting DAGSTER_HOME does, said wherever a message offers it as a fix.
UNSET_HOME = ("unset DAGSTER_HOME: builds then record in the project's own .dagster where there is one, else on a "
              "throwaway instance")


def dagster_home() -> Path | None:
    """``DAGSTER_HOME``, checked as Dagster will check it, so a CI file's typo is one line, not a traceback."""
    value = os.environ.get("DAGSTER_HOME")
    if not value:
        return None
    home = Path(value).expanduser()  # as Dagster reads it: a ~ that no shell expanded (a CI file's env) is home
    if not home.is_absolute():
        raise ValueError(f"DAGSTER_HOME={value} is not an absolute path, which Dagster needs: "
                         f"export DAGSTER_HOME=\"$PWD\"/{shlex.quote(value)} "
                         f"(or {UNSET_HOME})")
    if not home.is_dir():
        raise ValueError(f"DAGSTER_HOME={value} is not a folder: {_missing_home_fix(home)} "
                         f"(or {UNSET_HOME})")
    return home


def project_instance(spec: Spec) -> Path:
    """The project's own Dagster instance folder, beside its spec (whose folder ``build_dir`` is relative to):
    ``remaster ui`` makes it where ``DAGSTER_HOME`` is unset, and the CLI records its builds there once it is
    there, so an artist sees them in that UI without exporting anything in every shell."""
    return spec.path.parent / PROJECT_INSTANCE


def make_project_instance(spec: Spec) -> None:
    """Make the project's instance folder, and a ``dagster.yaml`` in it where there is none (never over one the
    artist edited), so that Dagster prints no warning of its missing settings."""
    home = project_instance(spec)
    try:
        home.mkdir(exist_ok=True)
        if not (home / "dagster.yaml").exists():
            write_bytes_atomic(home / "dagster.yaml", INSTANCE_SETTINGS.encode())
    except OSError as exc:
        fix = "move that file aside" if home.exists() and not home.is_dir() else "let this user write there"
        raise ValueError(f"cannot make the project's Dagster instance {home}: {exc.strerror or exc}; {fix}, or "
                         "export DAGSTER_HOME=<an existing folder, by its absolute path> to use another") from exc


def _missing_home_fix(home: Path) -> str:
    """The fix, as a command to paste: a path with spaces (``Mein Projekt``) split by the shell made three
    folders, none of them the instance. A home whose parent is gone too is most often a project folder moved
    or renamed since the shell profile exported it: making the old path again would record builds there."""
    if home.exists():
        return "point it at a folder, not a file"
    make = f"mkdir -p {shlex.quote(str(home))} first"
    if home.parent.is_dir():
        return make
    return (f"{home.parent} is gone too: if the project moved, export DAGSTER_HOME=\"$PWD\"/.dagster in its "
            f"new folder; else {make}")


def check_build_dir(spec: Spec) -> None:
    """Refuse a build folder that another spec, still there, builds into."""
    _refuse_other_builder(spec, _other_specs(spec.build_dir, BUILT_FROM, spec))


def claim_build_dir(spec: Spec) -> None:
    _claim(spec.build_dir, BUILT_FROM, spec, set(), lambda others: _refuse_other_builder(spec, others))


def claim_instance(home: Path, spec: Spec) -> None:
    """Refuse a Dagster instance (``DAGSTER_HOME``) where another spec, still there, with a source, model or
    asset of the same name records its builds: partitions of one source would be dropped by the other's
    builds, and the runs of one asset mixed with the other's. Specs with different names may share one."""
    _claim(home, INSTANCE_SPECS, spec, _names(spec), lambda others: _refuse_name_clashes(home, spec, others))


def check_instance(home: Path, spec: Spec) -> None:
    """Refuse the instance as ``claim_instance`` would, recording nothing: ``status`` says what a build would do."""
    _refuse_name_clashes(home, spec, _other_specs(home, INSTANCE_SPECS, spec))


def _names(spec: Spec) -> set[str]:
    return {*spec.sources, *spec.targets}


def _refuse_name_clashes(home: Path, spec: Spec, others: Recorded) -> None:
    """Refuse ``home`` where ``others`` have names of ``spec``'s. The fix differs for the project's own instance,
    which two specs of one folder share: a ``.dagster`` of their own is the same folder again."""
    own = home == project_instance(spec)
    where = f"the project's Dagster instance {home}" if own else f"DAGSTER_HOME {home}"
    fix = ("move one spec to a folder of its own, or export DAGSTER_HOME=<another existing folder, by its absolute "
           "path> while working on it") if own else \
        "unset DAGSTER_HOME: each project then records in its own .dagster, which remaster ui makes"
    for other, theirs in others.items():
        if shared := sorted(_names(spec) & theirs):
            raise SpecError([f"{spec.path}: {where} records the builds of {other}, which also has "
                             f"{', '.join(shared)}; their partitions and runs would mix: {fix}"])


def _refuse_other_builder(spec: Spec, others: Recorded) -> None:
    if others:
        line = spec.lines.get(("build_dir",))
        raise SpecError([f"{spec.path}{f':{line}' if line else ''}: build_dir {spec.build_dir} holds the outputs of "
                         f"{next(iter(others))}, and building this spec there would delete them as those of assets "
                         f"or files it does not have; give each spec its own build_dir (if that spec builds elsewhere "
                         f"now, delete {spec.build_dir / BUILT_FROM})"])


def _claim(folder: Path, mark: str, spec: Spec, names: set[str], refuse: Callable[[Recorded], None]) -> None:
    """``refuse`` what ``folder`` records, then record ``spec`` there beside the others, under a lock so that
    builds claiming at once all stay recorded. A folder this user cannot write to is only checked."""
    with contextlib.ExitStack() as held:
        with contextlib.suppress(OSError):
            held.enter_context(exclusive(folder / f".{mark.lstrip('.')}.lock"))
        others = _other_specs(folder, mark, spec)
        refuse(others)
        text = "".join(f"{_relative(path, folder.resolve())}\t{' '.join(sorted(them))}\n"
                       for path, them in {**others, spec.path.resolve(): names}.items())
        with contextlib.suppress(OSError):
            if (folder / mark).read_text(encoding="utf-8", errors="replace") == text:
                return
        with contextlib.suppress(OSError):
            write_bytes_atomic(folder / mark, text.encode())


def _relative(path: Path, folder: Path) -> str:
    """``path`` from ``folder`` with forward slashes, as any system reads it back; whole where there is no way
    from one to the other (on Windows, a build folder on another drive than the spec)."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return path.as_posix()


def _other_specs(folder: Path, mark: str, spec: Spec) -> Recorded:
    """The specs recorded in ``folder`` besides ``spec`` that are still there, with their names."""
    try:
        lines = (folder / mark).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    recorded: Recorded = {}
    for line in lines:
        path, _, names = line.partition("\t")
        if path.strip():
            recorded[real_path(folder / path.strip())] = set(names.split())
    return {other: names for other, names in recorded.items() if other != spec.path.resolve() and other.is_file()}
