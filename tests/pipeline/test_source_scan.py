"""How a build finds its sources' files: globs, roots, excludes, letter case, links and photo-pair folders;
a file or folder the scan cannot take is said, and the outputs it would lose are kept."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from PIL import Image as PILImage

from helpers import REPO, UPSCALE_SPEC, manifest_rows, outputs, source_called, statuses, write_spec, write_textures
from ops.image_io import Image, read_image, write_image
from pipeline.definitions import build_definitions
from pipeline.resources import RemasterResource
from pipeline.sources import MissingPairError, pair_inputs, scan_source
from pipeline.spec import load_spec
from pipeline.words import spelled


def test_a_selected_build_does_not_fail_on_another_asset_s_empty_source(project, cli):
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text() + "  other_2x: {op: upscale, from: other}\n")
    legacy = '  legacy: {kind: textures, root: textures, glob: "**/*.png"}\n'
    spec.write_text(spec.read_text().replace(legacy, legacy + "  other: {kind: textures, root: not_yet}\n"))
    assert cli(project, "build", "legacy_2x")[0] == 0
    code, output = cli(project, "build")
    assert code == 1 and f"not built {source_called(project, 'other')}" in output


def test_textures_whose_outputs_would_collide_are_skipped_with_a_warning(project, caplog):
    (project / "textures" / "floors" / "tex000.tga").write_bytes(b"x")
    source = load_spec(project / "assets_spec.yaml").sources["legacy"]
    wider = dataclasses.replace(source, patterns={"image": "**/*"})
    assert "floors/tex000.tga" not in scan_source(wider)
    assert "floors/tex000.tga: its outputs would overwrite those of floors/tex000.png" in caplog.text
    (project / "textures" / "floors" / "TEX001.png").write_bytes(b"x")  # beside walls/tex001.png: no clash
    (project / "textures" / "Floors").mkdir()
    (project / "textures" / "Floors" / "tex000.png").write_bytes(b"x")  # first by name, so it is kept here
    built = {"floors/tex000.png"}
    assert set(scan_source(source, built=built)) == {"floors/tex000.png", "walls/tex001.png", "floors/tex002.png",
                                                     "walls/tex003.png", "floors/tex004.png", "floors/TEX001.png"}
    assert ("skipping Floors/tex000.png: its outputs would overwrite those of floors/tex000.png where case (Windows, "
            "macOS) or the encoding of an accent (macOS) does not tell names apart; rename one") in caplog.text
    skipped: list[str] = []  # both built before the rule (on Linux, where they are two files): neither loses its outputs
    assert {"floors/tex000.png", "Floors/tex000.png"} <= set(scan_source(source, skipped, built | {"Floors/tex000.png"}))
    assert skipped == [] and "Floors/tex000.png and floors/tex000.png differ only in case (one file" in caplog.text
    for name in ("caf\u00e9.png", "cafe\u0301.png"):  # é as one character, and as e with a combining accent
        shutil.copy(project / "textures" / "walls" / "tex001.png", project / "textures" / "walls" / name)
    (project / "textures" / "walls" / "n\x1bl.png").write_bytes(b"x")  # an escape code, printed raw into logs
    skipped = []
    keys = scan_source(source, skipped, built)
    assert ("walls/caf\u00e9.png" in keys) != ("walls/cafe\u0301.png" in keys)  # one file on macOS
    assert "names with '...' or control characters cannot be partitions" in " ".join(skipped)
    assert not any("\x1b" in key for key in keys)


def test_excluded_files_are_not_built_come_back_when_the_exclude_goes_and_go_when_it_returns(project, cli):
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace('glob: "**/*.png"', 'glob: "**/*.png", exclude: ["walls/**", "**/TEX004.png"]'))
    assert cli(project, "build")[0] == 0
    assert statuses(project) == {"floors/tex000.png": "computed", "floors/tex002.png": "computed"}
    spec.write_text(spec.read_text().replace(', exclude: ["walls/**", "**/TEX004.png"]', ""))
    assert cli(project, "build")[0] == 0
    assert sorted(statuses(project).values()) == ["cached"] * 2 + ["computed"] * 3
    spec.write_text(spec.read_text().replace('glob: "**/*.png"', 'glob: "**/*.png", exclude: walls'))  # a folder
    table = re.sub(r"[\s│]+", " ", cli(project, "status")[1])  # the reason column, folded over lines
    assert "walls/tex001.png its source file is gone, or the source's glob or exclude leaves it out: its outputs" in table
    code, output = cli(project, "build")
    assert code == 0 and "removed the outputs of" in output
    assert sorted(statuses(project)) == ["floors/tex000.png", "floors/tex002.png", "floors/tex004.png"]
    assert not (project / "build" / "legacy_2x" / "walls").exists()


def test_an_exclude_leaves_out_a_folder_only_where_it_names_one(project):
    walls = project / "textures" / "walls"
    for folder in ("sub", "x.png"):
        (walls / folder).mkdir()
        shutil.copy(walls / "tex001.png", walls / folder / "deep.png")
    source = load_spec(project / "assets_spec.yaml").sources["legacy"]
    left = {exclude: sorted(scan_source(dataclasses.replace(source, exclude=(exclude,))))
            for exclude in ("walls/*", "*.png", "walls", "**/sub", "*/.")}
    assert left == {
        "walls/*": ["floors/tex000.png", "floors/tex002.png", "floors/tex004.png", "walls/sub/deep.png",
                    "walls/x.png/deep.png"],  # the files in walls; its folders' files are not named
        "*.png": sorted(scan_source(source)),  # files at the root only: there are none
        "walls": ["floors/tex000.png", "floors/tex002.png", "floors/tex004.png"],
        "**/sub": sorted(set(scan_source(source)) - {"walls/sub/deep.png"}),
        "*/.": sorted(scan_source(source)),  # as "*": names no folder
    }


def test_excluded_photos_leave_their_pair_out_or_incomplete(tmp_path):
    _photo_pairs_project(tmp_path, dict.fromkeys(("oak", "wip_elm", "pine"), ("flash", "guide")))
    source = load_spec(tmp_path / "assets_spec.yaml").sources["scans"]
    assert list(scan_source(dataclasses.replace(source, exclude=("wip_*/**",)))) == ["oak", "pine"]
    without = dataclasses.replace(source, exclude=("pine/flash.png",))
    with pytest.raises(MissingPairError, match=r"missing the flash \(\*/flash\.\*\) photo of this pair; add it or "
                                               r"remove the folder; exclude leaves out flash.png$"):
        pair_inputs(without, "pine", scan_source(without)["pine"])
    (tmp_path / "photos" / "oak" / "guide.png").unlink()  # missing, not excluded: exclude is not blamed
    with pytest.raises(MissingPairError, match=r"photo of this pair; add it or remove the folder$"):
        pair_inputs(without, "oak", scan_source(without)["oak"])
    scanned = scan_source(without)["pine"]
    shutil.rmtree(tmp_path / "photos" / "pine")  # gone since the scan
    with pytest.raises(MissingPairError, match=r"photo of this pair; add it or remove the folder$"):
        pair_inputs(without, "pine", scanned)
    folder_out = dataclasses.replace(source, exclude=("wip_elm",))  # a folder named: all of it, as in .gitignore
    assert scan_source(folder_out) == {}  # no pair left has a guide photo: as likely a typo in its glob, so kept
    write_image(tmp_path / "photos" / "oak" / "guide.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    assert list(scan_source(folder_out)) == ["oak"]


def test_escaped_braces_match_themselves_and_braces_give_ranges(project):
    floors = project / "textures" / "floors"
    for name in ("{old,new}.png", "{old}.png", "old.png", "v2.png"):
        (floors / name).write_bytes(b"x")
    source = load_spec(project / "assets_spec.yaml").sources["legacy"]
    found = {glob: sorted(scan_source(dataclasses.replace(source, patterns={"image": glob})))
             for glob in (r"floors/\{old,new\}.png", "floors/{old}.png", "floors/{old,new}.png", "floors/v{1..3}.png")}
    assert found == {r"floors/\{old,new\}.png": ["floors/{old,new}.png"], "floors/{old}.png": ["floors/{old}.png"],
                     "floors/{old,new}.png": ["floors/old.png"], "floors/v{1..3}.png": ["floors/v2.png"]}


def test_sources_match_any_letter_case_follow_symlinks_and_name_undecodable_files(project, caplog):
    textures = project / "textures"
    (textures / "floors" / "tex000.png").rename(textures / "floors" / "TEX000.PNG")
    shared = project / "library" / "metal"
    shared.mkdir(parents=True)
    shutil.copy(textures / "walls" / "tex001.png", shared / "plate.png")
    (textures / "metal").symlink_to(shared, target_is_directory=True)
    shutil.copy(textures / "walls" / "tex001.png", textures / os.fsdecode(b"caf\xe9.png"))  # a Latin-1 name
    for folder in ("floors", "walls"):  # links back up: loops, not followed
        (textures / folder / "up").symlink_to("..", target_is_directory=True)
    (textures / "walls" / "aliased").symlink_to("../floors", target_is_directory=True)  # a folder seen twice
    source = load_spec(project / "assets_spec.yaml").sources["legacy"]
    keys = scan_source(source)
    assert "floors/TEX000.PNG" in keys and "metal/plate.png" in keys and "walls/aliased/TEX000.PNG" in keys
    assert len(keys) == 9 and not any("/up/" in key for key in keys)
    by_pattern = {pattern: sorted(scan_source(dataclasses.replace(source, patterns={"image": pattern})))
                  for pattern in ("*.png", "./floors//*.png", "[f]*/tex00[0-2].png", "[!fm]*/*.png", "**/tex00[!]0].*",
                                  "{floors,walls}/tex00{0,1}.{png,tga}", "{,floors/}tex00[01].png")}
    assert by_pattern == {
        "*.png": [],
        "./floors//*.png": ["floors/TEX000.PNG", "floors/tex002.png", "floors/tex004.png"],
        "[f]*/tex00[0-2].png": ["floors/TEX000.PNG", "floors/tex002.png"],
        "[!fm]*/*.png": ["walls/tex001.png", "walls/tex003.png"],
        "**/tex00[!]0].*": ["floors/tex002.png", "floors/tex004.png", "walls/aliased/tex002.png",
                            "walls/aliased/tex004.png", "walls/tex001.png", "walls/tex003.png"],
        "{floors,walls}/tex00{0,1}.{png,tga}": ["floors/TEX000.PNG", "walls/tex001.png"],
        "{,floors/}tex00[01].png": ["floors/TEX000.PNG"],
    }
    assert not any("caf" in key for key in keys)
    assert "skipping 'caf\ufffd.png': its name is not UTF-8" in caplog.text


def test_globs_and_excludes_match_a_name_whatever_the_encoding_of_its_accents(project, cli):
    """A folder named on a Mac (``Bäume`` as a + a combining diaeresis, as macOS writes names and a Perforce or SMB
    copy keeps them) against a spec typed with the one character: the exclude left it in, and was built from it."""
    decomposed = unicodedata.normalize("NFD", "Bäume")
    (project / "textures" / "walls").rename(project / "textures" / decomposed)
    write_spec(project, UPSCALE_SPEC.replace('glob: "**/*.png"}', 'glob: "**/*.png", exclude: [Bäume]}'))
    assert cli(project, "build")[0] == 0
    assert sorted(statuses(project)) == ["floors/tex000.png", "floors/tex002.png", "floors/tex004.png"]
    write_spec(project, UPSCALE_SPEC.replace('glob: "**/*.png"', 'glob: "Bäume/*.png"'))
    code, output = cli(project, "build")
    assert code == 0 and sorted(statuses(project)) == [f"{decomposed}/tex001.png", f"{decomposed}/tex003.png"], output


@pytest.mark.parametrize("link, glob, exclude, blocks", [
    ("brick.png", "**/*.png", "wip", True),  # a linked texture
    ("shared", "**/*.png", "wip", True),  # a linked folder
    ("notes.txt", "**/*.png", "wip", False),  # named as a file, not a texture
    ("old", "walls/*.png", "wip", False),  # a folder the glob does not reach
    ("walls/shared", "walls/*.png", "wip", False),
    ("walls/shared", "walls/**/*.png", "wip", True),
    ("wip", "**/*.png", "wip", False),  # a folder exclude leaves out
    ("floors/shared", "**/*.png", "floors/*", True),  # floors/* leaves out the files in floors, not a folder's
])
def test_which_links_to_nowhere_stop_a_source(project, link, glob, exclude, blocks):
    (project / "textures" / link).symlink_to(project / "gone")
    source = dataclasses.replace(load_spec(project / "assets_spec.yaml").sources["legacy"],
                                 patterns={"image": glob}, exclude=(exclude,))
    skipped: list[str] = []
    keys = scan_source(source, skipped)
    assert (keys == {}) is blocks and any("a link in" in message for message in skipped) is blocks


def test_a_link_to_nowhere_named_in_another_encoding_is_said_in_text_a_log_can_write(project):
    """The message held the name's bytes as Python keeps them (surrogates), which no UTF-8 log, terminal or Dagster
    storage can write: pytest-xdist's worker died sending the test's log, and so could a build's log handler."""
    (project / "textures" / os.fsdecode(b"caf\xe9")).symlink_to(project / "gone")
    skipped: list[str] = []
    assert scan_source(load_spec(project / "assets_spec.yaml").sources["legacy"], skipped) == {}
    assert len(skipped) == 1 and ": caf\ufffd -> " in skipped[0].encode("utf-8").decode("utf-8"), skipped


def test_a_link_whose_folder_a_teammate_renamed_says_to_point_it_at_the_new_place(project, cli):
    """It said only "an unmounted share?; mount it, or delete the link", where the folder was renamed."""
    shared = project / "Geteilte Texturen"
    write_textures(shared, 1, seed=3)
    (project / "textures" / "linked").symlink_to("../Geteilte Texturen", target_is_directory=True)
    assert cli(project, "build")[0] == 0
    shared.rename(project / "Texturen")
    code, output = cli(project, "build")
    said = " ".join(output.split())
    assert code == 1 and ("linked -> ../Geteilte Texturen: a link in " + str(project / "textures") + " to a folder or "
                          "file that is not there (an unmounted share, or a folder renamed or moved?; mount it, point "
                          "the link at where the folder is now, or delete the link)") in said, output


def test_a_build_that_skipped_a_file_does_not_pass(project, cli):
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace('glob: "**/*.png"', 'glob: "**/*.*"'))
    (project / "textures" / "floors" / "tex000.tga").write_bytes((project / "textures" / "floors" / "tex000.png").read_bytes())
    code, output = cli(project, "build")
    assert code == 1
    assert (f"not built {source_called(project, 'legacy')}: skipping floors/tex000.tga: its outputs would overwrite"
            in output.replace("\n", " "))
    assert sorted(statuses(project).values()) == ["computed"] * 5


def test_a_file_added_beside_a_built_one_does_not_take_over_its_outputs(project, cli):
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace('glob: "**/*.png"', 'glob: "**/*.*"'))
    floors = project / "textures" / "floors"
    (floors / "tex000.png").rename(floors / "tex000.tga")  # the studio's file, built first
    assert cli(project, "build")[0] == 0
    built = (project / "build" / "legacy_2x" / "floors" / "tex000.png").read_bytes()
    write_textures(project / "textures", 1, seed=3)  # a floors/tex000.png appears beside it
    code, output = cli(project, "build")
    assert code == 1
    assert "skipping floors/tex000.png: its outputs would overwrite those of floors/tex000.tga" in output.replace("\n", " ")
    assert (project / "build" / "legacy_2x" / "floors" / "tex000.png").read_bytes() == built  # was the newcomer's
    assert "floors/tex000.tga" in statuses(project) and "floors/tex000.png" not in statuses(project)
    code, output = cli(project, "status")
    assert "removed" not in output  # was: floors/tex000.tga "source file removed: its outputs will be deleted"


def _photo_pairs_project(folder: Path, photos: dict[str, tuple[str, ...]]) -> None:
    """Grey photos under ``folder/photos/<name>/<role>.png`` and a two_shot material asset over them."""
    for name, roles in photos.items():
        for role in roles:
            write_image(folder / "photos" / name / f"{role}.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    write_spec(folder, """
        build_dir: build
        sources:
          scans: {kind: photo_pairs, root: photos, flash: "*/flash.*", guide: "*/guide.*"}
        assets:
          scanned: {op: material, from: scans, method: two_shot, iterations: 5}
        """)


def test_a_pair_glob_that_matches_no_photo_in_any_folder_is_named_and_the_pairs_outputs_kept(tmp_path, cli):
    """Validate said ok; each build then failed every pair, telling the artist to add the flash photo that was
    there, and deleted every pair's outputs, as a texture glob that matches nothing does not."""
    _photo_pairs_project(tmp_path, dict.fromkeys(("oak", "elm"), ("flash", "guide")))
    spec = tmp_path / "assets_spec.yaml"
    assert cli(tmp_path, "build")[0] == 0
    built = sorted(path.relative_to(tmp_path) for path in (tmp_path / "build").rglob("*.png"))
    assert built
    spec.write_text(spec.read_text().replace('flash: "*/flash.*"', 'flash: "*/flsh.*"'))
    said = (f"{source_called(tmp_path, 'scans')}: its flash glob */flsh.* matches no photo in any of its 2 pair "
            "folders; nothing is built from it, its outputs are kept (fix the flash glob if it is misspelt, or add "
            "the pair folders' flash photos)")
    for command in ("validate", "build"):
        code, output = cli(tmp_path, command)
        assert said in output.replace("\n", " "), output
        assert code == (0 if command == "validate" else 1)
    assert sorted(path.relative_to(tmp_path) for path in (tmp_path / "build").rglob("*.png")) == built
    (tmp_path / "photos" / "elm" / "flash.png").unlink()  # one pair short of a photo is that pair's own failure
    spec.write_text(spec.read_text().replace('flash: "*/flsh.*"', 'flash: "*/flash.*"'))
    code, output = cli(tmp_path, "validate")
    assert code == 0 and "matches no photo" not in output, output


def test_a_lone_pair_folder_without_its_guide_photo_is_told_to_add_it(tmp_path, cli):
    """One pair folder, its guide photo not shot yet: the glob is right, and the artist was told only to fix it."""
    _photo_pairs_project(tmp_path, {"oak": ("flash",)})
    code, output = cli(tmp_path, "validate")
    assert code == 0 and (f"matches no photo in its pair folder oak; nothing is built from it, its outputs are kept "
                          f"(fix the guide glob if it is misspelt, or add the guide photo to {tmp_path / 'photos' / 'oak'})"
                          ) in output.replace("\n", " "), output


def test_validate_names_the_pair_folders_short_of_a_photo_that_each_build_fails(tmp_path, cli):
    """A new pair folder whose guide photo is not shot yet, beside complete ones: validate said ok and nothing
    else, and each build then failed the pair."""
    _photo_pairs_project(tmp_path, {"oak": ("flash", "guide"), "elm": ("flash",), "ash": ("guide",)})
    code, output = cli(tmp_path, "validate")
    assert code == 0 and (f"{source_called(tmp_path, 'scans')}: {tmp_path / 'photos' / 'ash'}: missing the flash "
                          "(*/flash.*) photo of this pair; add it or remove the folder; each build fails it (and 1 "
                          "more pair folder: elm)") in " ".join(output.split()), output


def test_pair_folders_with_dots_keep_their_whole_name(tmp_path):
    folders = ("2024.05.01_oak", "2024.05.03_pine", "oak.v1", "oak.v2")
    _photo_pairs_project(tmp_path, dict.fromkeys(folders, ("flash", "guide")))
    spec = load_spec(tmp_path / "assets_spec.yaml")
    builder = RemasterResource().builder(spec)
    assert list(builder.partitions("scans")) == sorted(folders)
    albedo = builder.outputs_of(spec.assets["scanned"], "2024.05.01_oak")["albedo.png"]
    assert albedo == tmp_path / "build" / "scanned" / "2024.05.01_oak" / "albedo.png"


def test_a_raw_file_or_backup_beside_a_pair_s_photo_is_not_taken_for_it(tmp_path, caplog):
    """``flash.*`` matches a camera's RAW file and an editor's backup too, and they sort before ``flash.png``:
    the pair read the backup, so edits to the photo were never built."""
    _photo_pairs_project(tmp_path, {"oak": ("flash", "guide"), "elm": ("flash", "guide")})
    oak = tmp_path / "photos" / "oak"
    for name in ("flash.CR2", "flash.bak", "flash.dng"):
        (oak / name).write_bytes((oak / "flash.png").read_bytes())
    shutil.copy(oak / "guide.png", oak / "guide.jpeg")  # two images remaster reads: the lossless one
    shutil.copy(oak / "flash.png", oak / "flash.PNG")  # two of one format: the first by name, with a warning
    elm = tmp_path / "photos" / "elm"
    (elm / "flash.png").rename(elm / "flash.jpg")
    shutil.copy(elm / "flash.jpg", elm / "flash.gif")  # 256 colours: a preview beside the camera's JPEG
    builder = RemasterResource().builder(load_spec(tmp_path / "assets_spec.yaml"))
    assert builder.partitions("scans")["oak"] == {"flash": oak / "flash.PNG", "guide": oak / "guide.png"}  # was .jpeg
    assert builder.partitions("scans")["elm"]["flash"] == elm / "flash.jpg"
    assert "several guide photos" not in caplog.text and "pair oak: several flash photos match, using flash.PNG" in caplog.text


def test_a_photo_both_pair_globs_take_fails_its_pair_rather_than_fitting_the_flash_to_itself(tmp_path, cli):
    """A phone names both photos IMG_*: globs that overlap took IMG_0001.jpg as flash and as guide, and built
    maps from the flash photo twice, with only a warning that several photos matched."""
    _photo_pairs_project(tmp_path, {"oak": ("IMG_0001", "IMG_0002")})
    spec = (tmp_path / "assets_spec.yaml").read_text()
    write_spec(tmp_path, spec.replace('flash: "*/flash.*", guide: "*/guide.*"', 'flash: "*/IMG_*.png", guide: "*/IMG_*"'))
    code, output = cli(tmp_path, "build")
    [row] = manifest_rows(tmp_path)
    assert code == 1 and row["status"] == "failed" and not row["outputs"], output
    assert row["error"] == (
        f"{tmp_path}/photos/oak/IMG_0001.png: taken as both the flash and the guide photo of this pair, since the "
        "flash glob (*/IMG_*.png) and the guide glob (*/IMG_*) both match it; make them tell the photos apart (name "
        "them flash.jpg and guide.jpg, which the globs */flash.* and */guide.* take)")


def test_a_guide_photo_that_is_a_link_to_the_flash_photo_fails_its_pair(tmp_path, cli):
    """guide.png a link to flash.png: the globs take two names, which the check of one photo taken by both passed,
    and the pair built maps from the flash photo twice."""
    _photo_pairs_project(tmp_path, {"oak": ("flash",)})
    (tmp_path / "photos" / "oak" / "guide.png").symlink_to("flash.png")
    code, output = cli(tmp_path, "build")
    [row] = manifest_rows(tmp_path)
    assert code == 1 and row["status"] == "failed" and not row["outputs"], output
    assert row["error"] == (
        f"{tmp_path}/photos/oak/guide.png: the same file as the flash photo {tmp_path}/photos/oak/flash.png (a link "
        "to it); a pair needs two photos, the flash one and the guide one taken without flash: put the guide photo "
        "there")


def test_validate_warns_ahead_of_pairs_whose_globs_take_one_photo_for_both(tmp_path, cli):
    """Globs that overlap (a phone names both photos IMG_*) failed every pair at build, each with the fix, while
    validate said ok: warned ahead, once for the source, with the build's own words and the other folders counted."""
    _photo_pairs_project(tmp_path, {"oak": ("IMG_0001", "IMG_0002"), "elm": ("IMG_0003", "IMG_0004"),
                                    "ash": ("IMG_0005", "IMG_0006")})
    spec = (tmp_path / "assets_spec.yaml").read_text()
    write_spec(tmp_path, spec.replace('flash: "*/flash.*", guide: "*/guide.*"', 'flash: "*/IMG_*.png", guide: "*/IMG_*"'))
    code, output = cli(tmp_path, "validate")
    said = " ".join(output.split())
    assert code == 0 and said.count("taken as both") == 1, output
    assert (f"warning {source_called(tmp_path, 'scans')}: pair ash: {tmp_path}/photos/ash/IMG_0005.png: taken as both "
            "the flash and the guide photo of this pair, since the flash glob (*/IMG_*.png) and the guide glob "
            "(*/IMG_*) both match it; make them tell the photos apart (name them flash.jpg and guide.jpg, which the "
            "globs */flash.* and */guide.* take); each build fails it (and 2 more pair folders: elm, oak)") in said, said


def test_validate_names_an_empty_photo_both_globs_take_once(tmp_path, cli):
    """An empty photo that the flash and guide globs both take was named twice: "oak/IMG_0001.png,
    oak/IMG_0001.png are empty"."""
    _photo_pairs_project(tmp_path, {"oak": ("IMG_0001",), "elm": ("IMG_0003", "IMG_0004")})
    (tmp_path / "photos" / "oak" / "IMG_0001.png").write_bytes(b"")
    spec = (tmp_path / "assets_spec.yaml").read_text()
    write_spec(tmp_path, spec.replace('flash: "*/flash.*", guide: "*/guide.*"', 'flash: "*/IMG_*.png", guide: "*/IMG_*"'))
    code, output = cli(tmp_path, "validate")
    assert code == 0 and (f"warning {source_called(tmp_path, 'scans')}: oak/IMG_0001.png is empty (0 bytes: an export "
                          "or a copy that stopped at its start), which each build fails; re-export or copy it again, "
                          "or delete it") in " ".join(output.split()), output


def test_validate_warns_ahead_of_a_guide_photo_that_is_a_link_to_the_flash_photo(tmp_path, cli):
    _photo_pairs_project(tmp_path, {"oak": ("flash",), "elm": ("flash", "guide")})
    (tmp_path / "photos" / "oak" / "guide.png").symlink_to("flash.png")
    code, output = cli(tmp_path, "validate")
    said = " ".join(output.split())
    assert code == 0 and said.count("the same file as the flash photo") == 1, output
    assert (f"warning {source_called(tmp_path, 'scans')}: pair oak: {tmp_path}/photos/oak/guide.png: the same file as "
            f"the flash photo {tmp_path}/photos/oak/flash.png (a link to it); a pair needs two photos, the flash one "
            "and the guide one taken without flash: put the guide photo there; each build fails it") in said, said
    assert "(and " not in said, said


def test_validate_of_a_default_glob_that_takes_none_of_the_images_says_so_once_with_the_glob_that_does(project, cli):
    """A new project of JPEGs alone: validate said "no file ... matching **/*.png" and, on the next line, that the
    glob takes PNG files alone, the one thing twice."""
    write_spec(project, UPSCALE_SPEC.replace(', glob: "**/*.png"', ""))
    for path in sorted((project / "textures").rglob("*.png")):
        PILImage.open(path).convert("RGB").save(path.with_suffix(".jpg"), "JPEG")
        path.unlink()
    code, output = cli(project, "validate")
    said = " ".join(output.split())
    assert code == 0 and said.count(f"{source_called(project, 'legacy')}:") == 1, output
    assert 'will not be built (floors/tex000.jpg, floors/tex002.jpg, floors/tex004.jpg and 2 more); to build them, give it ' \
           'glob: "**/*.{png,jpg}"' in said, said


def test_a_pair_missing_its_guide_photo_fails_by_its_folder_and_the_others_build(tmp_path, cli):
    _photo_pairs_project(tmp_path, {"oak": ("flash", "guide"), "elm": ("flash",)})
    code, output = cli(tmp_path, "build")
    rows = {r["partition"]: r for r in manifest_rows(tmp_path)}
    assert code == 1 and rows["oak"]["status"] == "computed"
    assert rows["elm"]["error"] == f"{tmp_path}/photos/elm: missing the guide (*/guide.*) photo of this pair; add it or remove the folder"


def test_status_says_what_changed_since_a_pair_failed_rather_than_the_failure_alone(tmp_path, cli):
    """A guide photo added to a pair that failed for want of it was still reported as "missing the guide ...
    add it", and a photo saved again at the right size as the size mismatch."""
    from pipeline.staleness import stale_partitions

    _photo_pairs_project(tmp_path, {"oak": ("flash", "guide"), "elm": ("flash",)})
    oak = tmp_path / "photos" / "oak"
    write_image(oak / "guide.png", Image(np.full((8, 8, 3), 0.5, np.float32)))  # not the flash photo's size
    assert cli(tmp_path, "build")[0] == 1
    shutil.copy(oak / "flash.png", tmp_path / "photos" / "elm" / "guide.png")
    write_image(oak / "guide.png", Image(np.full((16, 16, 3), 0.4, np.float32)))
    why = {s.partition: s.reason for s in stale_partitions(load_spec(tmp_path / "assets_spec.yaml")).stale}
    assert why["elm"].startswith("failed last build: ") and why["elm"].endswith(
        "missing the guide (*/guide.*) photo of this pair; add it or remove the folder; since then its inputs can all be read")
    assert why["oak"].startswith("failed last build: ") and "must be taken at the same size" in why["oak"]
    assert why["oak"].endswith("; since then: changed file photos/oak/guide.png")


def test_status_calls_a_pair_folder_added_a_new_photo_pair(tmp_path, cli):
    """A pair's partition is a folder of photos: "new file" sent the artist looking for one file among them."""
    _photo_pairs_project(tmp_path, {"oak": ("flash", "guide")})
    assert cli(tmp_path, "build")[0] == 0
    for role in ("flash", "guide"):
        write_image(tmp_path / "photos" / "elm" / f"{role}.png", Image(np.full((16, 16, 3), 0.3, np.float32)))
    code, output = cli(tmp_path, "status", "--json")
    assert [(s["partition"], s["reason"]) for s in json.loads(output)["stale"]] == [("elm", "new photo pair")], output


@pytest.mark.parametrize("unmounted", ["folder gone", "empty mount point"])
def test_a_missing_or_empty_source_folder_keeps_its_outputs(project, cli, caplog, unmounted):
    cli(project, "build")
    before = outputs(project)
    (project / "textures").rename(project / "unmounted")
    if unmounted == "empty mount point":
        (project / "textures").mkdir()
    code, output = cli(project, "build")
    assert code == 1, output  # a CI job goes red, where a typo in the root or a share not mounted built nothing
    assert f"not built {source_called(project, 'legacy')}" in output
    assert "nothing is built from it, its outputs are kept" in caplog.text
    assert outputs(project) == before and len(manifest_rows(project)) == 5
    if unmounted == "empty mount point":
        (project / "textures").rmdir()
    (project / "unmounted").rename(project / "textures")
    cli(project, "build")
    assert set(statuses(project).values()) == {"cached"} and outputs(project) == before


def test_a_linked_folder_whose_share_is_away_keeps_its_outputs(project, cli, tmp_path_factory):
    share = tmp_path_factory.mktemp("share")
    (project / "textures" / "walls").rename(share / "walls")
    (project / "textures" / "walls").symlink_to(share / "walls", target_is_directory=True)
    (project / "textures" / "notes.txt").symlink_to(share / "gone.txt")  # a link to nowhere that holds no texture
    cli(project, "build")
    before = outputs(project)
    assert "build/legacy_2x/walls/tex001.png" in before
    assert cli(project, "build")[0] == 0  # notes.txt -> nowhere is not a texture, nor a folder
    (share / "walls").rename(share / "unmounted")
    code, output = cli(project, "build")
    assert code == 1, output  # the files under walls/ were taken for deleted, and their outputs removed, exit 0
    assert f"not built {source_called(project, 'legacy')}: walls -> {share / 'walls'}: a link" in output
    assert outputs(project) == before and len(manifest_rows(project)) == 5
    (share / "unmounted").rename(share / "walls")
    assert cli(project, "build")[0] == 0
    assert set(statuses(project).values()) == {"cached"} and outputs(project) == before


def test_file_names_with_brackets_and_commas_build(project, cli):
    for name in ("brick[1].png", "a,b.png"):
        (project / "textures" / name).write_bytes((project / "textures" / "floors" / "tex000.png").read_bytes())
    code, output = cli(project, "build")
    assert code == 0, output
    assert {statuses(project)[name] for name in ("brick[1].png", "a,b.png")} <= {"computed", "cached"}
    assert (project / "build" / "legacy_2x" / "brick[1].png").is_file()
    assert (project / "build" / "legacy_2x" / "a,b.png").is_file()


def test_validate_warns_about_a_root_without_files_and_an_empty_build_writes_a_manifest(tmp_path, cli):
    (tmp_path / "textures").mkdir()
    write_spec(tmp_path, UPSCALE_SPEC)
    code, output = cli(tmp_path, "validate")
    assert code == 0 and "ok" in output
    assert f"warning {source_called(tmp_path, 'legacy')}: no file in {tmp_path / 'textures'} matching **/*.png;" \
        in output.replace("\n", " ")  # as validate says its other warnings, not as a build's log does
    assert cli(tmp_path, "build")[0] == 1  # nothing built: not a green CI run
    assert manifest_rows(tmp_path) == []
    assert "no models or assets" not in output

    write_spec(tmp_path, "sources:\n  legacy: {kind: textures, root: textures, glob: '**/*.png'}\n")
    code, output = cli(tmp_path, "validate")
    assert code == 0 and "assets_spec.yaml: no models or assets are defined, so a build makes nothing" in output


def test_a_glob_that_takes_the_root_s_own_files_alone_names_the_files_in_its_folders_and_the_glob_for_them(
        project, cli):
    """glob: "*.png" over textures sorted into walls/ and floors/ said only "no file matching *.png": an artist
    reads *.png as every PNG, and was not told that the glob reads the root's own files alone."""
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace('glob: "**/*.png"', 'glob: "*.png"'))
    said = (f"{source_called(project, 'legacy')}: no file in {project / 'textures'} matching *.png; nothing is "
            "built from it, its outputs are kept (fix its root or glob, or mount the share); glob: \"*.png\" takes "
            "only the files directly in textures, and 5 files in its folders match it (floors/tex000.png, "
            "floors/tex002.png, floors/tex004.png and 2 more): give glob: \"**/*.png\" to take them")
    for command, exit_code in (("validate", 0), ("build", 1)):
        code, output = cli(project, command)
        assert code == exit_code and said in output.replace("\n", " "), output


def test_a_glob_without_a_folder_is_told_of_files_in_subfolders_only_where_there_are_some(tmp_path, cli):
    """A root whose own PNG was skipped (its name not UTF-8) was told that a file "in its folders" matched, naming
    that file at the root's top, and to give glob: "**/*.png", which takes it no more than "*.png" does."""
    (tmp_path / "textures").mkdir()
    with open(os.fsencode(tmp_path / "textures") + b"/caf\xe9.png", "wb") as latin1:  # as an old archive names it
        latin1.write(b"x")
    write_spec(tmp_path, UPSCALE_SPEC.replace('"**/*.png"', '"*.png"'))
    code, output = cli(tmp_path, "validate")
    assert code == 0 and "matching *.png;" in output and "its name is not UTF-8" in output, output
    assert "**/*.png" not in output, output
    (tmp_path / "textures" / "walls").mkdir()
    (tmp_path / "textures" / "walls" / "brick.png").write_bytes(b"x")
    code, output = cli(tmp_path, "validate")
    assert code == 0 and ('glob: "*.png" takes only the files directly in textures, and a file in its folders '
                          'matches it (walls/brick.png): give glob: "**/*.png" to take them'
                          in output.replace("\n", " ")), output


def test_scan_hints_in_a_folder_named_in_another_encoding_are_text_a_log_can_write(tmp_path):
    """The hints of a glob without ** and of a missing root held a Latin-1 name's bytes as Python keeps them
    (surrogates), in the project's folder or a subfolder: pytest-xdist's worker died sending the test's log, as a
    build's UTF-8 log could. Nor is a folder a spec cannot spell offered, or counted as matching."""
    project = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9"))
    for folder in ("textures/walls", os.fsdecode(b"textures/b\xe4ume"), os.fsdecode(b"Textur\xe9")):
        (project / folder).mkdir(parents=True)
        (project / folder / "brick.png").write_bytes(b"x")
    write_spec(project, UPSCALE_SPEC.replace('"**/*.png"', '"*.png"'))
    skipped: list[str] = []
    assert scan_source(load_spec(project / "assets_spec.yaml").sources["legacy"], skipped) == {}
    assert len(skipped) == 1 and "caf\ufffd" in skipped[0].encode("utf-8").decode("utf-8"), skipped
    assert "a file in its folders matches it (walls/brick.png)" in skipped[0], skipped
    write_spec(project, UPSCALE_SPEC.replace("root: textures", "root: Textures"))
    skipped = []
    assert scan_source(load_spec(project / "assets_spec.yaml").sources["legacy"], skipped) == {}
    assert len(skipped) == 1 and "caf\ufffd" in skipped[0].encode("utf-8").decode("utf-8"), skipped
    assert skipped[0].endswith(f"did you mean the folder {spelled(str(project / 'textures'))}?"), skipped


@pytest.mark.parametrize("typed", ["Textures", "texture"])
def test_a_missing_root_names_the_folder_beside_it_spelt_closest(project, cli, typed):
    """root: Textures for the folder textures (a name typed from memory; Linux tells case apart where Windows and
    macOS do not) said only that the folder does not exist, leaving the artist to find the difference."""
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("root: textures", f"root: {typed}"))
    said = (f"{source_called(project, 'legacy')}: folder {project / typed} does not exist; nothing is built from it, "
            f"its outputs are kept (fix its root, or mount the share); did you mean the folder {project / 'textures'}?")
    for command, exit_code in (("validate", 0), ("build", 1)):
        code, output = cli(project, command)
        assert code == exit_code and said in output.replace("\n", " "), output


def test_a_missing_root_spelt_like_the_build_folder_is_not_offered_it(tmp_path, cli):
    """root: Build beside the build folder was asked "did you mean the folder .../build?", a root the spec then
    refuses (outputs would overwrite inputs); the folder spelt next closest is offered instead."""
    (tmp_path / "build").mkdir()
    (tmp_path / "builds").mkdir()
    write_spec(tmp_path, UPSCALE_SPEC.replace("root: textures", "root: Build"))
    code, output = cli(tmp_path, "validate")
    assert code == 0 and f"does not exist; nothing is built from it, its outputs are kept (fix its root, or mount " \
        f"the share); did you mean the folder {tmp_path / 'builds'}?" in output.replace("\n", " "), output


def test_a_root_that_names_a_file_says_so_and_how_to_take_just_that_file(tmp_path, cli, caplog):
    """root: textures/brick.png (one texture meant) was reported as a folder that does not exist."""
    [texture] = write_textures(tmp_path / "textures", 1)
    write_spec(tmp_path, UPSCALE_SPEC.replace("root: textures", f"root: {texture.relative_to(tmp_path)}"))
    code, output = cli(tmp_path, "validate")
    assert code == 0, output
    assert f"{source_called(tmp_path, 'legacy')}: {texture} is a file, not a folder; nothing is built from it, its " \
           f"outputs are kept (give its folder as root, and glob: {texture.name} to take only it)" in caplog.text
    assert "does not exist" not in caplog.text


def test_a_glob_wider_than_meant_leaves_out_windows_extras_and_validate_names_the_other_files(project, cli):
    write_spec(project, UPSCALE_SPEC.replace('"**/*.png"', '"**/*"'))
    walls = project / "textures" / "walls"
    for name in ("Thumbs.db", "desktop.ini", "readme.txt", "brick.bmp"):  # Explorer's extras, a note, a texture
        (walls / name).write_bytes(b"x")
    PILImage.new("RGB", (4, 4), (128, 128, 128)).save(walls / "brick.bmp")  # a legacy texture Pillow reads
    (walls / "photo.jfif").write_bytes((walls / "tex001.png").read_bytes())  # a browser's name: read by content
    code, output = cli(project, "validate")
    assert code == 0 and (f"{source_called(project, 'legacy')}: takes a file whose extension is no image format "
                          "(walls/readme.txt); each build fails them: narrow the glob, or exclude them"
                          in output.replace("\n", " ")), output
    code, output = cli(project, "build")
    assert code == 1 and "Thumbs.db" not in output and "desktop.ini" not in output  # they were partitions that failed
    assert "readme.txt is not a PNG, JPEG, TGA, DDS or TIFF image: if it is no texture, leave it out" in output.replace("\n", " ")
    assert read_image(project / "build" / "legacy_2x" / "walls" / "brick.png").color.shape == (8, 8, 3)


def test_validate_names_the_images_a_default_glob_passes_over_and_the_glob_it_gives_builds_them(project, cli):
    """A new project's JPEG and TGA textures were left out without a word: the artist wrote no glob."""
    write_spec(project, UPSCALE_SPEC.replace(', glob: "**/*.png"', ""))
    walls = project / "textures" / "walls"
    PILImage.new("RGB", (4, 4), (90, 60, 30)).save(walls / "Moos Stein.JPG", "JPEG")
    PILImage.new("RGB", (4, 4), (30, 60, 90)).save(walls / "Alt.TGA")
    (walls / "notes.txt").write_text("not an image")
    code, output = cli(project, "validate")
    said = " ".join(output.split())
    assert code == 0 and (f"{source_called(project, 'legacy')}: takes PNG files alone (glob defaults to **/*.png), so "
                          f"2 images under {project / 'textures'} will not be built (walls/Alt.TGA, walls/Moos Stein.JPG); "
                          'to build them, give it glob: "**/*.{png,jpg,tga}"') in said, output
    write_spec(project, UPSCALE_SPEC.replace('"**/*.png"', '"**/*.{png,jpg,tga}"'))
    code, output = cli(project, "validate")
    assert code == 0 and "warning" not in output, output
    assert cli(project, "build")[0] == 0
    assert {"walls/Moos Stein.png", "walls/Alt.png"} <= {path.relative_to(project / "build" / "legacy_2x").as_posix()
                                                         for path in (project / "build" / "legacy_2x").rglob("*.png")}


def test_validate_names_the_images_passed_over_by_a_source_that_merges_an_anchor_giving_no_glob(project, cli):
    """A source that took its root through a merge key (``<<: *shared``) was never warned of, though the anchor
    gives no glob either: the JPEG was left out without a word. An anchor that gives the glob is taken as meant."""
    PILImage.new("RGB", (4, 4), (90, 60, 30)).save(project / "textures" / "walls" / "Moos Stein.JPG", "JPEG")
    merged = UPSCALE_SPEC.replace('  legacy: {kind: textures, root: textures, glob: "**/*.png"}',
                                  "  legacy: {<<: *shared, kind: textures}")
    write_spec(project, "x-shared: &shared {root: textures}\n" + merged)
    code, output = cli(project, "validate")
    assert code == 0 and (f"{source_called(project, 'legacy')}: takes PNG files alone (glob defaults to **/*.png), so "
                          f"an image under {project / 'textures'} will not be built (walls/Moos Stein.JPG); to build "
                          'it, give it glob: "**/*.{png,jpg}"') in _said(output), output
    write_spec(project, 'x-shared: &shared {root: textures, glob: "**/*.png"}\n' + merged)
    code, output = cli(project, "validate")
    assert code == 0 and "warning" not in output, output


def test_a_png_glob_the_spec_gives_is_taken_as_meant(project, cli):
    PILImage.new("RGB", (4, 4), (90, 60, 30)).save(project / "textures" / "walls" / "reference.jpg")
    code, output = cli(project, "validate")
    assert code == 0 and "warning" not in output, output


def test_a_skipped_file_is_said_once_per_build(project):
    (project / "textures" / "floors" / "tex000.tga").write_bytes((project / "textures" / "floors" / "tex000.png").read_bytes())
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace('glob: "**/*.png"', 'glob: "**/*.*"'))
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "build"], cwd=project, capture_output=True, text=True,
                            env={**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, "CI": "true",
                                 "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])})
    said = result.stdout + result.stderr  # a scan's warning, then after the table "not built", said it twice
    assert result.returncode == 1
    assert said.count(f"{source_called(project, 'legacy')}: skipping floors/tex000.tga") == 1, said
    assert f"not built {source_called(project, 'legacy')}: skipping floors/tex000.tga" in said


def _said(output: str) -> str:
    return " ".join(output.split())


def test_a_folder_the_build_cannot_read_keeps_its_outputs_and_fails_the_build(project, cli, monkeypatch):
    assert cli(project, "build")[0] == 0
    walls, listed = project / "textures" / "walls", os.scandir

    def refused(path="."):  # as chmod 000 does for any user but root (the tests run as root)
        if isinstance(path, (str, os.PathLike)) and Path(path) == walls:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return listed(path)

    monkeypatch.setattr(os, "scandir", refused)
    code, output = cli(project, "build")
    assert code == 1  # was 0, with walls' outputs removed as if its files were deleted
    assert "walls: a folder this user cannot read (give it read access, or add its path to exclude); nothing is " \
           "built from it, its outputs are kept" in _said(output)
    assert (project / "build" / "legacy_2x" / "walls" / "tex001.png").is_file()


def test_a_link_into_the_build_folder_is_not_read(project, cli):
    assert cli(project, "build")[0] == 0
    (project / "textures" / "loop").symlink_to("..", target_is_directory=True)
    (project / "textures" / "previews").symlink_to("../build/legacy_2x", target_is_directory=True)
    code, output = cli(project, "build")
    assert code == 1  # was 0, building the outputs again from themselves, and one level deeper each build
    assert ("loop/build, previews: a link into the build or cache folder, whose outputs would become inputs (delete "
            "the link)") in _said(output)
    assert not (project / "build" / "legacy_2x" / "loop").exists()
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace('glob: "**/*.png"', 'glob: "{floors,walls}/*.png"'))
    assert cli(project, "build")[0] == 0  # links where the glob never reaches are not followed


def test_an_unreadable_lost_and_found_at_the_top_of_a_share_is_not_a_folder_of_textures(project, cli, monkeypatch):
    top, inner, listed = project / "textures" / "lost+found", project / "textures" / "walls" / "lost+found", os.scandir
    top.mkdir()

    def refused(path="."):  # root's, mode 700, on every ext4 file system
        if isinstance(path, (str, os.PathLike)) and Path(path) in (top, inner):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return listed(path)

    monkeypatch.setattr(os, "scandir", refused)
    mounted = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == project / "textures" or mounted(path))
    assert cli(project, "build")[0] == 0
    inner.mkdir()  # not at the top of a file system: a folder like any other
    code, output = cli(project, "build")
    assert code == 1 and "walls/lost+found: a folder this user cannot read" in _said(output)


def test_links_that_multiply_the_files_are_refused(project, cli):
    textures = project / "textures"
    (textures / ".lv3").mkdir()
    shutil.copy(textures / "walls" / "tex001.png", textures / ".lv3" / "deep.png")
    for level in range(3):  # two links a level: 2, 4, then 8 paths to .lv3
        (textures / f".lv{level}").mkdir()
        for name in ("a", "b"):
            (textures / f".lv{level}" / name).symlink_to(f"../.lv{level + 1}", target_is_directory=True)
    (textures / "start").symlink_to(".lv0", target_is_directory=True)
    code, output = cli(project, "build")
    assert code == 1
    assert "start/b/a/a, start/b/a/b, start/b/b/a and 1 more: a folder reached by more than 4 paths, itself included" \
           in _said(output)
    assert not (project / "build" / "legacy_2x").exists()


def test_validate_judges_a_case_pair_built_before_the_rule_as_a_build_does(project, cli, caplog):
    assert cli(project, "build")[0] == 0
    (project / "textures" / "Floors").mkdir()
    shutil.copy(project / "textures" / "floors" / "tex000.png", project / "textures" / "Floors" / "tex000.png")
    manifest = project / "build" / "manifest.json"
    document = json.loads(manifest.read_text())
    document["entries"].append(dict(document["entries"][0], partition="Floors/tex000.png"))  # built on Linux, earlier
    manifest.write_text(json.dumps(document))
    code, output = cli(project, "validate")
    assert code == 0 and "skipping" not in caplog.text + output  # build keeps both; validate said it would skip one
    assert "Floors/tex000.png and floors/tex000.png differ only in case" in caplog.text + output


def test_a_pair_folder_deleted_is_said_to_be_a_pair_folder_gone(tmp_path, cli):
    """A pair's partition is a folder of photos, kept while either glob takes a photo in it: "its source file is
    gone, or the source's glob or exclude leaves it out" sent the artist looking for one file among them."""
    _photo_pairs_project(tmp_path, dict.fromkeys(("oak", "elm"), ("flash", "guide")))
    assert cli(tmp_path, "build")[0] == 0
    shutil.rmtree(tmp_path / "photos" / "elm")
    gone = "its photo pair folder is gone, or the source's flash and guide globs or exclude leave out all its photos"
    code, output = cli(tmp_path, "status", "--json")
    assert [(s["partition"], s["reason"]) for s in json.loads(output)["stale"]] == [
        ("elm", f"{gone}: its outputs will be deleted")], output
    table = re.sub(r"[\s│]+", " ", cli(tmp_path, "status")[1])  # the reason column, folded over lines
    assert f"elm {gone}: its outputs will be deleted" in table, table
    code, output = cli(tmp_path, "build")
    assert code == 0 and f"removed the outputs of scanned [elm]: {gone}" in output.replace("\n", " "), output


def test_status_calls_a_new_pairs_partition_downstream_a_new_photo_pair(tmp_path, cli):
    """The partition of an asset built from a material, under a pair folder just added, said "upstream scanned is
    stale", as of a pair whose photo changed."""
    _photo_pairs_project(tmp_path, {"oak": ("flash", "guide")})
    spec = tmp_path / "assets_spec.yaml"
    spec.write_text(spec.read_text() + "  packed: {op: export_dds, from: scanned, maps: [albedo, normal]}\n")
    assert cli(tmp_path, "build")[0] == 0
    for role in ("flash", "guide"):
        write_image(tmp_path / "photos" / "elm" / f"{role}.png", Image(np.full((16, 16, 3), 0.3, np.float32)))
    code, output = cli(tmp_path, "status", "--json")
    assert {(s["asset"], s["partition"]): s["reason"] for s in json.loads(output)["stale"]} == {
        ("scanned", "elm"): "new photo pair", ("packed", "elm"): "new photo pair"}, output
    table = re.sub(r"[\s│]+", " ", cli(tmp_path, "status")[1])  # the reason column, folded over lines
    assert "packed elm new photo pair" in table, table


def test_a_ui_run_of_a_pair_folder_deleted_says_the_folder_is_gone(tmp_path):
    """A UI run of a pair whose folder was deleted before the sensor dropped its partition said "its file was
    removed", sending the artist looking for one file among a folder of photos."""
    _photo_pairs_project(tmp_path, dict.fromkeys(("oak", "elm"), ("flash", "guide")))
    shutil.rmtree(tmp_path / "photos" / "elm")
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("scans", ["oak", "elm"])
        run = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["scanned"],
                             partition_key="elm", raise_on_error=False)
    [failure] = run.get_step_failure_events()
    said = " ".join(failure.step_failure_data.user_failure_data.description.split())
    assert "elm is no longer in source 'scans': its photo pair folder is gone, or the source's flash and guide " \
           "globs or exclude leave out all its photos" in said, said
