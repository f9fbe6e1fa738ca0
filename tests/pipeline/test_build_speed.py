"""What a build costs per texture, counted in work done (connections, reads), never in seconds."""

from __future__ import annotations

import collections
import json
import os
import re
import tempfile
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy
from typer.testing import CliRunner

from helpers import UPSCALE_SPEC, variants_dds_project, variants_project, write_spec, write_textures
from ops.atomic import unsynced_in, write_bytes_atomic
from pipeline import manifest
from pipeline.cli import app
from pipeline.hashing import hash_file
from pipeline.runs import run_build
from pipeline.spec import load_spec


def _event_log_connections(folder: Path, count: int) -> tuple[int, dg.DagsterInstance]:
    """Connections opened to the in-memory event log of an instance as a build without ``DAGSTER_HOME`` makes,
    while a first build of ``count`` textures records its runs on it; and the instance."""
    write_textures(folder / "textures", count)
    write_spec(folder, UPSCALE_SPEC)
    instance = dg.DagsterInstance.ephemeral()
    engine = instance.event_log_storage._engine  # the in-memory database's, which only Dagster names
    opened: list[object] = []
    sqlalchemy.event.listen(engine, "connect", lambda *_: opened.append(1))
    run_build(load_spec(folder / "assets_spec.yaml"), instance=instance)
    return len(opened), instance


def test_a_build_without_dagster_home_opens_no_event_log_connection_per_event(tmp_path):
    """The in-memory event log of a build without ``DAGSTER_HOME`` opened a connection, and another to look up a
    table, for each event (about 13 connections per texture): a sixth of the CPU time of a first build of 2,000
    textures. What it records is the same."""
    one, _ = _event_log_connections(tmp_path / "one", 1)
    six, instance = _event_log_connections(tmp_path / "six", 6)
    assert six - one < 5  # was 64 more: about 13 per texture but the first
    keys = instance.get_dynamic_partitions("legacy")
    latest = [r.asset_materialization for r in instance.fetch_materializations(dg.AssetKey("legacy_2x"), limit=6).records]
    assert len(keys) == 6 and {event.partition for event in latest} == set(keys)
    assert all(event.metadata["cache"].value == "miss" for event in latest)


NAMES_SYNCED_FILES = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names a synced file through /proc")


def _synced_folders(folder: Path, monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """The folders (relative to ``folder``, cache shards as ``xx``) of each file a first build of one texture syncs
    to disk, as /proc names the file each ``os.fsync`` is given."""
    synced: collections.Counter[str] = collections.Counter()
    fsync = os.fsync

    def counting(fd: int) -> None:
        parent = Path(os.readlink(f"/proc/self/fd/{fd}")).parent.relative_to(folder).as_posix()
        synced[re.sub(r"/[0-9a-f]{2}$", "/xx", re.sub(r"/tmp/tmp[a-z0-9_]{8}(/.*)?$", "/tmp/<scratch>", parent))] += 1
        fsync(fd)

    write_textures(folder / "textures", 1)
    write_spec(folder, UPSCALE_SPEC)
    monkeypatch.setattr(os, "fsync", counting)
    run_build(load_spec(folder / "assets_spec.yaml"), instance=dg.DagsterInstance.ephemeral())
    return synced


@NAMES_SYNCED_FILES
def test_a_first_build_syncs_its_output_cache_and_manifest_not_the_ops_scratch_file(tmp_path, monkeypatch):
    """The op's file in its scratch folder is copied into the cache, synced there, and deleted: syncing it too was a
    quarter of a first build's syncs (76 s of a 443 s profile of 2,000 textures). The placed output, the cache's
    object and entry are still synced, once each, and the manifest."""
    synced = _synced_folders(tmp_path.resolve(), monkeypatch)
    assert synced[".remaster/cache/tmp/<scratch>"] == 0, synced  # was 1
    assert [synced[folder] for folder in (".remaster/cache/objects", ".remaster/cache/entries/xx",
                                          "build/legacy_2x/floors")] == [1, 1, 1], synced
    assert synced["build"] >= 1, synced  # the manifest


@NAMES_SYNCED_FILES
def test_only_files_under_the_scratch_folder_go_unsynced(tmp_path, monkeypatch):
    """What an op writes elsewhere while it runs in its scratch folder (a training's checkpoint in its work folder,
    which a killed build resumes from) is synced as before, and so is all after it."""
    synced: list[str] = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).parent.name),
                                                 fsync(fd)))
    with unsynced_in(tmp_path / "scratch"):
        for folder in ("scratch", "scratch/variant_00", "work", "scratch_not"):
            write_bytes_atomic(tmp_path / folder / "file", b"bytes")
    write_bytes_atomic(tmp_path / "scratch" / "after", b"bytes")
    assert synced == ["work", "scratch_not", "scratch"]


def test_a_first_build_moves_the_ops_file_into_the_cache_and_copies_it_once(tmp_path, monkeypatch):
    """The op's file in its scratch folder was copied into the cache, then copied again into the build folder:
    each output written twice. It is renamed into the cache now, and placed from there. The placed output is a
    copy, never a hard link: touched up in place in a paint program, it leaves the cache's object as built, which
    the next build restores, moving the edit to ``.edited``."""
    import ops.upscale
    from pipeline.cache import ContentStore

    written: dict[str, int] = {}  # the op's file in scratch -> its inode
    upscale = ops.upscale.run

    def noting_inodes(inputs, out_dir, params, ctx):  # type: ignore[no-untyped-def]
        figures = upscale(inputs, out_dir, params, ctx)
        written[inputs["image"].name] = (Path(out_dir) / ops.upscale.SINGLE_OUTPUT).stat().st_ino
        return figures

    monkeypatch.setattr(ops.upscale, "run", noting_inodes)
    write_textures(tmp_path / "textures", 2)
    write_spec(tmp_path, UPSCALE_SPEC)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    report = run_build(spec, instance=dg.DagsterInstance.ephemeral())
    assert [row["status"] for row in report.rows] == ["computed"] * 2
    store = ContentStore(tmp_path / ".remaster" / "cache")
    placed = tmp_path / "build" / "legacy_2x" / "floors" / "tex000.png"
    digest = hash_file(placed)
    cached = store.object_path(digest)
    assert cached.stat().st_ino == written["tex000.png"]  # moved, not copied: was another file
    assert placed.stat().st_ino != cached.stat().st_ino and placed.stat().st_nlink == 1  # a copy of its own
    with open(placed, "r+b") as edited:  # a paint program saving over the file in place
        edited.seek(-8, os.SEEK_END)
        edited.write(b"touch-up")
    assert hash_file(cached) == digest
    monkeypatch.setattr(ops.upscale, "run", upscale)
    run_build(spec, instance=dg.DagsterInstance.ephemeral())
    assert hash_file(placed) == digest
    assert hash_file(tmp_path / "build" / ".edited" / "legacy_2x" / "floors" / "tex000.png") != digest


def test_a_scratch_folder_on_another_disk_is_copied_into_the_cache(tmp_path, monkeypatch):
    """Where the cache's ``tmp`` is a link to another disk, the system refuses to rename the op's file into the cache
    (EXDEV): it is copied, as before, and the build goes on."""
    import errno

    import pipeline.cache

    replace = pipeline.cache.replace
    refused: list[Path] = []

    def across_disks(source: Path, destination: Path) -> None:
        if Path(source).parent.parent.name == "tmp":  # the op's file, in its scratch folder
            refused.append(Path(source))
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source), None, str(destination))
        replace(source, destination)

    monkeypatch.setattr(pipeline.cache, "replace", across_disks)
    write_textures(tmp_path / "textures", 2)
    write_spec(tmp_path, UPSCALE_SPEC)
    report = run_build(load_spec(tmp_path / "assets_spec.yaml"), instance=dg.DagsterInstance.ephemeral())
    assert [row["status"] for row in report.rows] == ["computed"] * 2 and len(refused) == 2
    objects = [path for path in (tmp_path / ".remaster" / "cache" / "objects").rglob("*") if path.is_file()]
    assert len(objects) == 2 and all(hash_file(path) == path.name for path in objects)
    assert sorted(hash_file(path) for path in (tmp_path / "build" / "legacy_2x").rglob("*.png")) == sorted(
        path.name for path in objects)


def _noting_inodes(module: object, written: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``module``'s op note, as it returns, the inode of each file it wrote, by the hash of its bytes."""
    run = module.run  # type: ignore[attr-defined]

    def noting(inputs, out_dir, params, ctx):  # type: ignore[no-untyped-def]
        figures = run(inputs, out_dir, params, ctx)
        written.update({hash_file(path): path.stat().st_ino for path in Path(out_dir).rglob("*") if path.is_file()})
        return figures

    monkeypatch.setattr(module, "run", noting)


def test_outputs_kept_one_by_one_are_written_once_into_the_cache(tmp_path, monkeypatch):
    """multiply's variants, and the DDS made of each, are kept in the cache as each is finished, so that a build
    stopped at the next does not make them again: each was copied in then, and the op's file, moved in once the op
    returned, was found stored and thrown away, so each was written twice. The op's file is the cache's object
    now, as other ops' are, and the build folder's copy one of its own."""
    import ops.export_dds
    import ops.multiply.run
    from pipeline.cache import ContentStore

    written: dict[str, int] = {}  # the hash of each file the ops wrote -> its inode
    for module in (ops.multiply.run, ops.export_dds):
        _noting_inodes(module, written, monkeypatch)
    report = run_build(load_spec(variants_dds_project(tmp_path, 3)), instance=dg.DagsterInstance.ephemeral())
    assert [row["status"] for row in report.rows] == ["computed"] * 4
    store = ContentStore(tmp_path / ".remaster" / "cache")
    placed = [path for path in (tmp_path / "build").rglob("variant_*") if path.is_file()]
    assert len(placed) == 12 and len(written) == 12  # 3 variants and their DDS, of 2 textures
    objects = {hash_file(path): store.object_path(hash_file(path)) for path in placed}
    assert {digest: path.stat().st_ino for digest, path in objects.items()} == written  # were copies
    assert all(path.stat().st_nlink == 1 for path in [*placed, *objects.values()])  # none a link of another


def test_an_output_kept_one_by_one_is_copied_in_where_the_disk_has_no_hard_links(tmp_path, monkeypatch):
    """Where the cache's disk refuses a hard link (a file system without them), a variant is copied into the cache as
    it is finished, as before: a build that fails at the next variant keeps it, and the build after makes only the
    one it had not finished."""
    import errno

    import ops.multiply.run

    def refused(source: object, destination: object) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), str(source), None, str(destination))

    synthesize = ops.multiply.run.synthesize

    def failing_at_the_second(exemplar, params, index, **kwargs):  # type: ignore[no-untyped-def]
        if index == 1:
            raise RuntimeError("stopped at the second variant")
        return synthesize(exemplar, params, index, **kwargs)

    monkeypatch.setattr(os, "link", refused)
    monkeypatch.setattr(ops.multiply.run, "synthesize", failing_at_the_second)
    spec = load_spec(variants_project(tmp_path, 2))
    run_build(spec, instance=dg.DagsterInstance.ephemeral())
    monkeypatch.setattr(ops.multiply.run, "synthesize", synthesize)
    report = run_build(spec, instance=dg.DagsterInstance.ephemeral())
    assert [(row["status"], row["metadata"]["variants_made"]) for row in report.rows] == [("computed", 1)]
    objects = [path for path in (tmp_path / ".remaster" / "cache" / "objects").rglob("*") if path.is_file()]
    assert all(hash_file(path) == path.name for path in objects)


def test_copy_file_copies_where_the_kernel_refuses_to(tmp_path, monkeypatch):
    """Where ``copy_file_range`` is refused (two disks before Linux 5.3, a file system without it, an NFS or CIFS
    mount answering the kernel's ENOTSUPP, 524, which Python names no errno) or copies nothing (as /proc's files
    answer), the bytes are copied all the same; another error (a full disk) is raised."""
    import errno

    from ops.atomic import copy_file

    def refusing(number: int) -> object:
        def copy_file_range(*args: object) -> int:
            raise OSError(number, os.strerror(number))
        return copy_file_range

    source = tmp_path / "object"
    source.write_bytes(os.urandom(300_000))
    copy_file(source, tmp_path / "kernel")
    refusals = (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, 524)
    for number in refusals:
        monkeypatch.setattr(os, "copy_file_range", refusing(number), raising=False)
        copy_file(source, tmp_path / f"refused{number}")
    monkeypatch.setattr(os, "copy_file_range", lambda *args: 0, raising=False)
    copy_file(source, tmp_path / "nothing")
    copies = ["kernel", *(f"refused{number}" for number in refusals), "nothing"]
    assert [(tmp_path / name).read_bytes() == source.read_bytes() for name in copies] == [True] * 6
    monkeypatch.setattr(os, "copy_file_range", refusing(errno.ENOSPC), raising=False)
    with pytest.raises(OSError, match=os.strerror(errno.ENOSPC)):
        copy_file(source, tmp_path / "full")


def test_a_step_makes_one_scratch_folder_for_its_partitions_and_leaves_none(tmp_path, monkeypatch):
    """Removing a folder is a disk write of its own, a step's op made and removed one per partition: 21 s of a first
    build of 2,000 textures. What each partition's op finds in it is only what it writes: the outputs are each
    texture's own."""
    scratch = tmp_path / ".remaster" / "cache" / "tmp"
    made: list[str] = []
    mkdtemp = tempfile.mkdtemp

    def counting(*args: object, **kwargs: object) -> str:
        made.append(mkdtemp(*args, **kwargs))  # type: ignore[call-overload]
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", counting)
    textures = write_textures(tmp_path / "textures", 3, seed=1)
    write_spec(tmp_path, UPSCALE_SPEC)
    report = run_build(load_spec(tmp_path / "assets_spec.yaml"), instance=dg.DagsterInstance.ephemeral())
    assert [row["status"] for row in report.rows] == ["computed"] * 3
    assert len([path for path in made if Path(path).parent == scratch]) == 1  # was 3, each removed after its op
    assert not any(scratch.iterdir())
    outputs = [tmp_path / "build" / "legacy_2x" / path.relative_to(tmp_path / "textures") for path in textures]
    assert len({hash_file(path) for path in outputs}) == 3


def test_a_no_op_build_reads_the_manifest_twice(tmp_path, monkeypatch):
    """Once for what it syncs and plans by, once for its report: why it cannot be read, the rows a sync goes through,
    the scan's and the plan's rows were each a read of their own (five in all, a tenth of a second each at 2,000
    textures). A build that writes the manifest reads it again under its lock, to keep what another build wrote."""
    write_textures(tmp_path / "textures", 3)
    write_spec(tmp_path, UPSCALE_SPEC)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    run_build(spec, instance=dg.DagsterInstance.ephemeral())
    run_build(spec, instance=dg.DagsterInstance.ephemeral())
    reads = _counting_reads(monkeypatch)
    report = run_build(spec, instance=dg.DagsterInstance.ephemeral())
    assert [row["status"] for row in report.rows] == ["cached"] * 3
    assert len(reads) == 2, reads  # was 5


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The build folders of each read of a manifest from now on."""
    reads: list[Path] = []
    read = manifest._read
    monkeypatch.setattr(manifest, "_read", lambda build_dir: reads.append(build_dir) or read(build_dir))
    return reads


def test_status_reads_the_manifest_once(tmp_path, monkeypatch):
    """status read it for the rows it judges, again for its builder's questions and once more for why it cannot be
    read (three reads, a tenth of a second each at 2,000 textures): its builder's one read answers all three, and a
    manifest that cannot be read is still said."""
    write_textures(tmp_path / "textures", 3)
    write_spec(tmp_path, UPSCALE_SPEC)
    run_build(load_spec(tmp_path / "assets_spec.yaml"), instance=dg.DagsterInstance.ephemeral())
    reads = _counting_reads(monkeypatch)
    result = CliRunner().invoke(app, ["status", "--spec", str(tmp_path / "assets_spec.yaml")])
    assert result.exit_code == 0 and "everything is up to date" in result.output, result.output
    assert len(reads) == 1, reads  # was 3
    (tmp_path / "build" / manifest.MANIFEST).write_text('{"version": 1, "entries": [', encoding="utf-8")
    result = CliRunner().invoke(app, ["status", "--json", "--spec", str(tmp_path / "assets_spec.yaml")])
    said = json.loads(result.stdout)
    assert said["manifest_problem"].startswith(f"{tmp_path / 'build' / manifest.MANIFEST} cannot be read (")
    assert said["counts"]["put_back"] == 3 and len(reads) == 2, said


def test_a_row_another_build_writes_after_the_builders_one_read_is_kept(tmp_path, monkeypatch):
    """The builder reads the manifest once, before the sync: a row another build writes after that read (it built
    that texture meanwhile) is newer than what this build planned by, and is kept, where the others are marked
    current as planned."""
    import pipeline.runs

    write_textures(tmp_path / "textures", 2)
    write_spec(tmp_path, UPSCALE_SPEC)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    run_build(spec, instance=dg.DagsterInstance.ephemeral())
    first, second = sorted(manifest.rows_by_key(spec.build_dir))
    sync = pipeline.runs.sync_partitions

    def another_build_writes(*args: object) -> object:
        other = {**manifest.rows_by_key(spec.build_dir)[first], "run_id": "another build", "seconds": 7.0}
        manifest.update_manifest(spec.build_dir, [other])
        return sync(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline.runs, "sync_partitions", another_build_writes)
    run_build(spec, instance=dg.DagsterInstance.ephemeral())
    rows = manifest.rows_by_key(spec.build_dir)
    assert (rows[first]["run_id"], rows[first]["seconds"], rows[first]["status"]) == ("another build", 7.0, "computed")
    assert (rows[second]["run_id"], rows[second]["status"]) == (None, "cached")


def _materialized(instance: dg.DagsterInstance, asset: str) -> int:
    """How many partitions of ``asset`` the instance's event log has a materialization of."""
    kind = dg.DagsterEventType.ASSET_MATERIALIZATION
    return len(instance.event_log_storage.get_latest_storage_id_by_partition(dg.AssetKey(asset), kind))


def test_the_in_memory_event_logs_held_connection_leaves_other_threads_and_a_failed_step_as_they_were(tmp_path):
    """Inside few_transactions an ephemeral instance's event log is handed one connection for this thread: another
    thread's events (Dagster's, a sensor's) go through connections of their own meanwhile, and a step that fails
    inside it leaves the instance as Dagster made it, for the next build in the same process to record on."""
    import threading

    from pipeline.event_log import few_transactions

    instance = dg.DagsterInstance.ephemeral()

    def record(asset: str, count: int) -> None:
        for key in range(count):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=str(key)))

    other = threading.Thread(target=record, args=("other_thread", 100))
    with pytest.raises(RuntimeError, match="the step failed"), few_transactions(instance):
        other.start()
        record("this_thread", 100)
        other.join()
        raise RuntimeError("the step failed")
    assert [_materialized(instance, asset) for asset in ("this_thread", "other_thread")] == [100, 100]
    assert not {"run_connection", "index_connection", "has_table"} & set(vars(instance.event_log_storage))
    write_textures(tmp_path / "textures", 2)
    write_spec(tmp_path, UPSCALE_SPEC)
    run_build(load_spec(tmp_path / "assets_spec.yaml"), instance=instance)
    assert _materialized(instance, "legacy_2x") == 2
