"""Whether the spec file says otherwise than when Dagster loaded the definitions built from it."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ops.atomic import file_in_the_way
from pipeline.spec import Spec, SpecError, load_spec, real_path


def changed_since_loaded(spec: Spec) -> str | None:
    """Why a sensor or schedule of definitions built from ``spec`` must not act: the file says something else
    now, or no longer loads. Dagster keeps the definitions it loaded until they are reloaded, and a tick of
    the old spec would delete the outputs of every asset added since and drop the partitions of files a
    changed glob now takes. The file is read by the path Dagster was given: a link to the spec, or to the
    project's folder, pointed elsewhere since is a change too."""
    shown = spec.given or spec.path
    if _loads_as_before(spec, shown):
        return None  # each tick of each sensor asks, and validating a spec of 500 assets takes half a second
    try:
        if load_spec(shown) == spec:
            return None
    except SpecError as exc:
        try:
            cause = _what_changed(spec, shown)
        except (OSError, UnicodeDecodeError):
            cause = ""  # the spec's problems say why it cannot be read
        return (f"{cause + ', and it' if cause else shown} no longer loads ({'; '.join(exc.problems)}): "
                "fix it, then reload the definitions (Deployment > Reload in the UI, or restart dagster dev)")
    return (f"{_what_changed(spec, shown) or f'{shown} reads otherwise than when Dagster loaded it'}: reload the "
            "definitions (Deployment > Reload in the UI, or restart dagster dev), so that sensors and schedules build "
            "what it says now")


def _what_changed(spec: Spec, shown: Path) -> str:
    """What makes the spec at ``shown`` another than ``spec``, for a message: its text, a link to it or to the
    project's folder, or a link to a folder it names; "" where none of those changed (a file now in the way of
    the build or cache folder, which the spec's own problems name). Raises where the file cannot be read."""
    if (now := real_path(shown)) != spec.path:
        return f"{shown} leads to {now} now, not to {spec.path} as when Dagster loaded it"
    if shown.read_text(encoding="utf-8") != spec.text:
        return f"{shown} has changed since Dagster loaded it"
    for written, folder in spec.folders:
        if (now := spec.resolve(written)) != folder:
            return f"'{written}' in {shown} leads to {now} now, not to {folder} as when Dagster loaded it"
    return ""


def _loads_as_before(spec: Spec, shown: Path) -> bool:
    """Whether the spec at ``shown`` would load as ``spec``, told without validating it again: the same file and
    text, each folder it names leading where it did (a link to the textures or the build folder, pointed
    elsewhere since, changes the spec as an edit does), and no file where the build and cache folders go."""
    with contextlib.suppress(OSError, UnicodeDecodeError):  # load_spec says what is wrong
        return (not _what_changed(spec, shown)
                and file_in_the_way(spec.build_dir) is None and file_in_the_way(spec.cache_dir) is None)
    return False
