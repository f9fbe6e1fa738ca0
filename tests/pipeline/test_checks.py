"""An op's quality guards run as Dagster asset checks, with the figures in their metadata."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from helpers import manifest_rows, variants_project, write_spec, write_textures
from pipeline.cli import app, out
from pipeline.definitions import build_definitions
from pipeline.hashing import hash_file
from pipeline.spec import load_spec

SPEC = """
build_dir: build
cache_dir: .remaster/cache
device: cpu
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  variants: {op: multiply, from: legacy, count: 2, size: 64, tileable: true, method: patch}
"""


def test_multiply_guards_are_asset_checks(tmp_path):
    write_textures(tmp_path / "textures", 2, size=48)
    spec = load_spec(write_spec(tmp_path, SPEC))
    defs = build_definitions(spec)
    keys = ["floors/tex000.png", "walls/tex001.png"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        result = dg.materialize(
            list(defs.assets), instance=instance, resources=defs.resources, selection=["variants"],
            tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[1]},
        )
        checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert set(checks) == {"not_a_copy", "variants_differ", "keeps_coverage", "seamless"}
        copy = checks["not_a_copy"]
        assert copy.passed and copy.metadata["limit"].value == 0.95
        assert 0 < copy.metadata["max_ncc"].value < 0.95
        assert checks["seamless"].severity == dg.AssetCheckSeverity.WARN
        coverage = checks["keeps_coverage"]  # opaque textures lose nothing: measured, not "build --force measures it"
        assert coverage.passed and coverage.metadata["min_coverage_ratio"].value == 1.0
        materialized = instance.get_materialized_partitions(dg.AssetKey("variants"))
        assert materialized == set(keys)
        dg.materialize(
            list(defs.assets), instance=instance, resources=defs.resources, selection=["variants"], partition_key=keys[0],
        )
        hit = instance.get_latest_materialization_event(dg.AssetKey("variants")).asset_materialization
        [row] = [r for r in manifest_rows(tmp_path)
                 if r["partition"] == keys[0]]
        assert hit.metadata["cache"].value == "hit" and hit.metadata["seconds"].value == row["seconds"]
        assert row["seconds"] != row["metadata"]["seconds"]  # the op's own figure is when it computed
    for key in keys:
        folder = tmp_path / "build" / "variants" / key.removesuffix(".png")
        assert sorted(p.name for p in folder.iterdir()) == ["variant_00.png", "variant_01.png"]


def test_a_run_whose_partitions_all_fail_reports_no_passing_check(tmp_path):
    write_textures(tmp_path / "textures", 1, size=48)
    (tmp_path / "textures" / "floors" / "tex000.png").write_bytes(b"not a png")
    defs = build_definitions(load_spec(write_spec(tmp_path, SPEC)))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png"])
        result = dg.materialize(
            list(defs.assets), instance=instance, resources=defs.resources, selection=["variants"],
            partition_key="floors/tex000.png", raise_on_error=False,
        )
        assert not result.success
        assert [c.check_name for c in result.get_asset_check_evaluations() if c.passed] == []


CHAINED = """
build_dir: build
cache_dir: .remaster/cache
device: cpu
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2}
  variants: {op: multiply, from: legacy_2x, count: 2, size: 48, method: patch}
"""


def test_a_chained_asset_builds_in_the_same_run_as_its_upstream(tmp_path):
    write_textures(tmp_path / "textures", 2, size=24)
    defs = build_definitions(load_spec(write_spec(tmp_path, CHAINED)))
    keys = ["floors/tex000.png", "walls/tex001.png"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        result = dg.materialize(
            list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x", "variants"],
            tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[1]},
        )
        assert result.success
        for asset in ("legacy_2x", "variants"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(keys)
            latest = instance.get_latest_materialization_event(dg.AssetKey(asset)).asset_materialization
            assert latest.metadata["cache"].value == "miss"
        upscaled = instance.get_latest_materialization_event(dg.AssetKey("legacy_2x")).asset_materialization
        path = f"build/legacy_2x/{upscaled.partition}"
        assert upscaled.metadata["path"].value == path
        assert upscaled.metadata[f"output {path}"].value == hash_file(tmp_path / path)
        assert (upscaled.metadata["width"].value, upscaled.metadata["height"].value) == (48, 48)
        varied = instance.get_latest_materialization_event(dg.AssetKey("variants")).asset_materialization
        folder = f"build/variants/{varied.partition.removesuffix('.png')}"  # was none: a path is one file's
        assert varied.metadata["path"].value == folder and f"output {folder}/variant_01.png" in varied.metadata


def test_a_cli_build_fails_on_a_failed_blocking_check(tmp_path, cli, monkeypatch):
    import numpy as np

    from ops.image_io import Image, write_image

    stripes = np.zeros((64, 64, 3), np.float32)
    stripes[:, ::8] = 1.0  # any patch of it is a shifted copy of the whole
    write_image(tmp_path / "textures" / "stripes.png", Image(stripes))
    write_spec(tmp_path, SPEC)
    code, output = cli(tmp_path, "build")
    assert code == 1
    assert "check failed variants [stripes.png]: not_a_copy: max_ncc 1, must be below 0.95" in output.replace("\n", " ")
    hint = "fix what it names, or, where it misjudges a source, make it a warning in the spec: variants: {..., checks: {"
    assert hint + "not_a_copy: warn" in output.replace("\n", " "), output  # and variants_differ beside it, where it fails
    code, output = cli(tmp_path, "status", "--check")  # nothing to compute, but the next build fails just the same
    assert code == 1 and "check failed variants [stripes.png]: not_a_copy" in output.replace("\n", " ")  # was exit 0
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(out, "_width", 80)  # as Rich's console is wide in a CI log, which is no terminal
    result = CliRunner().invoke(app, ["status", "--check", "--spec", str(tmp_path / "assets_spec.yaml")])
    said = "nothing to build, but a check fails (its check failed lines are on stderr): a build exits 1\n"
    assert result.stdout == said  # stdout said nothing; then "(above)", of lines a CI log keeps apart; then two lines
    assert result.stderr.startswith("check failed variants [stripes.png]: not_a_copy"), result.stderr
    result = CliRunner().invoke(app, ["status", "--json", "--spec", str(tmp_path / "assets_spec.yaml")])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and not report["up_to_date"] and report["stale"] == []
    assert {"asset": "variants", "partition": "stripes.png", "check": "not_a_copy", "blocking": True,
            "message": "variants [stripes.png]: not_a_copy: max_ncc 1, must be below 0.95"} in [
        {**failed, "message": failed["message"].split(" (")[0]} for failed in report["failed_checks"]]
    write_image(tmp_path / "textures" / "noise.png", Image(np.random.default_rng(0).random((64, 64, 3), np.float32)))
    (tmp_path / "textures" / "stripes.png").rename(tmp_path / "stripes.png")  # its outputs go with the next build
    code, output = cli(tmp_path, "status")
    assert "outputs will be deleted" in output and "check failed" not in output, output  # were judged still
    (tmp_path / "stripes.png").rename(tmp_path / "textures" / "stripes.png")
    (tmp_path / "textures" / "noise.png").unlink()

    spec = tmp_path / "assets_spec.yaml"  # a texture of planks: the artist says the copy guard only warns
    spec.write_text(spec.read_text().replace("method: patch}", "method: patch, checks: {not_a_copy: warn}}"))
    code, output = cli(tmp_path, "build")  # nothing computed: the warning is a line, not its figure again
    assert "check warning variants: not_a_copy still warns on stripes.png, built earlier" in output.replace("\n", " ")
    assert "check warning variants [stripes.png]" not in output.replace("\n", " "), output
    code, output = cli(tmp_path, "status")
    assert "check warning variants [stripes.png]: not_a_copy: max_ncc 1" in output.replace("\n", " "), output
    assert code == (1 if "check failed" in output else 0), output  # variants_differ may still fail, and says so
    assert {r["status"] for r in manifest_rows(tmp_path)} == {"cached"}
    spec.write_text(spec.read_text().replace("checks: {not_a_copy: warn}", "checks: {not_a_copy: off, variants_differ: off}"))
    code, output = cli(tmp_path, "build")
    assert code == 0 and "not_a_copy" not in output, output
    assert cli(tmp_path, "status", "--check")[0] == 0


def test_a_cached_partition_failing_a_bound_made_stricter_since_it_was_measured_says_what_names_its_variants(
        tmp_path, cli, monkeypatch):
    """A guard judges a cached partition's figure against the bound it has now, but the variants past it were named
    as the partition was measured: after a remaster whose bound is stricter, a failed not_a_copy said "max_ncc 0.53,
    must be below 0.5" and named no variant, where --force names them."""
    import ops.multiply.metrics
    import ops.multiply.params

    variants_project(tmp_path, 2)
    assert cli(tmp_path, "build")[0] == 0
    [row] = manifest_rows(tmp_path)
    assert row["metadata"]["copied"] == ""
    for module in (ops.multiply.params, ops.multiply.metrics):
        monkeypatch.setattr(module, "NCC_BOUND", row["metadata"]["max_ncc"] - 0.01)
    code, output = cli(tmp_path, "status", "--check")
    said = " ".join(output.replace("│", " ").split())
    assert code == 1 and ("check failed variants [floors/tex000.png]: not_a_copy: max_ncc "
                          f"{row['metadata']['max_ncc']:.3g}" in said), said
    why = ("no file named: the remaster that measured them named those past another bound (or none); remaster "
           "build --force variants names those past this one")
    assert why in said, said
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:  # a UI run of it, a cache hit, says so too
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png"])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                selection=["variants"], partition_key="floors/tex000.png")
        copy = {c.check_name: c for c in result.get_asset_check_evaluations()}["not_a_copy"]
        assert not copy.passed and copy.metadata["copied"].value == f"floors/tex000.png: {why}"
    assert cli(tmp_path, "build", "--force")[0] == 1
    assert "correlates" in manifest_rows(tmp_path)[0]["metadata"]["copied"]


def test_a_failing_guard_stays_failed_after_a_run_over_other_partitions(tmp_path):
    import numpy as np

    from ops.image_io import Image, write_image

    stripes = np.zeros((64, 64, 3), np.float32)
    stripes[:, ::8] = 1.0
    write_image(tmp_path / "textures" / "stripes.png", Image(stripes))
    write_textures(tmp_path / "textures", 1, size=48)
    defs = build_definitions(load_spec(write_spec(tmp_path, SPEC)))
    keys = ["floors/tex000.png", "stripes.png"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        copies = {}
        for tags in ({"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[1]},
                     {"dagster/partition": keys[0]}):
            result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                    selection=["variants"], tags=tags)
            copies[len(copies)] = {c.check_name: c for c in result.get_asset_check_evaluations()}["not_a_copy"]
    for check in copies.values():  # the second run built only tex000, yet stripes.png still fails the check
        assert not check.passed and check.metadata["failing partitions"].value == "stripes.png"


def test_the_launchpad_can_force_a_recompute_past_the_cache(tmp_path):
    """``resources: {remaster: {config: {force: true}}}`` in the UI's launchpad, as ``build --force`` does."""
    write_textures(tmp_path / "textures", 1, size=24)
    defs = build_definitions(load_spec(write_spec(tmp_path, CHAINED)))
    key = "floors/tex000.png"

    def cache_use(**run_config) -> str:
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"],
                       partition_key=key, run_config=run_config)
        return instance.get_latest_materialization_event(dg.AssetKey("legacy_2x")).asset_materialization.metadata["cache"].value

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", [key])
        assert cache_use() == "miss" and cache_use() == "hit"
        assert cache_use(resources={"remaster": {"config": {"force": True}}}) == "miss"


@pytest.mark.parametrize(("device", "hint"), [("gpu0", "; for that GPU write cuda:0"),
                                             ("GPU", "; for the GPU write cuda (cuda:1 for a second GPU)")])
def test_the_launchpad_s_mistyped_device_is_told_how_to_write_it(tmp_path, device, hint):
    """``resources: {remaster: {config: {device: gpu0}}}`` in the UI's launchpad got only "expected auto, cpu, cuda
    or cuda:N", where the spec's ``device`` and ``--device`` are told the spelling meant."""
    write_textures(tmp_path / "textures", 1, size=48)
    defs = build_definitions(load_spec(write_spec(tmp_path, SPEC)))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png"])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["variants"],
                                partition_key="floors/tex000.png", raise_on_error=False,
                                run_config={"resources": {"remaster": {"config": {"device": device}}}})
    [failure] = result.get_step_failure_events()
    assert failure.step_failure_data.user_failure_data.description == (
        f"1 of 1 partition of variants failed:\n- device {device!r}: expected auto, cpu, cuda or cuda:N (N the GPU's "
        f"number, from 0){hint}")


def test_a_downstream_run_puts_back_an_upstream_output_another_texture_s_was_copied_over(tmp_path, caplog):
    """Both files are outputs the cache holds, so "a file some build made" is no test: the upstream's own entry is."""
    write_textures(tmp_path / "textures", 2, size=24)
    defs = build_definitions(load_spec(write_spec(tmp_path, CHAINED)))
    keys = ["floors/tex000.png", "walls/tex001.png"]
    upstream, variant = tmp_path / "build" / "legacy_2x", tmp_path / "build" / "variants" / "floors" / "tex000" / "variant_00.png"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[1]}
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x", "variants"],
                       tags=tags)
        right = {path: hash_file(path) for path in (upstream / keys[0], variant)}
        (upstream / keys[0]).write_bytes((upstream / keys[1]).read_bytes())  # a slip in a file manager
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["variants"],
                       partition_key=keys[0])
    assert {path: hash_file(path) for path in right} == right
    assert "was changed after 'legacy_2x' built it; put the built file back" in caplog.text
    aside = tmp_path / "build" / ".edited" / "legacy_2x" / keys[0]
    assert aside.read_bytes() == (upstream / keys[1]).read_bytes()  # the slip is kept, as a hand edit would be


def test_a_check_failing_on_many_textures_names_five_and_counts_the_rest(tmp_path, cli):
    import numpy as np

    from ops.image_io import Image, write_image

    stripes = np.zeros((64, 64, 3), np.float32)
    stripes[:, ::8] = 1.0
    for n in range(8):
        write_image(tmp_path / "textures" / f"stripes{n}.png", Image(stripes))
    write_spec(tmp_path, SPEC)
    for _ in range(2):  # a build that computes, then one that has nothing to do: each says the same
        code, output = cli(tmp_path, "build")
        said = output.replace("\n", " ")
        assert code == 1 and len(re.findall(r"check failed variants \[stripes\d\.png\]: not_a_copy", said)) == 5, output
        assert "check failed variants [3 more partitions]: not_a_copy (the manifest has each one's figure" in said
    spec = tmp_path / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("variants", "tiles"))  # renamed: every texture's outputs go
    code, output = cli(tmp_path, "build")
    removed = [line for line in output.splitlines() if line.startswith("removed the outputs of variants")]
    assert removed[5:] == ["removed the outputs of variants [3 more partitions]: the spec no longer has this asset "
                           "(the manifest no longer lists them)"] and len(removed) == 6, output


def test_a_guard_that_outputs_of_an_older_remaster_have_no_figure_for_is_said_not_measured(tmp_path, cli):
    """Variants made before keeps_coverage existed are current for a newer remaster, which restores them: the check
    passed them unseen (a wholly transparent variant among them), the CLI saying nothing, the UI nothing where
    other partitions had the figure."""
    def as_before_the_check(metadata: dict) -> None:  # as a version before 7984515 wrote it
        del metadata["min_coverage_ratio"], metadata["coverage_lost"]

    _built_with_the_figures_of_one_texture_edited(tmp_path, cli, as_before_the_check)
    said = ("check not measured variants: keeps_coverage on walls/tex001.png, made by a version of remaster from "
            "before this check: remaster build --force variants measures it")
    for command in ("build", "status"):
        code, output = cli(tmp_path, command)
        assert code == 0 and said in output.replace("\n", " "), output
    coverage = _keeps_coverage_in_a_ui_run_of_the_other_texture(tmp_path)
    assert coverage.passed and coverage.metadata["not measured"].value == (
        "walls/tex001.png, made by a version of remaster from before this check: build --force variants measures it")
    code, output = cli(tmp_path, "build", "--force", "variants")
    assert code == 0 and "not measured" not in output, output


def test_a_figure_a_hand_edit_made_no_number_is_said_not_measured(tmp_path, cli):
    """A guard's figure in the manifest that is no number (edited by hand, merged) is no figure: status and build
    stopped on it with 'ValueError: could not convert string to float', the build as its asset checks (the UI's)
    judged every partition's figure when a new texture was built."""
    _built_with_the_figures_of_one_texture_edited(
        tmp_path, cli, lambda metadata: metadata.update(min_coverage_ratio="n/a"))
    said = ("check not measured variants: keeps_coverage on walls/tex001.png, whose min_coverage_ratio in the "
            "manifest is no number (edited by hand?): remaster build --force variants measures it")
    code, output = cli(tmp_path, "status")
    assert code == 0 and said in " ".join(output.split()), output  # it was said made by an older remaster
    coverage = _keeps_coverage_in_a_ui_run_of_the_other_texture(tmp_path)
    assert coverage.metadata["not measured"].value == ("walls/tex001.png, whose min_coverage_ratio in the manifest is "
                                                       "no number (edited by hand?): build --force variants measures it")
    write_textures(tmp_path / "textures", 3, size=48)
    code, output = cli(tmp_path, "build")
    assert code == 0 and said in " ".join(output.split()), output


def _keeps_coverage_in_a_ui_run_of_the_other_texture(project: Path) -> dg.AssetCheckEvaluation:
    """The ``keeps_coverage`` check of ``variants`` as a run from the UI over floors/tex000.png alone judges it."""
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png", "walls/tex001.png"])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["variants"],
                                partition_key="floors/tex000.png")
    return {c.check_name: c for c in result.get_asset_check_evaluations()}["keeps_coverage"]


def test_status_json_lists_each_unmeasured_check_once_whatever_left_its_partitions_unmeasured(tmp_path, cli):
    """One partition made before keeps_coverage existed and another whose figure a hand edit made no number: the
    lines say why of each, and --json listed the check twice, each entry with some of its partitions, so that a CI
    script keyed by asset and check lost the others."""
    _built_with_the_figures_of_one_texture_edited(tmp_path, cli, lambda metadata: metadata.update(min_coverage_ratio="n/a"))
    manifest = tmp_path / "build" / "manifest.json"
    body = json.loads(manifest.read_text())
    del next(row for row in body["entries"] if row["partition"] == "floors/tex000.png")["metadata"]["min_coverage_ratio"]
    manifest.write_text(json.dumps(body))  # as a version from before keeps_coverage wrote it
    code, output = cli(tmp_path, "status", "--json")
    unmeasured = json.loads(output)["unmeasured_checks"]
    assert code == 0 and [(u["asset"], u["check"], sorted(u["partitions"])) for u in unmeasured] == [
        ("variants", "keeps_coverage", ["floors/tex000.png", "walls/tex001.png"])], unmeasured
    code, output = cli(tmp_path, "status")
    lines = " ".join(output.split())
    assert "floors/tex000.png, made by a version of remaster from before this check" in lines, output
    assert "walls/tex001.png, whose min_coverage_ratio in the manifest is no number" in lines, output


def _built_with_the_figures_of_one_texture_edited(tmp_path: Path, cli, edit: Callable[[dict], None]) -> None:
    """Variants of two textures built, then the figures the manifest holds for walls/tex001.png changed by ``edit``."""
    write_textures(tmp_path / "textures", 2, size=48)
    write_spec(tmp_path, SPEC)
    assert cli(tmp_path, "build")[0] == 0
    manifest = tmp_path / "build" / "manifest.json"
    body = json.loads(manifest.read_text())
    for row in body["entries"]:
        if row["partition"] == "walls/tex001.png":
            edit(row["metadata"])
    manifest.write_text(json.dumps(body))


def test_a_build_failing_a_copy_guard_on_a_small_legacy_texture_says_why_and_what_fixes_it(tmp_path, cli):
    # A new user's first build of 24 px legacy textures exited 1 on "not_a_copy: max_ncc 1" and nothing more:
    # patch's 16 px blocks are two thirds of such a texture, and its variants of a regular one repeat it.
    import numpy as np

    from ops.image_io import Image, write_image

    rows = np.zeros((24, 24, 3), np.float32)
    rows[::6] = 1.0
    write_image(tmp_path / "textures" / "walls" / "rows.png", Image(rows))
    write_spec(tmp_path, SPEC)
    code, output = cli(tmp_path, "build")
    output = output.replace("\n", " ")
    assert code == 1
    assert ("check failed variants [walls/rows.png]: not_a_copy: max_ncc 1, must be below 0.95" in output), output
    assert ("correlates 1 with the exemplar (rows.png is 24x24 px, and method patch's 16 px blocks are 67% of its "
            "side: with so few places to take them from, its variants repeat it. Use method: gram, which makes variants "
            "of a texture from 16 px)") in output, output


def test_variants_of_a_small_material_are_not_told_to_use_gram_which_validate_refuses_there(tmp_path, cli):
    """A multiply of a material too small for patch's blocks, or failing a copy guard for its few blocks, was told
    to use method: gram, as a texture is: for a material validate refuses gram, which cannot keep its maps in
    register."""
    import numpy as np

    from ops.image_io import Image, write_image

    rows = np.zeros((24, 24, 3), np.float32)
    rows[::6] = 1.0
    write_image(tmp_path / "textures" / "rows.png", Image(rows))
    write_image(tmp_path / "textures" / "tiny.png", Image(np.random.default_rng(1).random((16, 16, 3), np.float32)))
    write_spec(tmp_path, """
sources:
  legacy: {kind: textures, root: textures, glob: "*.png"}
assets:
  mat: {op: material, from: legacy, method: from_texture}
  variants: {op: multiply, from: mat, method: patch, count: 2, size: 48}
""")
    code, output = cli(tmp_path, "build")
    said = " ".join(output.split())
    assert code == 1 and "use method: gram" not in said.lower(), output
    assert f"failed variants [tiny.png]: {tmp_path / 'build' / 'mat' / 'tiny' / 'albedo.png'} is 16x16; method patch " \
        "with 16 px blocks needs an exemplar larger than 17x17 px (set patch_size: 14 or less)" in said, output
    assert "its variants repeat it. Make the material from a larger texture or larger photos (method from_texture " \
        "may be chained from an upscale of the texture)" in said, output


def test_a_model_s_failing_check_names_no_partition(tmp_path):
    """A model is one output, not a partition of a source: its failed check said "failing partitions: none" in the
    UI, beside the figure that failed it."""
    write_textures(tmp_path / "textures", 4, size=32)
    (tmp_path / "textures" / "walls" / "tex001.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    defs = build_definitions(load_spec(write_spec(tmp_path, """
build_dir: build
cache_dir: .remaster/cache
device: cpu
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
models:
  sr2x: {op: train_srcae, from: legacy, scale: 2, steps: 2, patch_size: 16, batch_size: 2, widths: [8, 8, 8]}
""")))
    with dg.instance_for_test() as instance:
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"],
                                raise_on_error=False)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["inputs_readable"].passed
    said = checks["inputs_readable"].metadata
    assert set(said) == {"unreadable_images", "limit", "unreadable"} and said["unreadable_images"].value == 1
    assert said["unreadable"].value.startswith(f"cannot decode {tmp_path / 'textures' / 'walls' / 'tex001.png'}")
