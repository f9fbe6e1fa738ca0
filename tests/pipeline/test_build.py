"""Builds through the real CLI and Dagster: what is recomputed, what is cached, what survives."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from helpers import (
    CHAIN_SPEC, LFS_POINTER, REPO, SHARED, UPSCALE_SPEC, bc1_block, build_killed, build_killed_at_the_third_variant,
    build_killed_before_its_rows, dds, display_p3_profile, hash_index_entries, manifest_rows, outputs, pngs_written,
    read_only_folder, remaster_on_a_terminal, source_called, start_remaster, statuses, unreadable_while_mode_000,
    variants_dds_project, variants_project, write_spec, write_textures,
)
from ops.image_io import Image, read_image, write_image
from ops.registry import OPS
from pipeline.cache import ContentStore
from pipeline.definitions import build_definitions
from pipeline.hashing import hash_file
from pipeline.resources import HASH_INDEX, RemasterResource
from pipeline.runs import run_build
from pipeline.spec import load_spec
from pipeline.unreached import record_unreached


def test_first_build_computes_every_partition(project, cli):
    code, output = cli(project, "build")
    assert code == 0, output
    assert sorted(statuses(project).values()) == ["computed"] * 5
    entry = manifest_rows(project)[0]
    assert set(entry) >= {"asset", "partition", "status", "cache_key", "outputs", "inputs", "params", "from"}
    assert entry["from"] == "legacy"
    assert entry["params"] == {"scale": 2, "filter": "lanczos", "wrap": "auto", "kind": "color", "alpha": "auto"}
    [(out_path, digest)] = entry["outputs"].items()
    assert out_path == f"build/legacy_2x/{entry['partition']}"
    assert hash_file(project / out_path) == digest
    assert read_image(project / out_path).width == 32


def test_the_summary_counts_what_this_build_did_when_another_build_lists_the_same_partitions(project, cli, monkeypatch):
    """Two builds at once: the one that waited for a texture's cache key finds it cached and lists it after the
    other computed it, and the manifest keeps the last row. The first build's summary, read from the manifest,
    said it computed nothing, though it computed every texture."""
    import pipeline.assets
    from pipeline.manifest import update_manifest

    def and_another_build(build_dir: Path, rows=(), drop=()) -> None:
        update_manifest(build_dir, rows, drop)
        update_manifest(build_dir, [{**row, "status": "cached", "seconds": 60.0, "run_id": "another-build"} for row in rows])

    monkeypatch.setattr(pipeline.assets, "update_manifest", and_another_build)
    code, output = cli(project, "build")
    assert code == 0 and set(statuses(project).values()) == {"cached"}, output  # the other build's rows, kept
    [line] = [line for line in output.splitlines() if "legacy_2x" in line]
    computed, cached, failed, seconds = (cell.strip() for cell in line.split("│")[2:6])
    assert (computed, cached, failed) == ("5", "0", "0") and float(seconds) < 60, output


def test_a_failure_another_build_recorded_meanwhile_keeps_its_own_error(project, cli, monkeypatch):
    """Two builds at once fail one texture: the one to finish last rewrote the other's row, which said why,
    as "not built: 1 of 6 partitions of legacy_2x failed", a partition its run never reached."""
    import pipeline.assets
    from pipeline.manifest import update_manifest

    def and_another_build(build_dir: Path, rows=(), drop=()) -> None:
        update_manifest(build_dir, rows, drop)
        update_manifest(build_dir, [{**row, "run_id": "another-build"} for row in rows if row["status"] == "failed"])

    (project / "textures" / "walls" / "half_saved.png").write_bytes(b"\x89PNG")
    monkeypatch.setattr(pipeline.assets, "update_manifest", and_another_build)
    code, output = cli(project, "build")
    [row] = [row for row in manifest_rows(project) if row["status"] == "failed"]
    assert code == 1 and row["run_id"] == "another-build", output
    assert "is not a PNG" in row["error"] and not row["error"].startswith("not built"), row["error"]


def test_a_texture_another_build_made_while_this_one_planned_keeps_that_builds_row(project, monkeypatch):
    """Two builds at once: a texture changed and built by another build (a second CLI, a sensor's run) after this
    one had found its outputs current got back the row this build read as it began, listing the outputs of before
    the change over those on disk: status then called it stale, "changed file", until yet another build."""
    import pipeline.runs
    from pipeline.staleness import stale_partitions

    spec = load_spec(project / "assets_spec.yaml")
    run_build(spec, device="cpu")  # its rows say computed: the next build rewrites them as cached
    judged = pipeline.runs.stale_map

    def and_another_build(*args, **kwargs):
        stale = judged(*args, **kwargs)
        write_textures(project / "textures", 1, seed=5)  # floors/tex000.png changed
        other = start_remaster(project, "build")
        assert other.wait(timeout=120) == 0, other.stdout.read()
        return stale

    monkeypatch.setattr(pipeline.runs, "stale_map", and_another_build)
    run_build(spec, device="cpu")
    [row] = [row for row in manifest_rows(project) if row["partition"] == "floors/tex000.png"]
    assert row["status"] == "computed", row  # the other build's
    assert {path: hash_file(project / path) for path in row["outputs"]} == row["outputs"]
    assert not stale_partitions(spec).stale


def test_a_texture_another_build_removed_while_this_one_planned_stays_removed(project, monkeypatch):
    """Two builds at once: a texture deleted while this build planned, whose row and outputs the other build
    dropped, got its row back, listing outputs no longer on disk (a build before ba83991 stopped on a KeyError)."""
    import pipeline.runs

    spec = load_spec(project / "assets_spec.yaml")
    run_build(spec, device="cpu")
    judged = pipeline.runs.stale_map

    def and_another_build(*args, **kwargs):
        stale = judged(*args, **kwargs)
        (project / "textures" / "floors" / "tex002.png").unlink()
        other = start_remaster(project, "build")
        assert other.wait(timeout=120) == 0, other.stdout.read()
        return stale

    monkeypatch.setattr(pipeline.runs, "stale_map", and_another_build)
    run_build(spec, device="cpu")
    assert "floors/tex002.png" not in statuses(project)


def test_changing_one_of_n_inputs_recomputes_exactly_one(project, cli):
    cli(project, "build")
    changed = project / "textures" / "walls" / "tex001.png"
    write_image(changed, Image(np.full((16, 16, 3), 0.5, np.float32)))
    code, output = cli(project, "build")
    assert code == 0, output
    assert statuses(project) == {
        "floors/tex000.png": "cached",
        "walls/tex001.png": "computed",
        "floors/tex002.png": "cached",
        "walls/tex003.png": "cached",
        "floors/tex004.png": "cached",
    }


def test_status_explains_what_is_stale(project, cli, monkeypatch):
    cli(project, "build")
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.zeros((16, 16, 3), np.float32)))
    write_textures(project / "textures" / "new", 1, seed=9)
    code, output = cli(project, "status")
    assert code == 0
    assert "changed file textures/walls/tex001.png" in output
    assert "new file" in output
    assert cli(project, "status", "--check")[0] == 1  # a CI gate
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("filter: lanczos", "filter: bicubic"))
    _, output = cli(project, "status")
    assert output.count("params changed: filter") == 5
    cli(project, "build")
    upscale = OPS["upscale"]
    monkeypatch.setitem(OPS, "upscale", dataclasses.replace(upscale, version="next"))
    _, output = cli(project, "status")
    assert output.count(f"op upscale version {upscale.version} -> next") == 6

    deep = project / "textures" / "characters" / "heroes" / "main_character_armour_set_v2"
    write_textures(deep, 1, seed=3)
    _, output = cli(project, "status")  # a CI log: long paths whole, not cut
    assert "…" not in output and "tex000.p" in output


def test_a_game_s_dds_textures_build_into_pngs(tmp_path, cli):
    walls = tmp_path / "textures" / "walls"
    walls.mkdir(parents=True)
    (walls / "brick.dds").write_bytes(dds(8, 4, b"DXT1", bc1_block(0xF800, 0) + bc1_block(0x001F, 0)))  # red | blue
    (walls / "sky.dds").write_bytes(dds(4, 4, b"DXT1", bc1_block(0x07E0, 0), caps2=0xFE00))  # a cube map
    write_spec(tmp_path, UPSCALE_SPEC.replace('"**/*.png"', '"**/*.dds"').replace("filter: lanczos", "filter: nearest"))
    code, output = cli(tmp_path, "build")
    assert code == 1 and "walls/sky.dds is a cube map" in output, output
    built = read_image(tmp_path / "build" / "legacy_2x" / "walls" / "brick.png", colorspace="linear")
    assert built.alpha is None and built.color.shape == (8, 16, 3)
    np.testing.assert_array_equal(built.color[:, [0, 15]], [[[1, 0, 0], [0, 0, 1]]] * 8)
    assert [row["status"] for row in manifest_rows(tmp_path)] == ["computed", "failed"]


def test_an_export_dds_asset_writes_dds_files_beside_the_chain_it_ends(project, cli):
    write_spec(project, UPSCALE_SPEC + "  legacy_dds: {op: export_dds, from: legacy_2x}\n")
    code, output = cli(project, "build")
    assert code == 0, output
    built = project / "build" / "legacy_dds" / "walls" / "tex001.dds"
    assert built.read_bytes()[:4] == b"DDS " and read_image(built).width == 32
    row = next(r for r in manifest_rows(project) if r["asset"] == "legacy_dds" and r["partition"] == "walls/tex001.png")
    assert row["outputs"] == {"build/legacy_dds/walls/tex001.dds": hash_file(built)}
    write_spec(project, UPSCALE_SPEC + "  legacy_dds: {op: export_dds, from: legacy_2x, format: uncompressed}\n")
    code, output = cli(project, "build")
    assert code == 0, output
    assert sorted((r["asset"], r["status"]) for r in manifest_rows(project)) == [
        ("legacy_2x", "cached")] * 5 + [("legacy_dds", "computed")] * 5
    assert len(built.read_bytes()) == 128 + 4 * (32 * 32 + 16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1)


def test_export_dds_exports_the_maps_a_material_writes_each_as_its_kind(project, cli):
    write_spec(project, UPSCALE_SPEC + "  floors: {op: material, from: legacy, method: from_texture}\n"
                                       "  floors_dds: {op: export_dds, from: floors, maps: [albedo, normal, roughness]}\n")
    code, output = cli(project, "build")
    assert code == 0, output
    folder = project / "build" / "floors_dds" / "walls" / "tex001"
    assert {p.name: p.read_bytes()[84:88] for p in folder.iterdir()} == {
        "albedo.dds": b"DXT1", "normal.dds": b"ATI2", "roughness.dds": b"ATI1"}
    row = next(r for r in manifest_rows(project) if r["asset"] == "floors_dds" and r["partition"] == "walls/tex001.png")
    assert row["metadata"]["normal_format"] == "bc5" and row["metadata"]["roughness_mip_levels"] == 5
    (project / "build" / "floors" / "walls" / "tex001" / "normal.png").unlink()
    (folder / "normal.dds").unlink()
    code, output = cli(project, "build", "floors_dds")
    assert code == 0 and (folder / "normal.dds").is_file(), output
    assert {r["status"] for r in manifest_rows(project) if r["asset"] == "floors_dds"} == {"cached"}


def test_export_dds_gives_a_map_its_own_format_and_a_bc3n_normal_map_reads_back_as_one(project, cli):
    """maps could not give bc3n (DXT5nm) to the normal map alone; now ``normal: bc3n`` in the list does, the others
    keeping format's (bc7 here) or auto's. The normal map's header sets DDPF_NORMAL, by which its DXT5 reads back
    as the normal map, where it read as a colour texture with X for alpha."""
    write_spec(project, UPSCALE_SPEC + "  floors: {op: material, from: legacy, method: from_texture}\n"
                                       "  floors_dds: {op: export_dds, from: floors, format: bc7,\n"
                                       "               maps: [albedo, normal: DXT5nm, roughness: bc4]}\n")
    code, output = cli(project, "build")
    assert code == 0, output
    folder = project / "build" / "floors_dds" / "walls" / "tex001"
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert {name: (data[84:88], int.from_bytes(data[80:84], "little")) for name, data in files.items()} == {
        "albedo.dds": (b"DX10", 0x4), "normal.dds": (b"DXT5", 0x80000004), "roughness.dds": (b"ATI1", 0x4)}
    assert int.from_bytes(files["albedo.dds"][128:132], "little") == 99  # BC7_UNORM_SRGB
    row = next(r for r in manifest_rows(project) if r["asset"] == "floors_dds" and r["partition"] == "walls/tex001.png")
    assert (row["metadata"]["albedo_format"], row["metadata"]["normal_format"]) == ("bc7", "bc3n")
    normal = read_image(project / "build" / "floors" / "walls" / "tex001" / "normal.png", colorspace="linear")
    read_back = read_image(folder / "normal.dds", colorspace="linear")
    assert read_back.channels == 3
    assert np.abs(read_back.color - normal.color).max() * 255 < 6.5  # X and Y as DXT5nm keeps them (2 and 6), Z rebuilt


def test_an_asset_chained_from_an_export_reads_its_dds_and_gets_it_put_back(project, cli):
    write_spec(project, UPSCALE_SPEC + "  legacy_dds: {op: export_dds, from: legacy_2x}\n"
                                       "  legacy_4x: {op: upscale, from: legacy_dds, filter: nearest}\n")
    code, output = cli(project, "build")
    assert code == 0, output
    assert read_image(project / "build" / "legacy_4x" / "walls" / "tex001.png").width == 64
    exported = project / "build" / "legacy_dds" / "walls" / "tex001.dds"
    exported.unlink()
    code, output = cli(project, "status")
    assert "legacy_dds" in output and "put back" in output, output
    code, output = cli(project, "build", "legacy_4x")
    assert code == 0 and exported.is_file(), output


def test_two_maps_of_a_variant_with_the_same_bytes_are_kept_as_two_exports():
    """Each DDS of a material's variant is kept under its own image's hash: a flat albedo stored as the normal map's
    bytes would have been given the normal map's DDS (BC5, two channels) had the map's name not joined its key."""
    from pipeline.build import _units
    from pipeline.spec import parse_spec

    spec = parse_spec(MATERIAL_VARIANTS_SPEC + "  dds: {op: export_dds, from: mat_variants, maps: [albedo, normal]}\n",
                      Path("/studio/assets_spec.yaml"))
    units = _units(spec, spec.assets["dds"], {"op": "export_dds"}, dict.fromkeys(spec.images_each(spec.assets["dds"]),
                                                                               "0" * 32))
    assert sorted(units) == [f"variant_0{i}/{name}.dds" for i in range(2) for name in ("albedo", "normal")]
    assert units["variant_00/albedo.dds"] != units["variant_00/normal.dds"]
    assert units["variant_00/albedo.dds"] == units["variant_01/albedo.dds"]  # the same image exports alike


def test_an_input_a_partition_no_longer_reads_is_named_so():
    """export_dds's ``maps`` without ``ao``: 'removed or left-out file build/scanned/towel/ao.png' read as though
    the build had deleted the map."""
    from pipeline.build import input_changes

    before = {"build/scanned/towel/albedo.png": "a", "build/scanned/towel/ao.png": "b", "build/sr2x/model.pt": "m"}
    now = {"build/scanned/towel/albedo.png": "c", "build/sr2x/model.pt": "n", "photos/towel/scene.json": "d"}
    assert input_changes(before, now, "build/sr2x/model.pt") == [
        "changed file build/scanned/towel/albedo.png", "changed model build/sr2x/model.pt",
        "new file photos/towel/scene.json", "no longer reads build/scanned/towel/ao.png"]


def test_a_one_texture_build_and_status_read_the_manifest_a_fixed_few_times(project, monkeypatch):
    """A studio's manifest of thousands of rows takes a twentieth of a second to read: a build of one changed texture
    over two chained assets read it 17 times, where 12 do, and status 4 times, where 2 do."""
    import pipeline.manifest
    from pipeline.staleness import stale_partitions

    write_spec(project, CHAIN_SPEC)
    spec = load_spec(project / "assets_spec.yaml")
    run_build(spec, device="cpu")
    write_textures(project / "textures", 1, seed=5)  # floors/tex000.png changed
    reads: list[Path] = []
    read = pipeline.manifest._read
    monkeypatch.setattr(pipeline.manifest, "_read", lambda build_dir: reads.append(build_dir) or read(build_dir))
    report = run_build(spec, device="cpu")
    assert sorted((r["asset"], r["status"]) for r in report.rows if r["status"] != "cached") == [
        ("legacy_2x", "computed"), ("legacy_4x", "computed")]
    assert len(reads) <= 12, reads
    reads.clear()
    assert not stale_partitions(spec).stale
    assert len(reads) <= 2, reads


def test_status_calls_an_asset_just_added_to_the_spec_never_built_not_a_new_file(project, cli):
    """Every texture of an asset added to the spec was listed as a "new file", though no file was new: an artist
    reading it looked for what had changed in the textures."""
    from pipeline.staleness import stale_partitions

    cli(project, "build")
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy, scale: 4}\n")
    write_textures(project / "textures" / "new", 1, seed=9)
    why = {(s.asset, s.partition): s.reason for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale}
    assert why[("legacy_2x", "new/floors/tex000.png")] == "new file"
    assert {reason for (asset, _), reason in why.items() if asset == "legacy_4x"} == {"never built"}
    assert len(why) == 7


def test_status_calls_a_new_textures_partition_downstream_new_and_a_changed_ones_upstream_stale(project, cli):
    """The partition of an asset built from another, under a texture just added, said "upstream legacy_2x is
    stale", as of a texture changed: the artist looked for what had changed in a file nothing was built from."""
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    write_textures(project / "textures" / "new", 1, seed=9)
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.zeros((16, 16, 3), np.float32)))
    code, output = cli(project, "status", "--json")
    assert {(s["asset"], s["partition"]): s["reason"] for s in json.loads(output)["stale"]} == {
        ("legacy_2x", "new/floors/tex000.png"): "new file",
        ("legacy_4x", "new/floors/tex000.png"): "new file",
        ("legacy_2x", "walls/tex001.png"): "changed file textures/walls/tex001.png",
        ("legacy_4x", "walls/tex001.png"): "upstream legacy_2x is stale: rebuilt only if its new output differs"}
    table = " ".join(cli(project, "status")[1].replace("│", " ").split())
    assert "legacy_4x new/floors/tex000.png new file" in table, table


def test_status_says_what_each_changed_param_was_and_is_now(project, cli):
    """"params changed: scale" left the artist to guess whether the spec now says what was meant: a scale typed
    as 4 where 2 was wanted read the same as the change meant."""
    assert cli(project, "build")[0] == 0
    write_spec(project, UPSCALE_SPEC.replace("scale: 2", "scale: 4").replace("filter: lanczos", "filter: bicubic"))
    assert set(stale_reasons(cli, project).values()) == {"params changed: filter lanczos -> bicubic, scale 2 -> 4"}
    code, output = cli(project, "status")
    assert code == 0 and output.count("filter lanczos -> bicubic") == 5, output
    write_spec(project, UPSCALE_SPEC)
    manifest = project / "build" / "manifest.json"
    rows = json.loads(manifest.read_text())
    row = rows["entries"][0]
    row["params"]["filter"] = "lanczos_with_a_kernel_of_eight_taps"  # as long as a list of layers or a path
    row["cache_key"] = "0" + row["cache_key"]
    manifest.write_text(json.dumps(rows))
    assert stale_reasons(cli, project) == {
        ("legacy_2x", row["partition"]): (
        "params changed: filter lanczos_with_a_kernel... -> lanczos; in the cache: put back, not computed")}


def test_status_says_that_a_changed_from_drops_the_outputs_made_from_the_old_one(project, cli):
    """``from: legacy`` changed to another source was read as every texture removed from legacy's folder."""
    from pipeline.staleness import stale_partitions

    cli(project, "build")
    write_textures(project / "others" / "extra", 1, seed=9)
    others = UPSCALE_SPEC.replace("assets:", '  others: {kind: textures, root: others, glob: "**/*.png"}\nassets:')
    write_spec(project, others.replace("from: legacy", "from: others"))
    why = {(s.asset, s.partition): s.reason for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale}
    assert why.pop(("legacy_2x", "extra/floors/tex000.png")) == "new file"
    assert set(why.values()) == {"legacy_2x is made from others now, not legacy: its outputs will be deleted"}
    assert len(why) == 5
    code, output = cli(project, "build")
    removed = [line for line in output.splitlines() if line.startswith("removed the outputs")]
    assert code == 0 and len(removed) == 5, output
    assert all(line.endswith("legacy_2x is made from others now, not legacy") for line in removed), removed


def test_a_build_after_an_upgrade_records_from_in_rows_an_older_version_wrote(project, cli):
    """Rows written before rows said ``from`` kept none through every later build that found them current, so
    a changed ``from`` after an upgrade was still told as the artist's textures removed from their folder."""
    from pipeline.staleness import stale_partitions

    cli(project, "build")
    manifest = project / "build" / "manifest.json"
    body = json.loads(manifest.read_text())
    for row in body["entries"]:  # as a version before 76d0d28 wrote them
        del row["from"]
    manifest.write_text(json.dumps(body))
    code, output = cli(project, "build")
    assert code == 0 and sorted(statuses(project).values()) == ["cached"] * 5, output
    assert {row["from"] for row in manifest_rows(project)} == {"legacy"}
    write_textures(project / "others" / "extra", 1, seed=9)
    others = UPSCALE_SPEC.replace("assets:", '  others: {kind: textures, root: others, glob: "**/*.png"}\nassets:')
    write_spec(project, others.replace("from: legacy", "from: others"))
    why = {s.reason for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale if s.asset == "legacy_2x"}
    assert why == {"new file", "legacy_2x is made from others now, not legacy: its outputs will be deleted"}


def test_a_source_renamed_keeps_its_outputs_and_a_file_removed_after_says_so(project, cli):
    """A source renamed keeps every output current; their rows kept its old name as ``from``, so a texture deleted
    later read as 'legacy_2x is made from photos now, not legacy' in status and in the build's removed line."""
    from pipeline.staleness import stale_partitions

    assert cli(project, "build")[0] == 0
    write_spec(project, UPSCALE_SPEC.replace("legacy:", "photos:").replace("from: legacy", "from: photos"))
    assert cli(project, "build")[0] == 0
    assert {row["from"] for row in manifest_rows(project)} == {"photos"}
    (project / "textures" / "floors" / "tex000.png").unlink()
    [stale] = stale_partitions(load_spec(project / "assets_spec.yaml")).stale
    assert stale.reason.startswith("its source file is gone"), stale.reason
    code, output = cli(project, "build")
    assert "its source file is gone" in output and "made from" not in output, output


def test_a_project_copied_whole_with_its_build_folder_outside_the_specs_folder_keeps_its_own_outputs(tmp_path, cli):
    """A spec in a tools folder builds to a folder beside it (``../../Build``), whose outputs the manifest lists by
    their whole path. Copied whole (a second checkout made by copying the first), the copy's rows named the
    first checkout's files: a texture deleted there left its outputs in the copy's build folder, with a warning
    that the first's were not deleted, and an output rebuilt in the first made the copy stale."""
    studio = tmp_path / "studio"
    write_textures(studio / "Art", 3)
    (studio / "Tools" / "Remaster").mkdir(parents=True)
    (studio / "Tools" / "Remaster" / "textures.yaml").write_text(
        UPSCALE_SPEC.replace("build_dir: build", "build_dir: ../../Build").replace("root: textures", "root: ../../Art"))
    assert cli(studio / "Tools", "build", "--spec", "Remaster/textures.yaml")[0] == 0
    copy = tmp_path / "copy"
    shutil.copytree(studio, copy, symlinks=True)
    write_textures(studio / "Art", 3, seed=5)  # the first checkout's outputs change
    assert cli(studio / "Tools", "build", "--spec", "Remaster/textures.yaml")[0] == 0
    code, output = cli(copy / "Tools", "status", "--check", "--spec", "Remaster/textures.yaml")
    assert code == 0, output
    (copy / "Art" / "floors" / "tex000.png").unlink()
    code, output = cli(copy / "Tools", "build", "--spec", "Remaster/textures.yaml")
    assert code == 0 and "removed the outputs of legacy_2x [floors/tex000.png]" in output, output
    assert sorted(p.relative_to(copy / "Build").as_posix() for p in (copy / "Build").rglob("*.png")) == [
        "legacy_2x/floors/tex002.png", "legacy_2x/walls/tex001.png"]
    assert (studio / "Build" / "legacy_2x" / "floors" / "tex000.png").is_file()  # the first checkout's stay
    assert all(Path(path).is_relative_to(copy) for row in json.loads((copy / "Build" / "manifest.json").read_text())[
        "entries"] for path in row["outputs"])


def test_status_says_which_missing_outputs_a_build_puts_back_from_the_cache(project, cli, tmp_path):
    cli(project, "build")
    clone = tmp_path / "clone"  # a CI job's fresh clone, the cache restored
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("build"))
    (project / "build" / "legacy_2x" / "walls" / "tex001.png").unlink()
    for folder, reason in ((clone, "never built"), (project, "output missing or modified")):
        code, output = cli(folder, "status", "--check")
        why = " ".join(line.split("│")[3].strip() for line in output.splitlines() if line.startswith("│"))
        assert code == 1 and f"{reason}; in the cache: put back, not computed" in why, output


def test_status_says_that_a_fresh_clone_puts_back_a_chain_of_assets_from_the_cache(project, cli, tmp_path):
    from pipeline.staleness import stale_partitions

    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"
                                       "  legacy_8x: {op: upscale, from: legacy_4x, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    clone = tmp_path / "clone"  # a CI job's fresh clone, the cache restored
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("build"))
    write_textures(clone / "textures", 1, seed=9)  # one texture edited in the commit: its chain is computed
    why = {(s.asset, s.partition): s.reason for s in stale_partitions(load_spec(clone / "assets_spec.yaml")).stale}
    assert len(why) == 15
    put_back = "; in the cache: put back, not computed"
    for asset in ("legacy_2x", "legacy_4x", "legacy_8x"):  # were "upstream legacy_2x is stale", as of a change
        assert why[(asset, "walls/tex001.png")] == "never built" + put_back
        assert why[(asset, "floors/tex000.png")] == "never built"
    code, output = cli(clone, "build")
    assert code == 0 and sorted(r["status"] for r in manifest_rows(clone)) == ["cached"] * 12 + ["computed"] * 3, output


def test_status_of_a_fresh_clone_without_a_cache_says_a_chain_of_assets_was_never_built(project, cli):
    """Nothing was built in a fresh clone, yet every partition of an asset built from another said "upstream
    legacy_2x is stale", which sent the artist looking for a texture or a setting changed."""
    write_spec(project, CHAIN_SPEC)
    assert set(stale_reasons(cli, project).values()) == {"never built"}
    code, output = cli(project, "status")
    assert code == 0 and "is stale" not in output and output.count("never built") == 10, output


def test_status_says_that_a_param_changed_back_puts_back_what_it_and_its_chain_had(project, cli):
    from pipeline.staleness import stale_partitions

    chained = UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"
    for spec in (chained, chained.replace("filter: lanczos", "filter: bicubic")):  # another branch, built
        write_spec(project, spec)
        assert cli(project, "build")[0] == 0
    write_spec(project, chained)  # and back
    why = {s.reason for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale}
    assert why == {"params changed: filter bicubic -> lanczos; in the cache: put back, not computed",  # were without "in the cache"
                   "upstream legacy_2x is stale; in the cache: put back, not computed"}


def test_status_says_an_asset_below_a_stale_upstream_is_rebuilt_only_if_the_upstream_comes_out_different(
        project, cli):
    """"upstream legacy_2x is stale" read as "legacy_4x is computed again", and the build then listed it cached: a
    texture saved again with the same pixels makes legacy_2x's output anew, byte for byte the one before. Status
    cannot know that without computing legacy_2x, so it says what the build does."""
    from PIL import Image as PILImage
    from PIL.PngImagePlugin import PngInfo

    write_spec(project, CHAIN_SPEC)
    assert cli(project, "build")[0] == 0
    texture = project / "textures" / "walls" / "tex001.png"
    note = PngInfo()
    note.add_text("Software", "an image editor")  # saved again: other bytes, the same pixels
    PILImage.open(texture).save(texture, pnginfo=note)
    assert stale_reasons(cli, project) == {
        ("legacy_2x", "walls/tex001.png"): "changed file textures/walls/tex001.png",
        ("legacy_4x", "walls/tex001.png"): "upstream legacy_2x is stale: rebuilt only if its new output differs"}
    manifest = project / "build" / "manifest.json"
    written = manifest.read_text()
    rows = json.loads(written)
    for row in rows["entries"]:
        del row["from"]  # as a remaster before rows said it: another from than legacy_2x is computed whatever
    manifest.write_text(json.dumps(rows))
    assert stale_reasons(cli, project)[("legacy_4x", "walls/tex001.png")] == "upstream legacy_2x is stale"
    manifest.write_text(written)
    code, output = cli(project, "build")
    assert code == 0 and {(r["asset"], r["partition"]): r["status"] for r in manifest_rows(project)
                          if r["status"] != "cached"} == {("legacy_2x", "walls/tex001.png"): "computed"}, output
    write_image(texture, Image(np.zeros((16, 16, 3), np.float32)))  # painted over: its output differs
    said = stale_reasons(cli, project)[("legacy_4x", "walls/tex001.png")]
    assert said == "upstream legacy_2x is stale: rebuilt only if its new output differs"
    assert cli(project, "build")[0] == 0
    assert {r["asset"] for r in manifest_rows(project) if r["status"] == "computed"} == {"legacy_2x", "legacy_4x"}
    write_spec(project, CHAIN_SPEC.replace("scale: 2, filter", "scale: 2000, filter"))  # too large: legacy_2x fails
    assert cli(project, "build")[0] == 1
    said = stale_reasons(cli, project)[("legacy_4x", "walls/tex001.png")]
    assert said == "upstream legacy_2x is stale"  # not built last time: no output of before to come out the same as


def test_status_says_an_op_version_changed_below_a_stale_upstream(project, cli, monkeypatch):
    """An upgrade that bumps the version of an op and of the one built from it said only "upstream ... is stale"
    of the second: the artist expects it put back where the upstream comes out the same, and it is computed."""
    from pipeline.staleness import stale_partitions

    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    upscale = OPS["upscale"]
    monkeypatch.setitem(OPS, "upscale", dataclasses.replace(upscale, version="next"))
    why = {(s.asset, s.reason) for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale}
    assert why == {("legacy_2x", f"op upscale version {upscale.version} -> next"),
                   ("legacy_4x", f"upstream legacy_2x is stale; op upscale version {upscale.version} -> next")}


def test_status_says_that_a_failing_change_reverted_puts_back_what_was_built_before_it(project, cli):
    from pipeline.staleness import stale_partitions

    chained = UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"
    write_spec(project, chained)
    assert cli(project, "build")[0] == 0
    write_spec(project, chained.replace("scale: 2, filter", "scale: 2000, filter"))  # too large: every texture fails
    assert cli(project, "build")[0] == 1
    write_spec(project, chained)  # and reverted
    why = {(s.asset, s.reason.startswith("failed last build: "), s.reason.split("; ")[-1])
           for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale}
    assert why == {("legacy_2x", True, "in the cache: put back, not computed"),  # was the failure alone
                   ("legacy_4x", False, "in the cache: put back, not computed")}
    code, output = cli(project, "build")
    assert code == 0 and {r["status"] for r in manifest_rows(project)} == {"cached"}, output


def test_status_shows_file_names_with_brackets_as_they_are(project, cli):
    for name in ("wall [old].png", "brick[bold].png", "x[/b].png"):  # rich would read [old] and [bold] as styles
        path = project / "textures" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, Image(np.full((8, 8, 3), 0.5, np.float32)))
    code, output = cli(project, "status")
    assert code == 0, output
    assert "wall [old].png" in output and "brick[bold].png" in output and "x[/b].png" in output


def test_status_says_what_an_asset_taken_out_of_the_spec_loses_and_writes_nothing(project, cli, monkeypatch):
    cli(project, "build")
    write_spec(project, UPSCALE_SPEC.replace("legacy_2x", "legacy_big"))
    (project / "textures" / "walls" / "tex001.png").touch()  # hashed again: the index would be saved
    cache = project / ".remaster" / "cache"
    read_only_folder(monkeypatch, cache)
    code, output = cli(project, "status", "--check")  # it crashed on the read-only cache; legacy_2x was not named
    assert code == 1, output
    assert output.count("the spec no longer has this asset") == 5 and output.count("never built") == 5, output


def test_status_check_passes_once_everything_is_built(project, cli):
    assert cli(project, "status", "--check")[0] == 1
    cli(project, "build")
    code, output = cli(project, "status", "--check")
    assert code == 0 and "everything is up to date" in output
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("root: textures", "root: texturs"))  # a typo: build would fail
    code, output = cli(project, "status", "--check")
    assert code == 1 and f"will not be built {source_called(project, 'legacy')}" in output  # was "everything is up to date", exit 0
    assert output.count("source 'legacy'") == 1, output


def test_status_json_gives_what_the_table_says_on_stdout_alone(project, cli):
    """For a CI script (a bot that comments on what a commit rebuilds): JSON on stdout, exit code as --check's. What a
    build does with each partition, and the files it is made from, are fields of their own: a bot parsed the reason's
    words for "put back" (a fresh clone's "never built" is put back from the shared cache) and could not tell which
    file of the repository ``walls/tex001.png`` was."""
    import json

    from typer.testing import CliRunner

    from pipeline.cli import app

    def status_json() -> tuple[int, dict]:
        result = CliRunner().invoke(app, ["status", "--json", "--check", "--spec", str(project / "assets_spec.yaml")])
        return result.exit_code, json.loads(result.stdout)

    assert cli(project, "build")[0] == 0
    assert status_json() == (0, {"up_to_date": True, "stale": [], "counts": {"compute": 0, "put_back": 0, "delete": 0},
                                 "will_not_be_built": [], "failed_checks": [], "unmeasured_checks": [],
                                 "manifest_problem": None})
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.zeros((16, 16, 3), np.float32)))
    (project / "textures" / "floors" / "tex000.png").unlink()
    (project / "build" / "legacy_2x" / "floors" / "tex002.png").unlink()  # as in a fresh clone: in the cache
    code, report = status_json()
    assert code == 1 and not report["up_to_date"]
    assert report["stale"] == [
        {"asset": "legacy_2x", "partition": "floors/tex002.png",
         "reason": "output missing or modified; in the cache: put back, not computed", "action": "put_back",
         "files": ["textures/floors/tex002.png"]},
        {"asset": "legacy_2x", "partition": "walls/tex001.png", "reason": "changed file textures/walls/tex001.png",
         "action": "compute", "files": ["textures/walls/tex001.png"]},
        {"asset": "legacy_2x", "partition": "floors/tex000.png",
         "reason": "its source file is gone, or the source's glob or exclude leaves it out: its outputs will be deleted",
         "action": "delete", "files": []}]
    assert report["counts"] == {"compute": 1, "put_back": 1, "delete": 1}


def test_status_ends_with_what_a_build_computes_puts_back_and_deletes(project, cli):
    """A CI log's reader wants what a commit costs: the table's rows said "never built" for most of a fresh
    clone's partitions, and the few computed hid among those the shared cache puts back."""
    assert cli(project, "build")[0] == 0
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.zeros((16, 16, 3), np.float32)))
    (project / "textures" / "floors" / "tex000.png").unlink()
    for output in ("tex002.png", "tex004.png"):  # as in a fresh clone: in the cache
        (project / "build" / "legacy_2x" / "floors" / output).unlink()
    code, output = cli(project, "status")
    assert code == 0 and output.splitlines()[-1] == (
        "a build computes at most 1 partition, puts back 2 from the cache and deletes the outputs of 1"), output
    shutil.rmtree(project / "build" / "legacy_2x" / "walls")  # only what the cache puts back: no "computes at most 0"
    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / "build" / "legacy_2x" / "walls")
    code, output = cli(project, "status")
    assert code == 0 and output.splitlines()[-1] == "a build puts back 2 from the cache", output


def test_status_json_of_a_spec_that_cannot_be_loaded_gives_its_error_on_stdout(project):
    """A bad spec edit in a commit: the bot that reads ``status --json`` found stdout empty (the error went to stderr
    alone), and its JSON parse failed without saying why, where it can quote the error on the merge request."""
    import json

    from typer.testing import CliRunner

    from pipeline.cli import app

    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("filter: lanczos", "filter: lanczs"))
    result = CliRunner().invoke(app, ["status", "--json", "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    [error] = report["errors"]
    assert report == {"up_to_date": False, "errors": [error]}
    assert error.startswith(str(spec)) and "assets.legacy_2x.filter" in error and "'lanczos'" in error, error
    assert f"error {error}" == " ".join(result.stderr.split())  # the job's log says it as before


def test_a_build_says_which_outputs_it_removed(project, cli):
    def removed() -> list[str]:
        code, output = cli(project, "build")
        assert code == 0, output
        return [line for line in output.splitlines() if line.startswith("removed")]

    assert removed() == []
    (project / "textures" / "floors" / "tex000.png").unlink()
    assert removed() == ["removed the outputs of legacy_2x [floors/tex000.png]: its source file is gone, or "
                         "the source's glob or exclude leaves it out"]
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("legacy_2x", "legacy_twice"))  # an asset renamed
    lines = removed()
    assert "removed the outputs of legacy_2x [walls/tex001.png]: the spec no longer has this asset" in lines
    assert len(lines) == 4


def test_a_texture_saved_again_in_another_format_is_said_to_make_its_outputs_and_they_stay(project, cli):
    """``wall.png`` saved as ``wall.tga`` gives outputs of the same paths: the build deletes the old partition's
    and writes the new one's. It said only 'removed the outputs of legacy_2x [wall.png]: its source file is
    gone', and status that they 'will be deleted', beside an output that is still there after the build."""
    from pipeline.staleness import stale_partitions

    write_spec(project, UPSCALE_SPEC.replace('"**/*.png"', '"**/*.*"'))
    assert cli(project, "build")[0] == 0
    texture = project / "textures" / "floors" / "tex000.png"
    write_image(texture.with_suffix(".tga"), read_image(texture))
    texture.unlink()
    why = ("its source file is gone, or the source's glob or exclude leaves it out, and the file of its name with "
           "another extension makes its outputs now")
    assert {(s.partition, s.reason) for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale} == {
        ("floors/tex000.tga", "new file"), ("floors/tex000.png", why)}
    code, output = cli(project, "build")
    assert code == 0 and f"removed the outputs of legacy_2x [floors/tex000.png]: {why}" in output, output
    assert (project / "build" / "legacy_2x" / "floors" / "tex000.png").is_file()
    (project / "textures" / "walls" / "tex001.png").unlink()  # gone for good: said as before
    code, output = cli(project, "build")
    assert "[walls/tex001.png]: its source file is gone, or the source's glob or exclude leaves it out" in output


def test_a_texture_whose_other_format_the_glob_takes_instead_is_not_said_to_be_gone(project, cli):
    """The glob changed from **/*.png to **/*.tga, each texture saved in both: the PNGs were said to be gone while
    they were still in the folder."""
    from pipeline.staleness import stale_partitions

    for texture in (project / "textures").rglob("*.png"):
        write_image(texture.with_suffix(".tga"), read_image(texture))
    assert cli(project, "build")[0] == 0
    write_spec(project, UPSCALE_SPEC.replace('"**/*.png"', '"**/*.tga"'))
    reasons = {s.reason for s in stale_partitions(load_spec(project / "assets_spec.yaml")).stale if s.reason != "new file"}
    assert reasons and all("glob or exclude leaves it out" in reason for reason in reasons), reasons


def test_a_texture_whose_build_failed_is_not_said_to_have_had_its_outputs_removed_when_it_goes(project, cli):
    broken = project / "textures" / "walls" / "tex001.png"
    broken.write_bytes(b"not a png")
    assert cli(project, "build")[0] == 1
    broken.unlink()
    code, output = cli(project, "status", "--check")  # said 'its outputs will be deleted' of none, and exited 1
    assert code == 0 and "walls/tex001.png" not in output, output
    code, output = cli(project, "build")
    assert code == 0 and "removed" not in output and "walls/tex001.png" not in output, output
    assert "walls/tex001.png" not in {row["partition"] for row in manifest_rows(project)}


def test_a_ci_log_in_colour_gets_progress_lines_not_bars(project, cli, monkeypatch):
    """FORCE_COLOR, which CI services set to colour their logs, made rich take the log for a terminal: every
    redraw of every bar stayed in it (63 kB of bars for a build of 40 textures)."""
    from pipeline.cli import console
    from pipeline.progress import ProgressLines

    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setattr(console, "is_interactive", True)  # rich decides it as it starts, FORCE_COLOR set in CI
    code, output = cli(project, "build")
    assert code == 0, output
    assert "\x1b[2K" not in output and "\x1b[?25l" not in output, output  # a bar's erase-line, a live display's hidden cursor
    assert "legacy_2x 5/5" in output, output


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_ci_job_under_a_pseudo_terminal_gets_progress_lines_not_bars(project, cli, monkeypatch, ci):
    """Buildkite runs a job's commands under a pseudo-terminal, as `docker run -t` in a job's script does: the
    build took its log for a terminal, and the log kept every redraw of every bar. CI services all set CI."""
    import io

    from pipeline.cli import console
    from pipeline.progress import ProgressLines

    class PseudoTerminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log = PseudoTerminal()
    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(console, "_file", log)  # its file property would be put back as the stderr of the moment
    monkeypatch.setattr(console, "is_interactive", True)  # rich decides it as it starts, on a terminal
    code, output = cli(project, "build")
    assert code == 0, output
    assert "\x1b[2K" not in log.getvalue() and "\x1b[?25l" not in log.getvalue(), log.getvalue()
    assert "legacy_2x 5/5" in log.getvalue(), log.getvalue()


def test_an_asset_s_progress_line_counts_its_time_from_its_first_partition_on(project, cli, monkeypatch):
    """An asset's progress began with its first partition done: a CI log said `variants 1/2 (0:00:00 elapsed)`
    after a minute and a half's multiply, and a terminal showed no bar until then."""
    from pipeline.progress import ProgressLines

    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    monkeypatch.setenv("CI", "true")
    code, output = cli(project, "build", "legacy_2x")
    assert code == 0, output
    lines = [line for line in output.splitlines() if line.startswith("legacy_2x ")]
    assert lines[0] == "legacy_2x 0/5 (0:00:00 elapsed)", output
    assert [line.split(" (")[0] for line in lines] == [f"legacy_2x {done}/5" for done in range(6)], output


def test_outputs_put_back_into_a_lost_cache_show_progress_from_the_first_one_on(project, cli, monkeypatch):
    """Keeping up-to-date outputs in a cache that lost them (its folder deleted) reported only after each one, so
    its line's elapsed time began when the first was kept, and a terminal showed no bar until then."""
    from pipeline.progress import ProgressLines

    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / ".remaster" / "cache")
    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    monkeypatch.setenv("CI", "true")
    code, output = cli(project, "build")
    assert code == 0, output
    kept = [line.partition(" (")[0] for line in output.splitlines() if line.startswith("keeping")]
    assert kept == [f"keeping up-to-date outputs in the cache {done}/5" for done in range(6)], output


def test_a_build_run_in_process_leaves_the_progress_log_to_the_caller_afterwards(project, cli, caplog):
    """The CLI takes the progress records for its bars while it builds, and only then: a larger process that
    runs it in process (a script, a test) gets them in its own handlers again afterwards."""
    from pipeline.progress import report_progress

    assert cli(project, "build")[0] == 0
    with caplog.at_level("DEBUG", logger="remaster.progress"):
        report_progress("after the build", 1, 1)
    assert [r.getMessage() for r in caplog.records if r.name == "remaster.progress"] == ["after the build 1/1 "]


def test_force_recomputes_to_identical_bytes(project, cli):
    cli(project, "build")
    before = outputs(project)
    damaged = next((project / ".remaster" / "cache" / "objects").glob("*/*"))
    damaged.write_bytes(b"bit rot")
    code, _ = cli(project, "build", "--force")
    assert code == 0
    assert sorted(statuses(project).values()) == ["computed"] * 5
    assert outputs(project) == before
    assert hash_file(damaged) == damaged.name  # overwritten with what belongs there, not kept


def test_corrupted_cache_object_is_recomputed_not_served(project, cli, caplog):
    cli(project, "build")
    before = outputs(project)
    objects = sorted((project / ".remaster" / "cache" / "objects").glob("*/*"))
    objects[0].write_bytes(b"garbage")
    for out in (project / "build" / "legacy_2x").rglob("*.png"):
        out.unlink()  # force restores from the store
    code, _ = cli(project, "build")
    assert code == 0
    assert sorted(statuses(project).values()) == ["cached"] * 4 + ["computed"]
    assert outputs(project) == before
    served = next(path for path, digest in before.items() if digest == objects[0].name)
    assert f"{objects[0]} does not match its hash" in caplog.text and served in caplog.text  # the file, and what it was


def test_bad_inputs_fail_alone_and_name_the_file(project, cli):
    textures = project / "textures"
    (textures / "empty.png").write_bytes(b"")
    good = (textures / "floors" / "tex000.png").read_bytes()
    (textures / "truncated.png").write_bytes(good[: len(good) // 2])
    code, output = cli(project, "build")
    assert code == 1
    rows = {e["partition"]: e for e in manifest_rows(project)}
    assert rows["empty.png"]["status"] == "failed"
    assert f"{textures / 'empty.png'} is empty" in rows["empty.png"]["error"]
    assert str(textures / "truncated.png") in rows["truncated.png"]["error"]
    assert sum(r["status"] == "computed" for r in rows.values()) == 5
    assert "empty.png" in output


def test_an_input_gone_bad_leaves_no_stale_output_downstream(project, cli):
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    texture = project / "textures" / "walls" / "tex001.png"
    texture.write_bytes(texture.read_bytes()[:40])
    code, output = cli(project, "build")
    assert code == 1
    rows = {(e["asset"], e["partition"]): e["status"] for e in manifest_rows(project)}
    assert rows[("legacy_2x", "walls/tex001.png")] == rows[("legacy_4x", "walls/tex001.png")] == "failed"
    assert list(rows.values()).count("cached") == 8
    assert not (project / "build" / "legacy_2x" / "walls" / "tex001.png").exists()
    assert not (project / "build" / "legacy_4x" / "walls" / "tex001.png").exists()
    assert "'legacy_2x' has no up-to-date output for walls/tex001.png (it failed" in " ".join(output.split())


def test_what_failed_because_its_upstream_failed_is_one_line_per_asset(project, cli):
    """A checkout without its images fails every texture once per asset; each file is named where it failed."""
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    textures = sorted((project / "textures").rglob("*.png"))
    for texture in textures[:3]:
        texture.write_text(LFS_POINTER)
    code, output = cli(project, "build")
    lines = [line for line in output.splitlines() if line.startswith("failed")]
    assert code == 1 and len(lines) == 4, output
    assert all(f"{texture} is a Git LFS pointer" in output.replace("\n", "") for texture in textures[:3])
    keys = ", ".join(texture.relative_to(project / "textures").as_posix() for texture in textures[:3])
    assert (f"failed legacy_4x [3 partitions]: legacy_2x failed for them, so they could not be built ({keys}; the "
            "manifest lists each)") in " ".join(output.split())
    assert sum(r["status"] == "failed" for r in manifest_rows(project)) == 6


def test_partitions_of_an_asset_that_fail_for_one_reason_are_one_line(project, cli):
    """A weights file not checked out, or a model whose reference share is away, fails every texture with the
    same words: a studio's CI log showed them once per texture, thousands of lines."""
    write_textures(project / "textures", 8)
    write_spec(project, UPSCALE_SPEC + "  legacy_sr: {op: super_resolve, from: legacy, model: {path: models/4x.pth}}\n")
    code, output = cli(project, "build")
    lines = [line for line in output.splitlines() if line.startswith("failed")]
    assert code == 1 and len(lines) == 1, output
    assert lines[0].startswith(f"failed legacy_sr [8 partitions]: {project / 'models' / '4x.pth'}: the file given as "
                               "legacy_sr.model does not exist; any outputs made with it before are kept until a build "
                               "can read it (floors/tex000.png, "), output
    assert "and 3 more; the manifest lists each)" in " ".join(output.split())
    assert sum(r["status"] == "failed" for r in manifest_rows(project)) == 8


def test_what_failed_because_its_model_failed_is_one_line_per_asset_after_the_model_s_own(tmp_path, cli):
    write_textures(tmp_path / "textures", 3, size=16)
    write_textures(tmp_path / "hires", 2, size=32, seed=5)
    for texture in (tmp_path / "hires").rglob("*.png"):  # the reference set checked out without its images
        texture.write_text(LFS_POINTER)
    write_spec(tmp_path, """
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
  reference: {kind: textures, root: hires, glob: "**/*.png"}
models:
  sr2x: {op: train_srcae, from: reference, scale: 2, steps: 2, patch_size: 16, batch_size: 2}
assets:
  legacy_sr: {op: super_resolve, from: legacy, model: sr2x}
""")
    code, output = cli(tmp_path, "build")
    lines = [line for line in output.splitlines() if line.startswith("failed")]
    assert code == 1 and len(lines) == 2 and lines[0].startswith("failed sr2x [model]: "), output
    assert lines[1].startswith("failed legacy_sr [3 partitions]: model sr2x failed, so they could not be built ("), output


def test_validate_counts_one_source_and_one_asset_in_the_singular(project, cli):
    """validate's last line said "ok (1 sources, 0 models, 1 assets)"."""
    code, output = cli(project, "validate")
    assert code == 0 and output.rstrip().endswith("assets_spec.yaml: ok (1 source, 0 models, 1 asset)"), output


def test_validate_reports_spec_errors_with_exit_code_2(project, cli):
    write_spec(project, UPSCALE_SPEC.replace("op: upscale", "op: upscal"))
    code, output = cli(project, "validate")
    assert code == 2
    assert "assets_spec.yaml:7: assets.legacy_2x.op: unknown op 'upscal'" in output


@pytest.mark.parametrize(("command", "statuses"), [
    (["build"], ["0 when everything asked for is built", "1 when a partition", "Dagster's run storage",
                 "2 for a bad spec", "the project's .dagster", "130 when stopped"]),
    (["status"], ["Exit 1 where a build would compute, put back or delete something, or fail (a CI gate)",
                  "0, whatever is stale", "with --check 1", "2 for a bad spec", "the project's .dagster", "130 when stopped"]),
    (["validate"], ["0 when the spec loads", "2 when it does not", "the project's .dagster", "130 when stopped"]),
    (["cache", "gc"], ["0 when collected", "1 when it refuses", "--forget-missing", "2 for a bad spec"]),
    (["ui"], ["0 once stopped by Ctrl-C", "1 where Dagster stopped by itself", "2 for a bad spec", "--port"]),
    (["demo"], ["as remaster build's", "1 where", "2 where"]),
    (["report"], ["0 when the page is written", "run remaster build first", "2 for a bad spec", "130 when stopped"]),
])
def test_each_command_s_help_gives_its_exit_statuses(tmp_path, cli, command, statuses):
    """Whoever writes a CI job reads --help for what fails it: no command's said, and gc's refusals (a build
    using the cache, a deleted clone's missing manifest) fail a nightly job that looks as if it worked before.
    The README's table of exit statuses sends its reader to each command's --help: demo gave none, and a name
    clash in the project's own .dagster, which an artist never exported as DAGSTER_HOME, exits 2 as well."""
    code, output = cli(tmp_path, *command, "--help")
    said = " ".join(output.replace("│", " ").split())  # as wrapped for the terminal, options in their box
    assert code == 0 and "Exit status:" in said, output
    assert all(status in said for status in statuses), output


def test_remaster_version_prints_the_package_s_version_without_importing_dagster_or_torch(tmp_path):
    """A CI log records which remaster built (cache keys hold each op's version): remaster --version was no such
    option, exit 2. It is asked of the program before a build, and stays as quick as --help."""
    from importlib.metadata import version

    probe = ("import sys\nfrom pipeline.cli import main\nsys.argv = ['remaster', '--version']\ntry:\n    main()\n"
             "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
             "assert 'dagster' not in sys.modules and 'torch' not in sys.modules, 'imported'\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == f"remaster {version('remaster')}\n", result.stdout + result.stderr


@pytest.mark.parametrize("args, code", [(["--help"], 0), (["build", "--help"], 0), (["build", "--selct", "a"], 2)])
def test_help_and_an_argument_error_answer_without_importing_dagster_or_torch(tmp_path, args, code):
    """They answer in a third of a second; Dagster alone takes half a second to import, torch seconds."""
    probe = (f"import sys\nfrom pipeline.cli import main\nsys.argv = ['remaster', *{args!r}]\ntry:\n    main()\n"
             "except SystemExit as exit:\n    said = exit.code\n"
             "assert 'dagster' not in sys.modules and 'torch' not in sys.modules, 'imported'\nsys.exit(said)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == code and "imported" not in result.stderr, result.stdout + result.stderr


def test_remaster_version_from_a_source_checkout_is_the_checkout_s(tmp_path):
    """A checkout run through PYTHONPATH printed the version of whichever remaster pip had installed (another
    copy, maybe another release), or none at all: its own pyproject.toml says which it is."""
    checkout = tmp_path / "remaster"
    for package in ("pipeline", "ops"):
        shutil.copytree(Path(__file__).parents[2] / package, checkout / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / "pyproject.toml").write_text('[project]\nname = "remaster"\nversion = "9.8.7"\n')
    probe = "import sys\nfrom pipeline.cli import main\nsys.argv = ['remaster', '--version']\nmain()\n"
    path = os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))  # the rest: where Dagster is
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": path})
    assert result.returncode == 0 and result.stdout == "remaster 9.8.7\n", result.stdout + result.stderr


def test_two_specs_in_one_folder_cannot_share_a_build_folder(project, cli):
    cli(project, "build")
    before = outputs(project)
    other = project / "env.yaml"
    other.write_text(UPSCALE_SPEC.replace("legacy_2x: {op: upscale, from: legacy, scale: 2", "env_3x: {op: upscale, from: legacy, scale: 3"))
    said = (f"error {other}:2: build_dir {project / 'build'} holds the outputs of {project / 'assets_spec.yaml'}, and "
            "building this spec there would delete them")
    for command in ("build", "status", "validate"):
        code, output = cli(project, command, "--spec", "env.yaml")
        assert code == 2 and said in " ".join(output.split()), output  # build deleted legacy_2x's outputs, exit 0
    defs = build_definitions(load_spec(other))
    with dg.instance_for_test() as instance:  # the UI, with the other spec loaded
        instance.add_dynamic_partitions("legacy", ["walls/tex001.png"])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                partition_key="walls/tex001.png", raise_on_error=False)
        record_unreached(load_spec(other), instance, instance.get_run_by_id(result.run_id))  # the run-failure sensor
    assert not result.success and outputs(project) == before and len(manifest_rows(project)) == 5
    assert all(row["asset"] == "legacy_2x" and row["status"] == "computed" for row in manifest_rows(project))
    (project / "assets_spec.yaml").rename(project / "old_spec.yaml.bak")  # renamed away: env.yaml takes the folder
    code, output = cli(project, "build", "--spec", "env.yaml")
    assert code == 0 and "removed the outputs of legacy_2x" in output, output
    assert {row["asset"] for row in manifest_rows(project)} == {"env_3x"}


@pytest.mark.parametrize("first_makes_it", [True, False])  # False: the first build's CI job is cancelled
def test_two_builds_at_once_make_a_changed_texture_once(project, cli, first_makes_it):
    """The second build to need a cache key waits for the one making it, says so, and takes it from the cache
    (a CI job and the nightly build of one changed texture; only a model was made once before). Where the first
    stops before it has made them, the second makes them itself, as its line says: it promised a copy from the
    cache alone, and then trained a model for an hour."""
    assert cli(project, "build")[0] == 0
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    spec = load_spec(project / "assets_spec.yaml")
    builder = RemasterResource().builder(spec)
    target = spec.targets["legacy_2x"]
    plan = builder.plan(target, "walls/tex001.png")
    lines: list[str] = []
    with builder.store.key_lock(plan.cache_key, "it"):  # the first build, making it
        other = start_remaster(project, "build")
        watchdog = threading.Timer(120, other.kill)  # a wait that says nothing would hang the test
        watchdog.start()
        for line in other.stdout:
            lines.append(line)
            if "legacy_2x [walls/tex001.png]: waiting for another build making the same outputs" in line:
                break
        if first_makes_it:
            builder._compute(target, "walls/tex001.png", plan)  # what the first build does under the lock
    output = "".join(lines) + other.communicate()[0]
    watchdog.cancel()
    made = "cached" if first_makes_it else "computed"
    assert other.returncode == 0 and statuses(project)["walls/tex001.png"] == made, output
    assert (f"waiting for another build making the same outputs (cache key {plan.cache_key}); this one then takes "
            "them from the cache, or makes them itself where that build stops first") in " ".join(output.split())


def test_a_build_behind_another_says_it_waits_once_per_asset(tmp_path):
    """Two CI jobs building one change at once (a param changed for every texture): the second waits for the
    first on each partition in turn, and said so on a line each, thousands in its log. The CLI's log says it
    once per asset and, after the table, how many more waited (the waits here come one after another)."""
    import io
    import logging

    from filelock import FileLock

    from pipeline.progress import SaidOnce, handled

    store = ContentStore(tmp_path / "cache")
    keys = [f"{n:032x}" for n in range(5)]
    (store.root / "locks").mkdir()
    making = [FileLock(store.root / "locks" / key) for key in keys]  # the first build, making every partition
    for lock in making:
        lock.acquire()
    said, log = SaidOnce(), io.StringIO()
    handler = logging.StreamHandler(log)
    handler.addFilter(said)

    def wait_for(n: int) -> None:
        with store.key_lock(keys[n], f"legacy_2x [tex{n}.png]", "legacy_2x"):
            pass

    with handled(logging.getLogger("pipeline.locks"), handler, propagate=False):
        waiting = [threading.Thread(target=wait_for, args=(n,)) for n in range(5)]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 60
        while sum(len(files) for files in said.sharing.values()) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        for lock in making:
            lock.release()
        for thread in waiting:
            thread.join()
    assert log.getvalue().count("waiting for another build making the same outputs") == 1, log.getvalue()
    assert said.held_back() == ["4 more of legacy_2x's partitions waited likewise for another build making them"]


def test_outputs_put_back_from_the_cache_take_no_lock(project, cli):
    """A fresh clone puts back thousands of partitions: a lock file each would cost time and clutter the cache."""
    assert cli(project, "build")[0] == 0 and cli(project, "cache", "gc")[0] == 0  # gc removes every key's lock
    shutil.rmtree(project / "build")
    assert cli(project, "build")[0] == 0 and set(statuses(project).values()) == {"cached"}
    assert not list((project / ".remaster" / "cache" / "locks").iterdir())


@pytest.mark.slow
def test_sigkill_mid_build_leaves_nothing_partial(tmp_path):
    write_textures(tmp_path / "textures", 40, size=96)
    write_spec(tmp_path, UPSCALE_SPEC.replace("scale: 2", "scale: 8"))
    reference = tmp_path / "reference"
    reference.mkdir()
    write_textures(reference / "textures", 40, size=96)
    write_spec(reference, UPSCALE_SPEC.replace("scale: 2", "scale: 8"))
    assert start_remaster(reference, "build").wait() == 0
    expected = outputs(reference)
    built = tmp_path / "build" / "legacy_2x"
    for kill_after in (3, 20):
        proc = start_remaster(tmp_path, "build")
        while pngs_written(built) < kill_after and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        present = list(built.rglob("*.png"))
        assert len(present) < 40, "the build finished before it could be killed"
        for path in present:  # what is there is whole
            assert expected[path.relative_to(tmp_path).as_posix()] == hash_file(path)
        for obj in (tmp_path / ".remaster" / "cache" / "objects").glob("*/*"):
            assert hash_file(obj) == obj.name
    assert start_remaster(tmp_path, "build").wait() == 0
    assert outputs(tmp_path) == expected


def test_two_concurrent_builds_share_one_store(tmp_path):
    store = tmp_path / "shared_cache"
    folders = []
    for name in ("a", "b"):
        folder = tmp_path / name
        write_textures(folder / "textures", 30, size=64)
        write_spec(folder, UPSCALE_SPEC.replace(".remaster/cache", str(store)).replace("scale: 2", "scale: 6"))
        folders.append(folder)
    procs = [start_remaster(folder, "build") for folder in folders]
    assert [p.wait() for p in procs] == [0, 0], [p.stdout.read() for p in procs]
    assert outputs(folders[0]) == outputs(folders[1])
    for obj in (store / "objects").glob("*/*"):
        assert hash_file(obj) == obj.name
    assert len(list((store / "entries").glob("*/*.json"))) == 30
    procs = [start_remaster(folder, "build") for folder in folders]
    assert [p.wait() for p in procs] == [0, 0]
    for folder in folders:
        assert set(statuses(folder).values()) == {"cached"}


def test_a_step_crashing_outside_any_partition_fails_the_build(project, cli, monkeypatch):
    def broken_manifest(*args, **kwargs):
        raise OSError("disk full while writing the manifest")

    monkeypatch.setattr("pipeline.assets.update_manifest", broken_manifest)
    code, output = cli(project, "build")
    assert code == 1
    assert "legacy_2x [5 partitions]: not built: OSError: disk full while writing the manifest (" in output
    monkeypatch.undo()
    assert set(statuses(project).values()) == {"failed"}  # none is called built (the step wrote no row)
    cli(project, "build")
    keys = {row["partition"]: row["cache_key"] for row in manifest_rows(project)}
    monkeypatch.setattr("pipeline.assets.update_manifest", broken_manifest)
    cli(project, "build", "--force")
    assert {row["partition"]: row["cache_key"] for row in manifest_rows(project)} == keys  # gc keeps their entries


def test_a_downstream_run_alone_keeps_its_output_while_the_source_is_away(project, cli, monkeypatch):
    spec_file = write_spec(project, CHAIN_SPEC)
    cli(project, "build")
    texture = project / "textures" / "walls" / "tex001.png"
    unreadable_while_mode_000(monkeypatch)
    texture.chmod(0o000)
    cli(project, "build")  # legacy_2x fails for it and keeps its output
    texture.chmod(0o644)
    (project / "textures").rename(project / "unmounted")
    defs = build_definitions(load_spec(spec_file))
    with dg.instance_for_test() as instance:  # the UI, materializing the downstream asset alone
        instance.add_dynamic_partitions("legacy", ["walls/tex001.png"])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                selection=["legacy_4x"], partition_key="walls/tex001.png", raise_on_error=False)
    assert result.success and (project / "build" / "legacy_4x" / "walls" / "tex001.png").is_file()


def test_outputs_made_with_a_weights_file_that_is_away_are_kept_as_a_source_away_keeps_its(project, cli):
    """A weights file on a network drive briefly unmounted failed its asset and deleted what the last build made
    with it (and so what was chained from it), where a source root away keeps them."""
    from ops.superres.model import SRCAE, SRCAEConfig
    from ops.superres.weights import save_srcae

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    (project / "share").mkdir()
    save_srcae(project / "share" / "sr2x.pth", SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 8))))
    write_spec(project, UPSCALE_SPEC + "  legacy_sr: {op: super_resolve, from: legacy, model: {path: share/sr2x.pth}}\n"
               "  legacy_sr_2x: {op: upscale, from: legacy_sr, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    built = outputs(project)
    (project / "share").rename(project / "unmounted")
    code, output = cli(project, "build")
    assert code == 1 and outputs(project) == built
    assert "any outputs made with it before are kept until a build can read it" in " ".join(output.split())
    rows = {(r["asset"], r["partition"]): r for r in manifest_rows(project)}
    assert {r["status"] for (asset, _), r in rows.items() if asset == "legacy_sr"} == {"failed"}
    assert all(r["outputs"] for r in rows.values())  # listed, so that gc keeps their entries
    (project / "unmounted").rename(project / "share")
    assert cli(project, "build")[0] == 0
    assert set(statuses(project).values()) == {"cached"} and outputs(project) == built


def test_a_filter_in_capitals_is_the_same_filter_to_the_cache(project, cli):
    """filter: LANCZOS was refused; taken, it must not give other cache keys (and computed outputs) than lanczos."""
    from pipeline.build import code_version

    assert cli(project, "build")[0] == 0
    keys = {r["partition"]: r["cache_key"] for r in manifest_rows(project)}
    lower = code_version(load_spec(project / "assets_spec.yaml").targets["legacy_2x"])
    spec = write_spec(project, UPSCALE_SPEC.replace("filter: lanczos", "filter: LANCZOS"))
    code, output = cli(project, "build")
    assert code == 0, output
    assert {r["partition"]: r["cache_key"] for r in manifest_rows(project)} == keys
    assert set(statuses(project).values()) == {"cached"}
    assert code_version(load_spec(spec).targets["legacy_2x"]) == lower  # the UI calls nothing stale either


def test_multiplys_kind_leaves_the_cache_keys_of_specs_without_it_as_they_were(tmp_path, cli):
    """kind (normal maps) joined multiply's params later: a spec without it, or with kind: color, keeps the keys its
    variants were cached under (pinned as they were before), and kind: normal makes other variants."""
    from pipeline.build import _key, code_version

    def keys(entry: str) -> tuple[str, dict[str, str]]:
        spec = write_spec(tmp_path, f"""
sources:
  legacy: {{kind: textures, root: textures, glob: "**/*.png"}}
assets:
  variants: {{op: multiply, from: legacy, method: patch, count: 2, size: 48{entry}}}
  gram: {{op: multiply, from: legacy{entry}}}
""")
        targets = load_spec(spec).targets
        units = {name: _key(unit) for name, unit in targets["variants"].params.output_units().items()}
        return f"{code_version(targets['variants'])} {code_version(targets['gram'])}", units

    write_textures(tmp_path / "textures", 1, size=64)
    units = {"variant_00.png": "f846954e7cdaf36b7fac193e6ad57d75",
             "variant_01.png": "4728f96e7057572ed3be11e92f546c41"}
    before = ("multiply-v9-a430134fa03a multiply-v9-56560b2aba5a", units)
    assert keys("") == before
    assert keys(", kind: color") == before
    normal = keys(", kind: normal")
    assert normal[0] != before[0] and set(normal[1].values()).isdisjoint(before[1].values())
    code, output = cli(tmp_path, "validate")
    assert code == 0, output


def test_a_materials_variants_cached_with_their_heights_quilted_are_made_again(tmp_path):
    """A material's variants write a height integrated from their normal map, where the first ones quilted it, with
    a cliff at every seam cut: their keys (pinned as they were) changed, so that no cache puts those back; a
    texture's variants keep theirs (above)."""
    from pipeline.build import _key, code_version

    write_textures(tmp_path / "textures", 1, size=64)
    spec = write_spec(tmp_path, MATERIAL_VARIANTS_SPEC.replace("count: 2", "count: 1"))
    target = load_spec(spec).targets["mat_variants"]
    units = {_key(unit) for unit in target.params.output_units().values()}
    assert code_version(target) != "multiply-v9-478a8703dd15"
    assert units.isdisjoint({"41aee8b2f9c8d02d789f381e14bf5bd7", "d84cddd98634ec3f0c60d09925d236a6"})  # albedo, height


def test_status_names_a_change_of_multiplys_kind_either_way(tmp_path, cli):
    """kind: color is left out of the key, so that the specs from before kind keep theirs; held as a neutral field
    to be left out, its change from normal back to color read "cache key changed: this version of remaster derives
    it differently"."""
    spec = variants_project(tmp_path, 2, more="")
    written = spec.read_text()
    for before, now, why in ((", kind: normal", "", "kind normal -> color"),
                             ("", ", kind: normal", "kind color -> normal; in the cache: put back, not computed")):
        spec.write_text(written.replace("size: 48", f"size: 48{before}"))
        assert cli(tmp_path, "build")[0] == 0
        spec.write_text(written.replace("size: 48", f"size: 48{now}"))
        assert set(stale_reasons(cli, tmp_path).values()) == {f"params changed: {why}"}


def test_a_materials_variants_are_folders_an_engine_loads_and_count_raised_makes_one_more(tmp_path, cli):
    """multiply from a material writes each variant as the material op writes a material: its maps (not the preview)
    and a material.gltf naming the variant; a build again takes them from the cache, and count 2 -> 3 makes the
    third variant alone."""
    write_textures(tmp_path / "textures", 1, size=64)
    spec = """
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  mat: {op: material, from: legacy, method: from_texture}
  mat_variants: {op: multiply, from: mat, method: patch, count: COUNT, size: 48}
"""
    write_spec(tmp_path, spec.replace("COUNT", "2"))
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    [partition] = (tmp_path / "build" / "mat").glob("*/*")
    variants = tmp_path / "build" / "mat_variants" / partition.relative_to(tmp_path / "build" / "mat")
    maps = sorted(path.name for path in partition.iterdir() if path.name != "preview.png")
    assert [sorted(path.name for path in folder.iterdir()) for folder in sorted(variants.iterdir())] == [maps, maps]
    gltf = json.loads((variants / "variant_01" / "material.gltf").read_text())
    assert gltf["materials"][0]["name"] == f"{partition.name}_variant_01"
    assert read_image(variants / "variant_01" / "albedo.png").width == 48
    def row() -> dict:
        return next(row for row in manifest_rows(tmp_path) if row["asset"] == "mat_variants")

    assert cli(tmp_path, "build")[0] == 0 and row()["status"] == "cached"
    write_spec(tmp_path, spec.replace("COUNT", "3"))
    assert stale_reasons(cli, tmp_path)[("mat_variants", "floors/tex000.png")] == (  # the new variant's maps first
        "params changed: count 2 -> 3; 14 of its 24 outputs in the cache, put back; makes 10 (variant_02/albedo.png, "
        "variant_02/normal.png, variant_02/roughness.png and 7 more)")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert row()["metadata"]["variants_made"] == 1 and (variants / "variant_02" / "material.gltf").is_file()


MATERIAL_VARIANTS_SPEC = """
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  mat: {op: material, from: legacy, method: from_texture}
  mat_variants: {op: multiply, from: mat, method: patch, count: 2, size: 64}
"""


def test_a_renamed_materials_variants_keep_their_quilted_maps_and_write_only_their_gltf_anew(tmp_path, cli):
    """A multiply of a material had the material's glTF, which names it, in its variants' keys: renaming the texture
    kept the material's maps but quilted every variant again, to the same bytes. The maps are kept by what the glTF
    says of them besides the name, and each variant's glTF, which names it, is written anew."""
    write_textures(tmp_path / "textures", 1, size=64)
    write_spec(tmp_path, MATERIAL_VARIANTS_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    folder = tmp_path / "build" / "mat_variants" / "floors"
    maps = {path.relative_to(folder / "tex000").as_posix(): path.read_bytes()
            for path in (folder / "tex000").rglob("*.png")}
    (tmp_path / "textures" / "floors" / "tex000.png").rename(tmp_path / "textures" / "floors" / "Fliese.png")
    assert stale_reasons(cli, tmp_path)[("mat_variants", "floors/Fliese.png")] == (  # it said "new file" alone
        "new file; 14 of its 16 outputs in the cache, put back; makes 2 (variant_00/material.gltf, "
        "variant_01/material.gltf)")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    row = rows_of(tmp_path, "mat_variants")["floors/Fliese.png"]
    assert (row["status"], row["metadata"]["variants_made"]) == ("computed", 0), row
    assert {path.relative_to(folder / "Fliese").as_posix(): path.read_bytes()
            for path in (folder / "Fliese").rglob("*.png")} == maps
    assert [json.loads((folder / "Fliese" / f"variant_0{i}" / "material.gltf").read_text())["materials"][0]["name"]
            for i in range(2)] == ["Fliese_variant_00", "Fliese_variant_01"]
    assert not (folder / "tex000").exists()


def test_a_renamed_material_with_a_variant_more_says_the_new_variant_s_maps_first(tmp_path, cli):
    """A rename and count: 2 -> 3 at once: status listed the kept variants' glTFs first (makes 10
    (variant_00/material.gltf, variant_01/material.gltf, variant_02/albedo.png and 7 more)), where count: 2 -> 3
    alone names the new variant's maps, the work the build does, first."""
    write_textures(tmp_path / "textures", 1, size=64)
    write_spec(tmp_path, MATERIAL_VARIANTS_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    (tmp_path / "textures" / "floors" / "tex000.png").rename(tmp_path / "textures" / "floors" / "Fliese.png")
    write_spec(tmp_path, MATERIAL_VARIANTS_SPEC.replace("count: 2", "count: 3"))
    assert stale_reasons(cli, tmp_path)[("mat_variants", "floors/Fliese.png")] == (
        "new file; 14 of its 24 outputs in the cache, put back; makes 10 (variant_02/albedo.png, "
        "variant_02/normal.png, variant_02/roughness.png and 7 more)")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert rows_of(tmp_path, "mat_variants")["floors/Fliese.png"]["metadata"]["variants_made"] == 1


def test_a_copied_materials_variants_are_said_to_be_kept_as_a_renamed_ones_are(tmp_path, cli):
    """A texture copied under another name beside its original: the build keeps its material's variants' maps, as
    of a renamed one, where status called them a new file: it looked for them in partitions whose file is gone."""
    write_textures(tmp_path / "textures", 1, size=64)
    write_spec(tmp_path, MATERIAL_VARIANTS_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    shutil.copy(tmp_path / "textures" / "floors" / "tex000.png", tmp_path / "textures" / "floors" / "Kopie.png")
    assert stale_reasons(cli, tmp_path)[("mat_variants", "floors/Kopie.png")] == (
        "new file; 14 of its 16 outputs in the cache, put back; makes 2 (variant_00/material.gltf, "
        "variant_01/material.gltf)")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert rows_of(tmp_path, "mat_variants")["floors/Kopie.png"]["metadata"]["variants_made"] == 0


def test_a_materials_variants_deleted_from_the_build_folder_are_put_back_from_the_cache(tmp_path, cli, caplog):
    """A variant's maps are kept under names in its folder (variant_00/albedo.png), which the cache read back as a
    damaged entry: dropped with a warning by every build and gc, and every variant made again."""
    write_textures(tmp_path / "textures", 1, size=64)
    write_spec(tmp_path, MATERIAL_VARIANTS_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    code, said = cli(tmp_path, "cache", "gc")  # which read the entry as damaged, and freed the variants' files
    assert code == 0 and "removed 0 entries" in said, said
    built = {path: digest for row in manifest_rows(tmp_path) if row["asset"] == "mat_variants"
             for path, digest in row["outputs"].items()}
    shutil.rmtree(tmp_path / "build")
    caplog.clear()
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert [row["status"] for row in manifest_rows(tmp_path) if row["asset"] == "mat_variants"] == ["cached"]
    assert {path: hash_file(tmp_path / path) for path in built} == built
    assert "damaged" not in caplog.text


def test_export_dds_of_a_materials_variants_exports_each_variants_maps_and_count_raised_only_the_new_ones(
    tmp_path, cli
):
    """export_dds with maps from a multiply of a material was refused, naming every variant's files: each variant's
    maps are exported as a material's are (the normal map as one, BC5), into the variant's folder, each kept on its
    own, so that count 2 -> 3 exports the third variant's maps alone, as status says first."""
    write_textures(tmp_path / "textures", 2, size=64)
    spec = write_spec(tmp_path, MATERIAL_VARIANTS_SPEC
                      + "  variants_dds: {op: export_dds, from: mat_variants, maps: [albedo, normal]}\n")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    rows = rows_of(tmp_path, "variants_dds")
    assert sorted(rows) == ["floors/tex000.png", "walls/tex001.png"]
    files = [f"variant_0{i}/{name}.dds" for i in range(2) for name in ("albedo", "normal")]
    assert list(rows["walls/tex001.png"]["outputs"]) == [f"build/variants_dds/walls/tex001/{name}" for name in files]
    folder = tmp_path / "build" / "variants_dds" / "walls" / "tex001"
    assert {name: (folder / name).read_bytes()[84:88] for name in files} == {
        name: b"ATI2" if "normal" in name else b"DXT1" for name in files}
    normal = read_image(folder / "variant_01" / "normal.dds", colorspace="linear")
    assert normal.width == 64 and normal.color[..., 2].min() > 0.5  # vectors facing out, as a normal map stores them
    assert read_image(folder / "variant_01" / "albedo.dds").width == 64
    assert rows["walls/tex001.png"]["metadata"]["variant_01_normal_format"] == "bc5"
    first = {path: digest for row in rows.values() for path, digest in row["outputs"].items()}
    made = {key: row["metadata"] for key, row in rows.items()}
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    assert stale_reasons(cli, tmp_path)[("variants_dds", "walls/tex001.png")] == (
        "upstream mat_variants is stale; 4 of its 6 outputs in the cache, put back; makes 2 "
        "(variant_02/albedo.dds, variant_02/normal.dds)")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    rows = rows_of(tmp_path, "variants_dds")
    assert [(row["status"], row["metadata"]["variants_made"]) for row in rows.values()] == [("computed", 1)] * 2
    assert {key.split("_")[1] for row in rows.values() for key in row["metadata"] if key != "variants_made"} == {
        "00", "01", "02"}  # the figures of the maps put back too, as the first build listed them
    assert all({name: value for name, value in rows[key]["metadata"].items() if not name.startswith("variant_02_")}
               == {**figures, "variants_made": 1} for key, figures in made.items())
    grown = {path: digest for row in rows.values() for path, digest in row["outputs"].items()}
    assert len(grown) == 12 and {path: grown[path] for path in first} == first
    assert stale_reasons(cli, tmp_path) == {}


def test_an_output_touched_up_by_hand_is_moved_aside_not_lost_when_a_build_replaces_or_removes_it(project, cli, caplog):
    assert cli(project, "build")[0] == 0
    built = project / "build" / "legacy_2x" / "walls" / "tex001.png"
    right = built.read_bytes()
    edits = project / "build" / ".edited" / "legacy_2x" / "walls"
    built.write_bytes(right + b"touched up")
    code, output = cli(project, "status")
    assert "legacy_2x/walls/tex001.png changed since" in output and "a build moves what changed to" in output, output
    assert cli(project, "build")[0] == 0
    assert built.read_bytes() == right and (edits / "tex001.png").read_bytes() == right + b"touched up"
    assert f"{built} was changed after remaster wrote it (by hand?); it is moved to {edits / 'tex001.png'}" in caplog.text
    built.write_bytes(right + b"touched up again")  # the first edit stays
    assert cli(project, "build")[0] == 0
    kept = {path.name: path.read_bytes() for path in edits.iterdir()}
    second = next(name for name in kept if name != "tex001.png")
    assert len(kept) == 2 and kept["tex001.png"] == right + b"touched up" and kept[second] == right + b"touched up again"
    assert second == f"tex001.{hash_file(edits / second)[:8]}.png" and built.read_bytes() == right  # by its own hash
    floor = project / "build" / "legacy_2x" / "floors" / "tex000.png"
    floor.write_bytes(b"painted over")
    (project / "textures" / "floors" / "tex000.png").unlink()  # its outputs go with the next build
    assert cli(project, "build")[0] == 0
    assert not floor.exists() and (project / "build" / ".edited" / "legacy_2x" / "floors" / "tex000.png").read_bytes() \
        == b"painted over"


def test_status_says_a_touched_up_output_is_kept_where_the_build_deletes_or_remakes_it(project, cli):
    """It said "its outputs will be deleted" (or only "params changed") of an output painted over by hand, which
    the build moves to .edited: an artist was told an afternoon's work would be lost when it would not."""
    assert cli(project, "build")[0] == 0
    floor = project / "build" / "legacy_2x" / "floors" / "tex000.png"
    wall = project / "build" / "legacy_2x" / "walls" / "tex001.png"
    floor.write_bytes(b"painted over")
    wall.write_bytes(b"painted over too")
    (project / "textures" / "floors" / "tex000.png").unlink()
    write_spec(project, UPSCALE_SPEC.replace("scale: 2", "scale: 3"))
    code, output = cli(project, "status", "--json")
    reasons = {row["partition"]: row["reason"] for row in json.loads(output)["stale"]}
    aside = project / "build" / ".edited"
    assert reasons["floors/tex000.png"].endswith(
        f": its outputs will be deleted; but legacy_2x/floors/tex000.png changed since built; a build moves what "
        f"changed to {aside}"), reasons
    assert reasons["walls/tex001.png"] == ("params changed: scale 2 -> 3; but legacy_2x/walls/tex001.png changed since "
                                           f"built; a build moves what changed to {aside}"), reasons
    assert "changed since built" not in reasons["walls/tex003.png"], reasons
    assert cli(project, "build")[0] == 0
    assert (aside / "legacy_2x" / "floors" / "tex000.png").read_bytes() == b"painted over"
    assert (aside / "legacy_2x" / "walls" / "tex001.png").read_bytes() == b"painted over too"


def test_outputs_a_killed_build_placed_are_not_taken_for_hand_edits(project, cli, caplog):
    assert cli(project, "build")[0] == 0
    write_textures(project / "textures", 5, seed=1)  # every texture saved anew
    build_killed_before_its_rows(project)
    assert cli(project, "build")[0] == 0  # puts back what the killed one placed, from the cache
    assert not (project / "build" / ".edited").exists() and "was changed after remaster wrote it" not in caplog.text


@pytest.mark.parametrize("then", ["textures saved again", "filter changed"])
def test_outputs_a_killed_build_placed_are_not_taken_for_hand_edits_once_their_inputs_change_again(project, cli,
                                                                                                 caplog, then):
    """What the killed build placed is neither what the rows list nor what the next build places: it went to
    .edited, each file with a warning calling it a hand edit. A hand edit made after the kill still goes there."""
    assert cli(project, "build")[0] == 0
    write_textures(project / "textures", 5, seed=1)
    build_killed_before_its_rows(project)
    touched = project / "build" / "legacy_2x" / "walls" / "tex001.png"
    touched.write_bytes(b"touched up")
    if then == "textures saved again":
        write_textures(project / "textures", 5, seed=2)
    else:
        spec = project / "assets_spec.yaml"
        spec.write_text(spec.read_text().replace("lanczos", "bicubic"))
    assert cli(project, "build")[0] == 0
    edited = project / "build" / ".edited"
    assert [path.relative_to(edited).as_posix() for path in edited.rglob("*.png")] == ["legacy_2x/walls/tex001.png"]
    assert (edited / "legacy_2x" / "walls" / "tex001.png").read_bytes() == b"touched up"
    assert caplog.text.count("was changed after remaster wrote it") == 1
    assert set(statuses(project).values()) == {"computed"}


def test_outputs_a_killed_build_placed_in_an_asset_folder_linked_to_another_disk_are_not_taken_for_hand_edits(
        project, cli, caplog, tmp_path_factory):
    """Through a link out of the build folder, a file goes only where it is known to be what a build wrote: the
    judge knew it (the cache holds it) but did not say, so each such file was left with 'delete it yourself', then
    moved to .edited by the step that placed the new one, as a hand edit."""
    elsewhere = tmp_path_factory.mktemp("other_disk")
    (project / "build").mkdir()
    (project / "build" / "legacy_2x").symlink_to(elsewhere, target_is_directory=True)
    assert cli(project, "build")[0] == 0
    write_textures(project / "textures", 5, seed=1)
    build_killed_before_its_rows(project)
    write_textures(project / "textures", 5, seed=2)
    assert cli(project, "build")[0] == 0
    assert not (project / "build" / ".edited").exists() and "was changed after remaster wrote it" not in caplog.text
    assert "delete it yourself" not in caplog.text
    assert set(statuses(project).values()) == {"computed"}


def test_an_output_that_cannot_be_read_is_built_again(project, cli, monkeypatch):
    cli(project, "build")
    built = project / "build" / "legacy_2x" / "walls" / "tex001.png"
    unreadable_while_mode_000(monkeypatch)
    built.chmod(0o000)  # another user's umask
    code, output = cli(project, "status")  # it crashed with a traceback
    assert code == 0 and "output missing or modified" in output, output
    code, output = cli(project, "build")  # it failed, calling the folder unwritable
    assert code == 0 and built.stat().st_mode & 0o777 == 0o644, output
    built.chmod(0o000)
    shutil.rmtree(project / ".remaster")  # nothing to restore it from: the output on disk is not kept either
    code, output = cli(project, "build")
    assert code == 0 and built.stat().st_mode & 0o777 == 0o644, output


def test_select_takes_several_names_after_one_flag(project, cli):
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"
                                       "  legacy_3x: {op: upscale, from: legacy, scale: 3}\n")
    code, output = cli(project, "build", "--select", "legacy_2x", "legacy_4x")
    assert code == 0, output
    assert {e["asset"] for e in manifest_rows(project)} == {"legacy_2x", "legacy_4x"}
    code, output = cli(project, "build", "legacy_3x")
    assert code == 0, output
    assert {e["asset"] for e in manifest_rows(project)} == {"legacy_2x", "legacy_3x", "legacy_4x"}


def test_a_selected_asset_brings_its_stale_upstream_and_force_recomputes_the_selection_only(project, cli):
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    cli(project, "build")
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.zeros((16, 16, 3), np.float32)))
    code, output = cli(project, "build", "legacy_4x")
    assert code == 0, output
    rows = {(r["asset"], r["partition"]): r["status"] for r in manifest_rows(project)}
    assert rows[("legacy_2x", "walls/tex001.png")] == rows[("legacy_4x", "walls/tex001.png")] == "computed"
    assert read_image(project / "build" / "legacy_4x" / "walls" / "tex001.png").color.max() == 0
    for key in ("floors/tex000.png", "walls/tex003.png"):  # upstream outputs lost, and a current one between
        (project / "build" / "legacy_2x" / key).unlink()
    code, output = cli(project, "build", "--force", "legacy_4x")
    statuses = {(r["asset"], r["status"]) for r in manifest_rows(project)}
    assert statuses == {("legacy_2x", "cached"), ("legacy_4x", "computed")}, output  # put back, not recomputed
    assert (project / "build" / "legacy_2x" / "floors" / "tex000.png").is_file()


def test_an_emptied_spec_fails_the_build_and_keeps_every_output(project, cli):
    assert cli(project, "build")[0] == 0
    built = outputs(project)
    (project / "assets_spec.yaml").write_text("\n")  # a sync client or a bad merge emptied it
    code, output = cli(project, "build")
    assert code == 2 and "the spec is empty" in output
    assert outputs(project) == built and len(built) == 5


def _built_photo_pair_material(tmp_path: Path, cli, pair: str = "towel", folders: str = "*") -> None:
    """A project of one photo pair, ``pair``, fitted (two iterations, 32 px) and built; ``folders``: the part of
    the flash and guide globs before the file name (``**`` finds a pair filed deeper)."""
    photo = np.asarray(read_image(SHARED / "photos" / "flash_only" / "IMG_6950.png").color[::8, ::8])
    for role, gain in (("flash", 1.0), ("guide", 0.4)):
        write_image(tmp_path / "photos" / pair / f"{role}.png", Image(np.ascontiguousarray(photo * gain)))
    write_spec(tmp_path, f"""
        build_dir: build
        device: cpu
        sources:
          scans: {{kind: photo_pairs, root: photos, flash: "{folders}/flash.*", guide: "{folders}/guide.*"}}
        assets:
          scanned: {{op: material, from: scans, method: two_shot, iterations: 2, fit_size: 32}}
        """)
    assert cli(tmp_path, "build")[0] == 0


def test_a_scene_sidecar_is_part_of_the_cache_key(tmp_path, cli):
    _built_photo_pair_material(tmp_path, cli, "oak", folders="**")
    first = outputs(tmp_path)
    sidecar = tmp_path / "photos" / "oak" / "scene.json"
    sidecar.write_bytes(b'{\n  "camera": {"fov_deg": 30, "distance": 1.0}\n}\n')
    code, output = cli(tmp_path, "status")
    assert "scene.json" in output
    cli(tmp_path, "build")
    assert statuses(tmp_path) == {"oak": "computed"} and outputs(tmp_path) != first
    (tmp_path / "photos" / "wood").mkdir()
    (tmp_path / "photos" / "oak").rename(tmp_path / "photos" / "wood" / "oak")  # the same scan, filed deeper
    cli(tmp_path, "build")
    assert statuses(tmp_path) == {"wood/oak": "cached"}  # was computed again: the key held the sidecar's folder
    sidecar = tmp_path / "photos" / "wood" / "oak" / "scene.json"
    sidecar.write_bytes(sidecar.read_bytes().replace(b"\n", b"\r\n"))  # a Windows checkout (git's autocrlf)
    cli(tmp_path, "build")
    assert statuses(tmp_path) == {"wood/oak": "cached"}
    sidecar.unlink()
    cli(tmp_path, "build")
    assert statuses(tmp_path) == {"wood/oak": "cached"}
    assert sorted(outputs(tmp_path).values()) == sorted(first.values())


def test_a_renamed_photo_pair_folder_keeps_its_fitted_maps_and_writes_only_its_gltf_anew(tmp_path, cli, monkeypatch):
    """A teammate renaming a pair's folder (the material's name) ran the whole photo fit again, 25 s a pair."""
    import ops.material.run

    _built_photo_pair_material(tmp_path, cli)
    before = {Path(path).name: digest for path, digest in outputs(tmp_path).items()}
    (tmp_path / "photos" / "towel").rename(tmp_path / "photos" / "Handtuch grün")

    def no_fit(*args, **kwargs):
        raise AssertionError("the photo fit ran again")

    monkeypatch.setattr(ops.material.run, "fit_maps", no_fit)
    code, output = cli(tmp_path, "status")
    assert "new photo pair; 8 of its 9 outputs in the cache, put back; makes 1 (material.gltf)" in " ".join(
        output.replace("│", " ").split()), output
    code, output = cli(tmp_path, "build")
    assert code == 0 and statuses(tmp_path) == {"Handtuch grün": "computed"}, output
    after = {Path(path).name: digest for path, digest in outputs(tmp_path).items()}
    assert {name: digest for name, digest in after.items() if name != "material.gltf"} == \
        {name: digest for name, digest in before.items() if name != "material.gltf"}
    gltf = json.loads((tmp_path / "build" / "scanned" / "Handtuch grün" / "material.gltf").read_text())
    assert gltf["materials"][0]["name"] == gltf["meshes"][0]["name"] == "Handtuch grün"
    monkeypatch.undo()
    assert cli(tmp_path, "build", "--force")[0] == 0  # --force fits again
    assert "fit_loss" in manifest_rows(tmp_path)[0]["metadata"]


def test_status_of_a_renamed_pair_whose_cache_lost_one_map_says_the_fit_runs_again(tmp_path, cli):
    """A material's maps come from one fit, made again together where the cache holds some alone: status said
    "7 of its 9 outputs in the cache, put back; makes 2", where the build fits all of them again."""
    _built_photo_pair_material(tmp_path, cli)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    plan = RemasterResource().builder(spec).plan(spec.targets["scanned"], "towel")
    store = ContentStore(spec.cache_dir)
    store.object_path(store.unit(plan.units["specular.png"])).unlink()  # lost from its entry too: no fit to keep
    (tmp_path / "photos" / "towel").rename(tmp_path / "photos" / "Handtuch")
    code, output = cli(tmp_path, "status", "--json")
    reasons = {row["partition"]: row["reason"] for row in json.loads(output)["stale"]}
    assert reasons["Handtuch"] == "new photo pair", reasons
    assert cli(tmp_path, "build")[0] == 0 and "fit_loss" in manifest_rows(tmp_path)[0]["metadata"]


def test_a_build_of_a_pair_whose_cache_lost_one_map_keeps_none_and_says_the_fit_runs_again(
        tmp_path, cli, caplog, monkeypatch):
    """The build logged "7 of 9 outputs made before, kept" and put those seven maps in its scratch folder, where
    the fit (the maps come from one fit together) then wrote all of them again over them."""
    import ops.material.run

    _built_photo_pair_material(tmp_path, cli)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    plan = RemasterResource().builder(spec).plan(spec.targets["scanned"], "towel")
    store = ContentStore(spec.cache_dir)
    store.object_path(store.unit(plan.units["specular.png"])).unlink()
    (tmp_path / "photos" / "towel").rename(tmp_path / "photos" / "Handtuch")
    in_scratch_at_fit: list[str] = []
    fit_maps = ops.material.run.fit_maps

    def fit_seeing_scratch(*args, **kwargs):
        in_scratch_at_fit.extend(path.name for path in (spec.cache_dir / "tmp").rglob("*") if path.is_file())
        return fit_maps(*args, **kwargs)

    monkeypatch.setattr(ops.material.run, "fit_maps", fit_seeing_scratch)
    with caplog.at_level(logging.INFO):
        assert cli(tmp_path, "build")[0] == 0
    assert "made before, kept" not in caplog.text
    assert "scanned [Handtuch]: 7 of the 8 outputs made together are in the cache, not all: none kept, all are " \
           "made again (a material's maps come from one fit, which runs again)" in caplog.text, caplog.text
    assert in_scratch_at_fit == [] and "fit_loss" in manifest_rows(tmp_path)[0]["metadata"]


def _fit_figures(row: dict) -> dict:
    """A material row's metadata less what differs from one build to the next (its time) and the rename's mark."""
    return {name: value for name, value in row["metadata"].items() if name not in ("seconds", "maps_kept")}


def test_a_renamed_photo_pairs_row_gives_its_fits_figures_after_a_cache_gc(tmp_path, cli, monkeypatch):
    """A renamed pair's row said maps_kept alone, without the fitted loss, flash power and alignment the fit's row
    gave: the figures are kept in the cache beside the maps, and a gc keeps them while the entry is kept."""
    import ops.material.run

    _built_photo_pair_material(tmp_path, cli)
    first = manifest_rows(tmp_path)[0]
    fitted = _fit_figures(first)
    assert cli(tmp_path, "cache", "gc")[0] == 0
    spec = load_spec(tmp_path / "assets_spec.yaml")
    plan = RemasterResource().builder(spec).plan(spec.targets["scanned"], "towel")
    assert ContentStore(spec.cache_dir).unit_metadata(plan.metadata_unit) == first["metadata"]  # the gc kept them
    (tmp_path / "photos" / "towel").rename(tmp_path / "photos" / "Handtuch")
    monkeypatch.setattr(ops.material.run, "fit_maps", _no_fit)
    assert cli(tmp_path, "build")[0] == 0
    row = manifest_rows(tmp_path)[0]
    assert row["metadata"]["maps_kept"] == 1 and "fit_loss" in fitted
    assert _fit_figures(row) == fitted


def test_a_pair_built_before_its_maps_were_kept_as_units_keeps_them_at_its_first_rename(tmp_path, cli, monkeypatch):
    """A cache from before a material's maps were kept under keys without its name (commit 388d30f) has its entry
    alone: the renamed pair was fitted again. Its entry is found by its content (the same photos and params give
    the old cache key under the old name), and its maps and figures are kept; with a param changed too, it is not."""
    import ops.material.run

    _built_photo_pair_material(tmp_path, cli)
    fitted, before = _fit_figures(manifest_rows(tmp_path)[0]), outputs(tmp_path)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    shutil.rmtree(spec.cache_dir / "units")  # as that version left the cache
    (tmp_path / "photos" / "towel").rename(tmp_path / "photos" / "Handtuch")
    monkeypatch.setattr(ops.material.run, "fit_maps", _no_fit)
    code, output = cli(tmp_path, "build")
    row = manifest_rows(tmp_path)[0]
    assert code == 0 and row["metadata"]["maps_kept"] == 1, output
    assert _fit_figures(row) == fitted
    assert sorted(outputs(tmp_path).values()) == sorted(before.values())
    monkeypatch.undo()
    shutil.rmtree(spec.cache_dir / "units")
    (tmp_path / "photos" / "Handtuch").rename(tmp_path / "photos" / "towel")
    (tmp_path / "assets_spec.yaml").write_text((tmp_path / "assets_spec.yaml").read_text().replace(
        "iterations: 2", "iterations: 3"))
    assert cli(tmp_path, "build")[0] == 0
    assert "maps_kept" not in manifest_rows(tmp_path)[0]["metadata"]


def test_status_of_a_pair_built_before_its_maps_were_kept_as_units_then_renamed_says_its_maps_are_kept(tmp_path, cli):
    """status said "new photo pair" of a pair built before commit 388d30f and then renamed, where the build keeps its
    maps (found by content in the entry made under the old name) and writes its glTF alone; renamed with a param
    changed too, nothing is kept, and it says so."""
    _built_photo_pair_material(tmp_path, cli)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    shutil.rmtree(spec.cache_dir / "units")  # as that version left the cache
    (tmp_path / "photos" / "towel").rename(tmp_path / "photos" / "Handtuch")
    assert stale_reasons(cli, tmp_path)[("scanned", "Handtuch")] == (
        "new photo pair; 8 of its 9 outputs in the cache, put back; makes 1 (material.gltf)")
    (tmp_path / "assets_spec.yaml").write_text((tmp_path / "assets_spec.yaml").read_text().replace(
        "iterations: 2", "iterations: 3"))
    assert stale_reasons(cli, tmp_path)[("scanned", "Handtuch")] == "new photo pair"


def _no_fit(*args, **kwargs):
    raise AssertionError("the material's maps were made again")


FROM_TEXTURE_SPEC = """
build_dir: build
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  floors: {op: material, from: legacy, method: from_texture}
"""


def test_a_renamed_texture_keeps_its_from_texture_maps_and_writes_only_its_gltf_anew(tmp_path, cli, monkeypatch):
    """from_texture made every map again when its texture was renamed: its maps are kept by content, and the glTF
    written anew is the one a fresh build writes (a cut-out's MASK, a tiling texture's REPEAT)."""
    import ops.material.run

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:32, :32]
    disc = (((yy - 15.5) ** 2 + (xx - 15.5) ** 2) < 12 ** 2).astype(np.float32)
    write_image(tmp_path / "textures" / "crate.png", Image(rng.random((32, 32, 3), dtype=np.float32)))
    write_image(tmp_path / "textures" / "grate.png", Image(rng.random((32, 32, 3), dtype=np.float32), alpha=disc))
    write_spec(tmp_path, FROM_TEXTURE_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    before = {Path(path).name: digest for path, digest in outputs(tmp_path).items()}
    figures = {row["partition"]: _fit_figures(row) for row in manifest_rows(tmp_path)}
    for name in ("crate", "grate"):
        (tmp_path / "textures" / f"{name}.png").rename(tmp_path / "textures" / f"old_{name}.png")
    monkeypatch.setattr(ops.material.run, "material_from_texture", _no_fit)
    code, output = cli(tmp_path, "status")
    assert " ".join(output.replace("│", " ").split()).count(
        "new file; 8 of its 9 outputs in the cache, put back; makes 1 (material.gltf)") == 2, output
    assert cli(tmp_path, "build")[0] == 0
    rows = {row["partition"]: row for row in manifest_rows(tmp_path)}
    assert {key: _fit_figures(row) for key, row in rows.items()} == {f"old_{key}": figures[key] for key in figures}
    after = {Path(path).name: digest for path, digest in outputs(tmp_path).items()}
    assert after == before
    kept = {name: (tmp_path / "build" / "floors" / f"old_{name}" / "material.gltf").read_bytes()
            for name in ("crate", "grate")}
    assert json.loads(kept["grate"])["materials"][0]["name"] == "old_grate"
    monkeypatch.undo()
    assert cli(tmp_path, "build", "--force")[0] == 0
    assert kept == {name: (tmp_path / "build" / "floors" / f"old_{name}" / "material.gltf").read_bytes()
                    for name in ("crate", "grate")}


def test_a_material_row_a_hand_edit_damaged_then_its_texture_renamed_is_built_not_a_traceback(tmp_path, cli):
    """A build looks in a removed material row's inputs for its cache entry under the new name: an input's hash a
    hand edit or a merge made a list stopped every build with "TypeError: unhashable type: 'list'"."""
    write_textures(tmp_path / "textures", 1, size=32)
    write_spec(tmp_path, FROM_TEXTURE_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    manifest = tmp_path / "build" / "manifest.json"
    rows = json.loads(manifest.read_text())
    inputs = rows["entries"][0]["inputs"]
    inputs.update({path: [digest] for path, digest in inputs.items()})
    manifest.write_text(json.dumps(rows))
    [texture] = (tmp_path / "textures").rglob("*.png")
    texture.rename(texture.with_name(f"old_{texture.name}"))
    code, output = cli(tmp_path, "build")
    assert code == 0 and "Traceback" not in output, output
    assert [row["metadata"]["maps_kept"] for row in manifest_rows(tmp_path)] == [1]


def test_an_input_changed_while_its_output_was_built_is_not_cached_under_the_old_key(project, cli, monkeypatch):
    import ops.upscale

    texture = project / "textures" / "walls" / "tex001.png"
    upscale = ops.upscale.run

    def upscale_then_edit(inputs, out_dir, params, ctx):  # an artist saves over the file mid-build
        meta = upscale(inputs, out_dir, params, ctx)
        if inputs["image"] == texture:
            write_image(texture, Image(np.full((16, 16, 3), 0.5, np.float32)))
        return meta

    monkeypatch.setattr(ops.upscale, "run", upscale_then_edit)
    code, output = cli(project, "build")
    assert code == 1 and "[walls/tex001.png]: changed file textures/walls/tex001.png while this was built" in output
    assert statuses(project)["walls/tex001.png"] == "failed"
    monkeypatch.setattr(ops.upscale, "run", upscale)
    assert cli(project, "build")[0] == 0
    assert statuses(project)["walls/tex001.png"] == "computed"
    assert read_image(project / "build" / "legacy_2x" / "walls" / "tex001.png").color.std() < 0.01


def test_status_of_an_asset_below_a_stale_upstream_whose_weights_file_changed_says_so_not_rebuilt_only_if(
        tmp_path, cli):
    """A gram multiply of legacy_2x, its vgg_weights file replaced as a texture was saved again: status said
    "upstream legacy_2x is stale: rebuilt only if its new output differs", and the build made the variant again
    whatever legacy_2x made, its weights being part of its cache key."""
    import torch
    from PIL import Image as PILImage
    from PIL.PngImagePlugin import PngInfo

    from ops.multiply.features import VGG19

    write_textures(tmp_path / "textures", 1, size=16)
    weights = tmp_path / "vgg19.pth"
    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in VGG19().features.state_dict().items()}, weights)
    write_spec(tmp_path, UPSCALE_SPEC + "  variants: {op: multiply, from: legacy_2x, method: gram, count: 1, size: 32, "
                                        "steps: 2, vgg_weights: vgg19.pth}\ndevice: cpu\n")
    assert cli(tmp_path, "build")[0] == 0
    torch.manual_seed(1)
    torch.save({f"features.{k}": v for k, v in VGG19().features.state_dict().items()}, weights)
    texture = next((tmp_path / "textures").rglob("*.png"))
    note = PngInfo()
    note.add_text("Software", "an image editor")  # saved again: other bytes, the same pixels
    PILImage.open(texture).save(texture, pnginfo=note)
    key = texture.relative_to(tmp_path / "textures").as_posix()
    assert stale_reasons(cli, tmp_path)[("variants", key)] == "upstream legacy_2x is stale; changed file vgg19.pth"
    assert cli(tmp_path, "build")[0] == 0
    assert rows_of(tmp_path, "variants")[key]["status"] == "computed"


def test_a_weights_file_given_relative_to_the_spec_is_found_from_any_folder(tmp_path, cli):
    import torch

    from ops.multiply.features import VGG19

    project = tmp_path / "project"
    write_textures(project / "textures", 1, size=32)
    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in VGG19().features.state_dict().items()}, project / "vgg19.pth")
    spec = write_spec(project, """
        build_dir: build
        device: cpu
        sources:
          legacy: {kind: textures, root: textures, glob: "**/*.png"}
        assets:
          variants: {op: multiply, from: legacy, method: gram, count: 1, size: 32, steps: 2, vgg_weights: vgg19.pth}
        """)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, output = cli(elsewhere, "build", "--spec", str(spec))
    assert code == 0, output
    assert set(statuses(project).values()) == {"computed"}


def test_a_bad_device_is_refused_before_anything_is_built(project, cli):
    cli(project, "build")
    before = outputs(project)
    for device in ("gpu", ""):  # an empty one (a CI variable left unset) built on the spec's device
        code, output = cli(project, "build", "--force", "--device", device)
        assert code == 2 and f"device {device!r}: expected auto, cpu, cuda or cuda:N" in output
    assert outputs(project) == before
    import torch

    if not torch.cuda.is_available():
        code, output = cli(project, "build", "--force", "--device", "cuda")
        assert code == 2 and "no CUDA GPU is available" in output
        assert outputs(project) == before
        write_spec(project, "device: cuda\n" + UPSCALE_SPEC)  # a spec written for the GPU box
        code, output = cli(project, "validate")
        assert code == 0 and "build here exits 2 unless given --device cpu" in " ".join(output.split()), output


def test_a_cuda_device_this_machine_lacks_is_refused_where_it_was_given(project, cli, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without a GPU
    code, output = cli(project, "build", "--device", "cuda")
    output = " ".join(output.split())
    assert code == 2 and "--device cuda: no CUDA GPU is available; give --device auto or cpu" in output, output
    assert "in the spec" not in output  # the spec says auto: editing it changes nothing
    spec = write_spec(project, "build_dir: build\ndevice: cuda\n" + UPSCALE_SPEC.replace("build_dir: build\n", ""))
    code, output = cli(project, "build")
    output = " ".join(output.split())
    assert code == 2 and (f"{spec}:2: device: cuda: no CUDA GPU is available; set device: auto or cpu in the spec, "
                          "or give --device cpu for this build") in output, output
    code, output = cli(project, "validate")
    output = " ".join(output.split())
    assert code == 0 and f"{spec}:2: device: cuda: no CUDA GPU is available; build here exits 2" in output, output
    assert not (project / "build").exists()


def test_a_cuda_device_a_merge_key_brings_in_is_named_at_the_anchors_line(project, monkeypatch):
    import torch

    from pipeline.devices import spec_device_problem

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without a GPU
    spec = write_spec(project, "x-gpu: &gpu\n  device: cuda\n<<: *gpu\n" + UPSCALE_SPEC)
    problem = spec_device_problem(load_spec(spec))
    assert problem == f"{spec}:2: device: cuda: no CUDA GPU is available", problem  # the anchor's line, not ?
    spec = write_spec(project, "x-a: &a\n  build_dir: build\nx-gpu: &gpu\n  device: cuda\n<<: [*a, *gpu]\n"
                      + UPSCALE_SPEC.replace("build_dir: build\n", ""))
    problem = spec_device_problem(load_spec(spec))
    assert problem == f"{spec}:4: device: cuda: no CUDA GPU is available", problem  # in a list of merged blocks


def test_validate_warns_about_a_weights_file_that_is_not_there(project, cli):
    write_spec(project, UPSCALE_SPEC + "  legacy_sr: {op: super_resolve, from: legacy, model: {path: models/4x.pth}}\n"
               "  null_sr: {op: super_resolve, from: legacy, model: {path: /dev/null}}\n")
    code, output = cli(project, "validate")
    output = " ".join(output.split())
    assert code == 0
    assert "assets.legacy_sr.model: building legacy_sr fails:" in output and "models/4x.pth does not exist" in output
    assert ("assets.null_sr.model: building null_sr fails: /dev/null is a device or a pipe, not a file; name the "
            "weights file") in output  # it was said not to exist


def test_build_warns_once_on_stderr_of_a_setting_its_method_does_not_read(project):
    """A setting the asset's method does not read (iterations on a from_texture material) was said by validate and
    in a UI run's log alone: a build on the command line took it without a word, and the artist waited for a photo
    fit's iterations that changed nothing. Said once, though both steps of the build load the spec; not an error."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    spec = write_spec(project, UPSCALE_SPEC.replace("legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}",
                                                    "floors: {op: material, from: legacy, method: from_texture, "
                                                    "iterations: 50}"))
    result = CliRunner().invoke(app, ["build", "--spec", str(spec)], catch_exceptions=False)
    said = " ".join(result.stderr.split())
    assert result.exit_code == 0 and said.count("not read with the params given here") == 1, said
    assert (f"warning {spec}:7: assets.floors.iterations: not read with the params given here, so it changes nothing "
            "(a setting of the photo fit, methods two_shot and one_shot): remove it") in said, said
    assert "not read" not in result.stdout, result.stdout


def test_a_weights_path_that_names_a_pipe_is_refused_without_opening_it(project, cli, monkeypatch):
    """A weights path naming a pipe (``mkfifo``) would be opened to hash it, and wait for a writer without end:
    validate, status and build each refuse it unopened, naming the spec's key and the file (here a writer stands
    by, and says whether any opened it)."""
    monkeypatch.delenv("COLUMNS", raising=False)  # a width given folds status's table, and its reason with it
    (project / "models").mkdir()
    os.mkfifo(pipe := project / "models" / "4x.pth")
    spec = write_spec(project, UPSCALE_SPEC + "  legacy_sr: {op: super_resolve, from: legacy, "
                      "model: {path: models/4x.pth}}\n")
    opened, stop = threading.Event(), threading.Event()

    def write() -> None:
        while not stop.is_set():
            with pipe.open("wb") as stream, contextlib.suppress(BrokenPipeError):
                if not stop.is_set():
                    opened.set()
                    stream.write(b"weights")

    (writer := threading.Thread(target=write)).start()
    said = [" ".join(cli(project, command)[1].split()) for command in ("validate", "status", "build")]
    any_opened_the_pipe = opened.is_set()
    stop.set()
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer finish where none opened the pipe
    writer.join()
    os.close(reader)
    assert not any_opened_the_pipe
    assert (f"{spec}:8: assets.legacy_sr.model: building legacy_sr fails: {pipe} is a device or a pipe, not a file; "
            "name the weights file") in said[0], said[0]
    refused = f"{pipe}: the file given as legacy_sr.model is a device or a pipe, not a file; name the weights file"
    assert f"cannot build yet: {refused}" in said[1] and f"failed legacy_sr [5 partitions]: {refused}" in said[2], said


def test_a_weights_path_that_names_a_folder_is_called_so(project, cli):
    (project / "models" / "4x.pth").mkdir(parents=True)  # an unzipped download, say
    write_spec(project, UPSCALE_SPEC + "  legacy_sr: {op: super_resolve, from: legacy, model: {path: models/4x.pth}}\n")
    assert cli(project, "build")[0] == 1
    errors = {r["error"] for r in manifest_rows(project) if r["status"] == "failed"}
    assert errors == {f"{project}/models/4x.pth: the file given as legacy_sr.model is a folder; name the file in it; "
                      "any outputs made with it before are kept until a build can read it"}


def test_a_work_folder_older_than_its_entry_is_cleared_and_a_newer_one_kept(tmp_path):
    store = ContentStore(tmp_path / "cache")
    output = tmp_path / "model.pt"
    output.write_bytes(b"weights")
    checkpoint = store.work_dir("key") / "checkpoint.pt"
    checkpoint.write_bytes(b"the finished training")
    stored = store._entry_path("key")
    store.put("key", {"model.pt": output}, {})
    os.utime(checkpoint, ns=(stored.stat().st_mtime_ns - 10**9,) * 2)
    store.clear_finished_work("key")  # what is left of the training that made the entry
    assert not checkpoint.parent.exists()
    checkpoint = store.work_dir("key") / "checkpoint.pt"
    checkpoint.write_bytes(b"a forced retrain, half way")
    os.utime(checkpoint, ns=(stored.stat().st_mtime_ns + 10**9,) * 2)
    store.clear_finished_work("key")
    assert checkpoint.is_file()
    store.clear_finished_work("no entry")  # nothing to compare with: nothing happens


def test_storing_over_a_damaged_object_repairs_it_and_gc_reads_manifests_while_holding_the_store(tmp_path):
    from pipeline.cache import StoreBusy

    store = ContentStore(tmp_path / "cache")
    output = tmp_path / "out.png"
    output.write_bytes(b"texture bytes")
    digest = store.put("key", {"out.png": output}, {}).outputs["out.png"]
    store.object_path(digest).write_bytes(b"texture bytez")  # bit rot
    store.put("key", {"out.png": output}, {})
    assert hash_file(store.object_path(digest)) == digest

    def keep() -> set[str]:
        with pytest.raises(StoreBusy), store.in_use(exclusive=True):
            pass  # gc holds the store already: no build can add an entry between reading and deleting
        return {"key"}

    assert store.gc(keep) == (0, 0)


def test_demo_refuses_a_folder_that_has_another_spec(project, cli):
    spec = (project / "assets_spec.yaml").read_text()
    code, output = cli(project, "demo", "--dir", str(project), "--no-build")
    assert code == 2 and "exists and is not the demo's spec" in output
    assert (project / "assets_spec.yaml").read_text() == spec and not (project / "demo").exists()


def test_demo_given_a_file_as_its_folder_says_to_give_a_folder(tmp_path, cli):
    """The message was mkdir's own: '[Errno 17] File exists: 'notes.txt'', as if the folder were taken."""
    (tmp_path / "notes.txt").write_text("mine")
    for given in ("notes.txt", "notes.txt/demo"):
        code, output = cli(tmp_path, "demo", "--dir", given, "--no-build")
        assert code == 2 and "error notes.txt is a file, not a folder; give remaster demo a folder with --dir" in output, output
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_demo_that_cannot_write_its_folder_says_so_not_a_traceback(tmp_path, cli, monkeypatch):
    """A --dir on a read-only disk, or in a folder of another user's, was a PermissionError traceback."""
    import pipeline.demo

    def read_only(path, data):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(pipeline.demo, "write_bytes_atomic", read_only)
    code, output = cli(tmp_path, "demo", "--dir", "shared", "--no-build")
    assert code == 1 and output.startswith("error cannot write the demo project in shared: Permission denied ("), output
    assert "give remaster demo a folder this user may write with --dir" in output, output


def test_a_row_another_run_wrote_last_is_not_taken_for_a_partition_never_built(project, cli, monkeypatch):
    import pipeline.assets

    write_rows = pipeline.assets.update_manifest

    def another_run_writes_last(build_dir, rows=(), **kwargs):  # a daemon run building the same partitions
        write_rows(build_dir, [{**row, "run_id": "another-run"} for row in rows], **kwargs)

    monkeypatch.setattr(pipeline.assets, "update_manifest", another_run_writes_last)
    code, output = cli(project, "build")
    assert code == 0, output
    assert set(statuses(project).values()) == {"computed"}


def test_status_says_which_variants_a_count_change_makes_and_which_the_cache_keeps(tmp_path, cli):
    """count: 2 -> 3 read "params changed: count" alone, as though every variant were made again (at 34 s a gram
    variant, a worry for a whole library), where the build makes only the new one."""
    spec = variants_project(tmp_path, count=2)
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    code, output = cli(tmp_path, "status", "--json")
    assert json.loads(output)["stale"] == [{"asset": "variants", "partition": "floors/tex000.png", "reason":
        "params changed: count 2 -> 3; 2 of its 3 outputs in the cache, put back; makes 1 (variant_02.png)",
        "action": "compute", "files": ["textures/floors/tex000.png"]}], output
    assert cli(tmp_path, "build")[0] == 0
    assert manifest_rows(tmp_path)[0]["metadata"]["variants_made"] == 1
    spec.write_text(spec.read_text().replace("count: 3", "count: 2").replace("count: 2", "count: 2, seed: 1"))
    code, output = cli(tmp_path, "status", "--json")
    assert json.loads(output)["stale"][0]["reason"] == (
        "params changed: count 3 -> 2, seed 0 -> 1; 2 of its 2 outputs in the cache, put back; makes none (its guards measure them "
        "again)")


def test_outputs_a_killed_step_placed_but_never_listed_go_once_the_spec_drops_them(tmp_path, cli, caplog):
    spec = variants_project(tmp_path, count=2)
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(spec.read_text().replace("count: 2", "count: 4"))
    build_killed_before_its_rows(tmp_path)
    folder = tmp_path / "build" / "variants" / "floors" / "tex000"
    assert sorted(p.name for p in folder.iterdir()) == [f"variant_0{n}.png" for n in range(4)]  # placed, unlisted
    spec.write_text(spec.read_text().replace("count: 4", "count: 2"))  # the OOM killer's lesson
    assert cli(tmp_path, "build")[0] == 0
    assert "removed 2 outputs that a killed build placed" in caplog.text
    assert sorted(p.name for p in folder.iterdir()) == ["variant_00.png", "variant_01.png"]
    assert not list((tmp_path / "build" / ".placing").glob("*.json"))


@pytest.mark.parametrize("cut", ["legacy_2x", "manifest.json"])
def test_a_build_killed_between_writing_a_file_and_renaming_it_leaves_no_temporary_once_built_again(project, cli, cut):
    build_killed(project, "import os, signal, ops.atomic\n"
                          "rename = ops.atomic.replace\n"
                          "ops.atomic.replace = lambda tmp, path: (os.kill(os.getpid(), signal.SIGKILL)\n"
                          f"                                         if {cut!r} in str(path) else rename(tmp, path))\n")
    assert list((project / "build").rglob(".*.tmp"))  # written, never renamed: what kill -9 leaves
    assert cli(project, "build")[0] == 0
    assert not list((project / "build").rglob(".*.tmp"))  # else a game's packaging of the folder ships them


def test_what_a_live_step_is_placing_is_left_alone(tmp_path):
    from pipeline.placing import clear_dead_notes, note_placing

    spec = load_spec(variants_project(tmp_path, count=1))
    placed = tmp_path / "build" / "variants" / "floors" / "tex000" / "variant_00.png"
    placed.parent.mkdir(parents=True)
    placed.write_bytes(b"not listed yet")
    note = note_placing(spec.build_dir, [placed])  # this process: alive
    os.utime(note, (time.time() - 2 * 86400,) * 2)  # a step of two days: its age says nothing where it can be seen
    assert clear_dead_notes(spec, ContentStore(spec.cache_dir)) == 0 and placed.exists() and note.exists()


def test_a_dead_step_s_note_is_judged_against_an_empty_manifest_and_not_in_a_folder_that_cannot_be_written(
    tmp_path, monkeypatch
):
    import pipeline.placing
    from pipeline.manifest import update_manifest
    from pipeline.placing import clear_dead_notes, note_placing

    spec = load_spec(variants_project(tmp_path, count=1))
    update_manifest(spec.build_dir)  # a build that had nothing to build: a manifest with no rows
    placed = tmp_path / "build" / "variants" / "floors" / "tex000" / "variant_00.png"
    placed.parent.mkdir(parents=True)
    placed.write_bytes(b"placed, never listed")
    note = note_placing(spec.build_dir, [placed])
    note.write_text(note.read_text().replace(f'"process": "{os.getpid()}@', '"process": "999999999@'))  # dead

    def read_only(lock_file):
        raise PermissionError(errno.EROFS, "Read-only file system", str(lock_file))

    monkeypatch.setattr(pipeline.placing, "exclusive", read_only)  # a sensor watching a read-only checkout
    assert clear_dead_notes(spec, ContentStore(spec.cache_dir)) == 0 and placed.exists()
    monkeypatch.undo()
    assert clear_dead_notes(spec, ContentStore(spec.cache_dir)) == 1 and not placed.exists() and not note.exists()


def test_a_dead_step_s_note_naming_a_file_outside_the_build_folder_removes_nothing_and_says_so(tmp_path, caplog):
    from pipeline.placing import clear_dead_notes, note_placing

    spec = load_spec(variants_project(tmp_path, count=1))
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"an artist's file")
    note = note_placing(spec.build_dir, [])
    record = json.loads(note.read_text())
    note.write_text(json.dumps({**record, "process": "999999999@1", "paths": ["../secret.png"]}))  # edited by hand
    assert clear_dead_notes(spec, ContentStore(spec.cache_dir)) == 0 and secret.exists()
    assert "removed" not in caplog.text and "is not in the build folder" in caplog.text


def test_fewer_outputs_leave_no_old_files_behind(tmp_path, cli):
    spec = variants_project(tmp_path, count=3)
    cli(tmp_path, "build")
    folder = tmp_path / "build" / "variants" / "floors" / "tex000"
    assert sorted(p.name for p in folder.iterdir()) == ["variant_00.png", "variant_01.png", "variant_02.png"]
    (folder / "variant_00.png.meta").write_text("guid: 1")  # an engine's file beside the outputs
    spec.write_text(spec.read_text().replace("count: 3", "count: 2"))
    cli(tmp_path, "build")
    assert sorted(p.name for p in folder.iterdir()) == ["variant_00.png", "variant_00.png.meta", "variant_01.png"]


def test_more_variants_make_only_the_new_ones_and_the_same_files_as_a_fresh_build(tmp_path, cli):
    spec = variants_project(tmp_path, count=2)
    cli(tmp_path, "build")
    first = outputs(tmp_path)
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    [row] = manifest_rows(tmp_path)
    assert row["status"] == "computed" and row["metadata"]["variants_made"] == 1
    grown = outputs(tmp_path)
    assert {path: grown[path] for path in first} == first
    cli(tmp_path, "build", "--force")  # makes all three again
    [forced] = manifest_rows(tmp_path)
    assert forced["metadata"]["variants_made"] == 3 and outputs(tmp_path) == grown
    timing = ("seconds", "seconds_per_variant", "variants_made")
    assert {k: v for k, v in forced["metadata"].items() if k not in timing} == {
        k: v for k, v in row["metadata"].items() if k not in timing
    }
    spec.write_text(spec.read_text().replace("count: 3", "count: 2, seed: 1"))  # seeds 1 and 2: made already
    cli(tmp_path, "build")
    [shifted] = manifest_rows(tmp_path)
    assert shifted["metadata"]["variants_made"] == 0
    folder = "build/variants/floors/tex000"
    assert outputs(tmp_path) == {f"{folder}/variant_00.png": grown[f"{folder}/variant_01.png"],
                                 f"{folder}/variant_01.png": grown[f"{folder}/variant_02.png"]}


def test_a_cache_hit_also_records_its_variants_one_by_one(tmp_path, cli):
    spec = variants_project(tmp_path, count=2)
    cli(tmp_path, "build")
    shutil.rmtree(tmp_path / ".remaster" / "cache" / "units")  # as a store filled before units were kept
    shutil.rmtree(tmp_path / "build" / "variants")
    cli(tmp_path, "build")
    assert manifest_rows(tmp_path)[0]["status"] == "cached"
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    cli(tmp_path, "build")
    assert manifest_rows(tmp_path)[0]["metadata"]["variants_made"] == 1


def test_a_damaged_kept_variant_is_made_again(tmp_path, cli):
    spec = variants_project(tmp_path, count=1)
    cli(tmp_path, "build")
    [digest] = manifest_rows(tmp_path)[0]["outputs"].values()
    ContentStore(tmp_path / ".remaster" / "cache").object_path(digest).write_bytes(b"bit rot")
    spec.write_text(spec.read_text().replace("count: 1", "count: 2"))
    code, output = cli(tmp_path, "build")
    [row] = manifest_rows(tmp_path)
    assert code == 0 and row["metadata"]["variants_made"] == 2
    assert row["outputs"]["build/variants/floors/tex000/variant_00.png"] == digest


@pytest.mark.parametrize("stop", [RuntimeError("out of memory"), KeyboardInterrupt()])
def test_variants_made_before_a_failure_or_ctrl_c_are_kept(tmp_path, cli, monkeypatch, stop):
    import ops.multiply.run

    variants_project(tmp_path, count=3)
    make = ops.multiply.run.synthesize

    def stop_at_the_third(exemplar, params, index, **kwargs):
        if index == 2:
            raise stop
        return make(exemplar, params, index, **kwargs)

    monkeypatch.setattr(ops.multiply.run, "synthesize", stop_at_the_third)
    code, output = cli(tmp_path, "build")
    assert code != 0 and manifest_rows(tmp_path)[0]["status"] == "failed", output
    monkeypatch.setattr(ops.multiply.run, "synthesize", make)
    cli(tmp_path, "build")
    [row] = manifest_rows(tmp_path)
    assert row["status"] == "computed" and row["metadata"]["variants_made"] == 1
    made_again = outputs(tmp_path)
    cli(tmp_path, "build", "--force")
    assert outputs(tmp_path) == made_again


def test_variants_made_before_a_build_was_killed_are_kept(tmp_path, cli):
    variants_project(tmp_path, count=3)
    build_killed_at_the_third_variant(tmp_path)
    assert cli(tmp_path, "build")[0] == 0
    [row] = manifest_rows(tmp_path)
    assert row["status"] == "computed" and row["metadata"]["variants_made"] == 1


def exports_counted(monkeypatch) -> list[str]:
    """The images export_dds is run on from here on (``variants/walls/tex001/variant_00.png``): which DDS a build
    made, rather than put back from the cache."""
    import ops.export_dds

    read, export = [], ops.export_dds.run

    def counted(inputs, out_dir, params, ctx):
        read.append("/".join(Path(inputs["image"]).parts[-4:]))
        return export(inputs, out_dir, params, ctx)

    monkeypatch.setattr(ops.export_dds, "run", counted)
    return read


def stale_reasons(cli, folder: Path) -> dict[tuple[str, str], str]:
    """``remaster status --json``'s stale partitions: (asset, partition) -> why."""
    code, output = cli(folder, "status", "--json")
    return {(s["asset"], s["partition"]): s["reason"] for s in json.loads(output)["stale"]}


def rows_of(folder: Path, asset: str) -> dict[str, dict]:
    return {row["partition"]: row for row in manifest_rows(folder) if row["asset"] == asset}


TWO_TEXTURES = ("floors/tex000", "walls/tex001")


def test_export_dds_chained_from_multiply_exports_each_variant_and_a_build_with_nothing_changed_makes_none(
    tmp_path, cli, monkeypatch
):
    """export_dds from a multiply was refused: to get the variants as DDS, an artist wrote a second spec whose source
    was the first one's build folder. It is applied to each variant, one partition per texture as the multiply's."""
    exported = exports_counted(monkeypatch)
    variants_dds_project(tmp_path, count=2)
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    rows = rows_of(tmp_path, "variants_dds")
    assert sorted(rows) == ["floors/tex000.png", "walls/tex001.png"]
    row = rows["walls/tex001.png"]
    assert row["status"] == "computed" and row["metadata"]["variants_made"] == 2
    assert list(row["inputs"]) == [f"build/variants/walls/tex001/variant_0{i}.png" for i in range(2)]
    assert list(row["outputs"]) == [f"build/variants_dds/walls/tex001/variant_0{i}.dds" for i in range(2)]
    for path, digest in row["outputs"].items():
        assert (tmp_path / path).read_bytes()[:4] == b"DDS " and hash_file(tmp_path / path) == digest
    assert row["metadata"]["variant_01_format"] == "bc1"  # each variant's figures, under its stem
    assert sorted(exported) == [f"variants/{stem}/variant_0{i}.png" for stem in TWO_TEXTURES for i in range(2)]
    assert stale_reasons(cli, tmp_path) == {}
    exported.clear()
    code, output = cli(tmp_path, "build")
    assert code == 0 and {row["status"] for row in manifest_rows(tmp_path)} == {"cached"}, output
    assert exported == []


def test_a_count_raised_upstream_exports_only_the_new_variant_and_status_says_so_first(tmp_path, cli, monkeypatch):
    exported = exports_counted(monkeypatch)
    spec = variants_dds_project(tmp_path, count=2)
    assert cli(tmp_path, "build")[0] == 0
    first = {path: digest for row in rows_of(tmp_path, "variants_dds").values() for path, digest in row["outputs"].items()}
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    for texture in TWO_TEXTURES:
        assert stale_reasons(cli, tmp_path)[("variants_dds", f"{texture}.png")] == (
            "upstream variants is stale; 2 of its 3 outputs in the cache, put back; makes 1 (variant_02.dds)")
    exported.clear()
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert sorted(exported) == [f"variants/{texture}/variant_02.png" for texture in TWO_TEXTURES]
    rows = rows_of(tmp_path, "variants_dds")
    assert {row["status"] for row in rows.values()} == {"computed"}
    assert [row["metadata"]["variants_made"] for row in rows.values()] == [1, 1]
    grown = {path: digest for row in rows.values() for path, digest in row["outputs"].items()}
    assert len(grown) == 6 and {path: grown[path] for path in first} == first
    spec.write_text(spec.read_text().replace("count: 3", "count: 2"))  # back: the third DDS goes, none is made
    assert stale_reasons(cli, tmp_path)[("variants_dds", "walls/tex001.png")] == (
        "upstream variants is stale; in the cache: put back, not computed")
    exported.clear()
    assert cli(tmp_path, "build")[0] == 0 and exported == []
    assert sorted(p.name for p in (tmp_path / "build" / "variants_dds" / "walls" / "tex001").iterdir()) == [
        "variant_00.dds", "variant_01.dds"]


def test_variants_enlarged_then_exported_make_only_the_new_variant_s_files(tmp_path, cli, monkeypatch):
    """An op applied to each variant writes several PNGs in turn, and so an op chained from it is applied to each of
    those: status knows which the cache keeps two assets down."""
    exported = exports_counted(monkeypatch)
    spec = variants_dds_project(tmp_path, count=2)
    spec.write_text(spec.read_text() + "  big: {op: upscale, from: variants, scale: 2}\n"
                                       "  big_dds: {op: export_dds, from: big}\n")
    assert cli(tmp_path, "build")[0] == 0
    row = rows_of(tmp_path, "big_dds")["walls/tex001.png"]
    assert list(row["inputs"]) == [f"build/big/walls/tex001/variant_0{i}.png" for i in range(2)]
    assert list(row["outputs"]) == [f"build/big_dds/walls/tex001/variant_0{i}.dds" for i in range(2)]
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    assert stale_reasons(cli, tmp_path)[("big_dds", "walls/tex001.png")] == (
        "upstream big is stale; 2 of its 3 outputs in the cache, put back; makes 1 (variant_02.dds)")
    exported.clear()
    assert cli(tmp_path, "build")[0] == 0
    assert sorted(exported) == sorted(f"{asset}/{texture}/variant_02.png" for asset in ("variants", "big")
                                      for texture in TWO_TEXTURES)
    assert stale_reasons(cli, tmp_path) == {}


def test_an_edited_texture_exports_again_only_its_own_variants(tmp_path, cli, monkeypatch):
    exported = exports_counted(monkeypatch)
    variants_dds_project(tmp_path, count=2)
    assert cli(tmp_path, "build")[0] == 0
    write_image(tmp_path / "textures" / "walls" / "tex001.png",
                Image(np.random.default_rng(7).random((64, 64, 3), dtype=np.float32)))
    assert stale_reasons(cli, tmp_path) == {("variants", "walls/tex001.png"): "changed file textures/walls/tex001.png",
                                            ("variants_dds", "walls/tex001.png"):
                                            "upstream variants is stale: rebuilt only if its new output differs"}
    exported.clear()
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert sorted(exported) == ["variants/walls/tex001/variant_00.png", "variants/walls/tex001/variant_01.png"]
    for asset in ("variants", "variants_dds"):
        rows = rows_of(tmp_path, asset)
        assert (rows["floors/tex000.png"]["status"], rows["walls/tex001.png"]["status"]) == ("cached", "computed")
    assert rows_of(tmp_path, "variants_dds")["walls/tex001.png"]["metadata"]["variants_made"] == 2
    assert stale_reasons(cli, tmp_path) == {}


def test_a_count_lowered_upstream_puts_back_every_dds_and_the_build_counts_them_cached(tmp_path, cli, monkeypatch):
    """Every DDS of the variants left is kept under its unit key: export_dds does not run, as status says ("makes
    none"), and the build counted the partitions computed, its table and the manifest saying the op ran."""
    exported = exports_counted(monkeypatch)
    spec = variants_dds_project(tmp_path, count=3)
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(spec.read_text().replace("count: 3", "count: 2"))
    assert stale_reasons(cli, tmp_path)[("variants_dds", "walls/tex001.png")] == (
        "upstream variants is stale; 2 of its 2 outputs in the cache, put back; makes none")
    exported.clear()
    code, output = cli(tmp_path, "build")
    assert code == 0 and exported == [], output
    rows = rows_of(tmp_path, "variants_dds")
    assert [(row["status"], row["metadata"]["variants_made"]) for row in rows.values()] == [("cached", 0)] * 2
    assert stale_reasons(cli, tmp_path) == {}


def test_a_partition_that_puts_back_some_dds_lists_their_figures_as_one_that_made_them(tmp_path, cli):
    """The DDS of variants kept under their unit keys and put back had no figures in the row (its mip levels, size,
    PSNR), which listed only those of the DDS made: a cached row read unlike a computed one. A figure damaged in
    the cache is not listed."""
    spec = variants_dds_project(tmp_path, count=3)
    assert cli(tmp_path, "build")[0] == 0
    made = {key: row["metadata"] for key, row in rows_of(tmp_path, "variants_dds").items()}
    assert all(figures["variant_00_mip_levels"] == 6 for figures in made.values())
    spec.write_text(spec.read_text().replace("count: 3", "count: 2"))
    assert cli(tmp_path, "build")[0] == 0
    assert {key: row["metadata"] for key, row in rows_of(tmp_path, "variants_dds").items()} == {
        key: {**{name: value for name, value in figures.items() if not name.startswith("variant_02_")},
              "variants_made": 0} for key, figures in made.items()}
    walls = tmp_path / "build" / "variants_dds" / "walls" / "tex001" / "variant_00.dds"
    [damaged] = [path for path in (tmp_path / ".remaster" / "cache" / "units").rglob("*.figures.json")
                 if json.loads(path.read_text())["object"] == hash_file(walls)]
    record = json.loads(damaged.read_text())
    record["figures"]["mip_levels"] = 1  # its checksum left as it was
    damaged.write_text(json.dumps(record))
    spec.write_text(spec.read_text().replace("count: 2", "count: 1"))
    assert cli(tmp_path, "build")[0] == 0
    rows = rows_of(tmp_path, "variants_dds")
    assert "variant_00_mip_levels" not in rows["walls/tex001.png"]["metadata"]
    assert rows["floors/tex000.png"]["metadata"] == {
        **{name: value for name, value in made["floors/tex000.png"].items() if name.startswith("variant_00_")},
        "variants_made": 0}


def test_dds_put_back_into_a_cache_that_lost_them_keep_their_figures(tmp_path, cli):
    """Outputs current in the build folder go back into a cache that lost them (its folder deleted) as units, and
    they went without their figures: count 2 -> 3 after that listed the two DDS put back without their mip levels."""
    spec = variants_dds_project(tmp_path, count=2)
    assert cli(tmp_path, "build")[0] == 0
    made = {key: row["metadata"] for key, row in rows_of(tmp_path, "variants_dds").items()}
    shutil.rmtree(tmp_path / ".remaster" / "cache")
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    assert cli(tmp_path, "build")[0] == 0
    rows = rows_of(tmp_path, "variants_dds")
    assert [row["metadata"]["variants_made"] for row in rows.values()] == [1, 1]
    assert {key: {name: value for name, value in row["metadata"].items() if name.startswith(("variant_00_", "variant_01_"))}
            for key, row in rows.items()} == {
        key: {name: value for name, value in figures.items() if name != "variants_made"} for key, figures in made.items()}


def test_the_dds_of_variants_made_before_a_build_was_killed_are_kept(tmp_path, cli, monkeypatch):
    """With their figures: the DDS kept before the kill had none kept, and the row of the build that put it back
    lacked its mip levels, where one that made it lists them."""
    variants_dds_project(tmp_path, count=2)
    build_killed(tmp_path, (
        "import os, signal, ops.export_dds as dds\n"
        "export, calls = dds.run, []\n"
        "def kill_at_the_second(*args):\n"
        "    calls.append(args)\n"
        "    if len(calls) == 2:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return export(*args)\n"
        "dds.run = kill_at_the_second\n"
    ))
    exported = exports_counted(monkeypatch)
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert len(exported) == 3  # of four: the one finished before the kill is kept
    rows = rows_of(tmp_path, "variants_dds")
    assert sorted(row["metadata"]["variants_made"] for row in rows.values()) == [1, 2]
    assert {key: [row["metadata"].get(f"variant_0{index}_mip_levels") for index in (0, 1)]
            for key, row in rows.items()} == {key: [6, 6] for key in rows}
    listed = {tmp_path / path for row in rows.values() for path in row["outputs"]}
    assert {path for path in (tmp_path / "build" / "variants_dds").rglob("*") if path.is_file()} == listed


def test_variants_made_from_an_input_changed_mid_build_are_not_kept_for_the_input_planned(tmp_path, cli, monkeypatch):
    import ops.multiply.run

    variants_project(tmp_path, count=2)
    texture = tmp_path / "textures" / "floors" / "tex000.png"
    planned = texture.read_bytes()
    run = ops.multiply.run.run

    def checked_out_as_it_starts(inputs, out_dir, params, ctx):  # a git checkout while the build runs
        write_image(texture, Image(read_image(texture).color[::-1].copy()))
        return run(inputs, out_dir, params, ctx)

    monkeypatch.setattr(ops.multiply.run, "run", checked_out_as_it_starts)
    assert cli(tmp_path, "build")[0] != 0  # "an input changed while this was built"
    monkeypatch.setattr(ops.multiply.run, "run", run)
    texture.write_bytes(planned)
    assert cli(tmp_path, "build")[0] == 0
    assert manifest_rows(tmp_path)[0]["metadata"]["variants_made"] == 2  # none kept from the other content


def test_a_build_that_proc_hides_from_this_user_is_not_taken_for_gone(tmp_path, monkeypatch):
    """With /proc mounted hidepid=2, another user's processes are not there to read: the daemon, run as
    another user than the artist's build, took that build for killed and failed its run as it built."""
    import pipeline.processes as processes

    proc = tmp_path / "proc"  # this user's view: its own entry and the boot, no other user's process
    (proc / "sys" / "kernel" / "random").mkdir(parents=True)
    (proc / "sys" / "kernel" / "random" / "boot_id").write_text("boot\n")
    (proc / "self" / "ns").mkdir(parents=True)
    (proc / "self" / "ns" / "pid").write_text("")
    monkeypatch.setattr(processes, "PROC", proc)
    live = os.getpid()  # a process that is there, as another user's build would be
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert processes.start_time(live) is None and processes.start_time(gone.pid) == ""
    space = processes.process_space()
    assert processes.is_gone(space, f"{live}@12345") is None
    assert processes.is_gone(space, f"{gone.pid}@12345") is True


def test_a_process_start_time_reads_any_name_and_a_zombie_counts_as_gone():
    import ctypes

    from pipeline.processes import start_time

    prctl, name = ctypes.CDLL(None).prctl, ctypes.create_string_buffer(16)
    prctl(16, name)  # PR_GET_NAME
    try:
        prctl(15, b"\xff) x (")  # PR_SET_NAME: not UTF-8, with brackets and a space
        assert start_time(os.getpid()).isdigit()
    finally:
        prctl(15, name.value)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{child.pid}/stat")
    while b") Z " not in stat.read_bytes():  # exited, not reaped: a killed build's zombie
        time.sleep(0.01)
    assert start_time(child.pid) == ""
    child.wait()


def test_a_ctrl_c_stays_a_ctrl_c_when_the_variants_made_cannot_be_kept(tmp_path, monkeypatch):
    import ops.multiply.run

    spec = load_spec(variants_project(tmp_path, count=3))
    make = ops.multiply.run.synthesize

    def ctrl_c_at_the_third(exemplar, params, index, **kwargs):
        if index == 2:
            raise KeyboardInterrupt
        return make(exemplar, params, index, **kwargs)

    def disk_full(store, files, figures=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ops.multiply.run, "synthesize", ctrl_c_at_the_third)
    monkeypatch.setattr(ContentStore, "keep_units", disk_full)
    with pytest.raises(KeyboardInterrupt):
        RemasterResource().builder(spec).build(spec.targets["variants"], "floors/tex000.png")


@pytest.mark.parametrize("restored", [False, True])
def test_a_build_killed_while_it_places_several_outputs_changes_none_of_them(tmp_path, monkeypatch, restored):
    import pipeline.build

    spec_file = variants_project(tmp_path, count=2)
    seeded = spec_file.read_text().replace("count: 2", "count: 2, seed: 5")
    if restored:  # both in the cache: going back to seed 5 restores its two variants
        spec_file.write_text(seeded)
        run_build(load_spec(spec_file))
        spec_file.write_text(seeded.replace("seed: 5", "seed: 0"))
    run_build(load_spec(spec_file))
    folder = tmp_path / "build" / "variants" / "floors" / "tex000"
    before = {path.name: hash_file(path) for path in folder.iterdir()}
    spec_file.write_text(seeded)
    spec = load_spec(spec_file)
    placed = []

    def killed_at_the_second(write, *args):
        placed.append(args)
        if len(placed) == 2:
            raise KeyboardInterrupt  # as a SIGKILL between two files, but catchable
        return write(*args)

    if restored:
        read_object = ContentStore.read_object
        monkeypatch.setattr(ContentStore, "read_object", lambda *args: killed_at_the_second(read_object, *args))
    else:
        copy = pipeline.build.copy_file
        monkeypatch.setattr(pipeline.build, "copy_file", lambda *args: killed_at_the_second(copy, *args))
    with pytest.raises(KeyboardInterrupt):
        RemasterResource().builder(spec).build(spec.targets["variants"], "floors/tex000.png")
    assert {path.name: hash_file(path) for path in folder.iterdir()} == before


def test_an_entry_whose_figures_were_damaged_is_recomputed(project, cli):
    cli(project, "build")
    built = manifest_rows(project)[0]
    entry = ContentStore(project / ".remaster" / "cache")._entry_path(built["cache_key"])
    entry.write_text(entry.read_text().replace('"width": 32', '"width": 99'))
    [output] = built["outputs"]
    (project / output).unlink()
    cli(project, "build")
    [row] = [r for r in manifest_rows(project) if r["cache_key"] == built["cache_key"]]
    assert row["status"] == "computed" and row["metadata"]["width"] == 32


def test_an_entry_written_before_entries_had_checksums_is_still_a_hit(tmp_path):
    store = ContentStore(tmp_path / "cache")
    output = tmp_path / "output.png"
    output.write_bytes(b"output bytes")
    entry = store.put("key", {"output.png": output}, {"width": 32})
    store._entry_path("key").write_text(json.dumps({"outputs": entry.outputs, "metadata": entry.metadata}))
    assert store.get("key") == entry


def test_a_material_is_named_after_its_own_texture_even_when_another_has_the_same_bytes(tmp_path, cli):
    write_textures(tmp_path / "textures", 1, size=32)
    original = tmp_path / "textures" / "floors" / "tex000.png"
    shutil.copy(original, original.with_name("twin.png"))
    write_spec(tmp_path, """
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  mat: {op: material, from: legacy, method: from_texture}
""")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    for stem in ("tex000", "twin"):
        document = json.loads((tmp_path / "build" / "mat" / "floors" / stem / "material.gltf").read_text())
        assert document["materials"][0]["name"] == stem
    (tmp_path / "textures" / "walls").mkdir()
    original.rename(tmp_path / "textures" / "walls" / "tex000.png")  # the same name in another folder
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert {(e["partition"], e["status"]) for e in manifest_rows(tmp_path)} == {
        ("walls/tex000.png", "cached"), ("floors/twin.png", "cached")}  # was computed again: the key held the folder


def test_textures_sharing_a_colour_profile_are_warned_about_once_and_counted(project):
    """Said in one form, ``warning ...``, the first during the build and the count after its table: the first
    printed as ``WARNING ...``, Python's name for the level, and a CI log searched for one missed the other."""
    from PIL import Image as PILImage

    for path in sorted((project / "textures").rglob("*.png")):
        PILImage.open(path).save(path, icc_profile=display_p3_profile())  # an artist's Display P3 working space
    write_spec(project, UPSCALE_SPEC + "  legacy_3x: {op: upscale, from: legacy, scale: 3}\n")  # each read twice
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "build"], cwd=project, capture_output=True, text=True,
                            env={**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, "CI": "true",
                                 "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])})
    said = " ".join(result.stderr.split())
    assert result.returncode == 0 and said.count("carries the colour profile 'Display P3 v4', not sRGB") == 1, said
    assert "warning 4 more files carry the colour profile 'Display P3 v4' as well, read as the first was" in said
    first = next(line for line in result.stderr.splitlines() if "'Display P3 v4', not sRGB" in line)
    assert first.startswith(f"warning {project / 'textures'}"), result.stderr


def test_a_warning_during_a_build_on_a_terminal_is_a_line_of_its_own_above_the_bars(project):
    """A warning logged while the progress bars were drawn went to stderr past the console, glued to the end of the
    bar's line (``legacy_2x ━━━ 2/5 0:00:00  warning ...``), the bars drawn again below it. Here each texture's
    read is slowed, so that the bar is drawn before the third, the one with a colour profile, is read."""
    import re

    from PIL import Image as PILImage

    profiled = project / "textures" / "floors" / "tex002.png"
    PILImage.open(profiled).save(profiled, icc_profile=display_p3_profile())
    script = ("import time, ops.upscale as upscale\n"
              "read = upscale.read_image\n"
              "def slowed(*args, **kwargs):\n"
              "    time.sleep(0.4)\n"
              "    return read(*args, **kwargs)\n"
              "upscale.read_image = slowed\n"
              "from pipeline.cli import main\n"
              "main()\n")
    code, shown = remaster_on_a_terminal(script, project, "build",
                                         env={k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"})
    drawn = shown.replace("\r\n", "\n")  # the terminal's line ends
    assert code == 0, drawn
    [line] = [line for line in drawn.split("\n") if "'Display P3 v4', not sRGB" in line]
    assert re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line.split("\r")[-1]).startswith(f"warning {profiled} "), repr(line)
    assert "legacy_2x" in drawn[drawn.index(line) + len(line):], drawn  # the bar, drawn again below it


def test_a_warning_logged_with_its_traceback_prints_the_traceback_below_it(tmp_path):
    """Printed through the console, a record is its level and message, and its traceback still follows it."""
    script = ("import logging\nfrom pipeline.cli import _log_to_stderr\n_log_to_stderr()\ntry:\n    1 / 0\n"
              "except ZeroDivisionError:\n    logging.getLogger('ops.image_io').warning('%s went wrong', 'it', "
              "exc_info=True)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stderr.startswith("warning it went wrong\nTraceback (most recent call last):\n"), done.stderr
    assert done.stderr.endswith("ZeroDivisionError: division by zero\n"), done.stderr


def test_normal_maps_in_a_colour_source_are_warned_about_once_per_op_and_counted(project):
    """Normal maps mixed into a folder of colour textures were enlarged and exported as colour without a word; a
    build says so once per op, naming the first, and counts the rest."""
    rng = np.random.default_rng(3)
    for path in sorted((project / "textures").rglob("*.png")):
        vectors = np.dstack([rng.normal(0, 0.3, (16, 16, 2)), np.ones((16, 16))])
        vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
        write_image(path, Image(((vectors + 1) / 2).astype(np.float32)), colorspace="linear")
    write_spec(project, UPSCALE_SPEC + "  legacy_dds: {op: export_dds, from: legacy_2x}\n")
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "build"], cwd=project, capture_output=True, text=True,
                            env={**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, "CI": "true",
                                 "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])})
    said = " ".join(result.stderr.split())
    assert result.returncode == 0, said
    for op in ("upscale", "export_dds"):
        assert said.count(f"looks like a tangent-space normal map, and {op} takes it as colour") == 1, said
        assert f"warning 4 more textures look like normal maps that {op} takes as colour" in said


def test_two_files_of_one_size_and_timestamp_swapped_by_renames_are_rebuilt(project, cli):
    floors, walls = project / "textures" / "floors" / "tex000.png", project / "textures" / "walls" / "tex001.png"
    for path, value in ((floors, 0.2), (walls, 0.8)):  # equal sizes, as two uncompressed TGAs of one size are
        write_image(path, Image(np.full((16, 16, 3), value, np.float32)))
        os.utime(path, ns=(1_600_000_000_000_000_000,) * 2)  # one timestamp, as an archive's extract gives
    assert floors.stat().st_size == walls.stat().st_size
    cli(project, "build")
    spare = project / "spare.png"
    floors.rename(spare)
    walls.rename(floors)
    spare.rename(walls)
    code, output = cli(project, "status")
    assert "floors/tex000.png" in output and "walls/tex001.png" in output, output
    cli(project, "build")
    for path in (floors, walls):
        built = project / "build" / "legacy_2x" / path.relative_to(project / "textures")
        assert read_image(built).color.mean() == pytest.approx(read_image(path).color.mean(), abs=1e-3)


def test_a_remaster_from_before_the_inode_check_cannot_misread_the_hash_index(project, cli):
    """Those versions read the cache folder's hash-index.json, trusting an entry whose first two fields are the
    file's size and mtime and taking the third for its hash: the inode, in today's layout. A studio whose CI
    machines run two versions on one cache, or that goes back a version, got stale outputs reported cached."""
    cli(project, "build")
    old = project / ".remaster" / "cache" / "hash-index.json"
    entries = json.loads(old.read_text()).values() if old.exists() else []
    assert all(isinstance(entry[2], str) for entry in entries)
    assert all(len(entry) == 5 for entry in hash_index_entries(old.parent).values())


def test_a_hash_index_edited_by_hand_or_of_the_wrong_shape_is_read_again_from_the_files(project, cli):
    from pipeline.hashing import hash_bytes

    assert cli(project, "build")[0] == 0
    cache, expected = project / ".remaster" / "cache", outputs(project)
    index = cache / HASH_INDEX
    digest, _, body = index.read_bytes().partition(b"\n")
    entries = json.loads(body)
    first, second = (str(project / "textures" / key) for key in ("floors/tex000.png", "walls/tex001.png"))
    entries[first][-1], entries[second][-1] = entries[second][-1], entries[first][-1]  # hashes swapped, stats kept
    index.write_bytes(digest + b"\n" + json.dumps(entries).encode())
    assert cli(project, "build")[0] == 0 and set(statuses(project).values()) == {"cached"}
    assert outputs(project) == expected, "outputs were put back for each other's texture"
    for text in ("[1, 2]", '{"a": 5}', "null"):  # well formed, under its own hash, and still not an index
        index.write_bytes(hash_bytes(text.encode()).encode() + b"\n" + text.encode())
        code, output = cli(project, "status")
        assert code == 0 and "everything is up to date" in output, output
        assert cli(project, "cache", "gc", "--forget-missing")[0] == 0


def test_a_renamed_source_root_keeps_the_cache_and_the_manifest_names_the_files_where_they_are(project, cli):
    cli(project, "build")
    (project / "textures").rename(project / "Texture Library")
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("root: textures", 'root: "Texture Library"'))
    assert cli(project, "build")[0] == 0
    rows = manifest_rows(project)
    assert {row["status"] for row in rows} == {"cached"}
    assert all(path.startswith("Texture Library/") and (project / path).is_file()
               for row in rows for path in row["inputs"]), rows


def test_a_texture_deleted_while_it_was_built_is_named_and_its_outputs_go_next_build(project, cli, monkeypatch):
    import ops.upscale

    texture = project / "textures" / "walls" / "tex001.png"
    upscale = ops.upscale.run

    def deleted_meanwhile(inputs, out_dir, params, ctx):  # a branch switch or a cleanup script mid-build
        meta = upscale(inputs, out_dir, params, ctx)
        if inputs["image"] == texture:
            texture.unlink()
        return meta

    monkeypatch.setattr(ops.upscale, "run", deleted_meanwhile)
    code, output = cli(project, "build")
    assert code == 1 and f"{texture} was moved or deleted while this was built; build again" in output.replace("\n", "")
    monkeypatch.setattr(ops.upscale, "run", upscale)
    assert cli(project, "build")[0] == 0
    assert "walls/tex001.png" not in statuses(project)
    assert not (project / "build" / "legacy_2x" / "walls" / "tex001.png").exists()


def test_the_build_table_keeps_long_asset_names_whole_in_a_ci_log_each_on_its_row_s_line(project, cli, monkeypatch):
    monkeypatch.setenv("CI", "true")  # a CI log's, whatever the shell running the suite exported
    monkeypatch.delenv("COLUMNS", raising=False)  # a width given folds it (it did, once, in a full suite run)
    names = [f"environment_props_exterior_walls_upscaled_{f}_for_remaster_v2" for f in ("lanczos", "bicubic")]
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text() + "".join(f"  {n}: {{op: upscale, from: legacy, filter: {n.split('_')[5]}}}\n"
                                                for n in names))
    code, output = cli(project, "build")  # its output is no terminal
    assert code == 0 and "…" not in output
    rows = {line.split("│")[1].strip(): line for line in output.splitlines() if line.startswith("│")}
    assert all(rows.get(name, "").endswith("│") for name in names), output  # the name, and the rest of its row


def _status_in_a_ci_log(project: Path, **env: str) -> str:
    """What ``remaster status`` prints on stdout to a pipe, as a CI job's log takes it, under ``env``."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "COLUMNS", "CI")}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "status"], cwd=project, capture_output=True, text=True,
                          env={**inherited, **env, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _long_names(project: Path) -> tuple[str, str]:
    """An asset and a partition of ``project`` whose names are long, never built: (asset, partition)."""
    asset = "environment_props_exterior_walls_upscaled_lanczos_for_remaster_v2"
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text() + f"  {asset}: {{op: upscale, from: legacy, filter: lanczos}}\n")
    write_textures(project / "textures" / "characters" / "heroes" / "main_character_armour_set_v2", 1, seed=3)
    return asset, "characters/heroes/main_character_armour_set_v2/floors/tex000.png"


def _row(said: str, asset: str, partition: str) -> str:
    """The one line of the status table that names both ``asset`` and ``partition``, whole."""
    [row] = [line for line in said.splitlines() if asset in line and partition in line]
    assert row.startswith("│") and row.endswith("│") and "never built" in row, said
    return row


def test_the_status_table_in_a_ci_log_gives_each_row_one_line_however_long(project):
    """A CI log is no terminal, where Rich prints 80 columns wide: each row was folded over many lines, and a
    grep for a partition found a piece of its row, or none. A COLUMNS given still folds it to that width."""
    asset, partition = _long_names(project)
    _row(_status_in_a_ci_log(project), asset, partition)
    folded = _status_in_a_ci_log(project, COLUMNS="80")
    assert asset not in folded and max(map(len, folded.splitlines())) <= 80, folded


def test_the_table_s_title_in_a_ci_log_starts_its_line(project):
    """Centred over a table each of whose rows is one line, the title of a CI log's status (``12 stale``) began
    past a hundred spaces, where a log viewer wrapping long lines showed a blank line and the title alone below."""
    _long_names(project)
    said = _status_in_a_ci_log(project)
    assert said.startswith("12 stale\n"), said


def test_the_status_table_of_a_ci_job_under_a_pseudo_terminal_gives_each_row_one_line(project, cli, monkeypatch):
    """Buildkite runs a job under a pseudo-terminal, which is no terminal a person reads: CI says so."""
    import io

    from pipeline.cli import out

    class PseudoTerminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asset, partition = _long_names(project)
    log = PseudoTerminal()
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(out, "_file", log)  # its file property would be put back as the stdout of the moment
    monkeypatch.setattr(out, "_width", 80)  # the pseudo-terminal's width
    assert cli(project, "status")[0] == 0
    _row(log.getvalue(), asset, partition)


def test_selecting_a_source_says_it_is_one(project, cli):
    code, output = cli(project, "build", "legacy", "legacy_4x")
    assert code == 2
    assert ("--select legacy, legacy_4x: no such model or asset (legacy: a source, whose files are read, not built); "
            "expected one of legacy_2x") in " ".join(output.split())


def test_a_selected_name_one_typo_away_says_which_was_meant(project, cli):
    """The spec's errors offer the name meant; --select legacy_x2 listed every name and left the artist to look."""
    code, output = cli(project, "build", "legacy_x2")
    assert code == 2
    assert "--select legacy_x2: no such model or asset; expected one of legacy_2x; did you mean 'legacy_2x'?" in \
           " ".join(output.split())


def test_a_key_that_only_remaster_changed_says_so(project, cli, monkeypatch):
    from pipeline.cli import out

    # One row a line. The console read COLUMNS when pipeline.cli was imported, if the shell had exported it.
    monkeypatch.setattr(out, "_width", 200)
    assert cli(project, "build")[0] == 0
    manifest = project / "build" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"cache_key":"', '"cache_key":"0'))  # as an older remaster keyed it
    code, output = cli(project, "status")
    assert output.count("cache key changed: this version of remaster derives it differently") == 5


def test_a_param_that_only_remaster_added_or_dropped_is_not_called_a_change(project, cli, monkeypatch):
    from pipeline.cli import out

    monkeypatch.setattr(out, "_width", 200)
    assert cli(project, "build")[0] == 0
    manifest = project / "build" / "manifest.json"
    rows = json.loads(manifest.read_text())
    for row in rows["entries"]:  # as an older remaster recorded them: no wrap yet, a param since dropped
        row["params"] = {**{k: v for k, v in row["params"].items() if k != "wrap"}, "sharpen": 0.5}
        row["cache_key"] = "0" + row["cache_key"]  # params are part of the key
    manifest.write_text(json.dumps(rows))
    code, output = cli(project, "status")
    line = "params new in this version of remaster: wrap; params this version of remaster dropped: sharpen"
    assert output.count(line) == 5 and "params changed" not in output, output
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("op: upscale, from: legacy, scale: 2, filter: lanczos", "op: multiply, from: legacy"))
    code, output = cli(project, "status")  # the user gave the asset another op: its params are all another op's
    assert output.count("op upscale -> multiply") == 5 and "version of remaster" not in output, output


def test_a_map_spelt_with_the_format_it_gets_anyway_before_it_was_keyed_by_name_is_no_param_the_artist_changed(
    tmp_path, cli
):
    """export_dds keys ``normal: auto`` as ``normal`` since commit a901913, and exports a spec spelt so once more:
    status said "params changed: maps ["albedo", {"normal":... -> ["albedo", "normal"]" of a spec no one edited. The
    row's params are read as this version reads them first; a change the artist makes is still said."""
    write_textures(tmp_path / "textures", 1)
    spec = ("sources:\n  legacy: {kind: textures, root: textures}\nassets:\n"
            "  mat: {op: material, from: legacy, method: from_texture}\n"
            "  mat_dds: {op: export_dds, from: mat, maps: [albedo, normal: MAP]}\n")
    write_spec(tmp_path, spec.replace("MAP", "auto"))
    assert cli(tmp_path, "build")[0] == 0
    manifest = tmp_path / "build" / "manifest.json"
    rows = json.loads(manifest.read_text())
    for row in (row for row in rows["entries"] if row["asset"] == "mat_dds"):  # as a build before a901913 wrote it
        row["params"]["maps"] = ["albedo", {"normal": "auto"}]
        row["cache_key"] = "0" + row["cache_key"]
    manifest.write_text(json.dumps(rows))
    assert stale_reasons(cli, tmp_path) == {
        ("mat_dds", "floors/tex000.png"): "cache key changed: this version of remaster derives it differently; in the "
                                          "cache: put back, not computed"}
    write_spec(tmp_path, spec.replace("MAP", "bc3n"))
    assert stale_reasons(cli, tmp_path) == {
        ("mat_dds", "floors/tex000.png"): 'params changed: maps ["albedo", "normal"] -> ["albedo", {"normal":...'}


def test_a_manifest_row_a_hand_edit_damaged_is_built_again_not_a_traceback(project, cli, monkeypatch):
    from pipeline.cli import out

    monkeypatch.setattr(out, "_width", 200)
    assert cli(project, "build")[0] == 0
    manifest = project / "build" / "manifest.json"
    rows = json.loads(manifest.read_text())
    del rows["entries"][0]["params"]  # as a hand edit or a merge leaves it
    rows["entries"][0]["cache_key"] = "0" + rows["entries"][0]["cache_key"]  # so that status reads the params
    rows["entries"][1]["inputs"] = None
    rows["entries"][2]["metadata"] = "none"
    manifest.write_text(json.dumps(rows))
    code, output = cli(project, "status")
    assert code == 0 and output.count("in the cache: put back, not computed") == 3, output
    code, output = cli(project, "build")
    assert code == 0 and sorted(statuses(project).values()) == ["cached"] * 5, output
    assert [set(row) >= {"params", "inputs"} for row in manifest_rows(project)] == [True] * 5
    rows = json.loads(manifest.read_text())
    for row in rows["entries"]:
        del row["params"]
    manifest.write_text(json.dumps(rows))
    assert cli(project, "cache", "gc")[0] == 0  # keeps the entries that damaged rows name
    assert cli(project, "build")[0] == 0 and sorted(statuses(project).values()) == ["cached"] * 5
    rows = json.loads(manifest.read_text())
    rows["entries"][0]["outputs"] = 5
    rows["entries"][1]["params"] = None
    rows["entries"].append(None)  # not a row at all
    rows["entries"].append({"asset": "legacy_2x", "partition": "", "outputs": {}})  # a partition no file has
    manifest.write_text(json.dumps(rows))
    removed = rows["entries"][1]["partition"]
    placing = project / "build" / ".placing"
    placing.mkdir(exist_ok=True)  # a killed build's note, which reads what the rows list
    (placing / "killed.json").write_text(json.dumps({"paths": ["legacy_2x/x.png"], "space": None, "process": "1@1"}))
    os.utime(placing / "killed.json", (0, 0))
    (project / "textures" / removed).unlink()
    code, output = cli(project, "status")
    assert f"{removed} │ its source file is gone" in output, output
    code, output = cli(project, "build")  # a damaged row still names the outputs of a removed file
    assert code == 0 and not (project / "build" / "legacy_2x" / removed).exists(), output
    assert removed not in statuses(project) and len(statuses(project)) == 4


def test_a_manifest_that_cannot_be_read_is_said_by_status_and_build(project, cli, caplog):
    """A truncated manifest (a full disk, a merge conflict) read as though nothing had been built, silently."""
    assert cli(project, "build")[0] == 0
    manifest = project / "build" / "manifest.json"
    manifest.write_text(manifest.read_text()[:100])
    said = f"{manifest} cannot be read (Unterminated string"
    code, output = cli(project, "status")
    assert said in " ".join(output.split()) and output.count("never built;") == 5, output
    with caplog.at_level("WARNING", logger="pipeline"):
        report = run_build(load_spec(project / "assets_spec.yaml"))
    assert said in caplog.text and "a build lists them anew, putting back from the cache what it holds" in caplog.text
    assert [row["status"] for row in report.rows] == ["cached"] * 5 and len(manifest_rows(project)) == 5


def test_a_placing_note_of_the_wrong_shape_is_left_alone(project, cli):
    assert cli(project, "build")[0] == 0
    notes = project / "build" / ".placing"
    notes.mkdir(exist_ok=True)
    (notes / "damaged.json").write_text(json.dumps({"paths": [5], "space": None, "process": 5}))
    code, output = cli(project, "build")
    assert code == 0 and set(statuses(project).values()) == {"cached"}, output


def test_a_field_remaster_added_inside_a_model_s_loss_is_named_by_its_path(tmp_path, cli, monkeypatch):
    from pipeline.cli import out

    monkeypatch.setattr(out, "_width", 200)
    write_textures(tmp_path / "hires", 3, size=32)
    write_spec(tmp_path, """
build_dir: build
cache_dir: .remaster/cache
sources:
  reference: {kind: textures, root: hires, glob: "**/*.png"}
models:
  sr2x: {op: train_srcae, from: reference, scale: 2, steps: 2, patch_size: 16, batch_size: 2, loss: {hfen: 0.1}}
""")
    assert cli(tmp_path, "build")[0] == 0
    manifest = tmp_path / "build" / "manifest.json"
    rows = json.loads(manifest.read_text())
    [row] = rows["entries"]
    del row["params"]["loss"]["gan"]  # as a remaster before the GAN loss recorded it
    row["params"]["loss"]["hfen"] = 0.2
    row["cache_key"] = "0" + row["cache_key"]
    manifest.write_text(json.dumps(rows))
    code, output = cli(tmp_path, "status")
    assert "params changed: loss.hfen 0.2 -> 0.1; params new in this version of remaster: loss.gan" in output, output


def test_an_output_saved_over_while_the_build_puts_it_back_in_the_cache_is_not_stored(project, cli, monkeypatch):
    import pipeline.cache

    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / ".remaster")
    saved_over = project / "build" / "legacy_2x" / "floors" / "tex000.png"
    copy = shutil.copyfileobj

    def then_saved_over(read, written, *args):  # after the build found it current, as the store copies it
        if read.name == str(saved_over):
            saved_over.write_bytes(b"saved over")
        return copy(read, written, *args)

    monkeypatch.setattr(pipeline.cache.shutil, "copyfileobj", then_saved_over)
    assert cli(project, "build")[0] == 0
    store = ContentStore(project / ".remaster" / "cache")
    stored = {row["partition"]: store.has_entry(row["cache_key"]) for row in manifest_rows(project)}
    assert stored == {"floors/tex000.png": False, "walls/tex001.png": True, "floors/tex002.png": True,
                      "walls/tex003.png": True, "floors/tex004.png": True}
    objects = [path for path in (project / ".remaster" / "cache" / "objects").rglob("*") if path.is_file()]
    assert all(hash_file(path) == path.name for path in objects)  # none holds bytes of another hash


def test_a_manifest_row_naming_files_outside_the_build_folder_deletes_none_of_them(project, cli, tmp_path_factory):
    assert cli(project, "build")[0] == 0
    victim = tmp_path_factory.mktemp("elsewhere") / "precious.txt"
    victim.write_text("not the build's")
    manifest = project / "build" / "manifest.json"
    document = json.loads(manifest.read_text())
    row = dict(document["entries"][0], asset="old_asset", partition="x.png")  # an asset the spec no longer has
    row["outputs"] = {str(victim): "0", "textures/floors/tex000.png": "0", "assets_spec.yaml": "0",
                      "build/../textures/walls/tex001.png": "0"}
    document["entries"].append(row)
    manifest.write_text(json.dumps(document))
    cli(project, "build")
    assert victim.is_file() and (project / "assets_spec.yaml").is_file()  # all three were deleted
    assert (project / "textures" / "floors" / "tex000.png").is_file()
    assert (project / "textures" / "walls" / "tex001.png").is_file()


def test_outputs_in_an_asset_folder_linked_to_another_disk_are_still_removed(project, cli, tmp_path_factory):
    from pipeline.outputs import remove_output

    elsewhere = tmp_path_factory.mktemp("other_disk")
    (project / "build").mkdir()
    (project / "build" / "legacy_2x").symlink_to(elsewhere, target_is_directory=True)
    assert cli(project, "build")[0] == 0
    (project / "textures" / "walls" / "tex001.png").unlink()
    assert cli(project, "build")[0] == 0
    assert not (elsewhere / "walls" / "tex001.png").exists()  # was kept, and no longer listed: for good
    (elsewhere.parent / "secret.png").write_bytes(b"beside the linked folder")
    remove_output(project / "build", project / "build" / "legacy_2x" / ".." / "secret.png")  # .. after the link
    remove_output(project / "build", project / "build" / "legacy_2x" / ".." / ".." / "assets_spec.yaml")
    assert (elsewhere.parent / "secret.png").is_file() and (project / "assets_spec.yaml").is_file()


def test_a_ui_run_over_an_upstream_output_reported_without_tags_records_its_events(tmp_path):
    """A materialization reported with no tags (the UI's Report materialization, a script's
    report_runless_asset_event) holds tags None, not {}: a run of what uses that output then failed its step on
    'AttributeError: 'NoneType' object has no attribute 'get'' as it recorded where its inputs came from."""
    write_textures(tmp_path / "textures", 2)
    spec = load_spec(write_spec(tmp_path, CHAIN_SPEC))
    with dg.instance_for_test() as instance:
        assert not run_build(spec, instance=instance).failed
        instance.report_runless_asset_event(dg.AssetMaterialization("legacy_2x", partition="walls/tex001.png"))
        result = dg.materialize(list(build_definitions(spec).assets or []), instance=instance, selection=["legacy_4x"],
                                resources={"remaster": RemasterResource(device="cpu")}, partition_key="walls/tex001.png",
                                raise_on_error=False)
        assert result.success, [e.message for e in result.get_step_failure_events()]
        tags = instance.get_latest_materialization_event(dg.AssetKey("legacy_4x")).asset_materialization.tags
    assert tags["dagster/input_data_version/legacy_2x"] == "INITIAL"  # Dagster's word for no version


_NO_CACHE = "if this cache should be on a share, is it mounted?"


def _no_cache_said(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if _NO_CACHE in record.getMessage()]


def test_a_cache_that_is_gone_under_a_built_project_is_said_and_a_first_build_says_nothing(project, cli, caplog):
    """A cache_dir whose cache is gone (a share not mounted where a link leads, a folder deleted) got a new,
    empty cache without a word: outputs the build folder lacks were computed again. A project's first build, on
    a cache in its own folder, says nothing."""
    assert cli(project, "build")[0] == 0 and not _no_cache_said(caplog)
    shutil.rmtree(project / ".remaster")
    caplog.clear()
    assert cli(project, "build")[0] == 0
    assert _no_cache_said(caplog) == [
        f"no cache at {project / '.remaster' / 'cache'} (cache_dir in assets_spec.yaml), though "
        f"{project / 'build' / 'manifest.json'} lists outputs built before: a new, empty one is made there, so "
        f"nothing is put back from a cache; {_NO_CACHE}"]
    caplog.clear()
    assert cli(project, "build")[0] == 0 and not _no_cache_said(caplog)  # said once: the cache is there now


def test_a_cache_dir_on_a_share_that_is_not_mounted_is_said_by_build_and_status(project, cli, caplog,
                                                                                 tmp_path_factory):
    """A CI job's fresh clone on a cache_dir whose share was not mounted built everything again in a cache made
    on the spot, without a word; so did one whose mount point was there, empty."""
    share = tmp_path_factory.mktemp("mnt") / "texture-cache"
    write_spec(project, UPSCALE_SPEC.replace(".remaster/cache", str(share)))
    assert cli(project, "build")[0] == 0
    assert _no_cache_said(caplog) == [f"no cache at {share} (cache_dir in assets_spec.yaml): a new, empty one is made "
                                      f"there, so nothing is put back from a cache; {_NO_CACHE}"]
    shutil.rmtree(share)
    share.mkdir()  # the share's mount point, empty
    status = start_remaster(project, "status")
    output = status.communicate(timeout=300)[0]
    assert status.returncode == 0 and f"warning no cache at {share} (cache_dir in assets_spec.yaml), though " in output
    assert "a build would make a new, empty one there" in output
    assert list(share.iterdir()) == []  # status writes nothing on a mount point: no store, no hash index


def test_status_on_a_cache_that_is_not_there_makes_none(project, cli, tmp_path_factory):
    """status only looks: a cache_dir whose share is not mounted (its folder not there) was made, with an empty
    store and the hash index, where the share is mounted later. A missing store holds nothing: all is stale."""
    share = tmp_path_factory.mktemp("mnt") / "texture-cache"
    write_spec(project, UPSCALE_SPEC.replace(".remaster/cache", str(share)))
    code, output = cli(project, "status")
    assert code == 0 and "stale" in output and not share.exists()
