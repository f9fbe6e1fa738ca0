"""remaster cache gc: what it keeps, what it removes, and that it waits for builds."""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import (CHAIN_SPEC, UPSCALE_SPEC, build_waiting_on_a_key, hash_index_entries, manifest_rows,
                     remembered_as_it_is, start_remaster, statuses, write_spec, write_textures)
from pipeline.cache import ABANDONED_WORK_SECONDS, ContentStore
from pipeline.hashing import HashIndex, hash_bytes
from pipeline.progress import handled
from pipeline.resources import HASH_INDEX, RemasterResource
from pipeline.spec import load_spec


def test_cache_gc_keeps_what_outputs_use(project, cli):
    cli(project, "build")
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("scale: 2", "scale: 3"))
    cli(project, "build")
    objects = project / ".remaster" / "cache" / "objects"
    assert len(list(objects.glob("*/*"))) == 10
    code, output = cli(project, "cache", "gc")
    assert code == 0 and "removed 5 entries" in output
    assert len(list(objects.glob("*/*"))) == 5
    code, _ = cli(project, "build")
    assert sorted(statuses(project).values()) == ["cached"] * 5


def test_the_nightly_gc_collects_after_a_build_that_fails_and_keeps_the_failing_texture_s_last_outputs(project, cli):
    """A texture saved corrupt fails every nightly build: `remaster build && remaster cache gc` never collected.
    gc runs whatever the build's status (README's In CI), and keeps the entries of the broken texture's last good
    build, so that the texture saved back puts them back: its failed row dropped their key, and gc removed them."""
    write_spec(project, CHAIN_SPEC)
    assert cli(project, "build")[0] == 0
    edited, broken = (project / "textures" / "walls" / name for name in ("tex001.png", "tex003.png"))
    edited.write_bytes((project / "textures" / "floors" / "tex000.png").read_bytes())
    assert cli(project, "build")[0] == 0  # the edited texture's two entries from before: no output uses them now
    good = broken.read_bytes()
    broken.write_bytes(good[: len(good) // 2])  # truncated
    for night in range(2):
        code, output = cli(project, "build")
        assert code == 1 and "tex003.png" in output, output
        code, output = cli(project, "cache", "gc", "--forget-missing", "--wait")
        assert code == 0 and f"removed {2 - 2 * night} entries" in output, output
    broken.write_bytes(good)
    code, output = cli(project, "build")
    assert code == 0 and set(statuses(project).values()) == {"cached"}, output
    assert len(manifest_rows(project)) == 10


def test_a_partition_that_fails_after_a_run_that_never_reached_it_keeps_its_last_build_for_gc(project, cli,
                                                                                              monkeypatch):
    """A row a run never reached ("not built": a Ctrl-C) keeps the key of what it last built, but a failure of its own
    at the next build kept no last_built_key from it: gc removed that entry, and the texture saved back as it was
    made it again, where it is put back (legacy_2x, built from the other texture meanwhile, is made again)."""
    import ops.upscale
    from pipeline.unreached import INTERRUPTED, mark_not_built

    spec = load_spec(write_spec(project, CHAIN_SPEC))
    assert cli(project, "build")[0] == 0
    texture = project / "textures" / "walls" / "tex003.png"
    good = texture.read_bytes()
    write_textures(project / "new", 1, seed=7)[0].replace(texture)  # saved as another texture
    builder = RemasterResource().builder(spec)
    builder.build(spec.targets["legacy_2x"], "walls/tex003.png")  # then Ctrl-C, before legacy_4x
    mark_not_built(builder, [("legacy_4x", "walls/tex003.png")], "run", {"legacy_4x": INTERRUPTED})
    upscale = ops.upscale.run

    def failing_on_legacy_2x(inputs, out_dir, params, ctx):
        if "legacy_2x" in Path(inputs["image"]).parts:
            raise ValueError("the disk is full")
        return upscale(inputs, out_dir, params, ctx)

    monkeypatch.setattr(ops.upscale, "run", failing_on_legacy_2x)
    assert cli(project, "build")[0] == 1
    monkeypatch.undo()
    assert cli(project, "cache", "gc", "--forget-missing")[0] == 0
    texture.write_bytes(good)
    code, output = cli(project, "build")
    rows = {(row["asset"], row["partition"]): row["status"] for row in manifest_rows(project)}
    assert code == 0 and rows[("legacy_4x", "walls/tex003.png")] == "cached", output


def test_cache_gc_refuses_in_a_project_that_has_not_built_even_with_forget_missing(project, cli):
    """The nightly recipe runs gc whatever the build's status: in a fresh clone whose build stopped before it began
    (a runner without the spec's GPU: exit 2), gc --forget-missing found no manifest of any clone and removed every
    entry on the cache. Refused, it says how to collect all the same, where the build folder was deleted to start
    over: building first put back what was deleted on purpose."""
    assert cli(project, "build")[0] == 0
    objects = sorted((project / ".remaster" / "cache" / "objects").rglob("*"))
    shutil.rmtree(project / "build")
    code, output = cli(project, "cache", "gc", "--forget-missing")
    said = " ".join(output.split())
    assert code == 1 and f"no manifest at {project / 'build' / 'manifest.json'}" in said and "build first" in said, said
    assert ("To let them go (a build folder deleted to start over), run gc --forget-missing from a project on this "
            f"cache that has built, or delete {project / '.remaster' / 'cache'} where no other project uses it") in said
    assert sorted((project / ".remaster" / "cache" / "objects").rglob("*")) == objects


def test_cache_gc_says_one_entry_and_one_file_in_the_singular(project, cli):
    """gc said "removed 1 entries; forgot the hashes of 1 files that are gone" after one texture was deleted."""
    assert cli(project, "build")[0] == 0
    (project / "textures" / "walls" / "tex001.png").unlink()
    code, output = cli(project, "cache", "gc")  # the texture's hash; its outputs are still listed
    assert code == 0 and "removed 0 entries" in output and "forgot the hashes of 1 file that is gone" in output, output
    assert cli(project, "build")[0] == 0  # its output goes, and its cache entry is used no more
    code, output = cli(project, "cache", "gc")
    said = " ".join(output.split())
    assert code == 0 and re.search(r"removed 1 entry, freed [^;]+; forgot the hashes of 1 file that is gone$", said), said


def test_cache_gc_in_a_fresh_clone_before_its_first_build_keeps_what_that_build_puts_back(project, cli, tmp_path):
    """A CI job: a fresh clone, the cache restored, no build folder. gc dropped every entry, exit 0, and the
    build after it computed everything again."""
    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / "build")
    code, output = cli(project, "cache", "gc")
    assert code == 1 and "fresh clone that has not built yet" in output.replace("\n", " "), output
    assert cli(project, "build")[0] == 0 and sorted(statuses(project).values()) == ["cached"] * 5
    code, output = cli(project, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output


def test_cache_gc_forgets_the_build_folder_a_project_had_before_its_build_dir_changed(project, cli):
    assert cli(project, "build")[0] == 0
    (project / "build").rename(project / "out")
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("build_dir: build", "build_dir: out"))
    assert cli(project, "build")[0] == 0
    code, output = cli(project, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output, output


def test_cache_gc_keeps_what_each_user_s_build_folder_of_one_spec_uses(tmp_path, cli, monkeypatch):
    """A spec whose folders are under ``~`` builds into one folder per user, all on one shared cache."""
    spec = UPSCALE_SPEC.replace("build_dir: build", "build_dir: ~/rbuild").replace("root: textures", "root: ~/textures")
    write_spec(tmp_path, spec.replace(".remaster/cache", str(tmp_path / "shared")))
    for seed, user in enumerate(("h1", "h2")):
        write_textures(tmp_path / user / "textures", 3, seed=seed)
        monkeypatch.setenv("HOME", str(tmp_path / user))
        assert cli(tmp_path, "build")[0] == 0
    code, output = cli(tmp_path, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output, output
    elsewhere = tmp_path / "other-machine" / "h3" / "rbuild" / "manifest.json"  # a home this machine cannot see
    ContentStore(tmp_path / "shared").register(elsewhere, tmp_path / "assets_spec.yaml")
    assert cli(tmp_path, "build")[0] == 0
    code, output = cli(tmp_path, "cache", "gc")
    assert code == 1 and f"cannot see the manifest of 1 project built on this cache: {elsewhere}" in output, output


def _built_beside_on_one_cache(project: Path, cli, other: Path) -> tuple[Path, Path]:
    """``project`` and a second one of 3 textures at ``other``, both built on one shared cache."""
    shared = other.parent / "shared-cache"
    write_textures(other / "textures", 3, seed=7)
    for folder in (project, other):
        write_spec(folder, UPSCALE_SPEC.replace(".remaster/cache", str(shared)))
        assert cli(folder, "build")[0] == 0
    return shared, other


def test_cache_gc_keeps_what_other_projects_on_a_shared_cache_use(project, cli, tmp_path):
    shared, other = _built_beside_on_one_cache(project, cli, tmp_path / "other")
    code, output = cli(project, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output
    for path in (other / "build" / "legacy_2x").rglob("*.png"):
        path.unlink()
    assert cli(other, "build")[0] == 0
    assert sorted(statuses(other).values()) == ["cached"] * 3
    shutil.rmtree(other / "build")  # the build folder deleted: what it used is unknown until it builds again
    code, output = cli(project, "cache", "gc")
    said = " ".join(output.split())  # as one line, which the terminal's width folds
    assert code == 1 and said.startswith("error gc cannot tell which entries some projects on this cache use, so removed "
                                         f"nothing: no manifest at {other / 'build' / 'manifest.json'}"), output
    assert said.endswith("build first, then gc. Or run remaster cache gc --forget-missing to stop keeping their "
                         "entries forgot the hashes of 3 files that are gone all the same"), output  # its outputs  # it said "...; build first, then gc; so cannot tell which entries they use"
    code, output = cli(project, "cache", "gc", "--forget-missing")
    assert code == 0 and "removed 3 entries" in output
    assert cli(other, "build")[0] == 0
    other.rename(tmp_path / "away")
    other.mkdir()  # the project folder is a share's mount point, empty while it is not mounted
    code, output = cli(project, "cache", "gc")
    assert code == 1 and "cannot see the manifest" in output, output  # it removed the 3 entries the share's project uses
    other.rmdir()
    (tmp_path / "away").rename(other)
    write_spec(other, UPSCALE_SPEC.replace(".remaster/cache", str(shared)).replace("build_dir: build",
                                                                                    f"build_dir: {tmp_path / 'share' / 'build'}"))
    assert cli(other, "build")[0] == 0
    (tmp_path / "share").rename(tmp_path / "share_away")  # outputs on a share, the spec local: the share unmounted
    code, output = cli(project, "cache", "gc")
    assert code == 1 and "cannot see the manifest" in output, output
    shutil.rmtree(tmp_path / "share_away")
    shutil.rmtree(other)  # the project folder gone too, as an unmounted share looks: gc cannot tell
    code, output = cli(project, "cache", "gc")
    assert code == 1 and "cannot see the manifest" in output and "--forget-missing" in output
    code, output = cli(project, "cache", "gc", "--forget-missing")
    assert code == 0 and "removed 3 entries" in output


def test_cache_gc_after_a_project_moved_with_its_cache_misses_nothing_once_it_built_in_its_new_place(
        project, cli, tmp_path):
    """The record of its old place stayed, and every later gc refused (exit 1) until --forget-missing."""
    assert cli(project, "build")[0] == 0
    moved = project.rename(tmp_path.parent / f"{tmp_path.name}-moved")  # the default cache_dir moves along
    code, output = cli(moved, "cache", "gc")  # not built there yet: its old place is all the cache knows
    said = " ".join(output.split())
    assert code == 1 and f"{project / 'build' / 'manifest.json'} (an unmounted share: mount it; or a project moved " \
                         "or deleted, whose build from its new place keeps what it uses there)" in said, output
    assert cli(moved, "build")[0] == 0 and sorted(statuses(moved).values()) == ["cached"] * 5
    code, output = cli(moved, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output, output
    shutil.rmtree(moved / "build")
    assert cli(moved, "build")[0] == 0 and sorted(statuses(moved).values()) == ["cached"] * 5


def test_a_share_s_record_of_a_project_on_another_machine_is_not_taken_for_this_one_moved(tmp_path):
    """A cache on a share, mounted at /mnt/share here and /media/share there, with each machine's project at the
    same place beside its mount: the other machine's project, not seen here, was never this one moved."""
    here, there = tmp_path / "media", tmp_path / "mnt"
    store = ContentStore(here / "share" / "cache")
    (there / "work" / "P").mkdir(parents=True)  # the other machine's folders, but not its project
    other = json.dumps({"manifest": str(there / "work" / "P" / "build" / "manifest.json"),
                        "spec": str(there / "work" / "P" / "assets_spec.yaml"), "store": str(there / "share" / "cache")})
    (here / "share" / "cache" / "roots").mkdir(parents=True, exist_ok=True)
    recorded = here / "share" / "cache" / "roots" / "other.json"
    recorded.write_text(other)
    (here / "work" / "P").mkdir(parents=True)
    store.register(here / "work" / "P" / "build" / "manifest.json", here / "work" / "P" / "assets_spec.yaml")
    assert recorded.read_text() == other


def test_a_record_of_the_project_on_a_share_mounted_elsewhere_with_its_own_build_folder_is_kept(tmp_path):
    """A project on a share with its cache inside (the default cache_dir), mounted at /media/share here and at
    /mnt/share on another machine, each user's build_dir in their home: that machine's record was taken for this
    project moved, and dropped, so that gc here removed every entry only that machine's build uses."""
    here, there = tmp_path / "media", tmp_path / "mnt"
    store = ContentStore(here / "share" / "P" / ".remaster" / "cache")
    other = json.dumps({"manifest": str(there / "home" / "b" / "build" / "manifest.json"),
                        "spec": str(there / "share" / "P" / "assets_spec.yaml"),
                        "store": str(there / "share" / "P" / ".remaster" / "cache")})
    (store.root / "roots").mkdir(parents=True, exist_ok=True)
    recorded = store.root / "roots" / "other.json"
    recorded.write_text(other)
    (here / "home" / "a").mkdir(parents=True)
    store.register(here / "home" / "a" / "build" / "manifest.json", here / "share" / "P" / "assets_spec.yaml")
    assert recorded.read_text() == other


def test_cache_gc_keeps_the_entries_of_a_copy_of_a_project_made_with_its_cache(project, cli, tmp_path):
    assert cli(project, "build")[0] == 0
    copy = Path(shutil.copytree(project, tmp_path.parent / f"{tmp_path.name}-copy", symlinks=True))
    (copy / "textures" / "walls" / "tex001.png").unlink()  # its entry in the copied cache: the original's alone
    assert cli(copy, "build")[0] == 0
    code, output = cli(copy, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output, output


def test_cache_gc_keeps_the_entries_of_a_project_whose_record_a_partial_restore_damaged(project, cli, tmp_path):
    shared, other = _built_beside_on_one_cache(project, cli, tmp_path / "other")
    record = next(r for r in (shared / "roots").glob("*.json") if str(other) in r.read_text())
    record.write_text(record.read_text()[:30])  # a CI cache restored in part
    code, output = cli(project, "cache", "gc")
    assert code == 1 and f"cannot read the record of which project {record} stands for" in output.replace("\n", "")
    assert cli(other, "build")[0] == 0  # records it anew
    code, output = cli(project, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output
    shutil.rmtree(other / "build")
    assert cli(other, "build")[0] == 0 and sorted(statuses(other).values()) == ["cached"] * 3
    manifest = other / "build" / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])  # the build folder restored in part
    code, output = cli(project, "cache", "gc")
    assert code == 1 and f"cannot read the manifest of 1 project built on this cache: {manifest}" in output.replace("\n", "")
    shutil.rmtree(other / "build")
    assert cli(other, "build")[0] == 0 and sorted(statuses(other).values()) == ["cached"] * 3
    manifest.write_text("")
    code, output = cli(project, "cache", "gc", "--forget-missing")  # settles it: a later plain gc runs
    assert code == 0 and "removed 3 entries" in output
    assert cli(project, "cache", "gc")[0] == 0


def test_cache_gc_forgets_the_hashes_of_a_deleted_clone_s_files(project, cli, tmp_path):
    shared, clone = _built_beside_on_one_cache(project, cli, tmp_path / "ci-job-1234")  # a CI job's fresh clone
    before = hash_index_entries(shared)
    assert sum(path.startswith(str(clone)) for path in before) == 6  # its 3 textures and 3 outputs
    shutil.rmtree(clone)
    code, output = cli(project, "cache", "gc", "--forget-missing")
    assert code == 0 and "forgot the hashes of 6 files that are gone" in output, output
    remembered = hash_index_entries(shared)
    assert not any(path.startswith(str(clone)) for path in remembered) and len(remembered) == len(before) - 6
    assert cli(project, "build")[0] == 0 and set(statuses(project).values()) == {"cached"}
    remembered = hash_index_entries(shared)
    (project / "textures").rename(tmp_path / "away")  # a share not mounted while gc runs: read again if forgotten
    (project / "textures").mkdir()
    code, output = cli(project, "cache", "gc")
    assert code == 0 and "forgot the hashes of 0 files" in output, output
    assert hash_index_entries(shared) == remembered


def test_cache_gc_forgets_the_hashes_of_deleted_clones_even_where_it_refuses_to_collect(project, cli, tmp_path):
    """CI jobs each building in a fresh clone, deleted after, and a plain gc (no --forget-missing), which refuses
    for their missing manifests: it forgot no hash before, so the index grew by every clone's files for good."""
    shared = tmp_path / "shared-cache"
    clones = [tmp_path / f"ci-job-{number}" for number in range(3)]
    for clone in clones:
        write_textures(clone / "textures", 3, seed=7)
        write_spec(clone, UPSCALE_SPEC.replace(".remaster/cache", str(shared)))
        assert cli(clone, "build")[0] == 0
    before = hash_index_entries(shared)
    assert len(before) == 18  # each clone's 3 textures and 3 outputs
    for clone in clones[:2]:
        shutil.rmtree(clone)
    code, output = cli(clones[2], "cache", "gc")
    said = " ".join(output.split())
    assert code == 1 and "so removed nothing" in said, output  # no entry: as before
    assert "forgot the hashes of 12 files that are gone" in said, output
    assert sorted(hash_index_entries(shared)) == sorted(path for path in before if path.startswith(str(clones[2])))
    assert cli(clones[2], "build")[0] == 0 and set(statuses(clones[2]).values()) == {"cached"}


@pytest.mark.parametrize("gc_saves_first", [True, False], ids=["gc-saves-first", "build-saves-first"])
def test_hashes_gc_forgets_while_a_build_runs_stay_forgotten_but_those_the_build_made_again_stay(
        project, cli, tmp_path, gc_saves_first):
    """gc forgets the hashes of files that are gone once it has collected, while builds may run. A build that had
    loaded the index before, and saved it after, put back every hash gc forgot (it saved the whole index it had
    loaded); and gc, saving after such a build, dropped the hashes the build had just saved."""
    shared, clone = _built_beside_on_one_cache(project, cli, tmp_path / "ci-job-1234")
    row = manifest_rows(project)[0]
    made = project / next(iter(row["outputs"]))
    shutil.rmtree(clone)
    made.unlink()  # gone while gc looks, made again by the build
    with ContentStore(shared).key_lock(row["cache_key"], "the test"):
        build = build_waiting_on_a_key(project, "--force")  # has loaded the index, saves it once it goes on
        gc = HashIndex(shared / HASH_INDEX)  # what gc does, as it runs beside the build
        assert gc.forget_missing() == 7  # the clone's 3 textures and 3 outputs, and the output made again
        if gc_saves_first:
            gc.save()
    output, _ = build.communicate()
    assert build.returncode == 0, output
    gc.save()  # where it saved first: nothing left to save
    assert not [path for path in hash_index_entries(shared) if path.startswith(str(clone))]
    assert remembered_as_it_is(shared, made)


def test_cache_gc_waits_for_no_build(project, cli):
    cli(project, "build")
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("scale: 2", "scale: 3"))
    cli(project, "build")
    store = ContentStore(project / ".remaster" / "cache")
    with store.in_use():  # a build in another process, between storing entries and listing them
        code, output = cli(project, "cache", "gc")
    assert code == 1 and "a build is using the cache" in output
    assert len(list((store.root / "objects").glob("*/*"))) == 10
    code, output = cli(project, "cache", "gc")
    assert re.search(r"removed 5 entries, freed \d+\.\d kB;", output), output  # five small PNGs: it said 0.0 MB


def _gc_waiting_on_a_build(project: Path, cli, store: ContentStore, *gc_args: str,
                           before_it_ends: Callable[[], None] = lambda: None, until_gc_ends: bool = False
                           ) -> tuple[int, str]:
    """``cache gc --wait *gc_args`` while a build in another process holds ``store``: the build goes on, and does
    ``before_it_ends``, only once gc has said it waits (or has ended without waiting); ``until_gc_ends``: only once
    gc has ended (given up waiting, with ``--timeout``)."""
    holding, said, ended = threading.Event(), threading.Event(), threading.Event()

    def build_elsewhere() -> None:
        with store.in_use():
            holding.set()
            said.wait(timeout=300)
            before_it_ends()
            if until_gc_ends:
                ended.wait(timeout=300)

    class Said(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("waiting for the builds using the cache"):
                said.set()

    build = threading.Thread(target=build_elsewhere)
    build.start()
    holding.wait(timeout=300)
    try:
        with handled(logging.getLogger("pipeline.cache"), Said(logging.WARNING)):
            return cli(project, "cache", "gc", "--wait", *gc_args)
    finally:
        said.set()  # where gc did not wait, the build ends all the same
        ended.set()
        build.join()


def test_cache_gc_wait_waits_for_the_build_using_the_cache_saying_so_then_collects(project, cli, caplog):
    """A nightly gc refused (exit 1) where a commit's job was building on the shared cache just then: with
    --wait it waits for that build, saying so in one line, then collects."""
    cli(project, "build")
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("scale: 2", "scale: 3"))
    cli(project, "build")
    store = ContentStore(project / ".remaster" / "cache")
    waiting = f"waiting for the builds using the cache {store.root} to finish, then collecting"
    code, output = _gc_waiting_on_a_build(project, cli, store)
    assert code == 0 and re.search(r"removed 5 entries, freed \d+\.\d kB;", output), output
    assert [message for message in caplog.messages if message.startswith(waiting)] == [
        f"{waiting} (builds that start meanwhile are waited for too)"]
    assert len(list((store.root / "objects").glob("*/*"))) == 5


def test_cache_gc_wait_keeps_the_hashes_the_build_it_waited_for_saved(project, cli, tmp_path):
    """gc trimmed the hash index it had read before waiting, and saved it over the one the build it waited for had
    saved meanwhile: that build's hashes were lost (its files read again by the next build)."""
    cli(project, "build")
    shared = project / ".remaster" / "cache"
    store, index_file = ContentStore(shared), shared / HASH_INDEX
    gone, made = tmp_path / "gone.png", tmp_path / "made.png"
    gone.write_bytes(b"deleted since")
    index = HashIndex(index_file)
    index.remember(gone, hash_bytes(b"deleted since"))
    index.save()
    gone.unlink()

    def saves_its_hashes() -> None:  # as a build does once done
        made.write_bytes(b"built")
        building = HashIndex(index_file)
        building.remember(made, hash_bytes(b"built"))
        building.save()

    code, output = _gc_waiting_on_a_build(project, cli, store, before_it_ends=saves_its_hashes)
    assert code == 0 and "forgot the hashes of 1 file that is gone" in output, output
    remembered = hash_index_entries(shared)
    assert str(made) in remembered and str(gone) not in remembered


def test_cache_gc_wait_with_a_timeout_refuses_as_without_wait_once_it_has_waited_that_long(project, cli, caplog):
    """A nightly gc --wait on a cache the commit jobs never left alone waited for ever, and the next night's job
    queued behind it: with --timeout it gives up, saying how long it waited, and collects nothing."""
    cli(project, "build")
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("scale: 2", "scale: 3"))
    cli(project, "build")
    store = ContentStore(project / ".remaster" / "cache")
    code, output = _gc_waiting_on_a_build(project, cli, store, "--timeout", "0.5", until_gc_ends=True)
    said = " ".join(output.split())
    refused = f"error a build is using the cache {store.root}; gave up after waiting "
    assert code == 1 and re.fullmatch(rf"{re.escape(refused)}\d+\.\d s \(--timeout 0\.5\); run gc again once it "
                                      r"has finished, or give a longer --timeout", said), output  # not: give it --wait
    assert [m for m in caplog.messages if m.startswith("waiting for the builds using the cache")], caplog.messages
    assert len(list((store.root / "objects").glob("*/*"))) == 10
    code, output = _gc_waiting_on_a_build(project, cli, store, "--timeout", "300")  # the build ends once gc waits
    assert code == 0 and re.search(r"removed 5 entries, freed \d+\.\d kB;", output), output


def test_cache_gc_wait_with_a_timeout_gives_up_on_time_where_a_build_lets_go_and_takes_the_cache_again(
        project, cli, monkeypatch):
    """Each step of a build takes the cache again. A build that let go of it and took it again as gc's wait ended
    made that wait end, not time out, and gc tried again, found the build, and waited again: past --timeout, which
    only a wait that timed out checked, gc waited on for as long as the build ran. The clock here is gc's own:
    the build lets go and takes the cache again as a minute passes, at gc's every wait (three at most here)."""
    import pipeline.locks

    cli(project, "build")
    store = ContentStore(project / ".remaster" / "cache")
    clock = [1000.0]
    monkeypatch.setattr(pipeline.locks, "time", type("Clock", (), {"monotonic": staticmethod(lambda: clock[0])}))
    commands: queue.Queue[str] = queue.Queue()
    answers: queue.Queue[str] = queue.Queue()

    def build_taking_the_cache_step_by_step() -> None:
        while commands.get() == "take":
            with store.in_use():
                answers.put("taken")
                commands.get()  # "let go"
            answers.put("let go")

    waits = []
    wait_for_holders = pipeline.locks._wait_for_holders

    def a_minute_as_the_build_lets_go_and_takes_it_again(folder: Path, deadline: float | None) -> None:
        waits.append(deadline)
        commands.put("let go")
        assert answers.get(timeout=300) == "let go"
        wait_for_holders(folder, deadline)
        clock[0] += 61
        commands.put("take" if len(waits) < 3 else "stop")
        if len(waits) < 3:
            assert answers.get(timeout=300) == "taken"

    monkeypatch.setattr(pipeline.locks, "_wait_for_holders", a_minute_as_the_build_lets_go_and_takes_it_again)
    build = threading.Thread(target=build_taking_the_cache_step_by_step)
    build.start()
    try:
        commands.put("take")
        assert answers.get(timeout=300) == "taken"
        code, output = cli(project, "cache", "gc", "--wait", "--timeout", "60")
    finally:
        commands.put("let go")
        commands.put("stop")
        build.join()
    refused = (f"error a build is using the cache {store.root}; gave up after waiting 61.0 s (--timeout 60); run gc "
               "again once it has finished, or give a longer --timeout")
    assert code == 1 and " ".join(output.split()) == refused, output
    assert waits == [1060.0]


def test_cache_gc_timeout_without_wait_is_refused_saying_to_give_both(project, cli):
    code, output = cli(project, "cache", "gc", "--timeout", "60")
    assert code == 2 and ("error --timeout 60 limits how long --wait waits, and --wait is not given: give both "
                          "(remaster cache gc --wait --timeout SECONDS)") in " ".join(output.split()), output
    assert cli(project, "cache", "gc", "--wait", "--timeout", "-1")[0] == 2  # a negative one is no timeout
    assert not (project / ".remaster").exists()  # refused before anything was made


@pytest.mark.parametrize("given", ["nan", "-1", "ten"])
def test_cache_gc_timeout_that_is_no_number_of_seconds_says_to_give_one(project, cli, given):
    """``--timeout nan`` was refused as "should be greater than or equal to 0", which says nothing of what to give."""
    code, output = cli(project, "cache", "gc", "--wait", "--timeout", given)
    said = " ".join(output.replace("│", " ").split())
    assert code == 2 and (f"'{given}' is no timeout: give a number of seconds, 0 or more (--timeout 600 waits ten "
                          "minutes at most)") in said, output
    assert not (project / ".remaster").exists()  # refused before anything was made


def test_a_ctrl_c_while_gc_waits_stops_it_with_one_line_and_exit_130(project, cli):
    """A nightly job's gc --wait stopped by hand while a build held the cache: click's "Aborted!", exit 1, as
    though gc had refused."""
    cli(project, "build")
    store = ContentStore(project / ".remaster" / "cache")

    class CtrlC(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("waiting for the builds using the cache"):
                raise KeyboardInterrupt

    with store.in_use(), handled(logging.getLogger("pipeline.cache"), CtrlC(logging.WARNING)):
        code, output = cli(project, "cache", "gc", "--wait")
    assert code == 130, output
    assert "interrupted cache gc (every cache entry is whole); run it again" in " ".join(output.split())
    assert cli(project, "cache", "gc")[0] == 0


def test_a_sigterm_while_gc_waits_stops_it_with_one_line_and_exit_130(project, cli):
    """A nightly job's gc --wait cancelled by its CI runner (SIGTERM) while a commit's build held the cache: it
    ended with Python's 143 and not a word after its waiting line, where Ctrl-C says it stopped and exits 130."""
    assert cli(project, "build")[0] == 0
    with ContentStore(project / ".remaster" / "cache").in_use():
        gc = start_remaster(project, "cache", "gc", "--wait")
        said = []
        for line in gc.stdout:
            said.append(line)
            if line.startswith("warning waiting for the builds using the cache"):
                gc.send_signal(signal.SIGTERM)
        gc.wait()
    output = " ".join("".join(said).split())
    assert gc.returncode == 130, output
    assert output.endswith("interrupted cache gc (every cache entry is whole); run it again to collect the rest")
    assert cli(project, "cache", "gc")[0] == 0


def test_cache_gc_on_a_share_that_is_not_mounted_makes_no_cache_on_its_mount_point(project, cli, tmp_path_factory):
    """A nightly gc while the share was away made an empty store and a hash index on the mount point (hidden by
    the share once mounted, and taken for the cache where it never was): it says so and collects nothing."""
    share = tmp_path_factory.mktemp("mnt") / "texture-cache"
    write_spec(project, UPSCALE_SPEC.replace(".remaster/cache", str(share)))
    assert cli(project, "build")[0] == 0
    shutil.rmtree(share)
    share.mkdir()  # the share's mount point, empty
    code, output = cli(project, "cache", "gc")
    assert code == 0 and "removed 0 entries" in output, output
    assert list(share.iterdir()) == []


def test_cache_gc_removes_temporaries_a_killed_build_left(project, cli):
    cli(project, "build")
    old = project / "build" / "legacy_2x" / ".tex000.png.abc123.tmp"
    young = project / "build" / "legacy_2x" / ".tex001.png.def456.tmp"
    for path in (old, young):
        path.write_bytes(b"half a png")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    store = ContentStore(project / ".remaster" / "cache")
    scratch = store.scratch_dir()  # a killed step's whole outputs, in the cache
    (scratch / "variant_00.png").write_bytes(b"a whole png")
    abandoned, resumable = store.work_dir("0" * 32), store.work_dir("1" * 32)  # killed trainings' checkpoints
    (resumable / "srcae_checkpoint.pt").write_bytes(b"checkpoint")
    week_ago = time.time() - ABANDONED_WORK_SECONDS - 60
    os.utime(abandoned, (week_ago, week_ago))
    entry = next((store.root / "entries").glob("*/*.json"))
    half_written = [store.root / "objects" / ".incoming.k3x_9a0q.tmp", entry.parent / f".{entry.name}.ab12cd34.tmp"]
    for path in half_written:
        path.write_bytes(b"half")
    kept = store.root / "objects" / "notes.tmp"  # not a name the store gives
    kept.write_bytes(b"someone's")
    with store.key_lock("2" * 32, "a texture that failed"):  # its lock stays, with no entry to go with
        pass
    code, _ = cli(project, "cache", "gc")
    assert code == 0 and not old.exists() and young.exists()
    assert not scratch.exists() and not abandoned.exists() and resumable.is_dir()
    assert not any(path.exists() for path in half_written) and kept.exists()
    assert not list((store.root / "locks").iterdir())


def test_cache_gc_drops_checkpoints_of_a_training_nobody_resumed_for_a_week(tmp_path):
    store = ContentStore(tmp_path / "cache")
    recent, abandoned = store.work_dir("a" * 32), store.work_dir("b" * 32)
    for folder in (recent, abandoned):
        (folder / "srcae_checkpoint.pt").write_bytes(b"checkpoint")
    week_ago = time.time() - 8 * 24 * 3600
    os.utime(abandoned, (week_ago, week_ago))
    store.gc(set)
    assert recent.is_dir() and not abandoned.exists()


def test_cache_gc_drops_a_week_old_forced_training_s_checkpoints_also_where_the_model_has_an_entry(tmp_path):
    """A --force training killed (kill -9) after a checkpoint leaves its folder beside the entry it was to replace:
    the next builds take the entry, nothing resumes it, and gc kept it for good, the week rule asking for no entry."""
    store = ContentStore(tmp_path / "cache")
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights")
    abandoned, recent = "c" * 32, "d" * 32
    for key in (abandoned, recent):
        store.put(key, {"model.pt": model}, {})
        (store.work_dir(key) / "srcae_checkpoint.pt").write_bytes(b"checkpoint")
    week_ago = time.time() - ABANDONED_WORK_SECONDS - 60
    os.utime(store.work_dir(abandoned), (week_ago, week_ago))
    store.gc(lambda: {abandoned, recent})
    assert store.left_work(abandoned) is None and store.has_entry(abandoned)
    assert store.left_work(recent) is not None  # a fresh one stays, for the next --force to resume


def test_cache_gc_forgets_the_units_of_objects_it_removes(tmp_path):
    store = ContentStore(tmp_path / "cache")
    output = tmp_path / "variant_00.png"
    output.write_bytes(b"variant bytes")
    digest = store.put("key", {"variant_00.png": output}, {}).outputs["variant_00.png"]
    store.record_units({"unit": digest}, {"unit": {"mip_levels": 6}})
    assert store.unit("unit") == digest and store.unit_figures("unit") == {"mip_levels": 6}
    store.gc(set)
    assert [path for path in (tmp_path / "cache" / "units").rglob("*") if path.is_file()] == []


def test_a_unit_made_again_as_another_object_loses_the_figures_of_the_one_it_named(tmp_path):
    """A variant made again (its exemplar edited back and forth) under the same unit key, with no figures this time:
    the figures file of the object it named before stayed beside it until a gc. Given figures, they are the new ones."""
    store = ContentStore(tmp_path / "cache")
    digests = []
    for content in (b"first dds", b"second dds"):
        output = tmp_path / "variant_00.dds"
        output.write_bytes(content)
        digests.append(store.put(content.hex(), {"variant_00.dds": output}, {}).outputs["variant_00.dds"])
    store.record_units({"unit": digests[0]}, {"unit": {"mip_levels": 6}})
    store.record_units({"unit": digests[1]})
    assert store.unit("unit") == digests[1] and store.unit_figures("unit") is None
    assert sorted(path.name for path in (tmp_path / "cache" / "units").rglob("*")) == ["un", "unit"]
    store.record_units({"unit": digests[0]}, {"unit": {"mip_levels": 5}})
    assert store.unit("unit") == digests[0] and store.unit_figures("unit") == {"mip_levels": 5}


def test_cache_gc_keeps_the_figures_of_the_units_it_keeps(tmp_path):
    """What an op measured of an output kept one by one is listed again when a build puts it back: gc took the
    file that holds them for a damaged unit file, and a partition's row then lacked them after every gc."""
    store = ContentStore(tmp_path / "cache")
    output = tmp_path / "variant_00.dds"
    output.write_bytes(b"dds bytes")
    digest = store.put("key", {"variant_00.dds": output}, {}).outputs["variant_00.dds"]
    store.record_units({"unit": digest}, {"unit": {"mip_levels": 6}})
    store.gc(lambda: {"key"})
    assert store.unit("unit") == digest and store.unit_figures("unit") == {"mip_levels": 6}


def test_cache_gc_waits_for_the_whole_of_a_build_not_only_its_steps(project, cli, monkeypatch):
    """A build whose folder was deleted restores its outputs from the cache: a gc while it plans (before any
    step holds the store) would find no manifest (and, with --forget-missing, drop every entry it is about to
    restore)."""
    import pipeline.runs
    from pipeline.cache import StoreBusy

    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / "build")
    planned = pipeline.runs._mark_up_to_date
    refused = []

    def gc_while_planning(spec, *planning):
        with pytest.raises(StoreBusy) as caught:
            pipeline.runs.collect_garbage(spec)
        refused.append(str(caught.value))
        return planned(spec, *planning)

    monkeypatch.setattr(pipeline.runs, "_mark_up_to_date", gc_while_planning)
    assert cli(project, "build")[0] == 0
    assert refused and "a build is using the cache" in refused[0]
    assert set(statuses(project).values()) == {"cached"}


def test_cache_gc_keeps_the_entries_of_a_manifest_a_folder_stands_in_for(project, cli):
    assert cli(project, "build")[0] == 0
    manifest = project / "build" / "manifest.json"
    manifest.unlink()
    manifest.mkdir()  # a bad restore: gc cannot tell which entries the project uses
    code, output = cli(project, "cache", "gc")
    assert code == 1 and "cannot read the manifest" in output, output
    manifest.rmdir()
    assert cli(project, "build")[0] == 0 and set(statuses(project).values()) == {"cached"}
