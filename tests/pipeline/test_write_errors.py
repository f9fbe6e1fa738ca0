"""Writes the disk refuses (read-only, full, a file where a folder goes) are named by the folder and the spec
setting behind it, with what to do, and fail their partition alone; a refused read is not called a write."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers import (
    CHAIN_SPEC, UPSCALE_SPEC, manifest_rows, no_new_files_in, outputs, read_only_folder, statuses,
    unreadable_while_mode_000, write_spec,
)
from ops.image_io import Image, write_image
from pipeline.cache import ContentStore
from pipeline.runs import run_build
from pipeline.spec import load_spec


@pytest.mark.parametrize("folder, says", [
    ("build/legacy_2x/walls", "cannot write to {project}/build/legacy_2x/walls (under build_dir in assets_spec.yaml): "
                              "Operation not permitted; check that this user may write there"),
    (".remaster/cache/objects", "cannot write to the cache {project}/.remaster/cache (cache_dir in assets_spec.yaml): "
                                "Operation not permitted; check that this user may write there"),
])
def test_a_folder_that_cannot_be_written_is_named_with_its_setting(project, cli, monkeypatch, folder, says):
    no_new_files_in(monkeypatch, project / folder)
    code, output = cli(project, "build")
    errors = {r["error"] for r in manifest_rows(project) if r["status"] == "failed"}
    assert code == 1 and errors == {says.format(project=project)}, output


@pytest.mark.parametrize("cache_dir, says", [
    (".remaster/cache", "the cache {project}/.remaster/cache (cache_dir in assets_spec.yaml)"),
    ("/elsewhere/cache", "the build folder {project}/build (build_dir in assets_spec.yaml)"),
])
def test_a_project_folder_that_takes_no_new_folder_names_the_one_a_first_build_makes(project, cli, monkeypatch,
                                                                                     cache_dir, says):
    """A project folder made read-only (chattr +i) before its first build: the message was Python's own,
    naming .remaster, the folder above the cache, with no setting and no fix."""
    if cache_dir.startswith("/"):
        cache_dir = str(project.parent / "elsewhere" / "cache")
    write_spec(project, UPSCALE_SPEC.replace("cache_dir: .remaster/cache", f"cache_dir: {cache_dir}"))
    made = os.mkdir

    def refused(path, *args, **kwargs):
        if Path(path).parent == project:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
        return made(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", refused)
    code, output = cli(project, "build")
    assert code == 1 and (f"error cannot write to {says.format(project=project)}: Operation not permitted; check "
                          "that this user may write there") in " ".join(output.split()), output


def _lock_refused(monkeypatch, error: OSError) -> None:
    """The store's lock file refused as ``error`` (its errno and words) says, naming the file, as a read-only mount
    or another user's file refuses it: chmod refuses nothing to root, who runs these tests."""
    opened = os.open

    def refused(path, flags, *args, **kwargs):
        if Path(path).name == "lock":
            raise type(error)(error.errno, error.strerror, str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused)


@pytest.mark.parametrize("command", [("build",), ("cache", "gc")])
def test_a_read_only_cache_is_named_with_its_setting(project, cli, monkeypatch, command):
    """A CI job for a fork's pull request mounts the shared cache read-only: the store's lock cannot be opened."""
    assert cli(project, "build")[0] == 0  # the shared cache, built on by the main branch's jobs
    _lock_refused(monkeypatch, OSError(errno.EROFS, "Read-only file system"))
    code, output = cli(project, *command)
    assert code == 1 and (f"error cannot write to the cache {project}/.remaster/cache (cache_dir in assets_spec.yaml): "
                          "Read-only file system; check that this user may write there") in " ".join(output.split()), output


@pytest.mark.parametrize("error", [PermissionError(errno.EACCES, "Permission denied"),
                                   PermissionError(errno.EPERM, "Operation not permitted")])
def test_a_shared_cache_another_user_s_build_made_says_how_a_team_shares_it(project, cli, monkeypatch, error):
    """Users sharing a cache, the first building under the usual umask 022: the next user's build cannot open the
    lock file the first made (Permission denied), and was told only to check that this user may write there,
    which the user of a shared folder takes for fine. As chmod 000 refuses any user but root, and the tests run
    as root, the refusal is made where the store opens its lock. Operation not permitted (EPERM) on a file another
    user owns (a chmod or utime only its owner may do) got no advice at all."""
    assert cli(project, "build")[0] == 0  # the first user's build
    cache = project / ".remaster" / "cache"
    for made in cache.rglob("*"):  # as another user's build made them
        os.chown(made, 4242, 4242, follow_symlinks=False)
    _lock_refused(monkeypatch, error)
    code, output = cli(project, "build", "--force")
    assert code == 1 and (
        f"error cannot write to the cache {cache} (cache_dir in assets_spec.yaml): {error.strerror}; check that this "
        f"user may write there. Where a team shares this cache, it must be writable by a group every user is in: run "
        f"chmod -R g+w {cache} once (its owner, or root; chgrp -R to the team's group first where it is not theirs, "
        "and chmod g+s on its folders keeps that group on what is made inside), and run every build under umask 002 "
        "(set in each user's shell profile and CI job), so that what one build makes the others may write"
    ) in " ".join(output.split()), output


def test_a_full_disk_is_named_by_where_the_write_went(project, cli, monkeypatch):
    """A copy names its source (the cache's object) before its destination (the build folder);
    a write through an open file (PIL's encoder, a restore from the cache) names neither."""
    import PIL.Image

    import pipeline.build

    in_build = {f"cannot write to {project}/build/legacy_2x/{folder} (under build_dir in assets_spec.yaml): "
                "No space left on device; free some space" for folder in ("floors", "walls")}
    copyfile = pipeline.build.copy_file

    def full_build_disk(source, destination):
        if not Path(destination).is_relative_to(project / "build"):
            return copyfile(source, destination)
        raise OSError(errno.ENOSPC, "No space left on device", str(source), None, str(destination))

    monkeypatch.setattr(pipeline.build, "copy_file", full_build_disk)
    assert cli(project, "build")[0] == 1
    assert {r["error"] for r in manifest_rows(project)} == in_build
    monkeypatch.undo()

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PIL.Image.Image, "save", full_disk)  # the op encodes into the cache's scratch folder
    assert cli(project, "build", "--force")[0] == 1
    assert {r["error"] for r in manifest_rows(project)} == {
        f"cannot write to the cache {project}/.remaster/cache (cache_dir in assets_spec.yaml): "
        "No space left on device; free some space"}
    monkeypatch.undo()
    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / "build" / "legacy_2x")
    write_bytes = Path.write_bytes

    def full_build_disk_on_restore(path, data):
        if path.is_relative_to(project / "build" / "legacy_2x"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", full_build_disk_on_restore)
    assert cli(project, "build")[0] == 1
    assert {r["error"] for r in manifest_rows(project)} == in_build


def test_a_texture_that_cannot_be_read_fails_alone_and_keeps_what_it_made(project, cli, monkeypatch):
    cli(project, "build")
    texture = project / "textures" / "walls" / "tex001.png"
    built = project / "build" / "legacy_2x" / "walls" / "tex001.png"
    made = [r for r in manifest_rows(project) if r["partition"] == "walls/tex001.png"][0]
    unreadable_while_mode_000(monkeypatch)
    texture.chmod(0o000)
    code, output = cli(project, "build")  # it used to stop the whole build before anything was built
    [row] = [r for r in manifest_rows(project) if r["status"] == "failed"]
    assert "cannot write" not in row["error"] and str(texture) in row["error"] and "Permission denied" in row["error"]
    assert code == 1 and {r["status"] for r in manifest_rows(project) if r["partition"] != row["partition"]} == {"cached"}
    assert built.is_file() and (row["outputs"], row["cache_key"]) == (made["outputs"], made["cache_key"])  # kept
    cli(project, "cache", "gc")  # the row's key keeps their entry
    texture.chmod(0o644)
    cli(project, "build")
    assert {r["status"] for r in manifest_rows(project)} == {"cached"}


@pytest.mark.parametrize("command, swap", [
    (("build",), "build/manifest.json"),  # a folder in a file's place: made by hand, or by a bad restore
    (("build",), ".remaster/cache/hash-index-2.json"),
    (("cache", "gc"), ".remaster/cache/lock"),
    (("status",), ".remaster/cache/entries"),  # a file in a folder's place
    (("cache", "gc"), ".remaster/cache/entries"),
])
def test_a_folder_where_a_file_should_be_or_the_reverse_is_named_with_what_to_do(project, cli, command, swap):
    assert cli(project, "build")[0] == 0
    path = project / swap
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.touch() if swap == ".remaster/cache/entries" else path.mkdir()
    code, output = cli(project, *command)
    kind, needed = ("file", "folder") if path.is_file() else ("folder", "file")
    assert code == 1 and f"error {path} is a {kind}, where remaster keeps a {needed}" in " ".join(output.split()), output


@pytest.mark.parametrize("command", [("validate",), ("status",), ("cache", "gc"), ("build",)])
@pytest.mark.parametrize("file, said", [
    ("build", "build_dir: {project}/build is a file, where remaster keeps a folder"),
    (".remaster", "cache_dir: {project}/.remaster/cache cannot be made, since {project}/.remaster is a file"),
])
def test_a_file_where_the_build_or_cache_folder_goes_fails_every_command_naming_the_setting(project, cli, command,
                                                                                             file, said):
    """Before, validate said ok, status listed everything as never built and gc blamed a missing manifest."""
    (project / file).write_bytes(b"")
    code, output = cli(project, *command)
    assert code == 2 and said.format(project=project) in " ".join(output.split()), output
    assert f"set {said.split(':')[0]} to another folder" in " ".join(output.split())


def test_a_cache_folder_this_user_may_not_look_into_is_no_spec_error(project, cli, monkeypatch):
    """Whether a file stands in its way cannot be told there: every command failed with a PermissionError."""
    locked = project / "locked"
    stat = os.stat

    def refused(path, *args, **kwargs):
        if Path(path).is_relative_to(locked) and Path(path) != locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return stat(path, *args, **kwargs)

    locked.mkdir()
    (project / "assets_spec.yaml").write_text(UPSCALE_SPEC.replace(".remaster/cache", "locked/cache"))
    monkeypatch.setattr(os, "stat", refused)
    code, output = cli(project, "validate")
    assert code == 0 and "ok" in output, output


@pytest.mark.parametrize("kind, entry_dropped", [("objects/*/*", True), ("entries/*/*.json", False)])
def test_a_folder_in_place_of_a_cache_file_fails_its_partition_naming_it(project, cli, caplog, kind, entry_dropped):
    """An entry whose object a folder stands in for is dropped (it lost its object); a folder standing in for
    the entry itself cannot be, and is not said to be."""
    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / "build")
    stored = next((project / ".remaster" / "cache").glob(kind))
    stored.unlink()
    stored.mkdir()
    code, output = cli(project, "build")
    errors = {r["error"] for r in manifest_rows(project) if r["status"] == "failed"}
    assert code == 1 and errors == {f"{stored} is a folder, where remaster keeps a file: move the folder away, then run again"}
    assert ("; dropped:" in caplog.text) == entry_dropped and stored.is_dir()


def test_a_stale_output_in_a_read_only_folder_fails_its_partition_not_the_build(project, cli, monkeypatch):
    write_spec(project, CHAIN_SPEC)
    cli(project, "build")
    made = {(r["asset"], r["partition"]): r for r in manifest_rows(project)}[("legacy_2x", "walls/tex001.png")]
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.zeros((16, 16, 3), np.float32)))
    locked = project / "build" / "legacy_2x" / "walls"
    read_only_folder(monkeypatch, locked)
    code, output = cli(project, "build")  # the stale output's removal stopped the whole build
    rows = {(r["asset"], r["partition"]): r for r in manifest_rows(project)}
    stale = rows.pop(("legacy_2x", "walls/tex001.png"))
    assert code == 1 and stale["error"].startswith(f"cannot write to {locked}")
    assert (stale["outputs"], stale["cache_key"]) == (made["outputs"], made["cache_key"])  # as made: gc keeps it
    assert (locked / "tex001.png").is_file()  # listed: a later build removes it
    downstream = rows.pop(("legacy_4x", "walls/tex001.png"))  # not built from the stale file left behind
    assert downstream["status"] == "failed" and "legacy_2x' has no up-to-date output" in downstream["error"]
    assert {r["status"] for r in rows.values()} == {"cached"}


def test_a_ctrl_c_after_a_stale_output_was_left_in_a_read_only_folder_takes_what_was_built_from_it(project, monkeypatch):
    import pipeline.build

    spec_file = write_spec(project, CHAIN_SPEC)
    run_build(load_spec(spec_file))
    for name in ("tex001.png", "tex003.png"):
        write_image(project / "textures" / "walls" / name, Image(np.zeros((16, 16, 3), np.float32)))
    read_only_folder(monkeypatch, project / "build" / "legacy_2x" / "walls")
    build = pipeline.build.Builder.build

    def ctrl_c_at_the_second(self, target, key, run_id=None):
        if (target.name, key) == ("legacy_2x", "walls/tex003.png"):
            raise KeyboardInterrupt
        return build(self, target, key, run_id)

    monkeypatch.setattr(pipeline.build.Builder, "build", ctrl_c_at_the_second)
    assert run_build(load_spec(spec_file)).interrupted == "legacy_2x"
    downstream = {r["partition"]: r for r in manifest_rows(project) if r["asset"] == "legacy_4x"}["walls/tex001.png"]
    assert downstream["status"] == "failed" and not (project / "build" / "legacy_4x" / "walls" / "tex001.png").exists()


def test_a_full_disk_under_force_keeps_outputs_that_are_still_right(project, cli, monkeypatch):
    assert cli(project, "build")[0] == 0
    before = outputs(project)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ContentStore, "put", disk_full)
    code, output = cli(project, "build", "--force")
    assert code == 1 and "No space left on device" in output
    assert set(statuses(project).values()) == {"failed"}
    assert outputs(project) == before  # the key did not change: these outputs are still the right ones
    assert {path: digest for e in manifest_rows(project) for path, digest in e["outputs"].items()} == before  # listed


def test_a_build_folder_that_cannot_be_written_is_an_error_line(project, cli, monkeypatch):
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(project / "build" / ".manifest.json.lock"))

    monkeypatch.setattr("pipeline.runs.update_manifest", read_only)
    monkeypatch.setattr("pipeline.runs.read_manifest", read_only)
    code, output = cli(project, "build")
    assert code == 1 and "error [Errno 13] Permission denied" in output and ".manifest.json.lock" in output
