"""Damaged or crafted files in the cache and the build folder never make a build or ``cache gc`` delete
anything outside them: a cache entry, a unit file or a manifest row naming a path, a link in place of a
store folder, a link in the build folder to somewhere else."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest

from helpers import UPSCALE_SPEC, manifest_rows, variants_project, write_spec, write_textures
from pipeline.cache import ContentStore, CorruptEntry, Entry, _checksum
from pipeline.hashing import hash_bytes, hash_file
from pipeline.resources import RemasterResource
from pipeline.spec import load_spec

CHAINED = UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"


def _store(project: Path) -> ContentStore:
    return ContentStore(project / ".remaster" / "cache")


def _victim(tmp_path_factory: pytest.TempPathFactory, name: str = "precious.txt") -> Path:
    """A file of the user's outside the project, that no build may delete."""
    victim = tmp_path_factory.mktemp("home") / name
    victim.write_text("the user's own, not remaster's")
    return victim


def _rewrite_entry(store: ContentStore, key: str, outputs: dict[str, str], *, checksum: bool) -> None:
    """Write ``key``'s entry as a hand edit or a crafted file would: ``checksum`` gives it a valid one."""
    record: dict[str, object] = {"outputs": outputs, "metadata": {}}
    if checksum:
        record["checksum"] = _checksum(Entry(outputs, {}))
    store._entry_path(key).write_text(json.dumps(record))


def _first_row(project: Path, asset: str = "legacy_2x") -> dict:
    return next(row for row in manifest_rows(project) if row["asset"] == asset)


def _relative(victim: Path, store: ContentStore) -> str:
    """``victim`` as a path relative to the folder a digest starting with ``..`` is joined to: ``objects/..``."""
    return os.path.relpath(victim, store.root)


# -- 1. a digest read from the cache or the manifest is never a path ---------------------------------------


@pytest.mark.parametrize("form", ["absolute", "relative"])
def test_a_cache_entry_naming_a_file_outside_the_cache_deletes_nothing(project, cli, tmp_path_factory, form):
    assert cli(project, "build")[0] == 0
    victim = _victim(tmp_path_factory)
    store, row = _store(project), _first_row(project)
    digest = str(victim) if form == "absolute" else _relative(victim, store)
    _rewrite_entry(store, row["cache_key"], {"output.png": digest}, checksum=False)  # entries before 2026-11 have none
    output = project / next(iter(row["outputs"]))
    output.unlink()  # so that the build restores it from the entry
    code, said = cli(project, "build")
    assert code == 0, said
    assert victim.read_text() == "the user's own, not remaster's"
    assert hash_file(output) == next(iter(row["outputs"].values()))  # computed again, as it was
    assert _first_row(project)["status"] == "computed"


def test_a_unit_file_naming_a_file_outside_the_cache_deletes_nothing(project, tmp_path_factory):
    victim = _victim(tmp_path_factory)
    store = _store(project)
    key = hash_bytes(b"a unit of a multiply asset")
    for digest in (str(victim), _relative(victim, store)):
        store._unit_path(key).parent.mkdir(parents=True, exist_ok=True)
        store._unit_path(key).write_text(digest)
        assert store.unit(key) is None  # what Builder._reuse asks: nothing to reuse, the variant is made again
        with pytest.raises(CorruptEntry):
            store.read_object(digest)
    assert victim.read_text() == "the user's own, not remaster's"


def test_a_manifest_row_naming_a_file_outside_the_cache_deletes_nothing(project, cli, tmp_path_factory):
    """A run of legacy_4x alone (from the UI) repairs its upstream texture from what legacy_2x's row lists."""
    write_spec(project, CHAINED)
    assert cli(project, "build")[0] == 0
    victim = _victim(tmp_path_factory)
    manifest = project / "build" / "manifest.json"
    document = json.loads(manifest.read_text())
    for row in document["entries"]:
        if row["asset"] == "legacy_2x":
            row["outputs"] = {path: str(victim) for path in row["outputs"]}
    manifest.write_text(json.dumps(document))
    spec = load_spec(project / "assets_spec.yaml")
    builder = RemasterResource().builder(spec)
    key = next(iter(builder.partitions("legacy_4x")))
    result = builder.build(spec.targets["legacy_4x"], key)
    assert victim.read_text() == "the user's own, not remaster's"
    assert result.status == "cached", result.error


def test_a_damaged_object_is_removed_only_inside_the_object_folder(project, cli, tmp_path_factory):
    assert cli(project, "build")[0] == 0
    store = _store(project)
    obj = next((store.root / "objects").glob("*/*"))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / obj.name).write_bytes(b"not what its name says")
    moved = store.root / "objects" / f"{obj.parent.name}.real"
    obj.parent.rename(moved)
    obj.parent.symlink_to(elsewhere, target_is_directory=True)  # objects/ab leads out of the cache
    with pytest.raises(CorruptEntry):
        store.read_object(obj.name)
    assert (elsewhere / obj.name).is_file()


# -- 2. gc follows no link ------------------------------------------------------------------------------------


def _home_with_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("victim_home")
    for name in ("Documents", "Pictures"):
        (home / name).mkdir()
        (home / name / "keep.txt").write_text("mine")
        (home / name / "notes.json").write_text("{}")  # the name of a cache entry
    return home


def _tree(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("folder", ["tmp", "work", "objects", "entries", "units", "roots"])
def test_cache_gc_refuses_a_store_folder_that_is_a_link_and_deletes_nothing_through_it(project, cli,
                                                                                       tmp_path_factory, folder):
    home = _home_with_folders(tmp_path_factory)
    old = time.time() - 30 * 24 * 3600
    for path in home.rglob("*"):
        os.utime(path, (old, old))  # older than any age gc keeps
    store = _store(project)
    (store.root / folder).rmdir()
    (store.root / folder).symlink_to(home, target_is_directory=True)
    before = _tree(home)
    assert cli(project, "build")[0] == 0
    code, said = cli(project, "cache", "gc", "--forget-missing")  # which deletes the records in roots/ it cannot read
    assert code == 1 and f"{store.root / folder} is a link" in said and "gc deletes nothing through a link" in said
    assert [name for name in _tree(home) if name in before] == before


def test_cache_gc_refuses_an_object_folder_that_is_a_link(project, cli, tmp_path_factory):
    assert cli(project, "build")[0] == 0
    home = _home_with_folders(tmp_path_factory)
    store = _store(project)
    (store.root / "objects" / "ab").symlink_to(home / "Documents", target_is_directory=True)
    code, said = cli(project, "cache", "gc")
    assert code == 1 and f"{store.root / 'objects' / 'ab'} is a link" in said
    assert (home / "Documents" / "keep.txt").is_file()


def test_cache_gc_removes_a_link_in_the_scratch_folder_not_what_it_leads_to(project, cli, tmp_path_factory):
    assert cli(project, "build")[0] == 0
    home = _home_with_folders(tmp_path_factory)
    store = _store(project)
    (store.root / "tmp" / "tmpabcd1234").symlink_to(home, target_is_directory=True)
    (store.root / "tmp" / "notes.txt").write_text("not a name gc makes")
    old = time.time() - 30 * 24 * 3600
    (store.root / "work" / hash_bytes(b"a killed training")).symlink_to(home, target_is_directory=True)
    os.utime(store.root / "work" / hash_bytes(b"a killed training"), (old, old), follow_symlinks=False)
    code, said = cli(project, "cache", "gc")
    assert code == 0, said
    assert not (store.root / "tmp" / "tmpabcd1234").is_symlink()
    assert not (store.root / "work" / hash_bytes(b"a killed training")).is_symlink()
    assert (home / "Documents" / "keep.txt").is_file() and (home / "Pictures" / "keep.txt").is_file()
    assert (store.root / "tmp" / "notes.txt").is_file()


def test_cache_gc_still_collects_what_no_output_uses(project, cli):
    assert cli(project, "build")[0] == 0
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("scale: 2", "scale: 3"))
    assert cli(project, "build")[0] == 0
    store = _store(project)
    scratch = store.scratch_dir()
    (scratch / "output.png").write_bytes(b"a killed step's")
    code, said = cli(project, "cache", "gc")
    assert code == 0 and "removed 5 entries" in said, said
    assert len(list((store.root / "objects").glob("*/*"))) == 5 and not scratch.exists()


# -- 3. an entry naming outputs the op does not write ----------------------------------------------------------


@pytest.mark.parametrize("name", ["../../../../tmp/x.png", "elsewhere.png", "/tmp/x.png", "variant_00/../../x.png",
                                  "variant_00\\..\\x.png", "variant_00//x.png", "variant_00/"])
def test_an_entry_naming_an_output_the_op_does_not_write_is_recomputed_not_a_traceback(project, cli, name):
    assert cli(project, "build")[0] == 0
    store, row = _store(project), _first_row(project)
    digest = next(iter(row["outputs"].values()))  # an object the store holds: the entry is whole but for its name
    _rewrite_entry(store, row["cache_key"], {name: digest}, checksum=True)
    output = project / next(iter(row["outputs"]))
    output.unlink()
    for _ in range(2):  # the first drops the entry; the second finds the one it wrote
        code, said = cli(project, "build")
        assert code == 0, said
    assert hash_file(output) == digest
    assert not Path("/tmp/x.png").exists() or hash_file(Path("/tmp/x.png")) != digest


def test_an_entry_copied_over_another_keys_entry_is_recomputed_not_restored(project, cli, caplog):
    """Whole but another key's (a backup restored to the wrong name): it gave one texture another's outputs."""
    assert cli(project, "build")[0] == 0
    store = _store(project)
    row, other = [r for r in manifest_rows(project) if r["asset"] == "legacy_2x"][:2]
    store._entry_path(row["cache_key"]).write_bytes(store._entry_path(other["cache_key"]).read_bytes())
    output, digest = next(iter(row["outputs"].items()))
    (project / output).unlink()
    code, said = cli(project, "build")
    assert code == 0, said
    assert hash_file(project / output) == digest
    now = next(r for r in manifest_rows(project) if r["cache_key"] == row["cache_key"])
    assert now["status"] == "computed" and str(store._entry_path(row["cache_key"])) in caplog.text



def test_a_unit_file_copied_over_another_units_is_made_again_not_reused(tmp_path, cli, caplog):
    """Whole but another texture's (a backup restored to the wrong name): raising count reused it, so that one
    texture's variant_00.png was the other's, exit 0, and stored so under the new key."""
    spec = variants_project(tmp_path, count=1)
    write_textures(tmp_path / "textures", 2, size=64)  # the same first texture, and walls/tex001.png
    assert cli(tmp_path, "build")[0] == 0
    variant = tmp_path / "build" / "variants" / "floors" / "tex000" / "variant_00.png"
    built = hash_file(variant)
    loaded = load_spec(spec)
    builder = RemasterResource().builder(loaded)
    unit, other = (builder.plan(loaded.targets["variants"], key).units["variant_00.png"]
                   for key in ("floors/tex000.png", "walls/tex001.png"))
    store = _store(tmp_path)
    store._unit_path(unit).write_bytes(store._unit_path(other).read_bytes())
    spec.write_text(spec.read_text().replace("count: 1", "count: 2"))
    code, said = cli(tmp_path, "status", "--json")
    reasons = {row["partition"]: row["reason"] for row in json.loads(said)["stale"]}
    assert reasons == {"floors/tex000.png": "params changed: count 1 -> 2", "walls/tex001.png":
                       "params changed: count 1 -> 2; 1 of its 2 outputs in the cache, put back; makes 1 (variant_01.png)"}
    assert store._unit_path(unit).read_bytes() == store._unit_path(other).read_bytes()  # status removes nothing
    code, said = cli(tmp_path, "build")
    assert code == 0, said
    assert hash_file(variant) == built and str(store._unit_path(unit)) in caplog.text


def test_a_unit_file_written_before_units_named_their_key_is_still_reused(tmp_path):
    made = tmp_path / "variant_00.png"
    made.write_bytes(b"a variant")
    store = ContentStore(tmp_path / "cache")
    store.keep_units({"unit": made})
    store._unit_path("unit").write_text(hash_bytes(b"a variant"))  # as a remaster before 2026-11-28 wrote it
    assert store.unit("unit") == hash_bytes(b"a variant")

# -- 4. removals through a link in the build folder -----------------------------------------------------------


def _linked_row(project: Path, victim: Path, digest: str) -> None:
    """A committed build folder: ``build/gone`` links to the victim's folder, and a row of an asset the spec
    does not have lists the victim's file as its output."""
    (project / "build" / "gone").symlink_to(victim.parent, target_is_directory=True)
    manifest = project / "build" / "manifest.json"
    document = json.loads(manifest.read_text())
    row = dict(document["entries"][0], asset="gone", partition="x.png")
    row["outputs"] = {f"build/gone/{victim.name}": digest}
    document["entries"].append(row)
    manifest.write_text(json.dumps(document))


@pytest.mark.parametrize("listed", ["00", "other"])
def test_a_manifest_row_reaching_through_a_link_in_the_build_folder_deletes_nothing_it_did_not_write(
    project, cli, tmp_path_factory, caplog, listed
):
    assert cli(project, "build")[0] == 0
    victim = _victim(tmp_path_factory, ".bashrc")
    _linked_row(project, victim, "00" if listed == "00" else hash_bytes(b"what remaster wrote there"))
    with caplog.at_level(logging.WARNING):
        code, said = cli(project, "build")
    assert code == 0, said
    assert victim.read_text() == "the user's own, not remaster's"
    assert f"{project / 'build' / 'gone' / '.bashrc'} is left" in caplog.text
    assert "gone" not in {row["asset"] for row in manifest_rows(project)}


def test_a_placing_note_reaching_through_a_link_in_the_build_folder_deletes_nothing(project, cli,
                                                                                    tmp_path_factory, caplog):
    assert cli(project, "build")[0] == 0
    victim = _victim(tmp_path_factory, ".bashrc")
    (project / "build" / "gone").symlink_to(victim.parent, target_is_directory=True)
    notes = project / "build" / ".placing"
    notes.mkdir(exist_ok=True)
    note = notes / "killed.json"
    note.write_text(json.dumps({"paths": ["gone/.bashrc"], "space": "another machine", "process": "1@1"}))
    os.utime(note, (0, 0))  # a day old: its step is taken for dead
    with caplog.at_level(logging.WARNING):
        assert cli(project, "build")[0] == 0
    assert victim.read_text() == "the user's own, not remaster's"
    assert "is left" in caplog.text


def test_an_output_in_a_linked_asset_folder_that_was_changed_since_is_left(project, cli, tmp_path_factory, caplog):
    elsewhere = tmp_path_factory.mktemp("mod_folder")
    (project / "build").mkdir()
    (project / "build" / "legacy_2x").symlink_to(elsewhere, target_is_directory=True)
    assert cli(project, "build")[0] == 0
    (elsewhere / "walls" / "tex001.png").write_bytes(b"touched up by hand in the game's folder")
    (elsewhere / "floors" / "tex000.png").unlink(missing_ok=True)
    (project / "textures" / "walls" / "tex001.png").unlink()
    (project / "textures" / "floors" / "tex002.png").unlink()
    with caplog.at_level(logging.WARNING):
        assert cli(project, "build")[0] == 0
    assert (elsewhere / "walls" / "tex001.png").read_bytes() == b"touched up by hand in the game's folder"
    assert "differs from what remaster wrote there" in caplog.text
    assert not (elsewhere / "floors" / "tex002.png").exists()  # as the build wrote it: removed, as before
