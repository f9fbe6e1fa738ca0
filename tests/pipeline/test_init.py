"""``remaster init``: a starter spec written from a studio's folder, through the real CLI, validated and built."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import threading
import warnings
import zlib
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import skimage.data

from helpers import SHARED, manifest_rows
from ops.image_io import Image, read_image, write_image
from pipeline.claims import INSTANCE_SETTINGS
from pipeline.init import _root

FLATS = SHARED / "legacy" / "freedoom" / "flats"


def _studio_folder(folder: Path) -> Path:
    """A studio's files: two legacy textures and a normal map in walls/, a scikit-image texture as TGA in floors/,
    a photo pair (32 px, with a ground_truth folder of maps beside its photos) two levels down in photos/."""
    (folder / "walls").mkdir(parents=True)
    for name in ("aqf001.png", "aqf002.png"):
        shutil.copy(FLATS / name, folder / "walls" / name)
    normal = SHARED / "materials" / "synthetic" / "wood_01" / "ground_truth" / "normal.png"
    write_image(folder / "walls" / "plank_normal.png", Image(np.ascontiguousarray(read_image(normal).color[::4, ::4])))
    grass = skimage.data.grass()[:64, :64].astype(np.float32) / 255
    write_image(folder / "floors" / "grass.tga", Image(np.ascontiguousarray(np.repeat(grass[..., None], 3, axis=2))))
    photo = np.asarray(read_image(SHARED / "photos" / "flash_only" / "IMG_6950.png").color[::8, ::8])
    pair = folder / "photos" / "2024" / "oak"
    for role, gain in (("flash", 1.0), ("guide", 0.4)):
        write_image(pair / f"{role}.png", Image(np.ascontiguousarray(photo * gain)))
    write_image(pair / "ground_truth" / "albedo.png", Image(np.ascontiguousarray(photo)))
    return folder


def _partitions(folder: Path) -> dict[str, list[str]]:
    """Each asset's partitions, as the build's manifest lists them."""
    built: dict[str, list[str]] = {}
    for row in manifest_rows(folder):
        built.setdefault(row["asset"], []).append(row["partition"])
    return {asset: sorted(keys) for asset, keys in built.items()}


def _materialized(home: Path) -> set[str]:
    """The assets the Dagster instance ``home`` records a materialization of: what its UI shows built."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return {key.to_user_string() for key in instance.get_asset_keys()
                if instance.get_latest_materialization_event(key) is not None}


def test_init_writes_a_spec_that_validates_and_builds_with_normal_maps_kept_out_of_colour(tmp_path, cli):
    folder = _studio_folder(tmp_path / "studio")
    code, output = cli(folder, "init")
    assert code == 0, output
    for line in ("wrote assets_spec.yaml: 4 sources, 8 assets", "  floors: 1 colour texture in floors",
                 "  photos: 1 photo pair in photos", "  walls: 2 colour textures in walls",
                 "  walls_normals: 1 normal map in walls",
                 "next: remaster validate, remaster status, remaster build, remaster report to review what it made, "
                 "then remaster ui"):
        assert line in output, output
    assert (folder / ".dagster" / "dagster.yaml").read_text() == INSTANCE_SETTINGS  # as remaster demo makes it
    text = (folder / "assets_spec.yaml").read_text()
    assert "# floors_sr: {op: super_resolve" in text and "# floors_variants: {op: multiply" in text, text
    code, output = cli(folder, "validate")
    assert code == 0 and "assets_spec.yaml: ok (4 sources, 0 models, 8 assets)" in output, output
    assert "warning" not in output, output
    code, output = cli(folder, "build", "--device", "cpu")
    assert code == 0, output
    assert _partitions(folder) == {
        "floors_2x": ["grass.tga"], "floors_dds": ["grass.tga"],
        "walls_2x": ["aqf001.png", "aqf002.png"], "walls_dds": ["aqf001.png", "aqf002.png"],
        "walls_normals_2x": ["plank_normal.png"], "walls_normals_dds": ["plank_normal.png"],
        "photos_material": ["2024/oak"], "photos_material_dds": ["2024/oak"],
    }
    assert _materialized(folder / ".dagster") == set(_partitions(folder))  # shown by the first remaster ui
    code, output = cli(folder, "init", "--force")  # the build folder's images and the cache are no studio files
    assert code == 0 and (folder / "assets_spec.yaml").read_text() == text, output


def test_init_s_commented_multiply_builds_in_seconds_and_its_comments_give_each_op_s_cost(tmp_path, cli):
    """The commented-out lines an artist uncomments first: the multiply, as written, takes the enlarged textures
    with patch (two 256 px variants each, which pass the blocking checks), not the op's defaults (gram, four 512 px
    variants: minutes a texture on a CPU); its comment and the model's say what each costs, from the README."""
    folder = _studio_folder(tmp_path / "studio")
    assert cli(folder, "init")[0] == 0
    spec = folder / "assets_spec.yaml"
    text = spec.read_text()
    model = next(line for line in text.splitlines() if line.startswith("#   sr2x:"))
    assert "steps: 3000}   # trains about 4 minutes on a 2-core CPU, under a minute on a GPU" in model, model
    multiply = "  # floors_variants: {op: multiply, from: floors_2x, method: patch, count: 2, size: 256}   # "
    line = next(line for line in text.splitlines() if line.startswith(multiply))
    for said in ("patch takes about 4 s of CPU a 512² variant", "method: gram about 34 s",
                 "textures under 64 px: gram"):
        assert said in line, line
    spec.write_text(text.replace(multiply, multiply.replace("# ", "", 1)))
    code, output = cli(folder, "validate")
    assert code == 0 and "ok (4 sources, 0 models, 9 assets)" in output and "warning" not in output, output
    code, output = cli(folder, "build", "--device", "cpu", "floors_variants")
    assert code == 0 and "check failed" not in output, output
    variants = sorted((folder / "build" / "floors_variants" / "grass").iterdir())
    assert [path.name for path in variants] == ["variant_00.png", "variant_01.png"]
    assert all(read_image(path).color.shape[:2] == (256, 256) for path in variants)


@pytest.mark.parametrize("hires", ["hires", "upscaled_masters"])  # sorted before legacy, and after it
def test_init_s_commented_ops_enlarge_the_source_of_smallest_textures_not_the_high_resolution_one(tmp_path, cli,
                                                                                                 hires):
    """A studio's folder with the high-resolution textures a model is to be trained on beside the legacy ones:
    the commented super_resolve and multiply take the legacy ones, whose textures are smallest, whichever folder
    comes first by name (``hires`` did, and a model trained on it enlarged its own training set)."""
    flat = read_image(FLATS / "aqf001.png")
    write_image(tmp_path / "studio" / "legacy" / "aqf001.png", flat)
    enlarged = np.ascontiguousarray(np.repeat(np.repeat(np.asarray(flat.color), 2, axis=0), 2, axis=1))
    write_image(tmp_path / "studio" / hires / "aqf001.png", Image(enlarged))
    assert cli(tmp_path / "studio", "init")[0] == 0
    commented = [line.split("   #")[0] for line in (tmp_path / "studio" / "assets_spec.yaml").read_text().splitlines()
                 if line.startswith("  # ") and "op:" in line]
    assert commented == ["  # legacy_sr: {op: super_resolve, from: legacy, model: sr2x}",
                         "  # legacy_variants: {op: multiply, from: legacy_2x, method: patch, count: 2, size: 256}"]


def test_init_s_super_resolve_uncommented_alone_is_told_every_line_to_uncomment(tmp_path, cli):
    """Uncommenting init's super_resolve line alone was told "'sr2x' names no model; expected one of (none defined)
    or {path: weights.pth}" before the lines to uncomment, and not that sr2x's source, reference, is commented out
    too: uncommented as told, the spec failed validate again. Deleting the marks the message names gives a spec
    that loads."""
    write_image(tmp_path / "studio" / "walls" / "aqf001.png", read_image(FLATS / "aqf001.png"))
    assert cli(tmp_path, "init", "studio", "--spec", "project/assets_spec.yaml")[0] == 0
    spec = tmp_path / "project" / "assets_spec.yaml"
    lines = spec.read_text().splitlines(keepends=True)
    number = {line.split(":")[0].strip("# "): n for n, line in enumerate(lines, 1) if line.lstrip().startswith("# ")}
    lines[number["walls_sr"] - 1] = lines[number["walls_sr"] - 1].replace("# ", "", 1)
    spec.write_text("".join(lines))
    code, output = cli(tmp_path, "validate", "--spec", str(spec))
    assert code == 2 and output.splitlines()[0] == (
        f"error {spec}:{number['walls_sr']}: assets.walls_sr.model: 'sr2x' names no model; it is commented out at "
        f"line {number['sr2x']}: delete the '# ' at its start and the '# ' at the start of line {number['models']} "
        f"(models:); its from: reference is commented out too, at line {number['reference']}: delete the '# ' at its "
        "start"), output
    for name in ("sr2x", "models", "reference"):
        lines[number[name] - 1] = lines[number[name] - 1].replace("# ", "", 1)
    spec.write_text("".join(lines).replace("path/to/hires", "../studio/walls"))
    code, output = cli(tmp_path, "validate", "--spec", str(spec))
    assert code == 0 and "ok (2 sources, 1 model, 3 assets)" in output, output


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: its length, kind, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int) -> bytes:
    """An 8-bit RGB PNG said to be ``width`` x ``height``, with no texel: all Pillow reads for its size."""
    fields = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", fields) + _png_chunk(b"IDAT", b"") + _png_chunk(b"IEND", b"")


def test_init_measures_plain_files_only_and_shows_no_pillow_warning(tmp_path, cli):
    """Init reads textures' headers to tell which colour source is the legacy one. A pipe named like an image
    (``mkfifo``) is not opened: init waited on it for a writer without end (here a writer stands by, and says
    whether init opened it). A header past Pillow's bomb check (a 10,000² PNG) gave a Python warning among init's
    lines; it is measured without one."""
    write_image(tmp_path / "studio" / "legacy" / "small.png", Image(np.zeros((16, 16, 3), np.float32)))
    (tmp_path / "studio" / "scans").mkdir()
    (tmp_path / "studio" / "scans" / "huge.png").write_bytes(_png_header(10_000, 10_000))
    os.mkfifo(pipe := tmp_path / "studio" / "legacy" / "pipe.png")
    opened = threading.Event()

    def write() -> None:
        with pipe.open("wb") as stream:
            opened.set()
            stream.write(_png_header(64, 64))

    (writer := threading.Thread(target=write)).start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, output = cli(tmp_path / "studio", "init")
    init_opened_the_pipe = opened.is_set()
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer finish where init never opened the pipe
    writer.join()
    os.close(reader)
    assert code == 0, output
    assert not init_opened_the_pipe
    assert [str(warning.message) for warning in caught] == []


def test_init_leaves_a_dagster_home_that_is_set_as_it_is(tmp_path, cli, monkeypatch):
    """With DAGSTER_HOME exported (CI, an instance shared by projects), init makes no .dagster of its own, which
    would stand unused beside the spec, and the build records in DAGSTER_HOME's."""
    folder = _studio_folder(tmp_path / "studio")
    (home := tmp_path / "shared_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    code, output = cli(folder, "init")
    assert code == 0 and not (folder / ".dagster").exists(), output
    assert cli(folder, "build", "--device", "cpu", "walls_2x")[0] == 0
    assert _materialized(home) == {"walls_2x"} and not (folder / ".dagster").exists()


def test_init_warns_of_a_dagster_home_that_the_next_command_would_refuse(tmp_path, cli, monkeypatch):
    """A DAGSTER_HOME exported with a typo, or before its folder was made: the spec is written, and init says now
    what remaster validate, the next command it prints, would stop on, with the fix."""
    folder = _studio_folder(tmp_path / "studio")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "shared_home"))
    code, output = cli(folder, "init")
    assert code == 0 and (folder / "assets_spec.yaml").is_file() and not (folder / ".dagster").exists(), output
    assert f"warning DAGSTER_HOME={tmp_path / 'shared_home'} is not a folder: mkdir -p {tmp_path / 'shared_home'} " \
           "first" in _said(output), output
    assert "until then, remaster validate, status, build and ui stop there (exit 2)" in _said(output), output
    code, output = cli(folder, "validate")
    assert code == 2 and "is not a folder: mkdir -p" in output, output


def test_init_writes_the_spec_and_warns_where_the_project_s_instance_cannot_be_made(tmp_path, cli):
    """A file named .dagster beside the spec: the spec is still written, and the warning says why the UI will not
    show the builds, and the fix."""
    folder = _studio_folder(tmp_path / "studio")
    (folder / ".dagster").write_text("")
    code, output = cli(folder, "init")
    assert code == 0 and (folder / "assets_spec.yaml").is_file(), output
    assert f"warning cannot make the project's Dagster instance {folder / '.dagster'}: File exists; move that file " \
           "aside" in _said(output), output
    assert "until then, builds are recorded in a throwaway instance the UI does not show" in _said(output), output


def test_init_refuses_to_overwrite_a_spec_and_writes_elsewhere_with_spec(tmp_path, cli):
    folder = _studio_folder(tmp_path / "studio")
    spec = folder / "assets_spec.yaml"
    spec.write_text("# the studio's own\n")
    code, output = cli(folder, "init")
    assert code == 2, output
    assert "assets_spec.yaml exists; give --force to overwrite it, or --spec PATH to write the new spec elsewhere" \
        in output
    assert spec.read_text() == "# the studio's own\n"
    elsewhere = tmp_path / "project" / "assets_spec.yaml"
    code, output = cli(tmp_path, "init", "studio", "--spec", str(elsewhere))
    assert code == 0 and f"--spec {elsewhere}" in output, output
    assert 'root: "../studio/walls"' in elsewhere.read_text()
    code, output = cli(tmp_path, "validate", "--spec", str(elsewhere))
    assert code == 0 and "ok (4 sources, 0 models, 8 assets)" in output, output
    code, output = cli(folder, "init", "--force")
    assert code == 0 and spec.read_text().startswith("# Written by remaster init"), output
    code, output = cli(tmp_path, "init", "studio", "--spec", "studio")
    assert code == 2 and "error studio is a folder; give --spec the path of the spec file to write" in output, output
    code, output = cli(tmp_path, "init", "studio", "--spec", "studio/walls/aqf001.png/assets_spec.yaml")
    assert code == 2 and "studio/walls/aqf001.png is a file, not a folder; give --spec a path in a folder" in output
    code, output = cli(tmp_path, "init", "studoi")
    assert code == 2 and "error studoi does not exist; give remaster init the folder that holds" in output, output


def test_init_of_a_folder_with_nothing_remaster_reads_names_what_it_looks_for(tmp_path, cli):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "brief.txt").write_text("textures due friday\n")
    (tmp_path / "wall.psd").write_bytes(b"8BPS")
    code, output = cli(tmp_path, "init")
    assert code == 1, output
    assert f"error {tmp_path}: no file remaster can build from: it looks for textures (.tif, .tiff, .png" in output
    assert "photo pairs (a folder holding a flash.* and a guide.* photo)" in output
    assert not (tmp_path / "assets_spec.yaml").exists()
    shutil.copy(FLATS / "aqf001.png", tmp_path / "wall.png")  # beside the spec: no source can take it
    code, output = cli(tmp_path, "init")
    assert code == 1 and f"error left out wall.png in {tmp_path}: a source's root cannot hold the spec's" in output
    assert "move them into a folder of their own (textures, photos) and run remaster init --force" in output
    assert "no file remaster can build from" not in output, output


def test_init_s_help_gives_its_exit_statuses(tmp_path, cli):
    code, output = cli(tmp_path, "init", "--help")
    said = " ".join(output.replace("│", " ").split())
    assert code == 0, output
    for status in ("Exit status: 0 when the spec is written", "1 where FOLDER holds no file remaster reads",
                   "2 where a spec is there already (--force overwrites it, --spec PATH writes elsewhere)"):
        assert status in said, output


def test_init_takes_each_pair_once_and_leaves_out_what_no_source_can_take(tmp_path, cli):
    """Pair folders at two depths (one named with glob characters, one in a linked folder), a folder and the photos
    root holding a flash photo without its guide, files no source can take (a texture and a pair folder directly
    in the folder), two textures whose outputs collide, and a link back up: every partition status lists is one a
    build can make, and what is left out is said, naming it."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("photos/we{i,r}d[1]/flash.png", "photos/we{i,r}d[1]/guide.png", "photos/half/flash.png",
                 "photos/flash.png", "photos/loose.png", "top.png", "elm/flash.png", "elm/guide.png",
                 "photos/brick.png", "photos/brick.tga"):
        write_image(studio / path, photo)
    for role in ("flash", "guide"):
        write_image(tmp_path / "share" / "oak" / f"{role}.png", photo)
    (studio / "photos" / "2024").symlink_to(tmp_path / "share")
    (studio / "photos" / "half" / "up").symlink_to(studio / "photos")
    code, output = cli(studio, "init")
    assert code == 0, output
    assert f"warning left out elm, top.png in {studio}: a source's root cannot hold the spec's folder" in output
    assert "photos_pairs: 2 photo pairs in photos" in output and "photos: 4 colour textures in photos" in output
    assert "source 'photos': skipping brick.tga: its outputs would overwrite those of brick.png; rename one" in output
    text = (studio / "assets_spec.yaml").read_text()
    assert 'exclude: ["**/*{_n,_normal,_nrm}.*", "2024/oak/**", "we\\\\{i\\\\,r\\\\}d[[]1]/**"]}' in text, text
    assert 'flash: "**/flash.*", guide: "**/guide.*", exclude: ["half/**", "flash.*", "guide.*"]}' in text, text
    code, output = cli(studio, "status", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    assert sorted((item["asset"], item["partition"], item["reason"]) for item in stale if item["asset"].endswith(
        ("_2x", "material"))) == [
        ("photos_2x", "brick.png", "never built"), ("photos_2x", "flash.png", "never built"),
        ("photos_2x", "half/flash.png", "never built"),
        ("photos_2x", "loose.png", "never built"), ("photos_pairs_material", "2024/oak", "never built"),
        ("photos_pairs_material", "we{i,r}d[1]", "never built")]


def _said(output: str) -> str:
    """The CLI's output with its lines joined, as a terminal's width wraps them."""
    return " ".join(output.split())


def test_init_of_a_flat_folder_offers_a_spec_beside_it_whose_build_leaves_the_folder_as_it_was(tmp_path, cli):
    """A studio's flat folder of textures, the spec's own folder: refused, with the command that writes the spec
    beside it first; that command, run as said, writes a spec whose source is the folder, which validates and
    builds, the outputs in the new folder's build and none in the studio's."""
    flat = tmp_path / "flat tiles"
    flat.mkdir()
    for name in ("ceil4_3.png", "flat1_3.png"):
        shutil.copy(FLATS.parent / "flats" / name, flat / name)
    code, output = cli(flat, "init")
    beside = tmp_path / "flat tiles-remaster" / "assets_spec.yaml"
    command = f"remaster init --spec {shlex.quote(str(beside))}"
    assert code == 1 and f"write the spec in a folder of its own: {command}; or move them" in _said(output), output
    assert not (flat / "assets_spec.yaml").exists()
    code, output = cli(flat, *shlex.split(command)[1:])
    assert code == 0 and "flat_tiles: 2 colour textures in ." in output, output
    assert 'flat_tiles: {kind: textures, root: "../flat tiles", glob: "*.png"' in beside.read_text()
    code, output = cli(beside.parent, "validate")
    assert code == 0 and "ok (1 source, 0 models, 2 assets)" in output and "warning" not in output, output
    code, output = cli(beside.parent, "build", "--device", "cpu")
    assert code == 0, output
    assert _partitions(beside.parent) == {"flat_tiles_2x": ["ceil4_3.png", "flat1_3.png"],
                                          "flat_tiles_dds": ["ceil4_3.png", "flat1_3.png"]}
    assert (beside.parent / "build" / "flat_tiles_dds" / "ceil4_3.dds").is_file()
    assert sorted(path.name for path in flat.rglob("*")) == ["ceil4_3.png", "flat1_3.png"]


def test_init_of_a_flat_folder_offers_a_spec_folder_that_holds_no_spec_yet(tmp_path, cli):
    """The command offered for a flat folder, run once, writes its spec beside it; offered again (init run in the
    folder once more), it names a folder that holds no spec, where it named the same one, and the command run as
    said stopped on the spec there; a file of that name is passed over too."""
    flat = tmp_path / "tiles"
    shutil.copytree(FLATS, flat, ignore=lambda folder, names: [name for name in names if name != "aqf001.png"])
    (tmp_path / "tiles-remaster-2").write_text("")
    for beside in (tmp_path / "tiles-remaster", tmp_path / "tiles-remaster-3"):
        code, output = cli(flat, "init")
        command = f"remaster init --spec {beside / 'assets_spec.yaml'}"
        assert code == 1 and f"a folder of its own: {command}; or move them" in _said(output), output
        code, output = cli(flat, *shlex.split(command)[1:])
        assert code == 0 and "tiles: 1 colour texture in ." in output, output


def test_init_elsewhere_takes_the_folder_s_own_files_once_beside_its_folders_sources(tmp_path, cli):
    """With --spec in another folder, what lies directly in FOLDER (a texture, a normal map, top-level pair folders,
    beside a top-level folder holding a flash photo alone) makes sources rooted at FOLDER whose globs reach no
    folder of their own: each file is a partition of one source alone."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("top.png", "top_n.png", "walls/aqf001.png", "walls/old/aqf002.png", "elm/flash.png",
                 "elm/guide.png", "elm/ground_truth/albedo.png", "half/flash.png", "photos/2024/oak/flash.png",
                 "photos/2024/oak/guide.png"):
        write_image(studio / path, photo)
    code, output = cli(tmp_path, "init", "studio", "--spec", "project/assets_spec.yaml")
    assert code == 0 and "warning" not in output, output
    assert "  studio: 1 colour texture in studio" in output and "  studio_pairs: 1 photo pair in studio" in output
    text = (tmp_path / "project" / "assets_spec.yaml").read_text()
    assert 'studio: {kind: textures, root: "../studio", glob: "*.png", exclude: ["**/*{_n,_normal,_nrm}.*"]}' in text
    assert 'studio_pairs: {kind: photo_pairs, root: "../studio", flash: "*/flash.*", guide: "*/guide.*", ' \
           'exclude: ["half/**"]}' in text, text
    code, output = cli(tmp_path, "status", "--spec", "project/assets_spec.yaml", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    assert sorted((item["asset"], item["partition"]) for item in stale if item["asset"].endswith(
        ("_2x", "material"))) == [
        ("half_2x", "flash.png"), ("photos_material", "2024/oak"), ("studio_2x", "top.png"),
        ("studio_normals_2x", "top_n.png"), ("studio_pairs_material", "elm"),
        ("walls_2x", "aqf001.png"), ("walls_2x", "old/aqf002.png")]


def test_init_leaves_out_what_a_source_holding_the_spec_s_folder_would_take(tmp_path, cli):
    """A spec written inside FOLDER (the folder's files would be a root holding the build): left out, saying why
    and what to run."""
    photo = read_image(FLATS / "aqf001.png")
    for path in ("top.png", "walls/aqf001.png"):
        write_image(tmp_path / "studio" / path, photo)
    code, output = cli(tmp_path, "init", "studio", "--spec", "studio/remaster/assets_spec.yaml")
    assert code == 0 and "walls: 1 colour texture in studio/walls" in output, output
    assert f"left out top.png in {tmp_path / 'studio'}: a source's root cannot hold the spec's folder " \
           f"({tmp_path / 'studio' / 'remaster'})" in _said(output), output
    assert f"remaster init studio --spec {tmp_path / 'studio-remaster' / 'assets_spec.yaml'};" in _said(output)


def test_init_of_a_pair_s_folder_gives_the_command_that_takes_it_as_a_pair(tmp_path, cli):
    """A FOLDER that is itself a pair's folder: refused (a pair is a folder below a source's root), giving the
    command that takes it, which, run as said, writes a spec that holds the pair, where it said to run init on
    the folder above, whose spec's folder would be that root again, refused in turn."""
    photo = read_image(FLATS / "aqf001.png")
    shoot = tmp_path / "shoot"
    for role in ("flash", "guide"):
        write_image(shoot / "oak" / f"{role}.png", photo)
    code, output = cli(shoot / "oak", "init")
    command = f"remaster init {shoot} --spec {tmp_path / 'shoot-remaster' / 'assets_spec.yaml'}"
    assert code == 1 and f"left out flash.png, guide.png in {shoot / 'oak'}: a photo pair is a folder below the " \
        f"folder remaster init scans; to take it as a pair, run remaster init on the folder above, with the spec " \
        f"beside that one: {command} (it takes the other folders in {shoot} too)" in _said(output), output
    code, output = cli(shoot / "oak", *shlex.split(command)[1:])
    assert code == 0 and "shoot: 1 photo pair in .." in output, output


def test_init_of_a_linked_folder_leaves_out_its_files_where_its_real_folder_holds_the_spec_s(tmp_path, cli):
    """A link to the folder, with the spec written below the folder it leads to: its files would be a root holding
    the build once the spec's loader follows the link, so they are left out, not written into a spec it refuses."""
    write_image(tmp_path / "flat" / "top.png", read_image(FLATS / "aqf001.png"))
    (tmp_path / "link").symlink_to("flat")
    code, output = cli(tmp_path, "init", "link", "--spec", "flat/sub/assets_spec.yaml")
    assert code == 1 and f"left out top.png in {tmp_path / 'link'}: a source's root cannot hold the spec's folder" \
        in _said(output), output
    assert not (tmp_path / "flat" / "sub" / "assets_spec.yaml").exists()


def test_a_root_shares_a_folder_with_the_spec_s_or_is_absolute():
    """A root beside the spec is written relative, so the project moves with it; one on a share that shares no
    folder with the spec's but the drive's root is written absolute, not as a climb to the top."""
    assert _root(Path("/work/studio/flats"), Path("/work/studio-remaster")) == "../studio/flats"
    assert _root(Path("/mnt/share/flats"), Path("/home/me/project")) == "/mnt/share/flats"


def test_init_s_commented_lines_uncommented_take_names_no_folder_s_source_holds(tmp_path, cli):
    """Folders named as the commented lines would name theirs (``reference``, ``sr2x``, ``bricks_variants`` beside
    ``bricks``): the folders' sources keep their names, and each commented line takes one no other line holds, so
    the spec with every line uncommented still validates."""
    photo = read_image(FLATS / "aqf001.png")
    for path in ("bricks/aqf001.png", "bricks_variants/aqf001.png", "reference/aqf001.png", "sr2x/aqf001.png"):
        write_image(tmp_path / "studio" / path, photo)
    studio = tmp_path / "studio"
    assert cli(tmp_path, "init", "studio", "--spec", "project/assets_spec.yaml")[0] == 0
    spec = tmp_path / "project" / "assets_spec.yaml"
    text = spec.read_text()
    for line in ('  reference: {kind: textures, root: "../studio/reference"', '  # reference_2: {kind: textures',
                 "#   sr2x_2: {op: train_srcae, from: reference_2,", "  # bricks_sr: {op: super_resolve, from: bricks, "
                 "model: sr2x_2}   # enlarged by the model sr2x_2 (uncomment reference_2 and models above)",
                 "  # bricks_variants_2: {op: multiply, from: bricks_2x,"):
        assert line in text, text
    (studio / "hires").mkdir()
    uncommented = re.sub(r"^(\s*)# ", r"\1", text.split("\nbuild_dir", 1)[1], flags=re.MULTILINE)
    spec.write_text("build_dir" + uncommented.replace("path/to/hires", "../studio/hires"))
    code, output = cli(tmp_path, "validate", "--spec", str(spec))
    assert code == 0 and "ok (5 sources, 1 model, 10 assets)" in output, output


def test_init_leaves_out_a_folder_whose_name_is_not_utf8_saying_so(tmp_path, cli):
    """A folder named in an old archive's encoding (Latin-1 ``café``), which no spec's text can spell: left out,
    naming it and the fix, where init wrote nothing and asked for a bug report; the other folders' spec validates."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    write_image(studio / "walls" / "aqf001.png", photo)
    latin = os.fsdecode(bytes(studio) + b"/caf\xe9")
    write_image(Path(latin) / "aqf002.png", photo)
    code, output = cli(studio, "init")
    assert code == 0 and "walls: 1 colour texture in walls" in output, output
    assert f"warning left out 'caf\ufffd' in {studio}: its name is not UTF-8 (an old archive's encoding, such as " \
           "Latin-1), which a spec cannot hold; rename it and run remaster init --force" in _said(output), output
    code, output = cli(studio, "validate")
    assert code == 0 and "ok (1 source, 0 models, 2 assets)" in output, output


def test_init_and_build_in_a_project_folder_whose_name_is_not_utf8(tmp_path, cli):
    """The project's own folder named in an old archive's encoding (Latin-1 ``café``): init wrote its path into the
    spec's first comment as it is, and refused its own spec ("please report this"); a build then refused with
    Python's "surrogates not allowed", as the cache named its record of the manifest by the path's text, and its
    summary's manifest line could not be printed."""
    studio = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    write_image(studio / "walls" / "aqf001.png", read_image(FLATS / "aqf001.png"))
    code, output = cli(studio, "init")
    assert code == 0 and "walls: 1 colour texture in walls" in output, output
    assert (studio / "assets_spec.yaml").read_text().startswith(
        f"# Written by remaster init from the files in \"{tmp_path}/caf\ufffd\""), output
    for _ in range(2):  # the second puts back from the cache
        code, output = cli(studio, "build", "--device", "cpu")
        assert code == 0 and _partitions(studio) == {"walls_2x": ["aqf001.png"], "walls_dds": ["aqf001.png"]}, output
    assert "│ walls_2x  │ 0        │ 1      │" in output, output
    assert f"manifest: {tmp_path}/caf\\udce9/build/manifest.json" in output, output


def test_init_says_a_folder_whose_name_is_not_utf8_inside_a_source_once(tmp_path, cli):
    """Folders named in Latin-1 inside a source's folder: one whose textures the source's glob takes is said by
    the source's scan alone, naming the file, as each build says it, where init said it twice; one whose texture
    no glob takes (a .tga where the source takes .png) is said by init, naming the folder."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    write_image(studio / "walls" / "aqf001.png", photo)
    write_image(Path(os.fsdecode(bytes(studio) + b"/walls/caf\xe9")) / "aqf002.png", photo)
    write_image(Path(os.fsdecode(bytes(studio) + b"/walls/vieux/r\xe9f")) / "aqf003.tga", photo)
    code, output = cli(studio, "init")
    assert code == 0 and "walls: 1 colour texture in walls" in output, output
    said = _said(output)
    assert said.count("caf\ufffd") == 1 and "source 'walls': skipping 'caf\ufffd/aqf002.png': its name is not " \
        "UTF-8" in said, output
    assert f"warning left out 'walls/vieux/r\ufffdf' in {studio}: its name is not UTF-8" in said, output


def test_init_spells_a_folder_name_with_a_control_or_separator_character_so_the_spec_loads(tmp_path, cli):
    """Folder names holding a DEL or a Unicode line separator (pasted from a chat, a tool's rename): written as
    ``\\u`` escapes, which read back as the same folder, where JSON's quoting kept them as they are and the spec
    init wrote did not load."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("old\x7fwalls/aqf001.png", "new\u2028walls/aqf002.png"):
        write_image(studio / path, photo)
    code, output = cli(studio, "init")
    assert code == 0 and "warning" not in output, output
    text = (studio / "assets_spec.yaml").read_text()
    assert 'root: "old\\u007fwalls"' in text and 'root: "new\\u2028walls"' in text, text
    code, output = cli(studio, "status", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    assert sorted((item["asset"], item["partition"]) for item in stale if item["asset"].endswith("_2x")) == [
        ("new_walls_2x", "aqf002.png"), ("old_walls_2x", "aqf001.png")], output


def test_init_of_a_studio_with_its_own_build_folder_writes_the_outputs_beside_it(tmp_path, cli):
    """A studio's textures in a folder named ``build`` (a game's build tree): the spec's build folder is another
    (``remaster_build``), where init asked for a bug report, having written ``build_dir: build``, which the spec's
    loader refuses as it holds a source; a second init after a build writes the same spec."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("build/aqf001.png", "walls/aqf002.png"):
        write_image(studio / path, photo)
    code, output = cli(studio, "init")
    assert code == 0 and "  build: 1 colour texture in build" in output, output
    text = (studio / "assets_spec.yaml").read_text()
    assert "\nbuild_dir: remaster_build        # outputs, relative to this file\n" in text, text
    code, output = cli(studio, "build", "--device", "cpu", "build_2x")
    assert code == 0 and (studio / "remaster_build" / "build_2x" / "aqf001.png").is_file(), output
    assert sorted(path.name for path in (studio / "build").iterdir()) == ["aqf001.png"]
    code, output = cli(studio, "init", "--force")
    assert code == 0 and (studio / "assets_spec.yaml").read_text() == text, output


def test_init_beside_a_file_named_build_writes_the_outputs_to_another_folder(tmp_path, cli):
    """A studio's build script named ``build`` beside its texture folders: the spec's build folder is another
    (``remaster_build``), where init wrote ``build_dir: build``, which the spec's loader refuses as a file, and
    asked for a bug report, writing nothing."""
    studio = tmp_path / "studio"
    write_image(studio / "walls" / "aqf001.png", read_image(FLATS / "aqf001.png"))
    (studio / "build").write_text("#!/bin/sh\n")
    code, output = cli(studio, "init")
    assert code == 0 and "  walls: 1 colour texture in walls" in output, output
    assert "\nbuild_dir: remaster_build        # outputs, relative to this file\n" in \
        (studio / "assets_spec.yaml").read_text()
    code, output = cli(studio, "build", "--device", "cpu", "walls_2x")
    assert code == 0 and (studio / "remaster_build" / "walls_2x" / "aqf001.png").is_file(), output


def test_init_after_a_first_build_killed_before_its_manifest_passes_over_its_outputs(tmp_path, cli):
    """A first build killed before it wrote its manifest (SIGKILL, a machine that lost power) leaves outputs in a
    build folder holding its spec's record alone: init --force passes over it, where it took the outputs for the
    studio's textures (a source ``build``) and moved the build folder to ``remaster_build``."""
    studio = tmp_path / "studio"
    write_image(studio / "walls" / "aqf001.png", read_image(FLATS / "aqf001.png"))
    assert cli(studio, "init")[0] == 0
    text = (studio / "assets_spec.yaml").read_text()
    assert cli(studio, "build", "--device", "cpu", "walls_2x")[0] == 0
    (studio / "build" / "manifest.json").unlink()
    code, output = cli(studio, "init", "--force")
    assert code == 0 and "warning" not in output and (studio / "assets_spec.yaml").read_text() == text, output


def test_init_of_a_folder_with_a_long_name_writes_names_that_fit_a_folder(tmp_path, cli):
    """A folder named with 240 characters (a tool's export): its sources are named with its first 64, where init
    named them with all, their assets' names (``<name>_normals_dds``) were longer than a folder name may be, and
    the spec's loader refused them (nothing written, 'please report this')."""
    photo, long = read_image(FLATS / "aqf001.png"), "Wall Textures " * 17 + "v2"
    studio = tmp_path / "studio"
    for path in ("aqf001.png", "aqf002_n.png", "oak/flash.png", "oak/guide.png"):
        write_image(studio / long / path, photo)
    code, output = cli(studio, "init")
    name = ("wall_textures_" * 5)[:64]
    assert code == 0 and f"  {name}_normals: 1 normal map in {long}" in output, output
    assert f"  {name}_pairs_material_dds: {{op: export_dds" in (studio / "assets_spec.yaml").read_text()
    code, output = cli(studio, "validate")
    assert code == 0 and "ok (3 sources, 0 models, 6 assets)" in output, output


def test_init_caps_a_source_s_name_as_spelled_not_the_folder_s(tmp_path, cli):
    """A folder of 64 letters each spelled as several (``㎉`` as ``kcal``): the source's name keeps 64 characters of
    its spelling, where init kept the folder's first 64 and spelled them as 256, which the loader refused as a
    folder's name (nothing written, 'please report this')."""
    studio = tmp_path / "studio"
    write_image(studio / ("\u3389" * 64) / "aqf001.png", read_image(FLATS / "aqf001.png"))
    code, output = cli(studio, "init")
    assert code == 0 and f"  {'kcal' * 16}: 1 colour texture in " in output, output
    code, output = cli(studio, "validate")
    assert code == 0 and "ok (1 source, 0 models, 2 assets)" in output, output


def test_init_takes_a_pair_in_a_pair_s_folder_as_that_pair_s_at_any_depth(tmp_path, cli):
    """A pair's folder holding an older shoot of it (``oak/old``), beside a pair two levels down, so the pairs'
    globs reach any depth: ``oak/old`` is ``oak``'s, as whatever lies in a pair's folder is, not a pair of its own,
    as it is where the pairs are one level down."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for pair in ("photos/oak", "photos/oak/old", "photos/2024/elm"):
        for role in ("flash", "guide"):
            write_image(studio / pair / f"{role}.png", photo)
    code, output = cli(studio, "init")
    assert code == 0 and "  photos: 2 photo pairs in photos" in output, output
    assert 'flash: "**/flash.*", guide: "**/guide.*", exclude: ["oak/old/**"]}' in (
        studio / "assets_spec.yaml").read_text()
    code, output = cli(studio, "status", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    assert sorted(item["partition"] for item in stale if item["asset"] == "photos_material") == ["2024/elm", "oak"]


def test_init_takes_a_normal_map_named_with_a_dot_part_after_its_ending_as_a_normal_map(tmp_path, cli):
    """``x_n.old.png``: the colour source's exclude (``*_n.*``, as the README tells normal maps) keeps it out of
    colour, so the normal maps' source takes it, where it was in no source and nothing said so."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("walls/aqf001.png", "walls/x_n.old.png", "walls/old/y_NRM.PNG"):
        write_image(studio / path, photo)
    code, output = cli(studio, "init")
    assert code == 0 and "walls_normals: 2 normal maps in walls" in output and "warning" not in output, output
    code, output = cli(studio, "status", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    assert sorted((item["asset"], item["partition"]) for item in stale if item["asset"].endswith("_2x")) == [
        ("walls_2x", "aqf001.png"), ("walls_normals_2x", "old/y_NRM.PNG"), ("walls_normals_2x", "x_n.old.png")]


def test_init_names_a_source_after_its_folder_without_accents_and_never_twice(tmp_path, cli):
    """Folders named with accents, spaces and dashes: each source's name is its folder's in plain lower-case
    letters (``Wände`` is ``wande``, where it was ``w_nde``), two folders whose names map to one take two names,
    and the line init prints for each, as the spec's root, says which folder it reads."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for folder in ("Wände", "Wande", "Straße", "Props 2", "props-2"):
        write_image(studio / folder / "aqf001.png", photo)
    code, output = cli(studio, "init")
    assert code == 0, output
    for line in ("  wande: 1 colour texture in Wande", "  wande_2: 1 colour texture in Wände",
                 "  strasse: 1 colour texture in Straße", "  props_2: 1 colour texture in Props 2",
                 "  props_2_2: 1 colour texture in props-2"):
        assert line in output, output
    assert '  wande_2: {kind: textures, root: "Wände",' in (studio / "assets_spec.yaml").read_text()
    code, output = cli(studio, "validate")
    assert code == 0 and "ok (5 sources, 0 models, 10 assets)" in output and "warning" not in output, output


def test_init_excludes_a_link_to_nowhere_so_its_source_builds_the_rest(tmp_path, cli):
    """A link to an unmounted share and one to a moved texture among a folder's textures, and one beside the
    folders: each left out, naming it and where it points, and excluded from the source, whose scan took the
    whole source for untrustworthy and built nothing from it (``walls: 0 colour textures``)."""
    studio = tmp_path / "studio"
    write_image(studio / "walls" / "aqf001.png", read_image(FLATS / "aqf001.png"))
    for link, target in (("walls/share[1]", "/no/share"), ("walls/old[1].png", "../moved.png"), ("mnt", "/no/mnt")):
        (studio / link).symlink_to(target)
    code, output = cli(studio, "init")
    assert code == 0 and "  walls: 1 colour texture in walls" in output, output
    assert f"warning left out mnt -> /no/mnt, walls/old[1].png -> ../moved.png, walls/share[1] -> /no/share in " \
           f"{studio}: a link to a folder or file that is not there" in _said(output), output
    assert 'exclude: ["**/*{_n,_normal,_nrm}.*", "old[[]1].png", "share[[]1]"]}' in (studio / "assets_spec.yaml").read_text()
    code, output = cli(studio, "status", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    assert [(item["asset"], item["partition"]) for item in stale if item["asset"].endswith("_2x")] == [
        ("walls_2x", "aqf001.png")], output


def test_init_excludes_a_link_to_nowhere_in_a_top_level_pair_folder_from_the_root_s_pairs(tmp_path, cli):
    """A flat folder's pair folder holding a flash.CR2 linked to a RAW on a drive not mounted: excluded from the
    pairs source rooted at the folder, whose ``*/flash.*`` takes that name, where init left it in (the root's
    sources were taken to reach only what lies directly in it) and the source's scan skipped it whole (``0 photo
    pairs``); the colour source, which takes only the folder's own files, has no exclude of it."""
    studio, photo = tmp_path / "studio", read_image(FLATS / "aqf001.png")
    for path in ("aqf001.png", "oak/flash.png", "oak/guide.png"):
        write_image(studio / path, photo)
    (studio / "oak" / "flash.CR2").symlink_to("/no/raw/IMG_0001.CR2")
    code, output = cli(tmp_path, "init", "studio", "--spec", "project/assets_spec.yaml")
    assert code == 0 and "  studio_pairs: 1 photo pair in studio" in output, output
    text = (tmp_path / "project" / "assets_spec.yaml").read_text()
    assert 'guide: "*/guide.*", exclude: ["oak/flash.CR2"]}' in text, text
    assert 'glob: "*.png", exclude: ["**/*{_n,_normal,_nrm}.*"]}   # colour textures; normal maps left out' in text
    code, output = cli(tmp_path, "status", "--spec", "project/assets_spec.yaml", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    assert {(item["asset"], item["partition"]) for item in stale if item["asset"] == "studio_pairs_material"} == {
        ("studio_pairs_material", "oak")}, output


def test_init_of_a_link_to_nowhere_whose_name_is_not_utf8_writes_the_spec_and_says_so(tmp_path, cli):
    """A link to nowhere named in Latin-1, which no exclude can spell: said, naming it and the fix, where init
    wrote its name into the spec's exclude, which did not load (nothing written, 'please report this')."""
    studio = tmp_path / "studio"
    write_image(studio / "walls" / "aqf001.png", read_image(FLATS / "aqf001.png"))
    Path(os.fsdecode(bytes(studio) + b"/walls/caf\xe9")).symlink_to("/no/share")
    code, output = cli(studio, "init")
    assert code == 0 and (studio / "assets_spec.yaml").is_file(), output
    assert f"warning left out 'walls/caf\ufffd' in {studio}: its name is not UTF-8" in _said(output), output


def test_init_says_it_passes_over_a_folder_another_tool_s_manifest_marks_as_a_build(tmp_path, cli):
    """A studio's exports folder holding its own tool's manifest.json beside textures: passed over as a build
    folder, now saying so, where its textures were in no source, unsaid; remaster's own build folder, whose
    images are its outputs, is passed over without a word."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("walls/aqf001.png", "exports/aqf002.png"):
        write_image(studio / path, photo)
    (studio / "exports" / "manifest.json").write_text('{"exported_by": "a studio tool"}\n')
    code, output = cli(studio, "init")
    assert code == 0 and "  walls: 1 colour texture in walls" in output, output
    assert f"warning passed over exports in {studio}: it holds a manifest.json, which marks a build folder" \
        in _said(output), output
    assert cli(studio, "build", "--device", "cpu", "walls_2x")[0] == 0
    code, output = cli(studio, "init", "--force")
    assert code == 0 and "passed over build " not in _said(output) and "passed over exports " in _said(output), output


def test_init_of_folders_named_with_a_backslash_leaves_out_what_no_root_can_name_and_excludes_the_rest(tmp_path, cli):
    """Folders named with a backslash on Linux (unpacked from a Windows archive): a top-level one, which no
    source's root can name (the spec reads a backslash there as Windows' separator), is left out, naming it and
    the fix; a pair folder below one is excluded from the colour source with the backslash escaped. Init wrote both
    into the spec as they are, which did not load (nothing written, 'please report this')."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("walls/aqf001.png", "old\\walls/aqf002.png", "walls/oak\\2024/flash.png", "walls/oak\\2024/guide.png"):
        write_image(studio / path, photo)
    code, output = cli(studio, "init")
    assert code == 0 and "  walls: 1 colour texture in walls" in output, output
    assert "  walls_pairs: 1 photo pair in walls" in output, output
    assert f"warning left out the files in {studio}/old\\walls: a source's root cannot hold a backslash" \
        in _said(output), output
    assert 'exclude: ["**/*{_n,_normal,_nrm}.*", "oak\\\\\\\\2024/**"]}' in (studio / "assets_spec.yaml").read_text()
    code, output = cli(studio, "status", "--json")
    stale = json.loads(output[output.index("{"):])["stale"]
    built = {(item["asset"], item["partition"]) for item in stale if item["asset"] in ("walls_2x", "walls_pairs_material")}
    assert built == {("walls_2x", "aqf001.png"), ("walls_pairs_material", "oak\\2024")}, output


def test_init_s_hint_to_run_it_again_is_the_command_given_with_its_folder_and_spec(tmp_path, cli):
    """A texture directly in the scanned folder, which holds the spec given with --spec: the hint's command is
    the one run, with its folder and --spec, and, run as printed once the texture is moved, takes it; it said
    ``remaster init --force``, which from there scanned the folder above and wrote the spec into it."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("top.png", "walls/aqf002.png"):
        write_image(studio / path, photo)
    code, output = cli(tmp_path, "init", "studio", "--spec", "studio/specs/assets_spec.yaml")
    command = "remaster init studio --spec studio/specs/assets_spec.yaml --force"
    assert code == 0 and f"(textures, photos) and run {command}" in _said(output), output
    (studio / "tiles").mkdir()
    (studio / "top.png").rename(studio / "tiles" / "top.png")
    code, output = cli(tmp_path, *shlex.split(command)[1:])
    assert code == 0 and "  tiles: 1 colour texture in studio/tiles" in output and "warning" not in output, output
    assert not (tmp_path / "assets_spec.yaml").exists()


def test_init_spells_latin_letters_without_an_accent_to_drop_in_ascii_and_names_other_scripts_apart(tmp_path, cli):
    """Folders named with Latin letters that hold no accent (``Łódź``, ``Œuvre``, ``Ærø``, ``Øst``, ``Þing``,
    ``Đakovo``): each source's name reads like its folder, where those letters were dropped (``odz``, ``uvre``,
    ``r``, ``st``); folders named in Cyrillic and Chinese, which hold no Latin letter, take names of their own,
    which the spec's loader takes."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for folder in ("Łódź", "Œuvre", "Ærø", "Øst", "Þing", "Đakovo", "Стены", "墙"):
        write_image(studio / folder / "aqf001.png", photo)
    code, output = cli(studio, "init")
    assert code == 0, output
    for line in ("  lodz: 1 colour texture in Łódź", "  oeuvre: 1 colour texture in Œuvre",
                 "  aero: 1 colour texture in Ærø", "  ost: 1 colour texture in Øst",
                 "  thing: 1 colour texture in Þing", "  dakovo: 1 colour texture in Đakovo",
                 "  textures: 1 colour texture in Стены", "  textures_2: 1 colour texture in 墙"):
        assert line in output, output
    code, output = cli(studio, "validate")
    assert code == 0 and "ok (8 sources, 0 models, 16 assets)" in output and "warning" not in output, output


def test_init_writes_a_line_break_in_a_folder_s_name_as_an_escape_and_its_commands_as_one_line(tmp_path, cli):
    """A folder named with a line break (and the spec's with an escape character): each line init prints names
    it with ``\\n`` (and ``\\x1b``), as the CLI shows other control characters, where the break split the line in
    two; the commands it gives quote it as ``$'...'``, one line that a shell reads back as the folder's name."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "new\nstudio"
    for path in ("top.png", "walls\nold/aqf002.png"):
        write_image(studio / path, photo)
    code, output = cli(tmp_path, "init", "new\nstudio", "--spec", "new\nstudio/sp\x1bec/assets_spec.yaml")
    assert code == 0, output
    lines = output.splitlines()
    assert "wrote new\\nstudio/sp\\x1bec/assets_spec.yaml: 1 source, 2 assets" in lines, output
    assert "  walls_old: 1 colour texture in new\\nstudio/walls\\nold" in lines, output
    assert any(line.startswith("next: remaster validate --spec $'new\\nstudio/sp\\x1bec/assets_spec.yaml', ")
               for line in lines), output
    again = "run remaster init $'new\\nstudio' --spec $'new\\nstudio/sp\\x1bec/assets_spec.yaml' --force"
    assert f"warning left out top.png in {tmp_path}/new\\nstudio: " in output and again in output, output
    word = again.split()[3]
    said = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, text=True, check=True).stdout
    assert said == "new\nstudio", said


def test_init_writes_the_roots_of_two_folders_whose_names_print_alike_apart_and_says_so(tmp_path, cli):
    """Two folders named ``Café``, one with its é one letter (NFC), one with an e and an accent mark (NFD, as
    macOS wrote names), and two ``walls``, one with a zero-width space: two sources each, whose roots the spec writes with the accents as code points, where both read
    ``root: "Café"``, and init says why, with the fix; each source builds its own folder's texture."""
    studio = tmp_path / "studio"
    for folder, name in (("Caf\u00e9", "aqf001.png"), ("Cafe\u0301", "aqf002.png"), ("walls", "aqf001.png"),
                         ("wal\u200bls", "aqf001.png")):
        write_image(studio / folder / name, read_image(FLATS / name))
    code, output = cli(studio, "init")
    assert code == 0, output
    text = (studio / "assets_spec.yaml").read_text()
    assert '  walls_2: {kind: textures, root: "wal\\u200bls", ' in text, text
    assert '  cafe: {kind: textures, root: "Cafe\\u0301", ' in text and '  cafe_2: {kind: textures, root: ' \
        '"Caf\\u00e9", ' in text, text
    assert f'in {studio} are 2 folders whose names look alike but are spelled apart ("Cafe\\u0301", "Caf\\u00e9": ' \
           "an accent as part of its letter or as a mark after it" in _said(output), output
    assert f'walls, wal\\u200bls in {studio} are 2 folders whose names look alike but are spelled apart ("walls", ' \
           '"wal\\u200bls": ' in _said(output), output
    assert "move them into one folder and run remaster init --force" in _said(output), output
    code, output = cli(studio, "build", "--device", "cpu", "cafe_2x", "cafe_2_2x")
    assert code == 0 and _partitions(studio) == {"cafe_2x": ["aqf002.png"], "cafe_2_2x": ["aqf001.png"]}, output


def test_init_s_commands_name_a_folder_whose_name_starts_with_a_dash_as_a_path(tmp_path, cli):
    """A folder named ``-old`` (given as ``remaster init -- -old``): the command its hint gives names it
    ``./-old``, which, run as printed once the texture is moved, writes the spec; ``remaster init -old --force``
    stopped on ``No such option``."""
    studio = tmp_path / "-old"
    write_image(studio / "aqf001.png", read_image(FLATS / "aqf001.png"))
    code, output = cli(tmp_path, "init", "--", "-old")
    command = "remaster init ./-old --force"
    assert code == 1 and f"(textures, photos) and run {command}" in _said(output), output
    assert f"in a folder of its own: remaster init ./-old --spec {tmp_path}/-old-remaster/" in _said(output), output
    (studio / "tiles").mkdir()
    (studio / "aqf001.png").rename(studio / "tiles" / "aqf001.png")
    code, output = cli(tmp_path, *shlex.split(command)[1:])
    assert code == 0 and "  tiles: 1 colour texture in -old/tiles" in output, output


def test_init_and_validate_say_which_files_are_empty_which_each_build_fails(tmp_path, cli):
    """A texture and a pair's guide photo saved as 0 bytes (an export that stopped at its start): init names each,
    where it counted them among the source's textures unsaid and the first build failed them. validate names them
    too: one saved empty after init was said by no command before the build that failed it."""
    photo = read_image(FLATS / "aqf001.png")
    studio = tmp_path / "studio"
    for path in ("walls/aqf001.png", "photos/oak/flash.png", "photos/elm/flash.png", "photos/elm/guide.png"):
        write_image(studio / path, photo)
    (studio / "walls" / "new.png").write_bytes(b"")
    (studio / "photos" / "oak" / "guide.png").write_bytes(b"")
    code, output = cli(studio, "init")
    assert code == 0 and "  walls: 2 colour textures in walls" in output, output
    for command in ("init --force", "validate"):
        code, output = cli(studio, *command.split())
        for source, line, name in (("walls", 8, "new.png"), ("photos", 7, "oak/guide.png")):
            assert code == 0 and f"warning {studio}/assets_spec.yaml:{line}: source '{source}': {name} is empty (0 " \
                "bytes: an export or a copy that stopped at its start), which each build fails; re-export or copy it " \
                "again, or delete it" in _said(output), (command, output)
    code, output = cli(studio, "build", "--device", "cpu", "walls_2x")
    assert code == 1 and "walls_2x [new.png]: " in _said(output) and "is empty (0 bytes)" in _said(output), output
