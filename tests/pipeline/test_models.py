"""A model is an asset: retraining invalidates exactly the outputs that used it."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from helpers import (
    build_killed, manifest_rows, needs_cuda, remaster_on_a_terminal, source_called, ui_statuses, unreadable_while_mode_000,
    write_spec, write_textures,
)
from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG
from pipeline.cache import ContentStore
from pipeline.definitions import build_definitions
from pipeline.hashing import hash_file
from pipeline.manifest import update_manifest
from pipeline.spec import load_spec
from pipeline.staleness import stale_partitions

SPEC = """
build_dir: build
cache_dir: .remaster/cache
device: cpu
sources:
  legacy:    {kind: textures, root: textures, glob: "**/*.png"}
  reference: {kind: textures, root: hires, glob: "**/*.png"}
models:
  sr2x: {op: train_srcae, from: reference, scale: 2, steps: 6, patch_size: 32, batch_size: 2, widths: [8, 8, 8], validate_every: 3}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2}
  legacy_sr: {op: super_resolve, from: legacy, model: sr2x}
"""


def write_project(folder: Path, legacy: int = 2) -> Path:
    """``legacy`` small textures and six reference ones under ``folder``, with SPEC; returns the spec's path."""
    write_textures(folder / "textures", legacy, size=24)
    write_textures(folder / "hires", 6, size=64, seed=5)
    return write_spec(folder, SPEC)


def observed_model_status(instance: dg.DagsterInstance, spec_file: Path) -> str:
    """What the UI says of sr2x once ``reference/files`` is observed, as "Observe sources" does."""
    from pipeline.provenance import files_key

    defs = build_definitions(load_spec(spec_file))
    observe = dg.define_asset_job("observe_files", selection=[files_key("reference")])
    dg.Definitions(assets=defs.assets, jobs=[observe], resources=defs.resources).resolve_job_def(
        "observe_files").execute_in_process(instance=instance)
    return ui_statuses(instance, defs.assets, "sr2x")[None]


def rows(folder: Path) -> dict[tuple[str, str], dict]:
    return {(e["asset"], e["partition"]): e for e in manifest_rows(folder)}


def test_retraining_recomputes_only_the_outputs_that_used_the_model(tmp_path, cli):
    spec = write_project(tmp_path, 3)
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    first = rows(tmp_path)
    weights = tmp_path / "build" / "sr2x" / "model.pt"
    assert first[("sr2x", "")]["outputs"] == {"build/sr2x/model.pt": hash_file(weights)}
    sr_row = first[("legacy_sr", "floors/tex000.png")]
    assert sr_row["inputs"]["build/sr2x/model.pt"] == hash_file(weights)

    spec.write_text(SPEC.replace("steps: 6", "steps: 7"))
    code, output = cli(tmp_path, "status", "--json")
    stale = json.loads(output)["stale"]
    assert {s["reason"] for s in stale if s["asset"] == "legacy_sr"} == {"model sr2x will be retrained"}, output
    cli(tmp_path, "build", "sr2x")
    assert rows(tmp_path)[("sr2x", "")]["status"] == "computed"
    code, output = cli(tmp_path, "status")
    assert output.count("changed model build/sr2x/model.pt") == 3, output
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    second = rows(tmp_path)
    assert second[("sr2x", "")]["status"] == "cached"
    assert {k[1]: r["status"] for k, r in second.items() if k[0] == "legacy_sr"} == dict.fromkeys(
        ["floors/tex000.png", "walls/tex001.png", "floors/tex002.png"], "computed"
    )
    assert {r["status"] for k, r in second.items() if k[0] == "legacy_2x"} == {"cached"}


def test_renaming_a_model_or_enlarging_with_a_copy_of_its_weights_recomputes_nothing(tmp_path, cli):
    spec = write_project(tmp_path)
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(SPEC.replace("sr2x", "upscaler"))
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert {r["status"] for r in rows(tmp_path).values()} == {"cached"}  # legacy_sr was computed again
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "ours.pt").write_bytes((tmp_path / "build" / "upscaler" / "model.pt").read_bytes())
    spec.write_text(SPEC.replace("sr2x", "upscaler").replace("model: upscaler", "model: {path: weights/ours.pt}"))
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert {r["status"] for k, r in rows(tmp_path).items() if k[0] == "legacy_sr"} == {"cached"}


def test_outputs_current_when_the_cache_folder_was_lost_go_back_into_it(tmp_path, cli):
    write_project(tmp_path)
    assert cli(tmp_path, "build")[0] == 0
    shutil.rmtree(tmp_path / ".remaster")
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert {r["status"] for r in rows(tmp_path).values()} == {"cached"}
    (tmp_path / "build" / "sr2x" / "model.pt").write_bytes(b"saved over by mistake")
    (tmp_path / "build" / "legacy_2x" / "floors" / "tex000.png").unlink()
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert {r["status"] for r in rows(tmp_path).values()} == {"cached"}  # the model was trained again


def test_a_run_from_the_ui_after_the_cache_was_lost_keeps_the_current_model_rather_than_retraining(tmp_path, cli):
    write_project(tmp_path, 2)
    assert cli(tmp_path, "build")[0] == 0
    weights = (tmp_path / "build" / "sr2x" / "model.pt").read_bytes()
    shutil.rmtree(tmp_path / ".remaster")
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png", "walls/tex001.png"])
        run = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])
    assert run.success
    assert rows(tmp_path)[("sr2x", "")]["status"] == "cached"  # was computed: trained again, as nightly would
    assert (tmp_path / "build" / "sr2x" / "model.pt").read_bytes() == weights


@needs_cuda
def test_a_build_on_cuda_trains_and_enlarges_there_and_a_cpu_build_reuses_it(tmp_path, cli):
    write_project(tmp_path)
    code, output = cli(tmp_path, "build", "--device", "cuda")
    assert code == 0, output
    built = rows(tmp_path)
    assert {r["metadata"]["device"] for k, r in built.items() if k[0] in ("sr2x", "legacy_sr")} == {"cuda"}
    code, output = cli(tmp_path, "build", "--device", "cpu")
    assert code == 0, output
    assert {r["status"] for r in rows(tmp_path).values()} == {"cached"}  # the device is not part of a cache key


def test_new_reference_textures_still_rebuild_the_model_s_users_when_a_cli_build_retrained_it_first(tmp_path, cli):
    write_project(tmp_path, 2)
    assert cli(tmp_path, "build")[0] == 0
    sensor = build_definitions(load_spec(tmp_path / "assets_spec.yaml")).resolve_sensor_def("reference_files")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        assert first.run_requests == []  # all built already
        instance.add_dynamic_partitions("reference", list(first.dynamic_partitions_requests[0].partition_keys))
        write_textures(tmp_path / "hires" / "more", 2, size=64, seed=11)
        assert cli(tmp_path, "build", "sr2x")[0] == 0  # the model only, before the tick
        later = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert [set(r.asset_selection) for r in later.run_requests] == [
        {dg.AssetKey("sr2x"), dg.AssetKey("legacy_2x"), dg.AssetKey("legacy_sr")}  # its users' partitions are stale
    ]


def test_a_cache_hit_restores_outputs_without_importing_torch(tmp_path, cli):
    write_project(tmp_path)
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    before = {p: hash_file(p) for p in (tmp_path / "build").rglob("*.p*") if p.suffix in (".png", ".pt")}
    for path in before:
        path.unlink()
    probe = (
        "import sys\n"
        "from pipeline.runs import run_build\n"
        "from pipeline.spec import load_spec\n"
        "report = run_build(load_spec('assets_spec.yaml'))\n"
        "assert {r['status'] for r in report.rows} == {'cached'}, report.rows\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert {p: hash_file(p) for p in before} == before


def test_a_new_model_is_trained_first_and_its_unreadable_texture_fails_its_guard(tmp_path, cli):
    write_project(tmp_path, 1)
    (tmp_path / "hires" / "half_saved.png").write_bytes(b"\x89PNG")
    code, output = cli(tmp_path, "status")
    said = " ".join(output.replace("│", " ").split())  # as the table wraps it
    assert "legacy_sr floors/tex000.png never built; model sr2x will be trained first" in said, output
    for _ in ("trained", "cached"):  # which file, on every build, not only in the log of the one that trained
        code, output = cli(tmp_path, "build")
        said = " ".join(output.split())
        assert code == 1 and "check failed sr2x: inputs_readable: unreadable_images 1, must be below 1" in said
        assert f"left out of training)): {tmp_path / 'hires' / 'half_saved.png'} is not a PNG" in said, output


def test_the_ui_check_of_a_model_names_its_unreadable_texture(tmp_path):
    spec_file = write_project(tmp_path, 1)
    (tmp_path / "hires" / "half_saved.png").write_bytes(b"\x89PNG")
    defs = build_definitions(load_spec(spec_file))
    with dg.instance_for_test() as instance:
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    readable = checks["inputs_readable"]
    assert not readable.passed and readable.severity == dg.AssetCheckSeverity.ERROR
    assert "half_saved.png is not a PNG" in readable.metadata["unreadable"].value
    assert checks["beats_lanczos"].severity == dg.AssetCheckSeverity.WARN  # 6 steps: a warning, not a failed run


def test_weights_that_cannot_be_read_are_kept_while_the_source_is_away(tmp_path, cli, monkeypatch):
    write_project(tmp_path, 1)
    cli(tmp_path, "build")
    trained = rows(tmp_path)[("sr2x", "")]
    (tmp_path / "hires").rename(tmp_path / "hires_unmounted")
    unreadable_while_mode_000(monkeypatch)
    (tmp_path / "build" / "sr2x" / "model.pt").chmod(0o000)
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:  # the UI: the CLI leaves a model without source files alone
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])
    kept = rows(tmp_path)[("sr2x", "")]
    assert (kept["status"], kept["cache_key"], kept["outputs"]) == ("cached", trained["cache_key"], trained["outputs"])


def test_status_with_a_reference_texture_that_cannot_be_read(tmp_path, cli, monkeypatch):
    write_project(tmp_path, 1)
    unreadable_while_mode_000(monkeypatch)
    reference = next((tmp_path / "hires").rglob("*.png"))
    reference.chmod(0o000)
    code, output = cli(tmp_path, "status")
    said = " ".join(output.replace("│", " ").split())  # as the table wraps it
    assert "legacy_sr floors/tex000.png never built; model sr2x will be trained first, once its inputs can be read" \
        in said, output
    reference.chmod(0o644)
    cli(tmp_path, "build")
    reference.chmod(0o000)
    code, output = cli(tmp_path, "status")  # the weights stay as they are, and so do the outputs made with them
    assert "Permission denied" in output and "legacy_sr" not in output, output


def test_a_model_without_reference_textures_says_so_in_each_output_that_needs_it(tmp_path, cli):
    write_textures(tmp_path / "textures", 1, size=24)
    write_spec(tmp_path, SPEC)  # no hires/ folder
    code, output = cli(tmp_path, "build")
    error = rows(tmp_path)[("legacy_sr", "floors/tex000.png")]["error"]
    assert code == 1 and error == (f"model 'sr2x' cannot be trained: its source 'reference' has no files "
                                   f"({tmp_path / 'hires'} matching **/*.png); add reference textures or fix the root")


def test_outputs_that_need_a_model_that_failed_to_train_point_at_its_error(tmp_path, cli):
    write_textures(tmp_path / "textures", 1, size=24)
    write_textures(tmp_path / "hires", 1, size=12)  # too small to measure a model on
    write_spec(tmp_path, SPEC)
    code, output = cli(tmp_path, "build")
    found = rows(tmp_path)
    assert code == 1 and "no held-out image is" in found[("sr2x", "")]["error"]
    assert found[("legacy_sr", "floors/tex000.png")]["error"] == (
        f"model 'sr2x' failed to train, so nothing is made with it until that is fixed: {found[('sr2x', '')]['error']}")

    # A training that never finished (a Ctrl-C) has nothing to fix: an asset run alone, as from the UI, says build it.
    update_manifest(tmp_path / "build", [{**found[("sr2x", "")], "error": "not built: the build was interrupted"}])
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png"])
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_sr"],
                       partition_key="floors/tex000.png", raise_on_error=False)
    assert rows(tmp_path)[("legacy_sr", "floors/tex000.png")]["error"].endswith(
        "model 'sr2x' has not been trained yet: materialize sr2x as well, or select legacy_sr with its upstream assets "
        "(remaster build does both)")


def test_a_model_whose_source_folder_is_emptied_keeps_its_weights(tmp_path, cli):
    write_project(tmp_path)
    assert cli(tmp_path, "build")[0] == 0
    weights = tmp_path / "build" / "sr2x" / "model.pt"
    trained = hash_file(weights)
    (tmp_path / "hires").rename(tmp_path / "unmounted")
    (tmp_path / "hires").mkdir()  # an unmounted share's empty mount point
    code, output = cli(tmp_path, "build")
    assert code == 1 and f"not built {source_called(tmp_path, 'reference')}" in output, output
    assert hash_file(weights) == trained
    assert {r["status"] for k, r in rows(tmp_path).items() if k[0] != "sr2x"} == {"cached"}
    model_row = rows(tmp_path)[("sr2x", "")]

    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))  # the nightly run, model and users together
    nightly = defs.resolve_schedule_def("nightly_legacy")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png", "walls/tex001.png"])
        tags = nightly(dg.build_schedule_context(instance=instance)).tags
        assert defs.resolve_job_def(nightly.job_name).execute_in_process(instance=instance, tags=tags).success
    assert hash_file(weights) == trained
    assert rows(tmp_path)[("sr2x", "")]["cache_key"] == model_row["cache_key"]
    assert {r["status"] for r in rows(tmp_path).values()} == {"cached"}


def test_a_stored_model_leaves_no_checkpoint_and_force_trains_it_again(tmp_path, cli, caplog):
    caplog.set_level(logging.INFO)
    write_project(tmp_path, 1)
    assert cli(tmp_path, "build")[0] == 0
    assert not any((tmp_path / ".remaster" / "cache" / "work").iterdir())
    trained = hash_file(tmp_path / "build" / "sr2x" / "model.pt")
    assert cli(tmp_path, "build", "--force")[0] == 0
    assert "resuming training" not in caplog.text
    assert rows(tmp_path)[("sr2x", "")]["status"] == "computed"
    assert hash_file(tmp_path / "build" / "sr2x" / "model.pt") == trained


def test_a_failed_training_leaves_its_work_folder_only_where_it_holds_a_checkpoint(tmp_path, cli, monkeypatch):
    """A training that failed before its first checkpoint left an empty cache/work/<key> for gc to remove a week
    later; one that failed after it keeps the checkpoint, which the next build resumes from."""
    import ops.superres.train

    spec = write_project(tmp_path, 1)
    spec.write_text(SPEC.replace("validate_every: 3", "validate_every: 3, checkpoint_every: 3"))
    work = tmp_path / ".remaster" / "cache" / "work"
    save = ops.superres.train._save_checkpoint

    def failing(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    def saved_then_failing(*args, **kwargs):
        save(*args, **kwargs)
        failing()

    with monkeypatch.context() as broken:
        broken.setattr(ops.superres.train, "_train", failing)
        assert cli(tmp_path, "build", "sr2x")[0] == 1
    assert "illegal memory access" in rows(tmp_path)[("sr2x", "")]["error"]
    assert not list(work.glob("*"))
    with monkeypatch.context() as broken:
        broken.setattr(ops.superres.train, "_save_checkpoint", saved_then_failing)
        assert cli(tmp_path, "build", "sr2x")[0] == 1
    assert [path.name for path in work.glob("*/*")] == [ops.superres.train.CHECKPOINT_NAME]


KILLED_AT_THE_FIRST_STEP = ("import os, signal, ops.superres.train as train\n"
                            "train._step = lambda *args: os.kill(os.getpid(), signal.SIGKILL)\n")


@pytest.mark.parametrize("forced", [False, True])
def test_a_training_killed_outright_before_its_first_checkpoint_leaves_no_work_folder_past_a_gc(tmp_path, cli, forced):
    """A kill -9 runs no cleanup, so it left cache/work/<key> empty, with nothing to resume: gc kept it a week, and
    for good where the key had an entry (a --force build killed). Status promises no resume from it."""
    write_project(tmp_path, 1)
    if forced:
        assert cli(tmp_path, "build")[0] == 0
    build_killed(tmp_path, KILLED_AT_THE_FIRST_STEP, *(["--force"] if forced else []))
    work = tmp_path / ".remaster" / "cache" / "work"
    assert [list(folder.iterdir()) for folder in work.iterdir()] == [[]]
    code, output = cli(tmp_path, "status", "--json")
    assert [s["reason"] for s in json.loads(output)["stale"] if s["asset"] == "sr2x"] == ([] if forced else ["never built"])
    assert cli(tmp_path, "cache", "gc", "--forget-missing")[0] == 0
    assert not any(work.iterdir())


def test_status_after_a_training_stopped_past_a_checkpoint_says_the_next_build_resumes_from_it(tmp_path, cli, monkeypatch):
    """It said only "failed last build: not built: the build was interrupted", as though the training started over."""
    import ops.superres.train
    from pipeline.runs import run_build

    spec = write_project(tmp_path, 1)
    spec.write_text(SPEC.replace("validate_every: 3", "validate_every: 3, checkpoint_every: 2"))
    save = ops.superres.train._save_checkpoint

    def ctrl_c_after_the_second(path, state, fingerprint):
        save(path, state, fingerprint)
        if state.step == 4:
            raise KeyboardInterrupt

    with monkeypatch.context() as stopped:
        stopped.setattr(ops.superres.train, "_save_checkpoint", ctrl_c_after_the_second)
        assert run_build(load_spec(spec)).interrupted == "sr2x"
    code, output = cli(tmp_path, "status", "--json")
    [model] = [s for s in json.loads(output)["stale"] if s["asset"] == "sr2x"]
    assert model["reason"] == ("failed last build: not built: the build was interrupted (Ctrl-C or SIGTERM); the next "
                               "build resumes from its checkpoint at step 4 of 6")


def test_status_while_a_build_trains_the_model_says_that_build_is_training_it(tmp_path, monkeypatch):
    """Asked while a build trained the model, status said that the next build resumes from the checkpoint that
    training was writing as it went, as though it had stopped: a build started on that word only waits for it."""
    import ops.superres.train
    from pipeline.runs import run_build

    spec = write_project(tmp_path, 1)
    spec.write_text(SPEC.replace("validate_every: 3", "validate_every: 3, checkpoint_every: 2"))
    save = ops.superres.train._save_checkpoint
    said: list[str] = []

    def asked_after_the_second(path, state, fingerprint):
        save(path, state, fingerprint)
        if state.step == 4:
            said.extend(s.reason for s in stale_partitions(load_spec(spec)).stale if s.asset == "sr2x")

    monkeypatch.setattr(ops.superres.train, "_save_checkpoint", asked_after_the_second)
    assert not run_build(load_spec(spec)).run_errors
    assert said == ["never built; a build running now is training it, up to its checkpoint at step 4 of 6 so far; a "
                    "build started meanwhile waits for it, then takes it from the cache"]
    assert not [s for s in stale_partitions(load_spec(spec)).stale if s.asset == "sr2x"]


def test_status_leaves_a_setting_that_cannot_change_the_model_out_of_what_changed(tmp_path, cli):
    """A reference texture repainted and validate_every changed in one edit: status said "params changed:
    validate_every; changed file ...", as though how often training logs its figures retrains the model (alone,
    that change leaves it current)."""
    spec = write_project(tmp_path, 1)
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(SPEC.replace("validate_every: 3", "validate_every: 2"))
    assert json.loads(cli(tmp_path, "status", "--json")[1])["up_to_date"]
    write_textures(tmp_path / "hires", 1, size=64, seed=9)
    stale = json.loads(cli(tmp_path, "status", "--json")[1])["stale"]
    assert [s["reason"] for s in stale if s["asset"] == "sr2x"] == ["changed file hires/floors/tex000.png"]


def test_a_build_on_a_terminal_under_dagster_home_draws_the_training_as_it_goes(tmp_path):
    """Under DAGSTER_HOME, as the README has users build, a run points stderr at its step's log file while the step
    runs: Rich found no terminal there and drew nothing until the step ended, so a training of minutes showed none
    of its steps (without DAGSTER_HOME it did). Here a training paused for a second at step 5 of 10, where Rich
    redraws ten times a second."""
    import os

    write_project(tmp_path, 1)
    write_spec(tmp_path, SPEC.replace("steps: 6", "steps: 10"))
    home = tmp_path / "dagster"
    home.mkdir()
    script = (
        "import time, ops.superres.train as train\n"
        "step = train._step\n"
        "def paused_after_the_fifth(state, *args):\n"
        "    if state.step == 5:\n"
        "        time.sleep(1)\n"
        "    return step(state, *args)\n"
        "train._step = paused_after_the_fifth\n"
        "from pipeline.cli import main\n"
        "main()\n"
    )
    code, shown = remaster_on_a_terminal(script, tmp_path, "build", "sr2x", env={**os.environ, "DAGSTER_HOME": str(home)})
    assert code == 0, shown
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert re.search(r"sr2x \[model\][^\r\n]* 5/10 ", drawn), drawn


def test_a_build_killed_after_storing_a_model_leaves_no_checkpoint_that_force_would_resume(tmp_path, cli, caplog,
                                                                                          monkeypatch):
    caplog.set_level(logging.INFO)
    write_project(tmp_path, 1)
    with monkeypatch.context() as killed:  # killed after the entry was stored, before the work folder was cleared
        killed.setattr(ContentStore, "clear_work", lambda self, key: None)
        assert cli(tmp_path, "build")[0] == 0
    assert any((tmp_path / ".remaster" / "cache" / "work").rglob("*.pt"))  # the finished run's checkpoint
    for args in (["build"], ["build", "--force", "--select", "sr2x"]):
        caplog.clear()
        assert cli(tmp_path, *args)[0] == 0
        assert "resuming training" not in caplog.text
    assert re.search(r"trained 6 steps", caplog.text), caplog.text
    assert not any((tmp_path / ".remaster" / "cache" / "work").iterdir())


def test_two_builds_needing_one_model_at_once_train_it_once(tmp_path):
    import threading

    from pipeline.build import MODEL_PARTITION
    from pipeline.resources import RemasterResource

    write_textures(tmp_path / "textures", 1, size=24)
    write_textures(tmp_path / "hires", 6, size=64, seed=5)
    spec = load_spec(write_spec(tmp_path, SPEC.replace("steps: 6", "steps: 60")))
    results = []

    def build() -> None:
        builder = RemasterResource(device="cpu").builder(spec)
        results.append(builder.build(spec.models["sr2x"], MODEL_PARTITION).status)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["cached", "computed"]


def test_a_model_file_changed_since_it_was_built_is_put_back_before_its_users_run(tmp_path, cli):
    write_project(tmp_path)
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    weights = tmp_path / "build" / "sr2x" / "model.pt"
    built = hash_file(weights)
    damaged = bytearray(weights.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    weights.write_bytes(bytes(damaged))

    code, output = cli(tmp_path, "build", "legacy_sr")  # only the users: the model is not rebuilt
    assert code == 0, output
    assert hash_file(weights) == built
    assert {r["status"] for k, r in rows(tmp_path).items() if k[0] == "legacy_sr"} == {"cached"}

    weights.write_bytes(bytes(damaged))
    (tmp_path / ".remaster" / "cache" / "objects" / built[:2] / built).unlink()  # and the cache lost the built file
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:  # the UI materializing the users alone cannot repair it
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png"])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                selection=["legacy_sr"], partition_key="floors/tex000.png", raise_on_error=False)
    assert not result.success
    assert "was changed after 'sr2x' built it; build sr2x again" in rows(tmp_path)[("legacy_sr", "floors/tex000.png")]["error"]
    code, output = cli(tmp_path, "build", "legacy_sr")  # the CLI builds the stale model first, as make would
    assert code == 0 and rows(tmp_path)[("sr2x", "")]["status"] == "computed" and hash_file(weights) == built
    weights.unlink()
    code, output = cli(tmp_path, "status")
    assert "model sr2x will be restored from the cache" in output
    users = {s.reason for s in stale_partitions(load_spec(tmp_path / "assets_spec.yaml")).stale if s.asset == "legacy_sr"}
    assert users == {"model sr2x will be restored from the cache; in the cache: put back, not computed"}
    entry = ContentStore(tmp_path / ".remaster" / "cache")._entry_path(rows(tmp_path)[("sr2x", "")]["cache_key"])
    record = json.loads(entry.read_text())
    record["metadata"]["train_images"] += 1  # a damaged figure
    entry.write_text(json.dumps(record))
    code, output = cli(tmp_path, "status")
    assert "model sr2x will be trained first" in output and entry.is_file()  # status changes nothing


def test_settings_that_cannot_change_a_result_rebuild_nothing(tmp_path, cli):
    spec = write_project(tmp_path)
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    neutral = (SPEC.replace("validate_every: 3}", "validate_every: 5, checkpoint_every: 2, vgg_weights: absent.pth}")
               .replace("model: sr2x}", "model: sr2x, batch: 4, adapt_learning_rate: 0.001}"))
    spec.write_text(neutral)  # logging, a loss that is off, a CUDA batch size, the rate of adapt_steps: 0
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert {r["status"] for r in rows(tmp_path).values()} == {"cached"}
    assert rows(tmp_path)[("sr2x", "")]["params"]["validate_every"] == 5  # the manifest shows the spec's values
    spec.write_text(neutral.replace("adapt_learning_rate: 0.001}", "adapt_learning_rate: 0.001, adapt_steps: 2}"))
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert {r["status"] for k, r in rows(tmp_path).items() if k[0] == "legacy_sr"} == {"computed"}


def test_a_ci_log_shows_training_progress(tmp_path, cli, monkeypatch):
    from pipeline.progress import ProgressLines

    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    write_project(tmp_path, 1)
    code, output = cli(tmp_path, "build")
    assert code == 0, output
    assert re.search(r"sr2x \[model\] 6/6 loss [0-9.]+, validation PSNR [0-9.]+ dB", output), output


def test_a_run_through_a_model_logs_one_materialization_per_partition_with_its_figures(tmp_path):
    write_project(tmp_path, 2)
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    keys = ["floors/tex000.png", "walls/tex001.png"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        runs = [dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                               selection=["sr2x", "legacy_sr"], tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[1]}),
                dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                               selection=["legacy_sr"], partition_key=keys[0])]
        messages = [event.user_message for run in runs for event in instance.all_logs(run.run_id)]
        events = {run.run_id: [(m.asset_key.path[0], m.partition, "cache" in m.metadata)
                               for m in run.asset_materializations_for_node("sr2x") + run.asset_materializations_for_node("legacy_sr")]
                  for run in runs}
    assert not [m for m in messages if "Data version mismatch" in m]  # was a warning in every run that trained sr2x
    assert events[runs[1].run_id] == [("legacy_sr", keys[0], True)]  # one event, with the figures: was two
    model_events = [e for e in events[runs[0].run_id] if e[0] == "sr2x"]
    assert model_events == [("sr2x", None, True)]


def test_the_run_log_in_the_ui_shows_the_training_s_loss_and_validation_psnr(tmp_path):
    write_project(tmp_path, 1)
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])
        messages = [event.user_message for event in instance.all_logs(result.run_id)]
    assert any(re.fullmatch(r"step 6/6 loss [0-9.]+, validation PSNR [0-9.]+ dB", m) for m in messages), messages


def test_the_ui_calls_a_model_stale_when_a_texture_it_trained_on_changes(tmp_path):
    import pipeline.build

    write_project(tmp_path, 1)
    base = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=["reference"])],
                          resources=base.resources)
    keys = sorted(p.relative_to(tmp_path / "hires").as_posix() for p in (tmp_path / "hires").rglob("*.png"))

    def observe() -> None:  # the UI's "Observe sources"
        defs.resolve_job_def("observe").execute_in_process(
            instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})

    def train() -> None:  # as a sensor's or a schedule's run does: nothing is observed first
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])

    def status() -> str:
        return ui_statuses(instance, defs.assets, "sr2x")[None]

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("reference", keys)
        train()
        observe()
        assert status() == "FRESH"
        write_textures(tmp_path / "hires", 1, size=64, seed=11)  # a reference texture gets new content
        observe()
        assert status() == "STALE"  # was FRESH for good: the model pointed at no observation
        train()
        observe()
        assert status() == "FRESH"

        build = pipeline.build.Builder.build

        def changed_while_trained(builder, target, key, **kwargs):
            result = build(builder, target, key, **kwargs)
            write_textures(tmp_path / "hires", 1, size=64, seed=13)
            observe()
            observe()  # twice: the pointer went between the two, which agree
            return result

        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(pipeline.build.Builder, "build", changed_while_trained)
            train()
        assert status() == "STALE"  # trained on the file as it was
        observe()
        assert status() == "STALE"


def test_a_model_trained_from_100_files_or_more_turns_stale_through_its_source_s_files_asset(tmp_path):
    spec_file = write_project(tmp_path, 1)
    write_textures(tmp_path / "hires" / "more", 100, size=8, seed=7)
    defs = build_definitions(load_spec(spec_file))
    keys = sorted(p.relative_to(tmp_path / "hires").as_posix() for p in (tmp_path / "hires").rglob("*.png"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("reference", keys)
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])
        assert instance.fetch_observations(dg.AssetKey("reference"), limit=10).records == []  # Dagster would not read them
        assert observed_model_status(instance, spec_file) == "FRESH"
        write_textures(tmp_path / "hires" / "more", 1, size=8, seed=9)  # one of 106 changes
        assert observed_model_status(instance, spec_file) == "STALE"  # was FRESH for good: Dagster looks at 99 at most


def test_the_ui_calls_outputs_made_with_a_model_fresh_after_a_build_records_a_project_built_earlier(
    tmp_path, cli, monkeypatch
):
    write_project(tmp_path, 2)
    assert cli(tmp_path, "build")[0] == 0  # a throwaway instance
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    assert cli(tmp_path, "build")[0] == 0
    instance = dg.DagsterInstance.get()
    assets = build_definitions(load_spec(tmp_path / "assets_spec.yaml")).assets
    statuses = ui_statuses(instance, assets, "legacy_sr", instance.get_dynamic_partitions("legacy"))
    assert statuses == dict.fromkeys(["floors/tex000.png", "walls/tex001.png"], "FRESH")  # was STALE: recorded before sr2x


def test_a_model_recorded_before_it_read_its_files_asset_or_kept_while_its_share_was_away_shows_fresh(
    tmp_path, cli, monkeypatch
):
    from pipeline.provenance import DATA_VERSION_TAG

    spec_file = write_project(tmp_path, 1)
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    assert cli(tmp_path, "build")[0] == 0
    instance = dg.DagsterInstance.get()
    defs = build_definitions(load_spec(spec_file))

    def status() -> str:
        return observed_model_status(instance, spec_file)

    assert status() == "FRESH"
    latest = instance.get_latest_materialization_event(dg.AssetKey("sr2x")).asset_materialization
    old = {k: v for k, v in latest.tags.items() if "files" not in k}  # as a build before the files asset recorded it
    instance.report_runless_asset_event(dg.AssetMaterialization("sr2x", metadata=latest.metadata, tags=old))
    assert status() == "STALE" and old[DATA_VERSION_TAG] == latest.tags[DATA_VERSION_TAG]
    assert cli(tmp_path, "build")[0] == 0
    assert status() == "FRESH"  # was STALE ("has a new dependency on reference/files") until the model was built again

    (tmp_path / "hires").rename(tmp_path / "away")  # the share is away during the nightly build
    (tmp_path / "hires").mkdir()
    nightly = defs.resolve_schedule_def("nightly_legacy")
    tags = nightly(dg.build_schedule_context(instance=instance)).tags
    assert defs.resolve_job_def(nightly.job_name).execute_in_process(instance=instance, tags=tags).success
    (tmp_path / "hires").rmdir()
    (tmp_path / "away").rename(tmp_path / "hires")
    assert status() == "FRESH"  # was STALE: the kept model recorded the files of an empty folder


def test_a_ctrl_c_while_a_model_retrains_leaves_no_output_of_the_old_model_listed_as_built(tmp_path, monkeypatch):
    import ops.superres.train
    from pipeline.runs import run_build

    spec_file = write_project(tmp_path, 2)
    run_build(load_spec(spec_file))
    spec_file.write_text(SPEC.replace("steps: 6", "steps: 6, seed: 1"))

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ops.superres.train, "_train", ctrl_c)
    report = run_build(load_spec(spec_file))
    assert report.interrupted == "sr2x"
    users = {k[1]: r for k, r in rows(tmp_path).items() if k[0] == "legacy_sr"}
    # Were "computed": made with the weights the spec no longer asks for (kept, as are the weights, which
    # the next build retrains), they are not what this build was to make.
    assert {r["error"] for r in users.values()} == {"not built: the build was interrupted (Ctrl-C or SIGTERM)"}
    assert {r["status"] for r in users.values()} == {"failed"}
    assert {r["status"] for k, r in rows(tmp_path).items() if k[0] == "legacy_2x"} == {"cached"}


@pytest.mark.parametrize("layout", ["vgg weights in the reference folder", "reference folder is the spec's"])
def test_a_model_s_files_version_is_that_of_its_source_files_alone(tmp_path, cli, monkeypatch, layout):
    import torch

    from ops.superres.losses import VGGFeatures

    project = tmp_path / "project"
    write_textures(project / "hires", 3, size=32, seed=5)
    if layout == "vgg weights in the reference folder":
        torch.manual_seed(0)
        torch.save({f"features.{k}": v for k, v in VGGFeatures().features.state_dict().items()}, project / "hires" / "vgg.pth")
        model = ("{op: train_srcae, from: reference, steps: 2, patch_size: 16, batch_size: 2, widths: [8, 8, 8], "
                 "loss: {vgg: 0.1}, vgg_weights: hires/vgg.pth}")
        write_spec(project, f"build_dir: build\nsources:\n  reference: {{kind: textures, root: hires}}\nmodels:\n  sr2x: {model}\n")
    else:
        model = "{op: train_srcae, from: reference, steps: 2, patch_size: 16, batch_size: 2, widths: [8, 8, 8]}"
        write_spec(project, f"build_dir: ../build\ncache_dir: ../cache\nsources:\n  reference: {{kind: textures, root: ., "
                            f"glob: 'hires/**/*.png'}}\nmodels:\n  sr2x: {model}\n")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert cli(project, "build")[0] == 0
    assert observed_model_status(dg.DagsterInstance.get(), project / "assets_spec.yaml") == "FRESH"


def test_the_ui_calls_a_model_stale_once_a_new_vgg_weights_file_in_place_is_observed(tmp_path, cli, monkeypatch):
    """The model's vgg_weights joins its cache key, and remaster status and a build retrained it once the file was
    replaced; the UI called the model fresh. It is the observable source asset ``sr2x/vgg_weights``, an input of the
    model, which a CLI build under DAGSTER_HOME observes as it read it."""
    import torch

    from ops.superres.losses import VGGFeatures

    def save_vgg(seed: int) -> None:
        torch.manual_seed(seed)
        torch.save({f"features.{k}": v for k, v in VGGFeatures().features.state_dict().items()}, tmp_path / "vgg.pth")

    write_textures(tmp_path / "hires", 3, size=32, seed=5)
    save_vgg(0)
    model = ("{op: train_srcae, from: reference, steps: 2, patch_size: 16, batch_size: 2, widths: [8, 8, 8], "
             "loss: {vgg: 0.1}, vgg_weights: vgg.pth}")
    spec = write_spec(tmp_path, f"build_dir: build\ndevice: cpu\nsources:\n  reference: {{kind: textures, root: hires}}\n"
                                f"models:\n  sr2x: {model}\n")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert cli(tmp_path, "build")[0] == 0
    instance = dg.DagsterInstance.get()
    defs = build_definitions(load_spec(spec))
    unpartitioned = dg.AssetSelection.assets("sr2x").upstream_source_assets() - dg.AssetSelection.assets("reference")
    observe = dg.define_asset_job("observe", selection=unpartitioned)  # "Observe sources", but per file of reference
    job = dg.Definitions(assets=defs.assets, jobs=[observe], resources=defs.resources).resolve_job_def("observe")
    assert observed_model_status(instance, spec) == "FRESH"
    save_vgg(1)
    assert job.execute_in_process(instance=instance).success
    assert ui_statuses(instance, defs.assets, "sr2x")[None] == "STALE"  # was FRESH
    assert cli(tmp_path, "build")[0] == 0
    assert rows(tmp_path)[("sr2x", "")]["status"] == "computed"
    assert observed_model_status(instance, spec) == "FRESH"


def test_a_model_made_before_a_guard_existed_still_builds_in_the_ui(tmp_path):
    """Its cached metadata lacks the new guard's figure; Dagster fails a step that yields no result for a check."""
    spec_file = write_project(tmp_path, 1)
    defs = build_definitions(load_spec(spec_file))
    with dg.instance_for_test() as instance:
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])
        store = ContentStore(tmp_path / ".remaster" / "cache")
        [entry_file] = list((store.root / "entries").glob("*/*.json"))
        record = json.loads(entry_file.read_text())
        del record["metadata"]["lanczos_gain_db"]
        key = entry_file.stem
        store.drop(key)
        old = tmp_path / "old.pt"
        old.write_bytes((tmp_path / "build" / "sr2x" / "model.pt").read_bytes())
        store.put(key, {"model.pt": old}, record["metadata"])  # as a build before the guard stored it
        update_manifest(tmp_path / "build", drop=[("sr2x", "")])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["sr2x"])
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert result.success and checks["beats_lanczos"].passed
    assert "build --force sr2x measures it" in checks["beats_lanczos"].metadata["not measured"].value


def test_a_build_that_computed_nothing_says_an_advisory_check_in_one_line(tmp_path, cli):
    """A nightly build that finds everything cached repeated each warning's figure, burying what it did."""
    write_project(tmp_path, 1)
    code, output = cli(tmp_path, "build", "sr2x")
    said = " ".join(output.split())
    assert code == 0 and "check warning sr2x: beats_lanczos: lanczos_gain_db" in said, output  # 6 steps learn nothing
    code, output = cli(tmp_path, "build", "sr2x")
    said = " ".join(output.split())
    assert code == 0 and "lanczos_gain_db" not in said, output
    assert "check warning sr2x: beats_lanczos still warns on the model, built earlier (remaster status shows each figure)" in said
