"""Runs launched from the UI that fail or are terminated: the partitions they never reached are recorded as
not built (``pipeline.unreached``), so that the UI, ``remaster status`` and the next build say so."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from helpers import CHAIN_SPEC, UPSCALE_SPEC, manifest_rows, write_spec
from ops.image_io import Image, read_image, write_image
from pipeline.definitions import build_definitions
from pipeline.resources import RemasterResource
from pipeline.runs import run_build
from pipeline.spec import Spec, load_spec
from pipeline.unreached import CANCELED_SENSOR, failure_message, mark_not_built, unreached_sensor


def test_a_failed_run_launched_from_the_ui_records_what_it_never_reached(project):
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        texture = project / "textures" / "walls" / "tex001.png"
        original = texture.read_bytes()
        context = _a_ui_run_failing_on(texture, spec, instance)
        stale = project / "build" / "legacy_4x" / "walls" / "tex001.png"
        assert stale.exists() and statuses_of(project, "legacy_4x")["walls/tex001.png"] != "failed"  # looks built
        unreached_sensor(spec)(context)
        rows = {e["partition"]: e for e in manifest_rows(project) if e["asset"] == "legacy_4x"}
        assert rows["walls/tex001.png"]["status"] == "failed" and "legacy_2x" in rows["walls/tex001.png"]["error"]
        assert "dagster._core" not in rows["walls/tex001.png"]["error"]  # the words of the Failure our step raised
        assert not stale.exists()  # it was made from the old texture
        assert rows["floors/tex000.png"]["status"] != "failed"  # skipped too, but its output is still right
        assert (project / "build" / "legacy_4x" / "floors" / "tex000.png").exists()

        texture.write_bytes(original)  # fixed and rebuilt before the sensor saw the failed run: nothing to mark
        run_build(spec, instance=instance)
        unreached_sensor(spec)(context)
    assert set(statuses_of(project, "legacy_4x").values()) == {"cached"}


def test_a_partition_a_failed_run_never_reached_names_the_failed_steps_it_is_built_from(project, cli):
    """A UI run of legacy_4x and an unrelated model, both failing: legacy_4x's rows said 'an earlier step of its
    run failed (legacy_2x, sr2x)', naming a step it is not built from."""

    spec = load_spec(write_spec(project, CHAIN_SPEC))
    assert cli(project, "build")[0] == 0
    builder = RemasterResource(device="cpu").builder(spec)
    other = {"legacy_2x": "walls/tex001.png: not a PNG", "nowhere": "a step outside the spec's graph"}
    mark_not_built(builder, [("legacy_4x", "walls/tex001.png")], "run-1", other)
    mark_not_built(builder, [("legacy_4x", "floors/tex000.png")], "run-2", {"nowhere": "a step beside it"})
    errors = {row["partition"]: row.get("error") for row in manifest_rows(project) if row["asset"] == "legacy_4x"}
    assert errors["walls/tex001.png"] == "not built: an earlier step of its run failed (legacy_2x)"
    assert errors["floors/tex000.png"] == "not built: an earlier step of its run failed (nowhere)"  # all, where none is


def test_a_run_terminated_in_the_ui_records_what_it_never_reached(project, monkeypatch):
    """Terminate ends a run as canceled, not failed: the run-failure sensor never saw it, so the outputs of the
    steps it never started went on looking built in the manifest, made from the texture as it was before."""
    import ops.upscale


    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    spec = load_spec(project / "assets_spec.yaml")
    texture = project / "textures" / "walls" / "tex001.png"
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        write_image(texture, Image(read_image(texture).color[::-1].copy()))  # repainted, then built from the UI

        def terminated_as_it_enlarges(inputs, out_dir, params, ctx):  # as Terminate's signal handler does
            [run] = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            instance.report_run_canceling(run)
            raise dg.DagsterExecutionInterruptedError()

        monkeypatch.setattr(ops.upscale, "run", terminated_as_it_enlarges)  # the repainted texture, in legacy_2x
        keys = instance.get_dynamic_partitions("legacy")
        result = dg.materialize(
            list(build_definitions(spec).assets or []), instance=instance, selection=["legacy_2x", "legacy_4x"],
            resources={"remaster": RemasterResource(device="cpu")}, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
        )
        assert result.dagster_run.status == dg.DagsterRunStatus.CANCELED
        stale = project / "build" / "legacy_4x" / "walls" / "tex001.png"
        assert stale.exists() and statuses_of(project, "legacy_4x")["walls/tex001.png"] != "failed"  # looks built
        canceled = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_CANCELED)
        build_definitions(spec).resolve_sensor_def(CANCELED_SENSOR)(dg.build_run_status_sensor_context(
            sensor_name=CANCELED_SENSOR, dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=canceled))
    rows = {e["partition"]: e for e in manifest_rows(project) if e["asset"] == "legacy_4x"}
    assert rows["walls/tex001.png"]["status"] == "failed"
    assert rows["walls/tex001.png"]["error"] == "not built: its run was terminated (Terminate in the UI)"  # not Ctrl-C
    assert not stale.exists()  # made from legacy_2x's old enlargement, which the run stopped before replacing
    assert statuses_of(project, "legacy_2x")["walls/tex001.png"] == "failed"
    assert not (project / "build" / "legacy_2x" / "walls" / "tex001.png").exists()
    assert rows["floors/tex000.png"]["status"] != "failed"  # never reached either, but still right
    assert (project / "build" / "legacy_4x" / "floors" / "tex000.png").exists()


def test_the_unreached_sensor_loaded_before_the_spec_changed_judges_a_failed_run_by_the_spec_it_ran(project):
    """Its plans, of the old params, called the outputs of the new ones stale and deleted them."""
    chained = UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"
    loaded = load_spec(write_spec(project, chained))  # what dagster dev loaded in the morning
    spec = load_spec(write_spec(project, chained.replace("legacy_2x, scale: 2", "legacy_2x, scale: 3")))  # pulled since
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        texture = project / "textures" / "walls" / "tex001.png"
        context = _a_ui_run_failing_on(texture, spec, instance)  # of the new spec: a run re-imports the definitions
        unreached_sensor(loaded)(context)
    assert (project / "build" / "legacy_4x" / "floors" / "tex000.png").is_file()  # right for the new spec
    assert statuses_of(project, "legacy_4x")["floors/tex000.png"] != "failed"
    assert statuses_of(project, "legacy_4x")["walls/tex001.png"] == "failed"  # made from the old texture
    assert not (project / "build" / "legacy_4x" / "walls" / "tex001.png").exists()


def test_what_a_failed_run_skipped_though_its_outputs_are_still_right_shows_as_materialized_in_the_ui(project):
    """Dagster skips every partition of a step after a failed one and shows each as failed, in red: one texture cut
    short in a nightly run of 5,000 showed every enlarged texture failed, though remaster status called all but
    one up to date and their outputs were untouched. The sensor records them as materialized again."""
    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        context = _a_ui_run_failing_on(project / "textures" / "walls" / "tex001.png", spec, instance)
        unreached_sensor(spec)(context)
        keys = instance.get_dynamic_partitions("legacy")
        shown = instance.get_status_by_partition(dg.AssetKey("legacy_4x"), keys, dg.DynamicPartitionsDefinition(name="legacy"))
    assert {key: status.value for key, status in shown.items()} == {
        key: "FAILED" if key == "walls/tex001.png" else "MATERIALIZED" for key in keys}
    assert [key for key, status in statuses_of(project, "legacy_4x").items() if status == "failed"] == ["walls/tex001.png"]


def _a_ui_run_failing_on(texture: Path, spec: Spec, instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    """Cut ``texture`` short, so that legacy_2x fails there and Dagster skips all of legacy_4x, and run both over
    every partition, as a backfill from the UI does; returns what the run-failure sensor is given."""
    texture.write_bytes(texture.read_bytes()[:40])
    keys = instance.get_dynamic_partitions("legacy")
    result = dg.materialize(
        list(build_definitions(spec).assets or []), instance=instance, selection=["legacy_2x", "legacy_4x"],
        resources={"remaster": RemasterResource(device="cpu")}, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name="remaster_unreached", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=failure,
    ).for_run_failure()


def statuses_of(folder: Path, asset: str) -> dict[str, str]:
    return {e["partition"]: e["status"] for e in manifest_rows(folder) if e["asset"] == asset}


def test_an_older_failed_run_does_not_mark_what_a_newer_one_reached_as_never_reached(project):
    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        (project / "textures" / "walls" / "bad.png").write_bytes(b"garbage")
        run_build(spec, instance=instance)  # the new partition exists; its row says why it failed
        keys = instance.get_dynamic_partitions("legacy")
        failed = []
        for _ in range(2):  # the file sensor's run, then the nightly one, each failing on bad.png
            failed.append(dg.materialize(
                list(build_definitions(spec).assets or []), instance=instance, selection=["legacy_2x"],
                resources={"remaster": RemasterResource(device="cpu")}, raise_on_error=False,
                tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
            ))
        for result in failed:  # the failure sensor handles the older first
            failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
            unreached_sensor(spec)(dg.build_run_status_sensor_context(
                sensor_name="remaster_unreached", dagster_instance=instance, dagster_run=result.dagster_run,
                dagster_event=failure,
            ).for_run_failure())
            row = next(r for r in manifest_rows(project) if r["partition"] == "walls/bad.png")
            assert not row["error"].startswith("not built") and "is not a PNG, JPEG, TGA, DDS or TIFF image" in row["error"], row
            assert row["run_id"] == failed[-1].run_id
    step_failure = next(e for e in failed[0].all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert failure_message(step_failure.event_specific_data.error).startswith("1 of 6 partitions of legacy_2x failed")


def test_a_run_of_one_partition_that_fails_says_so_in_the_singular(project):
    """A UI run of one texture that failed said "1 of 1 partitions of legacy_2x failed"."""
    (project / "textures" / "walls" / "bad.png").write_bytes(b"garbage")
    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["walls/bad.png"])
        result = dg.materialize(list(build_definitions(spec).assets or []), instance=instance, selection=["legacy_2x"],
                                resources={"remaster": RemasterResource(device="cpu")}, raise_on_error=False,
                                partition_key="walls/bad.png")
    step_failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert failure_message(step_failure.event_specific_data.error).startswith("1 of 1 partition of legacy_2x failed:")
