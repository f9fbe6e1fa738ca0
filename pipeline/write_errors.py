"""A failed write to the build folder or the cache, as a message a texture artist can act on.

The OS names the file it failed on: a rename's temporary file, a cache shard, a file below a folder in the
way. The message names instead the folder remaster writes to and the spec setting that chose it
(``cache_dir``, ``build_dir``), or the file or folder standing where the other should be, and what to do:
free some space, check that this user may write there, move it away.
"""

from __future__ import annotations

import errno
import os
import shlex
from pathlib import Path

from pipeline.spec import Spec

_CANNOT_WRITE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


def _written_path(exc: OSError) -> Path | None:
    """The file a failed write was making: a copy names its source first and its destination second."""
    named = exc.filename2 or exc.filename
    return Path(named) if named else None


def file_problem(exc: OSError, spec: Spec) -> str | None:
    """What to do about a failed write to the build folder or the cache, said by the folder and the spec
    setting, not by the temporary file or cache shard the OS names; None for an error said as it is."""
    if mixup := _folder_mixup(exc):
        return mixup
    if exc.errno in _CANNOT_WRITE and (path := _written_path(exc)) and written_by_builds(path, spec):
        return _cannot_write(exc, path, spec)
    return None


def _folder_mixup(exc: OSError) -> str | None:
    """What to do where a folder stands in place of a file remaster keeps (a manifest, a cache entry or lock,
    made by hand or by a bad restore), or a file in place of a folder; None for other errors. It names the
    path in the way, where the OS names a rename's temporary file, or a file below the one in the way."""
    path = _written_path(exc)
    if path is None:
        return None
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a folder, where remaster keeps a file: move the folder away, then run again"
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        blocker = next((p for p in (path, *path.parents) if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            return f"{blocker} is a file, where remaster keeps a folder: move the file away, then run again"
    return None


def written_by_builds(path: Path, spec: Spec) -> bool:
    """A temporary file or folder a build was making, not a file it was reading (an input, an output it
    checks): those errors are said as they are."""
    if path.is_relative_to(spec.cache_dir) or _made_for(path, spec):
        return True  # the store reads its objects through read_object, which says so itself
    return path.is_relative_to(spec.build_dir) and not os.path.isfile(path)  # an existing file was being read


def _made_for(path: Path, spec: Spec) -> str | None:
    """Which of the cache and build folders ``path`` is, or is made above, as the first build makes them in a
    project folder (one made read-only says so at ``.remaster``); None for neither."""
    return next((name for name, folder in (("cache_dir", spec.cache_dir), ("build_dir", spec.build_dir))
                 if folder.is_relative_to(path)), None)


def _cannot_write(exc: OSError, path: Path, spec: Spec) -> str:
    in_cache = path.is_relative_to(spec.cache_dir) or _made_for(path, spec) == "cache_dir"
    if in_cache:
        where = f"the cache {spec.cache_dir} (cache_dir in {spec.path.name})"
    elif _made_for(path, spec) == "build_dir":
        where = f"the build folder {spec.build_dir} (build_dir in {spec.path.name})"
    else:
        where = f"{path.parent} (under build_dir in {spec.path.name})"
    fix = "free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "check that this user may write there"
    if in_cache and _refused_for_another_user(exc, path):
        fix += _shared_cache_fix(spec.cache_dir)
    return f"cannot write to {where}: {exc.strerror}; {fix}"


def _refused_for_another_user(exc: OSError, path: Path) -> bool:
    """Whether the write was refused as a shared cache refuses a user what another made: Permission denied
    (EACCES), or Operation not permitted (EPERM) on a file another user owns (a chmod or utime, which only its
    owner may do, or a rename over it in a sticky folder). EPERM on one's own file is no sharing matter (a folder
    made immutable, chattr +i): the team's advice would mislead there."""
    if exc.errno == errno.EACCES:
        return True
    if exc.errno != errno.EPERM or not hasattr(os, "geteuid"):
        return False
    owned = next((p for p in (path, *path.parents) if os.path.lexists(p)), None)  # a new file: its folder's owner
    return owned is not None and os.lstat(owned).st_uid != os.geteuid()


def _shared_cache_fix(cache: Path) -> str:
    """How a team sharing a cache lets each user write what another's build made: the usual umask 022 makes a
    lock or cache file only its maker may write, and the next user's build stops with Permission denied."""
    return (f". Where a team shares this cache, it must be writable by a group every user is in: run "
            f"chmod -R g+w {shlex.quote(str(cache))} once (its owner, or root; chgrp -R to the team's group first "
            "where it is not theirs, and chmod g+s on its folders keeps that group on what is made inside), and "
            "run every build under umask 002 (set in each user's shell profile and CI job), so that what one build "
            "makes the others may write")
