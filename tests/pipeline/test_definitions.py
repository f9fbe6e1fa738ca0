"""Definitions load fast and without torch; sensors and the schedule do what they say."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from helpers import (
    CHAIN_SPEC, LFS_POINTER, REPO, UPSCALE_SPEC, manifest_rows, pinned_partition_limit, ui_statuses,
    variants_dds_project, write_spec, write_textures,
)
from ops.image_io import Image, write_image
from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG
from pipeline.definitions import build_definitions, spec_path
from pipeline.killed_builds import KILLED_BUILDS_SENSOR
from pipeline.spec import load_spec
from pipeline.unreached import CANCELED_SENSOR, UNREACHED_SENSOR


def test_dagster_definitions_validate_on_the_workspace():
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_loading_definitions_neither_imports_torch_nor_reads_sources(tmp_path):
    write_textures(tmp_path / "demo" / "textures" / "legacy", 3)  # where the demo spec's legacy source looks
    (tmp_path / "assets_spec.yaml").write_text((REPO / "assets_spec.yaml").read_text())
    probe = (
        "import sys, pipeline.hashing as h\n"
        "h.hash_file = lambda p: sys.exit('hashed ' + str(p))\n"
        "from pipeline.definitions import defs\n"
        "d = defs()\n"
        "assert d.assets, 'no assets'\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_spec_entry_is_an_asset(project):
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"legacy", "legacy_2x"}
    node = defs.resolve_asset_graph().get(dg.AssetKey("legacy_2x"))
    assert node.description == "upscale from legacy, `{scale: 2, filter: lanczos}`"  # the spec entry's settings
    schedules_and_sensors = [*defs.schedules, *defs.sensors]
    assert all(d.description for d in schedules_and_sensors), [d.name for d in schedules_and_sensors if not d.description]


def test_a_sensor_of_another_spec_on_the_same_build_folder_deletes_nothing(project, cli):
    assert cli(project, "build")[0] == 0
    built = sorted((project / "build" / "legacy_2x").rglob("*.png"))
    other = project / "other.yaml"
    other.write_text((project / "assets_spec.yaml").read_text().replace("legacy_2x:", "legacy_down:"))
    sensor = build_definitions(load_spec(other)).resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance))  # it removed legacy_2x's outputs
    assert isinstance(result, dg.SkipReason) and "holds the outputs of" in result.skip_message
    assert sorted((project / "build" / "legacy_2x").rglob("*.png")) == built and len(built) == 5


def test_sensor_adds_partitions_and_requests_one_run_over_the_changes(project):
    spec = load_spec(project / "assets_spec.yaml")
    defs = build_definitions(spec)
    sensor = defs.resolve_sensor_def("legacy_files")

    def ranges(result: dg.SensorResult) -> list[tuple[str, str]]:
        return [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests]

    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        [add] = first.dynamic_partitions_requests
        assert list(add.partition_keys) == sorted(add.partition_keys) and len(add.partition_keys) == 5
        assert ranges(first) == [(add.partition_keys[0], add.partition_keys[-1])]
        assert first.run_requests[0].asset_selection == [dg.AssetKey("legacy_2x")]
        instance.add_dynamic_partitions("legacy", list(add.partition_keys))
        second = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert second.run_requests == [] and second.dynamic_partitions_requests == []
        (project / "textures" / "floors" / "tex000.png").unlink()
        write_textures(project / "textures" / "new", 1, seed=4)
        third = sensor(dg.build_sensor_context(instance=instance, cursor=second.cursor))
        assert ranges(third) == [("new/floors/tex000.png", "new/floors/tex000.png")]
        kinds = {type(r).__name__: list(r.partition_keys) for r in third.dynamic_partitions_requests}
        assert kinds == {
            "AddDynamicPartitionsRequest": ["new/floors/tex000.png"],
            "DeleteDynamicPartitionsRequest": ["floors/tex000.png"],
        }
        assert json.loads(third.cursor)["versions"].keys() == {"walls/tex001.png", "floors/tex002.png", "walls/tex003.png",
                                                    "floors/tex004.png", "new/floors/tex000.png"}


def test_sensor_requests_a_run_each_for_changed_files_far_apart(project, monkeypatch):
    """Not one run over every partition between them, each recorded as a cache hit."""
    import pipeline.ranges

    monkeypatch.setattr(pipeline.ranges, "GAP_FOR_A_NEW_RUN", 1)
    sensor = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:
        cursor = sensor(dg.build_sensor_context(instance=instance)).cursor
        keys = sorted(json.loads(cursor)["versions"])
        instance.add_dynamic_partitions("legacy", keys)
        ranges = {}
        for seed, changed in enumerate([(0, 4), (0, 2)], start=7):
            for index in changed:
                write_image(project / "textures" / keys[index], Image(np.full((16, 16, 3), seed / 10 + index / 50, np.float32)))
            result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
            ranges[changed] = [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests]
            cursor = result.cursor
    assert ranges == {(0, 4): [(keys[0], keys[0]), (keys[4], keys[4])], (0, 2): [(keys[0], keys[2])]}


def test_sensor_rebuilds_a_file_changed_back_and_skips_a_missing_folder(project):
    sensor = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_sensor_def("legacy_files")
    texture = project / "textures" / "walls" / "tex001.png"
    original = texture.read_bytes()
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        instance.add_dynamic_partitions("legacy", list(first.dynamic_partitions_requests[0].partition_keys))
        write_textures(project / "elsewhere", 2, seed=9)
        texture.write_bytes((project / "elsewhere" / "walls" / "tex001.png").read_bytes())
        changed = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        texture.write_bytes(original)
        back = sensor(dg.build_sensor_context(instance=instance, cursor=changed.cursor))
        requests = changed.run_requests + back.run_requests
        assert [r.tags[RANGE_START_TAG] for r in requests] == ["walls/tex001.png"] * 2
        assert all(r.run_key is None for r in requests)  # Dagster launches a run key once per sensor, ever
        (project / "textures").rename(project / "unmounted")
        missing = sensor(dg.build_sensor_context(instance=instance, cursor=back.cursor))
        assert isinstance(missing, dg.SkipReason) and "textures does not exist; nothing is built from it" in missing.skip_message
        (project / "textures").mkdir()  # an unmounted share's mount point: there, and empty
        empty = sensor(dg.build_sensor_context(instance=instance, cursor=back.cursor))
        assert isinstance(empty, dg.SkipReason) and "no file in" in empty.skip_message
        assert empty.skip_message.endswith("; its partitions are kept")
        assert len(instance.get_dynamic_partitions("legacy")) == 5


def test_sensor_requests_nothing_for_files_a_cli_build_already_built(project, cli):
    sensor = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_sensor_def("legacy_files")
    assert cli(project, "build")[0] == 0
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))  # turned on over a built folder: no cursor
        assert first.run_requests == [] and len(first.dynamic_partitions_requests[0].partition_keys) == 5
        instance.add_dynamic_partitions("legacy", list(first.dynamic_partitions_requests[0].partition_keys))
        write_textures(project / "elsewhere", 2, seed=9)
        texture = project / "textures" / "walls" / "tex001.png"
        texture.write_bytes((project / "elsewhere" / "walls" / "tex001.png").read_bytes())
        write_textures(project / "textures" / "late", 1, seed=4)
        assert cli(project, "build")[0] == 0  # before the next tick
        later = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert later.run_requests == []  # the build, on this instance (DAGSTER_HOME), added the new file's partition
        assert "late/floors/tex000.png" in instance.get_dynamic_partitions("legacy")
        texture.write_bytes((project / "elsewhere" / "floors" / "tex000.png").read_bytes())
        changed = sensor(dg.build_sensor_context(instance=instance, cursor=later.cursor))
        assert [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in changed.run_requests] == [
            ("walls/tex001.png", "walls/tex001.png")
        ]


def test_the_nightly_schedule_rebuilds_the_files_on_disk_tonight_in_one_run(project):
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    schedule = defs.resolve_schedule_def("nightly_legacy")
    job = defs.resolve_job_def(schedule.job_name)
    assert job.name == "build_legacy"
    files = sorted(p.relative_to(project / "textures").as_posix() for p in (project / "textures").rglob("*.png"))
    with dg.instance_for_test() as instance:  # no file sensor ever ran: the instance knows none of the files
        request = schedule(dg.build_schedule_context(instance=instance))
        keys = instance.get_dynamic_partitions("legacy")
        assert sorted(keys) == files and (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (keys[0], keys[-1])
        assert job.execute_in_process(instance=instance, tags=request.tags).success
        assert sorted(row["partition"] for row in manifest_rows(project)) == files

        gone = project / "textures" / files[1]
        gone.unlink()  # deleted, and a new file added, while no sensor ran
        shutil.copy(project / "textures" / files[0], project / "textures" / "new.png")
        request = schedule(dg.build_schedule_context(instance=instance))
        keys = instance.get_dynamic_partitions("legacy")
        assert sorted(keys) == sorted([*files[:1], *files[2:], "new.png"])
        assert not (project / "build" / "legacy_2x" / files[1]).exists()
        assert job.execute_in_process(instance=instance, tags=request.tags).success
    assert sorted(row["partition"] for row in manifest_rows(project)) == sorted(keys)


def test_sensors_and_schedules_loaded_before_the_spec_changed_wait_for_a_reload(project, cli):
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))  # what dagster dev loaded in the morning
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text() + "  legacy_4x: {op: upscale, from: legacy, scale: 4}\n")  # a commit pulled since
    assert cli(project, "build")[0] == 0
    added = sorted((project / "build" / "legacy_4x").rglob("*.png"))
    assert added
    with dg.instance_for_test() as instance:
        nightly = defs.resolve_schedule_def("nightly_legacy")(dg.build_schedule_context(instance=instance))
        watch = defs.resolve_sensor_def("legacy_files")(dg.build_sensor_context(instance=instance))
        assert not instance.get_dynamic_partitions("legacy")
    for tick in (nightly, watch):
        assert isinstance(tick, dg.SkipReason) and "reload the definitions" in tick.skip_message, tick
    assert sorted((project / "build" / "legacy_4x").rglob("*.png")) == added  # the old spec had no legacy_4x
    assert "legacy_4x" in {row["asset"] for row in manifest_rows(project)}

    spec.write_text(spec.read_text().replace("scale: 4}", "scale: 4"))  # saved half edited
    with dg.instance_for_test() as instance:
        tick = defs.resolve_schedule_def("nightly_legacy")(dg.build_schedule_context(instance=instance))
    assert isinstance(tick, dg.SkipReason) and "no longer loads" in tick.skip_message, tick


def test_the_nightly_schedule_runs_at_the_spec_s_hour_in_its_time_zone(project):
    spec = project / "assets_spec.yaml"
    assert build_definitions(load_spec(spec)).resolve_schedule_def("nightly_legacy").execution_timezone in (None, "UTC")
    spec.write_text("timezone: America/Los_Angeles\n" + spec.read_text())  # 03:00 there, not 19:00 the day before
    nightly = build_definitions(load_spec(spec)).resolve_schedule_def("nightly_legacy")
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("0 3 * * *", "America/Los_Angeles")


def test_sensors_and_schedules_loaded_through_a_link_to_the_spec_wait_for_a_reload_once_it_points_elsewhere(
    project, cli, monkeypatch
):
    """The check read the file the link pointed to when Dagster loaded it, which had not changed: the old spec's
    tick went on, stopped here only by the build folder's claim, whose message says to delete .built-from if
    the other spec builds elsewhere now (which would let it delete the outputs of the asset the new spec adds)."""
    spec = project / "assets_spec.yaml"
    (project / "monday.yaml").write_text(spec.read_text())
    (project / "tuesday.yaml").write_text(spec.read_text() + "  legacy_4x: {op: upscale, from: legacy, scale: 4}\n")
    spec.unlink()
    spec.symlink_to("monday.yaml")
    monkeypatch.chdir(project)
    defs = build_definitions(load_spec(spec_path()))  # what dagster dev loaded on Monday
    spec.unlink()
    spec.symlink_to("tuesday.yaml")
    assert cli(project, "build")[0] == 0
    added = sorted((project / "build" / "legacy_4x").rglob("*.png"))
    assert added
    with dg.instance_for_test() as instance:
        tick = defs.resolve_sensor_def("legacy_files")(dg.build_sensor_context(instance=instance))
    assert isinstance(tick, dg.SkipReason) and tick.skip_message.startswith(
        f"{spec} leads to {project / 'tuesday.yaml'} now, not to {project / 'monday.yaml'} as when Dagster loaded it: "
        "reload the definitions"), tick
    assert sorted((project / "build" / "legacy_4x").rglob("*.png")) == added


def test_sensors_loaded_while_a_source_s_root_was_a_link_wait_for_a_reload_once_it_points_elsewhere(project, cli):
    """The spec's text is the same, but its source is another folder: the old definitions' sensor took the files
    that folder lacks for deleted, dropped their partitions and, a tick later, deleted their outputs."""
    (project / "textures").rename(project / "art_v2")
    write_textures(project / "art_v1", 2)
    (project / "textures").symlink_to("art_v1")
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))  # what dagster dev loaded
    (project / "textures").unlink()
    (project / "textures").symlink_to("art_v2")
    assert cli(project, "build")[0] == 0
    built = sorted((project / "build" / "legacy_2x").rglob("*.png"))
    assert len(built) == 5
    with dg.instance_for_test() as instance:
        tick = defs.resolve_sensor_def("legacy_files")(dg.build_sensor_context(instance=instance))
    assert isinstance(tick, dg.SkipReason) and tick.skip_message.startswith(  # not "the spec has changed": it has not
        f"'textures' in {project / 'assets_spec.yaml'} leads to {project / 'art_v2'} now, not to "
        f"{project / 'art_v1'} as when Dagster loaded it: reload the definitions"), tick
    assert sorted((project / "build" / "legacy_2x").rglob("*.png")) == built

    (project / "textures").unlink()
    (project / "textures").symlink_to("art_v1")  # back as loaded
    (project / "build").rename(project / "old_build")
    (project / "build").write_text("")  # a file where the build folder goes: the spec no longer loads
    with dg.instance_for_test() as instance:
        tick = defs.resolve_schedule_def("nightly_legacy")(dg.build_schedule_context(instance=instance))
    assert isinstance(tick, dg.SkipReason) and tick.skip_message.startswith(
        f"{project / 'assets_spec.yaml'} no longer loads ("), tick
    assert f"build_dir: {project / 'build'} is a file" in tick.skip_message, tick


def test_observing_a_source_reports_each_file_hash_as_its_data_version(project):
    from pipeline.hashing import hash_file

    base = build_definitions(load_spec(project / "assets_spec.yaml"))
    observe = dg.define_asset_job("observe_legacy", selection=["legacy"])
    defs = dg.Definitions(assets=base.assets, jobs=[observe], resources=base.resources)
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("observe_legacy").execute_in_process(instance=instance).success
        records = instance.fetch_observations(dg.AssetKey("legacy"), limit=10).records
        versions = {r.asset_observation.partition: r.asset_observation.data_version for r in records}
    textures = project / "textures"
    assert versions == {path.relative_to(textures).as_posix(): hash_file(path) for path in textures.rglob("*.png")}


def test_observing_a_source_in_the_ui_adds_and_drops_the_partitions_of_its_files_and_says_so(project):
    """An artist who never runs the CLI clicks Observe on a source: its files become partitions to materialize (a
    new instance had none, and the observation observed nothing, without a word), and one deleted goes."""
    base = build_definitions(load_spec(project / "assets_spec.yaml"))
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=["legacy"])],
                          resources=base.resources)

    def observe() -> list[str]:
        result = defs.resolve_job_def("observe").execute_in_process(instance=instance)
        assert result.success
        return [e.user_message for e in instance.all_logs(result.run_id) if e.user_message.startswith(("added", "dropped"))]

    with dg.instance_for_test() as instance:
        said = observe()
        keys = ["floors/tex000.png", "floors/tex002.png", "floors/tex004.png", "walls/tex001.png", "walls/tex003.png"]
        assert instance.get_dynamic_partitions("legacy") == keys
        assert said == ["added 5 partitions of legacy for new files: floors/tex000.png, floors/tex002.png, "
                        "floors/tex004.png and 2 more"]
        observed = instance.fetch_observations(dg.AssetKey("legacy"), limit=10).records
        assert sorted(r.asset_observation.partition for r in observed) == keys
        (project / "textures" / "walls" / "tex001.png").unlink()
        assert observe() == ["dropped 1 partition of legacy with no file now: walls/tex001.png; what was built from it "
                             "is deleted by the next remaster build, nightly run or legacy_files tick"]
        assert "walls/tex001.png" not in instance.get_dynamic_partitions("legacy")


def test_a_ui_run_of_a_deleted_texture_s_partition_says_to_observe_the_source_which_drops_it(project):
    """A texture deleted with the sensor off fails every run of its partition alone, which Dagster still shows:
    the failure said the file was gone and no more, leaving the artist without a way to be rid of it in the UI."""
    base = build_definitions(load_spec(project / "assets_spec.yaml"))
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=["legacy"])],
                          resources=base.resources)
    keys = ["floors/tex000.png", "walls/tex001.png"]

    def materialize(first: str) -> dg.ExecuteInProcessResult:
        tags = {RANGE_START_TAG: first, RANGE_END_TAG: keys[-1]}
        return dg.materialize(base.assets, instance=instance, resources=base.resources, selection=["legacy_2x"],
                              tags=tags, raise_on_error=False)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        (project / "textures" / "walls" / "tex001.png").unlink()
        [failure] = materialize(keys[-1]).get_step_failure_events()
        said = " ".join(failure.step_failure_data.user_failure_data.description.split())
        assert "walls/tex001.png is no longer in source 'legacy': its source file is gone, or the source's glob or " \
               f"exclude leaves it out ({project / 'textures/walls/tex001.png'}), so it is not built; Dagster keeps " \
               "its partition until the next legacy_files tick, remaster build or Observe legacy in the UI drops it" \
               in said, said
        assert defs.resolve_job_def("observe").execute_in_process(instance=instance).success
        keys = instance.get_dynamic_partitions("legacy")
        assert materialize(keys[0]).success
    assert (project / "build" / "legacy_2x" / "floors" / "tex004.png").is_file()


def test_a_texture_deleted_before_its_run_ran_is_not_built_and_the_rest_of_the_run_is(project, cli):
    """A texture deleted after a sensor's run over a range of textures was launched, before it ran: the failure of
    its partition failed the whole step, and Dagster skipped every later step of the run, for every texture."""
    write_spec(project, CHAIN_SPEC)
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    keys = ["floors/tex000.png", "walls/tex001.png", "floors/tex002.png", "walls/tex003.png", "floors/tex004.png"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        (project / "textures" / keys[2]).unlink()
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                selection=["legacy_2x", "legacy_4x"],
                                tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}, raise_on_error=False)
        said = [event.user_message for event in instance.all_logs(result.run_id)
                if "no longer in" in event.user_message]
    latest = {(event.asset_key.to_user_string(), event.partition): set(event.materialization.metadata)
              for event in result.get_asset_materialization_events()}
    gone = (f"{keys[2]}: {keys[2]} is no longer in source 'legacy': its source file is gone, or the source's glob or "
            f"exclude leaves it out ({project / 'textures' / keys[2]}), so it is not built; Dagster keeps its "
            "partition until the next legacy_files tick, remaster build or Observe legacy in the UI drops it")
    assert result.success and said == [gone, gone]
    for asset in ("legacy_2x", "legacy_4x"):
        assert {key for key in keys if "cache" in latest[(asset, key)]} == set(keys) - {keys[2]}
        assert latest[(asset, keys[2])] == {"not built"}
    assert {(r["asset"], r["partition"]) for r in manifest_rows(project) if r["status"] == "failed"} == {
        ("legacy_2x", keys[2]), ("legacy_4x", keys[2])}
    assert len(list((project / "build" / "legacy_4x").rglob("*.png"))) == 4
    assert cli(project, "status") == (0, "everything is up to date\n")  # as README says: it lists the gone one no more


def test_a_texture_deleted_at_the_end_of_a_queued_run_s_range_keeps_its_partition_until_the_run_ends(project):
    """Dagster looks a run's range up as the run starts: the last texture of a queued run deleted, the next tick
    dropped its partition, and the run failed every step, for every texture of the range."""
    from pipeline.runs import run_build

    spec = load_spec(project / "assets_spec.yaml")
    defs = build_definitions(spec)
    sensor, job = defs.resolve_sensor_def("legacy_files"), defs.resolve_job_def("build_legacy")

    def tick(cursor: str | None) -> dg.SensorResult:
        result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
        for request in result.dynamic_partitions_requests:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions("legacy", list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    instance.delete_dynamic_partition("legacy", key)
        return result

    with dg.instance_for_test() as instance:
        first = tick(None)
        job.execute_in_process(instance=instance, tags=first.run_requests[0].tags)
        keys = instance.get_dynamic_partitions("legacy")
        for key in (keys[0], keys[-1]):
            write_image(project / "textures" / key, Image(np.full((16, 16, 3), 0.3, np.float32)))
        second = tick(first.cursor)
        [request] = second.run_requests
        waiting = instance.create_run_for_job(job_def=job, tags=request.tags, status=dg.DagsterRunStatus.NOT_STARTED)
        (project / "textures" / keys[-1]).unlink()
        kept = tick(second.cursor)
        assert kept.dynamic_partitions_requests == [] and kept.skip_reason.skip_message == (
            f"{keys[-1]} of legacy deleted: its partition is kept while run {waiting.run_id[:8]}, yet to finish, names "
            "it (Dagster looks a run's partitions up as it starts), and dropped by the first tick, build or Observe "
            "after it ends; a run a crash left started keeps it for a day: terminate it in the UI (Runs, Terminate, "
            "with Force termination)")
        run_build(spec, instance=instance)  # a CLI build meanwhile keeps it too
        assert instance.get_dynamic_partitions("legacy") == keys
        instance.delete_run(waiting.run_id)  # the daemon launches it:
        result = job.execute_in_process(instance=instance, tags=waiting.tags, raise_on_error=False)
        latest = {event.partition: set(event.materialization.metadata)
                  for event in result.get_asset_materialization_events()}
        assert result.success and latest[keys[-1]] == {"not built"}
        assert all("cache" in latest[key] for key in keys[:-1])
        assert tick(kept.cursor).dynamic_partitions_requests[0].partition_keys == [keys[-1]]  # the run ended


def test_observing_a_source_says_which_run_keeps_a_deleted_texture_s_partition_not_that_it_dropped_it(project):
    """Observe keeps a deleted texture's partition that a queued run names as its range's end, as a tick does: its
    log said it had dropped it, and the UI went on listing the partition, with nothing to say which run held it."""
    spec = load_spec(project / "assets_spec.yaml")
    base = build_definitions(spec)
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=["legacy"])],
                          resources=base.resources)
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("observe").execute_in_process(instance=instance).success
        keys = instance.get_dynamic_partitions("legacy")
        job = base.resolve_job_def("build_legacy")
        waiting = instance.create_run_for_job(job_def=job, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
                                              status=dg.DagsterRunStatus.NOT_STARTED)
        (project / "textures" / keys[-1]).unlink()
        (project / "textures" / keys[0]).unlink()
        (project / "textures" / keys[2]).unlink()  # no run names it: it goes
        result = defs.resolve_job_def("observe").execute_in_process(instance=instance)
        said = [e.user_message for e in instance.all_logs(result.run_id)
                if e.user_message.startswith(("added", "dropped", keys[-1], keys[0]))]
        assert instance.get_dynamic_partitions("legacy") == [keys[0], keys[1], *keys[3:]]
    assert said == [
        f"dropped 1 partition of legacy with no file now: {keys[2]}; what was built from it is deleted by the next "
        "remaster build, nightly run or legacy_files tick",
        f"{keys[0]}, {keys[-1]} of legacy deleted: their partitions are kept while run {waiting.run_id[:8]}, yet to "
        "finish, names them (Dagster looks a run's partitions up as it starts), and dropped by the first tick, build or "
        "Observe after it ends; a run a crash left started keeps them for a day: terminate it in the UI (Runs, "
        "Terminate, with Force termination)"]


TWIN_SOURCES = """
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
  props: {kind: textures, root: props, glob: "**/*.png"}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}
  props_2x: {op: upscale, from: props, scale: 2, filter: lanczos}
"""


def _waiting_run_of_legacy(instance: dg.DagsterInstance, defs: dg.Definitions, launched: str,
                           keys: list[str]) -> dg.DagsterRun:
    """A run over all of legacy's partitions yet to finish: the nightly job's, the UI's Materialize, or a remaster
    build's still running in another process (its tags as the build that made the instance's first run gave it)."""
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    if launched == "nightly":
        return instance.create_run_for_job(job_def=defs.resolve_job_def("build_legacy"), tags=tags,
                                           status=dg.DagsterRunStatus.NOT_STARTED)
    if launched == "ui":
        return instance.create_run_for_job(job_def=defs.resolve_implicit_global_asset_job_def(), tags=tags,
                                           asset_selection=frozenset({dg.AssetKey("legacy_2x")}),
                                           status=dg.DagsterRunStatus.NOT_STARTED)
    built = instance.get_runs()[-1]  # legacy's: a build runs the sources in the spec's order
    run = dg.DagsterRun(job_name=built.job_name, run_id="a-build-elsewhere", status=dg.DagsterRunStatus.STARTED,
                        tags=built.tags)
    instance.add_run(run)
    return run


@pytest.mark.parametrize("launched", ["nightly", "ui", "build"])
def test_a_run_of_one_source_keeps_no_deleted_partition_of_another_source_s_file_of_the_same_name(tmp_path, launched):
    """Two sources each with a file of one name: a run of legacy yet to finish kept props' partition of that name,
    its file deleted, until the run ended (runs were matched by partition key alone), and the tick said a run of
    legacy kept it."""
    from pipeline.runs import run_build

    write_textures(tmp_path / "textures", 3)
    write_textures(tmp_path / "props", 3, seed=1)
    spec = load_spec(write_spec(tmp_path, TWIN_SOURCES))
    defs = build_definitions(spec)
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        keys = instance.get_dynamic_partitions("legacy")
        assert instance.get_dynamic_partitions("props") == keys
        waiting = _waiting_run_of_legacy(instance, defs, launched, keys)
        (tmp_path / "props" / keys[-1]).unlink()
        tick = defs.resolve_sensor_def("props_files")(dg.build_sensor_context(instance=instance))
        assert [request.partition_keys for request in tick.dynamic_partitions_requests] == [[keys[-1]]]
        run_build(spec, instance=instance)
        assert instance.get_dynamic_partitions("props") == keys[:-1]
        (tmp_path / "textures" / keys[-1]).unlink()  # legacy's own file of that name: its run keeps it
        run_build(spec, instance=instance)
        assert instance.get_dynamic_partitions("legacy") == keys
        assert instance.get_run_by_id(waiting.run_id).status == waiting.status


def test_a_ui_run_launched_after_the_spec_changed_says_it_built_what_the_spec_says_now(project, monkeypatch):
    """The UI keeps the spec it loaded; a run it launches loads the file as it is now and builds that. It said
    nothing of it, and the UI called what it had just built stale ("has a new code version") with the old settings."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import execute_run  # as Dagster's run worker executes a run the UI launched

    spec_file = project / "assets_spec.yaml"
    monkeypatch.setenv("REMASTER_SPEC", str(spec_file))
    loaded = build_definitions(load_spec(spec_file)).resolve_implicit_global_asset_job_def()  # what the UI shows
    spec_file.write_text(spec_file.read_text().replace("filter: lanczos", "filter: bicubic"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["walls/tex001.png"])
        run = instance.create_run_for_job(job_def=loaded, asset_selection=frozenset({dg.AssetKey("legacy_2x")}),
                                          tags={"dagster/partition": "walls/tex001.png"})
        job = ReconstructableRepository.for_module("pipeline.definitions", "defs").get_reconstructable_job(loaded.name)
        assert execute_run(job.get_subset(asset_selection={dg.AssetKey("legacy_2x")}), run, instance).success
        said = [e.user_message for e in instance.all_logs(run.run_id) if "has changed since" in e.user_message]
        reloaded = build_definitions(load_spec(spec_file))
        again = dg.materialize(reloaded.assets, instance=instance, resources=reloaded.resources, selection=["legacy_2x"],
                               partition_key="walls/tex001.png")
        assert not [e for e in instance.all_logs(again.run_id) if "has changed since" in e.user_message]
    assert said == [f"{spec_file} has changed since the UI loaded it: this run built legacy_2x as the file says now "
                    "(upscale from legacy, `{scale: 2, filter: bicubic}`), where the UI shows upscale from legacy, "
                    "`{scale: 2, filter: lanczos}`; reload the definitions (Deployment > Reload in the UI, or restart "
                    "dagster dev) so that the UI shows what the spec says"]


def test_sensor_sees_a_pair_s_scene_sidecar_change(tmp_path):
    for role in ("flash", "guide"):
        write_image(tmp_path / "photos" / "oak" / f"{role}.png", Image(np.full((8, 8, 3), 0.5, np.float32)))
    spec = load_spec(write_spec(tmp_path, """
        build_dir: build
        sources:
          scans: {kind: photo_pairs, root: photos, flash: "*/flash.*", guide: "*/guide.*"}
        assets:
          scanned: {op: material, from: scans, method: two_shot}
        """))
    sensor = build_definitions(spec).resolve_sensor_def("scans_files")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        instance.add_dynamic_partitions("scans", ["oak"])
        (tmp_path / "photos" / "oak" / "scene.json").write_text('{"camera": {"fov_deg": 40}}')
        edited = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert [r.tags[RANGE_START_TAG] for r in edited.run_requests] == ["oak"]


MODEL_SPEC = """
build_dir: build
device: cpu
sources:
  legacy:    {kind: textures, root: textures, glob: "**/*.png"}
  reference: {kind: textures, root: hires, glob: "**/*.png"}
models:
  sr2x: {op: train_srcae, from: reference, scale: 2, steps: 4, patch_size: 32, batch_size: 2, widths: [8, 8, 8]}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2}
  legacy_sr: {op: super_resolve, from: legacy, model: sr2x}
"""


def test_new_reference_textures_retrain_the_model_and_rebuild_what_uses_it(tmp_path):
    write_textures(tmp_path / "textures", 2, size=24)
    write_textures(tmp_path / "hires", 4, size=64, seed=5)
    defs = build_definitions(load_spec(write_spec(tmp_path, MODEL_SPEC)))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png", "walls/tex001.png"])
        result = defs.resolve_sensor_def("reference_files")(dg.build_sensor_context(instance=instance))
        [request] = result.run_requests
        assert request.asset_selection == [dg.AssetKey(n) for n in ("sr2x", "legacy_2x", "legacy_sr")]
        assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("floors/tex000.png", "walls/tex001.png")

        nightly = defs.resolve_schedule_def("nightly_legacy")  # the same group: the model first, in one run
        assert [s.name for s in defs.schedules] == ["nightly_legacy"]
        job = defs.resolve_job_def(nightly.job_name)
        run = job.execute_in_process(instance=instance, tags=nightly(dg.build_schedule_context(instance=instance)).tags)
        assert run.success
        steps = [e.step_key for e in run.all_events if e.event_type_value == "STEP_SUCCESS"]
        assert steps.index("sr2x") < steps.index("legacy_sr")
    assert (tmp_path / "build" / "sr2x" / "model.pt").is_file()
    assert (tmp_path / "build" / "legacy_sr" / "walls" / "tex001.png").is_file()


def test_a_removed_reference_texture_retrains_and_a_source_without_files_still_trains_nightly(tmp_path):
    write_textures(tmp_path / "hires", 4, size=64, seed=5)
    (tmp_path / "textures").mkdir()
    defs = build_definitions(load_spec(write_spec(tmp_path, MODEL_SPEC)))
    sensor = defs.resolve_sensor_def("reference_files")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        instance.add_dynamic_partitions("reference", list(first.dynamic_partitions_requests[0].partition_keys))
        (tmp_path / "hires" / "walls" / "tex003.png").unlink()
        removed = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert [r.asset_selection for r in removed.run_requests] == [[dg.AssetKey("sr2x")]]  # legacy has no files

        nightly = defs.resolve_schedule_def("nightly_legacy")
        request = nightly(dg.build_schedule_context(instance=instance))
        assert request.asset_selection == [dg.AssetKey("sr2x")] and not request.tags
        job = defs.resolve_job_def(nightly.job_name)
        assert job.execute_in_process(instance=instance, asset_selection=request.asset_selection).success
    assert (tmp_path / "build" / "sr2x" / "model.pt").is_file()


def test_the_sensor_removes_the_outputs_of_a_deleted_file_once_dagster_dropped_its_partition(project):
    from pipeline.runs import run_build

    spec = load_spec(project / "assets_spec.yaml")
    sensor = build_definitions(spec).resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        output = project / "build" / "legacy_2x" / "walls" / "tex001.png"
        (project / "textures" / "walls" / "tex001.png").unlink()
        first = sensor(dg.build_sensor_context(instance=instance))  # as a preview ("Test sensor") evaluates it
        assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [["walls/tex001.png"]]
        assert output.is_file() and len(manifest_rows(project)) == 5
        instance.delete_dynamic_partition("legacy", "walls/tex001.png")  # as the daemon applies the tick's request
        sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert not output.exists()
    rows = manifest_rows(project)
    assert "walls/tex001.png" not in {row["partition"] for row in rows} and len(rows) == 4


def test_a_sensor_tick_that_drops_a_partition_and_requests_no_run_says_so_in_the_ui(project):
    """A tick that dropped a deleted texture's partition, and asked for no run, said Dagster's "Sensor function
    returned an empty result" in the sensor's tick history."""
    from pipeline.runs import run_build

    spec = load_spec(project / "assets_spec.yaml")
    sensor = build_definitions(spec).resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        first = sensor(dg.build_sensor_context(instance=instance))
        (project / "textures" / "walls" / "tex001.png").unlink()
        (project / "textures" / "walls" / "tex003.png").unlink()
        result = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert result.run_requests == [] and result.skip_reason.skip_message == (
        "walls/tex001.png, walls/tex003.png of legacy deleted: their partitions are dropped, and what was built from "
        "them is deleted on the next tick")


def test_a_file_moved_away_and_back_while_a_cli_build_ran_is_rebuilt_by_the_sensor(project):
    from pipeline.runs import run_build

    spec = load_spec(project / "assets_spec.yaml")
    sensor = build_definitions(spec).resolve_sensor_def("legacy_files")
    texture = project / "textures" / "walls" / "tex001.png"
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        first = sensor(dg.build_sensor_context(instance=instance))
        texture.rename(project / "tex001.png")
        run_build(spec, instance=instance)  # drops the file's partition and outputs
        (project / "tex001.png").rename(texture)
        back = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))  # the cursor kept its hash
    assert [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in back.run_requests] == [("walls/tex001.png",) * 2]


def test_the_sensor_tries_a_failed_partition_once_more_while_its_file_stays_as_it_is(project, monkeypatch):
    """A file read while an artist saved over it failed for good where the save ended with the bytes the
    sensor had hashed: its hash never changed again."""
    import pipeline.assets
    from pipeline.manifest import update_manifest
    from pipeline.unreached import INTERRUPTED, TERMINATED

    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    sensor, job = defs.resolve_sensor_def("legacy_files"), defs.resolve_job_def("build_legacy")
    texture = project / "textures" / "walls" / "tex001.png"
    write_textures(project / "elsewhere", 2, seed=9)
    edited = (project / "elsewhere" / "walls" / "tex001.png").read_bytes()

    def tick(cursor: str | None) -> dg.SensorResult:
        return sensor(dg.build_sensor_context(instance=instance, cursor=cursor))

    def built() -> dict[str, str]:
        return {row["partition"]: row["status"] for row in manifest_rows(project)}

    def run(result: dg.SensorResult) -> tuple[str, str]:
        [request] = result.run_requests
        job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
        return request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]

    with dg.instance_for_test() as instance:
        first = tick(None)
        instance.add_dynamic_partitions("legacy", list(first.dynamic_partitions_requests[0].partition_keys))
        run(first)
        [row] = [row for row in manifest_rows(project) if row["partition"] == "walls/tex001.png"]
        update_manifest(project / "build", [{**row, "status": "failed", "error": f"not built: {INTERRUPTED}"}])
        (project / "build" / "legacy_2x" / "walls" / "tex001.png").unlink()
        assert tick(first.cursor).run_requests == []  # a CLI build someone stopped did not fail
        update_manifest(project / "build", [{**row, "status": "failed", "error": f"not built: {TERMINATED}"}])
        assert tick(first.cursor).run_requests == []  # nor a run terminated in the UI

        texture.write_bytes(edited)
        changed = tick(first.cursor)
        texture.write_bytes(edited[: len(edited) // 2])  # the run reads it while the artist saves it again
        assert run(changed) == ("walls/tex001.png", "walls/tex001.png") and built()["walls/tex001.png"] == "failed"
        texture.write_bytes(edited)
        instance.create_run_for_job(job_def=job, status=dg.DagsterRunStatus.STARTED)
        assert tick(changed.cursor).run_requests == []  # not while a run (the nightly one, say) may build it
        monkeypatch.setattr(pipeline.assets, "STUCK_AFTER", timedelta(0))  # a day on: a crash left it "started"
        again = tick(changed.cursor)
        assert run(again) == ("walls/tex001.png", "walls/tex001.png")
        assert set(built().values()) == {"computed"} and tick(again.cursor).run_requests == []

        texture.write_bytes(edited[:40])  # broken for good: tried once more, then only when it changes
        broken = tick(again.cursor)
        run(broken)
        retried = tick(broken.cursor)
        run(retried)
        settled = tick(retried.cursor)
        assert settled.run_requests == [] and built()["walls/tex001.png"] == "failed"
        texture.write_bytes(edited)
        assert run(tick(settled.cursor)) == ("walls/tex001.png", "walls/tex001.png")


class _Daemon:
    """Ticks the ``legacy`` source's file sensor as dagster-daemon does: each tick's partition requests
    applied, each run it asks for run and followed by the ``remaster_unreached`` run-failure sensor."""

    def __init__(self, instance: dg.DagsterInstance, spec_file) -> None:
        self.instance, self.spec = instance, load_spec(spec_file)
        defs = build_definitions(self.spec)
        self.sensor, self.job = defs.resolve_sensor_def("legacy_files"), defs.resolve_job_def("build_legacy")
        self.cursor: str | None = None

    def tick(self) -> list[tuple[str, str]]:
        """One tick and its runs: the range of each."""
        from pipeline.unreached import record_unreached

        result = self.sensor(dg.build_sensor_context(instance=self.instance, cursor=self.cursor))
        added = [key for request in result.dynamic_partitions_requests for key in request.partition_keys]
        self.instance.add_dynamic_partitions("legacy", added)  # the files of a new project
        for request in result.run_requests:
            run = self.job.execute_in_process(instance=self.instance, tags=request.tags, raise_on_error=False)
            record_unreached(self.spec, self.instance, self.instance.get_run_by_id(run.run_id))
        self.cursor = result.cursor
        return [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in result.run_requests]


CHAINED = UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"
TRAINED_FROM_LEGACY = """
build_dir: build
device: cpu
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
models:
  sr2x: {op: train_srcae, from: legacy, scale: 2, steps: 2, patch_size: 16, batch_size: 2, widths: [8, 8, 8]}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}
"""


def _failed(project) -> list[tuple[str, str]]:
    return sorted((row["partition"], row["asset"]) for row in manifest_rows(project) if row["status"] == "failed")


def test_a_texture_broken_for_good_leaves_the_others_of_its_run_unbuilt_only_until_the_next_tick(project):
    """One texture failing in a run skips the next step for every partition of the run; the sensor's runs
    after that keep the broken one apart, since a run spanning it would skip them all again."""
    from pipeline.manifest import update_manifest

    spec = write_spec(project, CHAINED)
    (project / "textures" / "walls" / "tex001.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    with dg.instance_for_test() as instance:
        daemon = _Daemon(instance, spec)
        assert daemon.tick() == [("floors/tex000.png", "walls/tex003.png")]
        skipped = [row for row in manifest_rows(project) if row["asset"] == "legacy_4x"]
        assert len(skipped) == 5 and all(row["error"].startswith("not built") for row in skipped)
        assert daemon.tick() == [("floors/tex000.png", "floors/tex004.png"), ("walls/tex003.png",) * 2,
                                 ("walls/tex001.png",) * 2]  # the broken one apart
        assert _failed(project) == [("walls/tex001.png", "legacy_2x"), ("walls/tex001.png", "legacy_4x")]
        assert daemon.tick() == []
        row = next(row for row in manifest_rows(project) if row["asset"] == "legacy_4x")
        update_manifest(project / "build", [{**row, "status": "failed", "error": "not built: its run failed"}])
        (project / str(next(iter(row["outputs"])))).unlink()  # skipped by a later run: tried again, as the first time
        assert daemon.tick() == [(row["partition"], row["partition"])]


def test_a_sensor_tick_that_requests_nothing_says_why_in_the_ui(project):
    """The sensor's tick history said "Sensor function returned an empty result" every 30 seconds, Dagster's words,
    to an artist waiting for a texture that had failed twice to be built."""
    from pipeline.runs import run_build

    with dg.instance_for_test() as instance:
        run_build(load_spec(project / "assets_spec.yaml"), instance=instance)
        daemon = _Daemon(instance, project / "assets_spec.yaml")

        def skipped() -> str:
            return daemon.sensor(dg.build_sensor_context(instance=instance, cursor=daemon.cursor)).skip_reason.skip_message

        assert skipped() == ("5 files of legacy changed or new to this sensor, whose outputs are current already: "
                             "floors/tex000.png, floors/tex002.png, floors/tex004.png and 2 more")
        (project / "textures" / "walls" / "tex001.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
        assert daemon.tick() == [("walls/tex001.png",) * 2]
        assert daemon.tick() == [("walls/tex001.png",) * 2]  # tried once more: it fails again
        assert skipped() == ("no file of legacy was added, changed or removed since the last tick; the last build of "
                             "walls/tex001.png failed: each is tried again once its file changes")


def test_a_sensor_tick_reads_the_runs_yet_to_finish_once(project, monkeypatch):
    """A tick that kept a deleted texture's partition for a queued run, while another texture's last build had
    failed, read the run list three times: for the runs naming the partition, whether to retry, and to say why."""
    from pipeline.runs import run_build

    with dg.instance_for_test() as instance:
        run_build(load_spec(project / "assets_spec.yaml"), instance=instance)
        daemon = _Daemon(instance, project / "assets_spec.yaml")
        daemon.tick()
        (project / "textures" / "walls" / "tex001.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
        assert daemon.tick() == daemon.tick() == [("walls/tex001.png",) * 2]  # tried once more: it fails again
        waiting = instance.create_run_for_job(job_def=daemon.job, status=dg.DagsterRunStatus.NOT_STARTED,
                                              tags={RANGE_START_TAG: "floors/tex000.png", RANGE_END_TAG: "walls/tex003.png"})
        (project / "textures" / "walls" / "tex003.png").unlink()
        reads = []
        for name in ("get_runs", "get_run_records"):
            read = getattr(dg.DagsterInstance, name)
            monkeypatch.setattr(dg.DagsterInstance, name, lambda self, *args, read=read, **kwargs:
                                reads.append(args or kwargs) or read(self, *args, **kwargs))
        result = daemon.sensor(dg.build_sensor_context(instance=instance, cursor=daemon.cursor))
    assert result.skip_reason.skip_message == (
        f"walls/tex003.png of legacy deleted: its partition is kept while run {waiting.run_id[:8]}, yet to finish, "
        "names it (Dagster looks a run's partitions up as it starts), and dropped by the first tick, build or Observe "
        "after it ends; a run a crash left started keeps it for a day: terminate it in the UI (Runs, Terminate, with "
        "Force termination); the last build of walls/tex001.png failed: each is tried again once no run is queued or "
        "running")
    assert len(reads) == 1


def test_a_source_models_train_from_has_what_a_broken_texture_left_unbuilt_tried_again(tmp_path):
    """Its changes retrain and rebuild all in one run, which spans the broken texture; a tick with no change
    tries again what that run left unbuilt, keeping the broken one apart."""
    write_textures(tmp_path / "textures", 3, size=32)
    spec = write_spec(tmp_path, TRAINED_FROM_LEGACY + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n"
                                                      "  legacy_sr: {op: super_resolve, from: legacy, model: sr2x}\n")
    (tmp_path / "textures" / "walls" / "tex001.png").write_text(LFS_POINTER)
    with dg.instance_for_test() as instance:
        daemon = _Daemon(instance, spec)
        assert daemon.tick() == [("floors/tex000.png", "walls/tex001.png")]  # the model, then all after it
        assert daemon.tick() == [("floors/tex000.png", "floors/tex002.png"), ("walls/tex001.png",) * 2]
        assert daemon.tick() == []
    assert _failed(tmp_path) == [("walls/tex001.png", asset) for asset in ("legacy_2x", "legacy_4x", "legacy_sr")]


def test_a_retraining_run_has_what_it_left_unbuilt_tried_again_though_it_was_tried_before(tmp_path, monkeypatch):
    """A run that retrains the models rebuilds every texture again: what it leaves unbuilt, for a texture
    broken for good among them, is tried once more, even where it was tried (and failed) before."""
    import ops.superres.train

    write_textures(tmp_path / "textures", 3, size=32)
    spec = write_spec(tmp_path, TRAINED_FROM_LEGACY
                      + "  legacy_sr: {op: super_resolve, from: legacy_2x, model: sr2x}\n")
    (tmp_path / "textures" / "walls" / "tex001.png").write_text(LFS_POINTER)

    def no_memory(*args, **kwargs):
        raise MemoryError("out of memory")

    with dg.instance_for_test() as instance:
        daemon = _Daemon(instance, spec)
        monkeypatch.setattr(ops.superres.train, "run", no_memory)  # the model fails: legacy_sr is never reached
        daemon.tick()
        assert daemon.tick() == [("floors/tex000.png", "floors/tex002.png"), ("walls/tex001.png",) * 2]  # once more
        assert daemon.tick() == []
        monkeypatch.undo()  # the model trains again, on the next change
        write_textures(tmp_path / "elsewhere", 3, size=32, seed=9)
        shutil.copy(tmp_path / "elsewhere" / "floors" / "tex000.png", tmp_path / "textures" / "floors" / "tex000.png")
        assert daemon.tick() == [("floors/tex000.png", "walls/tex001.png")]  # retrains, and spans the broken one
        assert daemon.tick() == [("floors/tex000.png", "floors/tex002.png")]
    built = {row["partition"]: row["status"] for row in manifest_rows(tmp_path) if row["asset"] == "legacy_sr"}
    assert built == {"floors/tex000.png": "computed", "floors/tex002.png": "computed", "walls/tex001.png": "failed"}


def test_with_no_asset_built_from_another_a_broken_texture_does_not_split_a_run(project):
    """A step per asset, each reading the files: one texture failing skips nothing else, so changed files on
    both sides of it are still one run, not one each."""
    (project / "textures" / "walls" / "tex001.png").write_text(LFS_POINTER)
    with dg.instance_for_test() as instance:
        daemon = _Daemon(instance, project / "assets_spec.yaml")
        while daemon.tick():  # the first run, then the broken one tried once more
            pass
        write_textures(project / "elsewhere", 5, seed=9)
        for key in ("floors/tex000.png", "walls/tex003.png"):  # re-exported, on both sides of the broken one
            shutil.copy(project / "elsewhere" / key, project / "textures" / key)
        assert daemon.tick() == [("floors/tex000.png", "walls/tex003.png")]


def test_a_texture_newly_broken_in_a_retry_holds_back_the_rest_only_until_the_next_tick(project):
    """A retry's range may span a texture that broke since (saved half way): what it skipped again is
    tried again once that one is known broken; mended together, the broken ones build in one run."""
    spec = write_spec(project, CHAINED)
    textures = {key: project / "textures" / key for key in ("walls/tex001.png", "floors/tex002.png")}
    saved = {key: path.read_bytes() for key, path in textures.items()}
    with dg.instance_for_test() as instance:
        daemon = _Daemon(instance, spec)
        textures["walls/tex001.png"].write_bytes(b"\x89PNG\r\n\x1a\n cut short")
        daemon.tick()
        textures["floors/tex002.png"].write_bytes(b"\x89PNG\r\n\x1a\n saved half way")
        assert daemon.tick() == [("floors/tex000.png", "floors/tex004.png"), ("walls/tex003.png",) * 2,
                                 ("walls/tex001.png",) * 2]
        assert ("floors/tex000.png", "legacy_4x") in _failed(project)  # skipped again: tex002 broke in its range
        assert daemon.tick() == [("floors/tex000.png",) * 2, ("floors/tex004.png",) * 2, ("floors/tex002.png",) * 2]
        assert [key for key, _ in _failed(project)] == ["floors/tex002.png"] * 2 + ["walls/tex001.png"] * 2
        assert daemon.tick() == []
        for key, path in textures.items():
            path.write_bytes(saved[key])
        assert daemon.tick() == [("floors/tex002.png", "walls/tex001.png")] and _failed(project) == []


def test_a_sensor_run_builds_the_model_its_assets_need_first(tmp_path):
    write_textures(tmp_path / "textures", 2, size=24)
    write_textures(tmp_path / "hires", 4, size=64, seed=5)
    defs = build_definitions(load_spec(write_spec(tmp_path, MODEL_SPEC)))
    with dg.instance_for_test() as instance:
        [request] = defs.resolve_sensor_def("legacy_files")(dg.build_sensor_context(instance=instance)).run_requests
    assert request.asset_selection == [dg.AssetKey(n) for n in ("sr2x", "legacy_2x", "legacy_sr")]


def test_every_sensor_tick_drops_rows_of_files_dagster_dropped_meanwhile(project):
    from pipeline.manifest import rows_by_key, update_manifest
    from pipeline.runs import run_build

    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        sensor = build_definitions(spec).resolve_sensor_def("legacy_files")
        first = sensor(dg.build_sensor_context(instance=instance))
        row = rows_by_key(project / "build")[("legacy_2x", "walls/tex001.png")]
        (project / "textures" / "walls" / "tex001.png").unlink()
        second = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        instance.delete_dynamic_partition("legacy", "walls/tex001.png")
        third = sensor(dg.build_sensor_context(instance=instance, cursor=second.cursor))
        update_manifest(project / "build", [row])  # a run's row for the file, written after that tick
        sensor(dg.build_sensor_context(instance=instance, cursor=third.cursor))
    rows = manifest_rows(project)
    assert "walls/tex001.png" not in {row["partition"] for row in rows} and len(rows) == 4


def test_a_sensor_tick_deletes_nothing_dagster_did_not_drop(project):
    from pipeline.runs import run_build

    spec_file = write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    run_build(load_spec(spec_file), instance=dg.DagsterInstance.ephemeral())  # a CLI build without DAGSTER_HOME
    before = sorted((project / "build").rglob("*.png"))
    (project / "textures" / "walls" / "tex001.png").unlink()
    write_spec(project, UPSCALE_SPEC)  # legacy_4x taken out of the spec
    sensor = build_definitions(load_spec(spec_file)).resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:  # dagster dev's own instance, which never had these partitions
        sensor(dg.build_sensor_context(instance=instance))  # as the UI's "Test sensor" runs it
    assert sorted((project / "build").rglob("*.png")) == before and len(manifest_rows(project)) == 10


def test_a_file_the_sensor_cannot_partition_is_logged_on_its_tick(project, caplog):
    (project / "textures" / "x...y.png").write_bytes((project / "textures" / "floors" / "tex000.png").read_bytes())
    sensor = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance))
    assert "x...y.png" not in result.dynamic_partitions_requests[0].partition_keys
    assert "skipping 'x...y.png'" in caplog.text


def test_the_ui_calls_a_partition_stale_only_when_its_file_changed(project):
    base = build_definitions(load_spec(project / "assets_spec.yaml"))
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=["legacy"])],
                          resources=base.resources)
    keys = ["floors/tex000.png", "walls/tex001.png"]
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[1]}

    def status() -> dict[str, str]:
        return ui_statuses(instance, defs.assets, "legacy_2x", keys)

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"], tags=tags)
        assert status() == dict.fromkeys(keys, "FRESH")  # was STALE: "has a new dependency on legacy"
        write_textures(project / "textures", 1, seed=3)  # tex000 gets new content
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
        assert status() == {keys[0]: "STALE", keys[1]: "FRESH"}
        write_textures(project / "textures", 1, seed=5)  # and again, rebuilt by a run that observes nothing first
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"],
                       partition_key=keys[0])
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
        assert status() == dict.fromkeys(keys, "FRESH")  # was STALE: tagged with the earlier observation

        import pipeline.build

        build = pipeline.build.Builder.build

        def changed_while_built(builder, target, key, **kwargs):  # the file changes, and is observed, mid-step
            result = build(builder, target, key, **kwargs)
            write_textures(project / "textures", 1, seed=7)
            for _ in range(2):  # twice: the pointer went between the two, which agree
                defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
            return result

        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(pipeline.build.Builder, "build", changed_while_built)
            dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"],
                           partition_key=keys[0])
        assert status() == {keys[0]: "STALE", keys[1]: "FRESH"}  # built from the file as it was

        def moved_away_once_built(builder, target, key, **kwargs):  # renamed while the step goes on
            result = build(builder, target, key, **kwargs)
            (project / "textures" / key).rename(project / f"{key.replace('/', '_')}.moved")
            return result

        write_textures(project / "textures", 1, seed=9)  # new content nobody observed, then moved once built
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(pipeline.build.Builder, "build", moved_away_once_built)
            moved = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                   selection=["legacy_2x"], tags=tags)
        assert moved.success  # each partition built; its event no longer fails the whole step


def test_the_ui_calls_a_material_stale_once_the_scene_json_it_reads_changed(tmp_path):
    """A scene.json joins the material's cache key, and the file sensor and ``remaster status`` see it change; the UI
    went on calling the material fresh after "Observe sources", so "Materialize stale" left it as it was."""
    write_image(tmp_path / "photos" / "oak.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    base = build_definitions(load_spec(write_spec(tmp_path, """
        build_dir: build
        device: cpu
        sources:
          flashes: {kind: textures, root: photos, glob: "*.png"}
        assets:
          single: {op: material, from: flashes, method: one_shot, iterations: 0}
          enlarged: {op: upscale, from: flashes, scale: 2}
        """)))
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=["flashes"])],
                          resources=base.resources)
    tags = {RANGE_START_TAG: "oak.png", RANGE_END_TAG: "oak.png"}

    def build_and_observe() -> dict[str, str]:
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                       selection=["single", "enlarged"], tags=tags)
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
        return statuses()

    def statuses() -> dict[str, str]:
        return {asset: ui_statuses(instance, defs.assets, asset, ["oak.png"])["oak.png"] for asset in ("single", "enlarged")}

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("flashes", ["oak.png"])
        assert build_and_observe() == {"single": "FRESH", "enlarged": "FRESH"}
        (tmp_path / "photos" / "scene.json").write_text('{"camera": {"fov_deg": 40}}')
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
        assert statuses()["single"] == "STALE"  # was FRESH
        assert build_and_observe() == {"single": "FRESH", "enlarged": "FRESH"}  # the upscale a cache hit
        (tmp_path / "photos" / "scene.json").unlink()
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
        assert statuses()["single"] == "STALE"
        assert build_and_observe() == {"single": "FRESH", "enlarged": "FRESH"}


WEIGHTS_SPEC = """
build_dir: build
device: cpu
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
  other: {kind: textures, root: others, glob: "**/*.png"}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 2}
  legacy_sr: {op: super_resolve, from: legacy_2x, model: {path: models/4x_model.pth}}
  other_2x: {op: upscale, from: other, scale: 2}
"""


def save_weights(path, seed: int) -> None:
    """A small remaster SRCAE weights file, as a community model dropped in place would be: another ``seed``,
    other weights."""
    import torch

    from ops.superres.model import SRCAE, SRCAEConfig
    from ops.superres.weights import save_srcae

    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_srcae(path, SRCAE(SRCAEConfig(down_blocks=1, widths=(8, 12))))


def test_the_ui_calls_what_a_weights_file_named_by_path_made_stale_once_a_new_one_is_observed(tmp_path):
    """A weights file named by path joins the cache key, and remaster status, a build and the nightly run saw it
    replaced; the UI went on calling every partition fresh, so "Materialize stale" did nothing. It is an observable
    source asset of its own, ``legacy_sr/model``, an input of the asset that names it (here one built from another
    asset, which the source's files could not have told)."""
    keys = [path.relative_to(tmp_path / "textures").as_posix() for path in write_textures(tmp_path / "textures", 2)]
    weights = tmp_path / "models" / "4x_model.pth"
    save_weights(weights, seed=0)
    base = build_definitions(load_spec(write_spec(tmp_path, WEIGHTS_SPEC)))
    sources = dg.AssetSelection.assets("legacy_2x", "legacy_sr").upstream_source_assets()  # as "Observe sources" does
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=sources)],
                          resources=base.resources)
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}

    def observe() -> dict[str, set[str]]:
        assert defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags).success
        return {asset: set(ui_statuses(instance, defs.assets, asset, keys).values()) for asset in ("legacy_2x", "legacy_sr")}

    def build_and_observe() -> dict[str, set[str]]:
        assert dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                              selection=["legacy_2x", "legacy_sr"], tags=tags).success
        return observe()

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        assert build_and_observe() == {"legacy_2x": {"FRESH"}, "legacy_sr": {"FRESH"}}
        save_weights(weights, seed=1)
        assert observe() == {"legacy_2x": {"FRESH"}, "legacy_sr": {"STALE"}}  # was FRESH
        assert build_and_observe() == {"legacy_2x": {"FRESH"}, "legacy_sr": {"FRESH"}}
        kept = weights.read_bytes()
        weights.unlink()  # a share away: observed as unreadable, no crash; a build of it would fail keeping its outputs
        assert observe() == {"legacy_2x": {"FRESH"}, "legacy_sr": {"STALE"}}
        [record] = instance.fetch_observations(dg.AssetKey(["legacy_sr", "model"]), limit=1).records
        assert record.asset_observation.data_version == "unreadable"
        weights.write_bytes(kept)  # back as it was
        assert observe() == {"legacy_2x": {"FRESH"}, "legacy_sr": {"FRESH"}}


def test_the_sensor_rebuilds_what_a_replaced_weights_file_named_by_path_made(tmp_path, cli, monkeypatch):
    """The sensor watched the source's files alone: a new weights file in place requested no rebuild, though the
    outputs made with the old one were stale. A source naming no weights file keeps its cursor as it was."""
    from pipeline.hashing import hash_file

    keys = [path.relative_to(tmp_path / "textures").as_posix() for path in write_textures(tmp_path / "textures", 3)]
    write_textures(tmp_path / "others", 1)
    weights = tmp_path / "models" / "4x_model.pth"
    save_weights(weights, seed=0)
    defs = build_definitions(load_spec(write_spec(tmp_path, WEIGHTS_SPEC)))
    assert cli(tmp_path, "build")[0] == 0
    sensor = defs.resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        first = sensor(dg.build_sensor_context(instance=instance))
        assert first.run_requests == []  # all current
        read = []
        monkeypatch.setattr("pipeline.hashing.hash_file", lambda path: read.append(path) or hash_file(path))
        upgraded = json.dumps({k: v for k, v in json.loads(first.cursor).items() if k != "weights"})
        assert sensor(dg.build_sensor_context(instance=instance, cursor=upgraded)).run_requests == []  # a cursor of before
        assert weights.name not in {path.name for path in read}  # unchanged: the hash index's hash, not read each tick
        save_weights(weights, seed=1)
        replaced = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in replaced.run_requests] == [(keys[0], keys[-1])]
        assert replaced.run_requests[0].asset_selection == [dg.AssetKey("legacy_2x"), dg.AssetKey("legacy_sr")]
        assert weights.name in {path.name for path in read}  # read once it changed
        assert json.loads(first.cursor)["weights"].keys() == {"legacy_sr/model"}
        weights.unlink()  # away: the hash it had is kept, and nothing is requested until it is back
        away = sensor(dg.build_sensor_context(instance=instance, cursor=replaced.cursor))
        assert away.run_requests == [] and away.cursor == replaced.cursor
        other = defs.resolve_sensor_def("other_files")(dg.build_sensor_context(instance=instance))
        assert json.loads(other.cursor).keys() == {"versions", "retried", "broken"}  # as before weights were watched


@pytest.mark.parametrize("one_built_since", [False, True])
def test_a_build_records_again_what_was_recorded_before_a_weights_file_was_an_input(tmp_path, cli, monkeypatch,
                                                                                   one_built_since):
    """Outputs recorded by a remaster from before lack the weights file's input version, which the UI calls a new
    dependency: every partition stale after the upgrade. The next build records them again, computing nothing;
    also where the file sensor or the UI built one texture first, whose materialization, the asset's latest, then
    held the weights file's input: the builds recorded none of the others again, which stayed stale."""
    keys = [path.relative_to(tmp_path / "textures").as_posix() for path in write_textures(tmp_path / "textures", 3)]
    write_textures(tmp_path / "others", 1)
    save_weights(tmp_path / "models" / "4x_model.pth", seed=0)
    defs = build_definitions(load_spec(write_spec(tmp_path, WEIGHTS_SPEC)))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert cli(tmp_path, "build")[0] == 0
    instance = dg.DagsterInstance.get()
    built_since = {}
    for key in keys:  # as a remaster from before recorded them
        [record] = instance.fetch_materializations(dg.AssetRecordsFilter(dg.AssetKey("legacy_sr"), [key]), limit=1).records
        built_since[key] = record.asset_materialization.tags or {}
        tags = {k: v for k, v in built_since[key].items() if not k.endswith("/legacy_sr/model")}
        instance.report_runless_asset_event(dg.AssetMaterialization("legacy_sr", partition=key, tags=tags))
    if one_built_since:
        instance.report_runless_asset_event(dg.AssetMaterialization("legacy_sr", partition=keys[1], tags=built_since[keys[1]]))
    expected = {key: "FRESH" if one_built_since and key == keys[1] else "STALE" for key in keys}
    assert ui_statuses(instance, defs.assets, "legacy_sr", keys) == expected
    code, output = cli(tmp_path, "build")
    assert code == 0 and {r["status"] for r in manifest_rows(tmp_path)} == {"cached"}, output
    assert set(ui_statuses(instance, defs.assets, "legacy_sr", keys).values()) == {"FRESH"}


def test_a_step_asks_dagster_for_its_files_observations_in_queries_that_do_not_grow_with_its_partitions(project, monkeypatch):
    """One or two queries per partition, about 10 ms each on SQLite, were a minute and a half of a first build of
    5,000 textures; the partitions' latest observations are now read together."""
    base = build_definitions(load_spec(project / "assets_spec.yaml"))
    defs = dg.Definitions(assets=base.assets, jobs=[dg.define_asset_job("observe", selection=["legacy"])],
                          resources=base.resources)
    keys = sorted(p.relative_to(project / "textures").as_posix() for p in (project / "textures").rglob("*.png"))
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    fetched = []
    fetch = dg.DagsterInstance.fetch_observations
    monkeypatch.setattr(dg.DagsterInstance, "fetch_observations",
                        lambda self, *args, **kwargs: fetched.append(args) or fetch(self, *args, **kwargs))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)
        fetched.clear()
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"], tags=tags)
        per_partition = [args for args in fetched if getattr(args[0], "asset_partitions", None)]
        assert len(keys) == 5 and per_partition == []  # Dagster's own query, for the whole source, is no partition's
        assert ui_statuses(instance, defs.assets, "legacy_2x", keys) == dict.fromkeys(keys, "FRESH")
        write_textures(project / "textures", 5, seed=1)  # changed, and observed by the step itself, as in a first build
        fetched.clear()
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"], tags=tags)
        assert [args for args in fetched if getattr(args[0], "asset_partitions", None)] == []
        defs.resolve_job_def("observe").execute_in_process(instance=instance, tags=tags)  # as the step observed them
        assert ui_statuses(instance, defs.assets, "legacy_2x", keys) == dict.fromkeys(keys, "FRESH")


def test_a_step_asks_dagster_for_the_weights_file_s_observation_in_queries_that_do_not_grow_with_its_partitions(
        tmp_path, monkeypatch):
    """Each partition of an asset naming a weights file by path asked for the latest observation of ``<asset>/<role>``
    again, about 10 ms on SQLite: nearly a minute more of a first build of 5,000 textures under ``DAGSTER_HOME``."""
    keys = [path.relative_to(tmp_path / "textures").as_posix() for path in write_textures(tmp_path / "textures", 6)]
    weights = tmp_path / "models" / "4x_model.pth"
    save_weights(weights, seed=0)
    defs = build_definitions(load_spec(write_spec(tmp_path, WEIGHTS_SPEC)))
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}
    asked = []
    latest = dg.DagsterInstance.get_latest_data_version_record
    monkeypatch.setattr(dg.DagsterInstance, "get_latest_data_version_record",
                        lambda self, key, *args, **kwargs: asked.append(key) or latest(self, key, *args, **kwargs))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        for seed in (0, 1):  # first observed by the step itself, then replaced and observed by it again
            save_weights(weights, seed=seed)
            asked.clear()
            assert dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                  selection=["legacy_2x", "legacy_sr"], tags=tags).success
            assert asked.count(dg.AssetKey(["legacy_sr", "model"])) <= 2, asked  # one, and one once observed
            assert set(ui_statuses(instance, defs.assets, "legacy_sr", keys).values()) == {"FRESH"}


def test_the_ui_calls_every_partition_stale_when_the_spec_changes_the_asset_s_params(project):
    spec = project / "assets_spec.yaml"
    keys = ["floors/tex000.png", "walls/tex001.png"]
    tags = {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[1]}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        defs = build_definitions(load_spec(spec))
        dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"], tags=tags)
        assert ui_statuses(instance, defs.assets, "legacy_2x", keys) == dict.fromkeys(keys, "FRESH")
        spec.write_text(spec.read_text().replace("filter: lanczos", "filter: bicubic"))
        changed = build_definitions(load_spec(spec)).assets
        assert ui_statuses(instance, changed, "legacy_2x", keys) == dict.fromkeys(keys, "STALE")  # its code version
        spec.write_text(spec.read_text().replace("filter: bicubic", "filter: lanczos"))
        assert ui_statuses(instance, build_definitions(load_spec(spec)).assets, "legacy_2x", keys) == dict.fromkeys(keys, "FRESH")


def test_a_backfill_builds_many_partitions_in_one_run_not_one_process_per_file(project):
    graph = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_asset_graph()
    assert graph.get(dg.AssetKey("legacy_2x")).backfill_policy == dg.BackfillPolicy.single_run()


def test_a_job_launched_without_partitions_says_to_pick_some(project):
    """``dagster job execute -j build_legacy`` failed every step with Dagster's 'Cannot access partition_key for a
    non-partitioned run'."""
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("build_legacy").execute_in_process(instance=instance, raise_on_error=False)
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    assert failures and "legacy_2x is built per file of legacy, and this run names no file: launch it for some of its " \
        "partitions (Materialize in the UI picks them; on the command line, dagster job backfill)" in failures[0]


def test_runs_go_step_by_step_in_one_process_nightly_on_the_spec_s_schedule_and_nothing_starts_on_its_own(project):
    spec = project / "assets_spec.yaml"
    spec.write_text('schedule: "15 2 * * 1-5"\n' + spec.read_text())
    defs = build_definitions(load_spec(spec))
    assert defs.resolve_job_def("build_legacy").executor_def is dg.in_process_executor  # torch imported once, one GPU user
    assert [(s.cron_schedule, s.default_status) for s in defs.schedules] == [("15 2 * * 1-5", dg.DefaultScheduleStatus.STOPPED)]
    statuses = {sensor.name: sensor.default_status for sensor in defs.sensors}
    assert statuses == {"legacy_files": dg.DefaultSensorStatus.STOPPED, UNREACHED_SENSOR: dg.DefaultSensorStatus.RUNNING,
                        CANCELED_SENSOR: dg.DefaultSensorStatus.RUNNING, KILLED_BUILDS_SENSOR: dg.DefaultSensorStatus.RUNNING}  # neither launches a run


def test_the_partition_limit_copied_from_dagster_is_dagsters():
    from pipeline.provenance import DAGSTER_PARTITION_LIMIT

    assert DAGSTER_PARTITION_LIMIT == pinned_partition_limit()


@pytest.mark.parametrize("body, says", [
    ("sources:\n  x: {kind: textures, root: t}\nassets:\n  build_x: {op: upscale, from: x}\n",
     ":4: assets.build_x: Dagster would have two things named 'build_x': assets.build_x and the nightly job of "
     "source 'x'"),
    ("sources:\n  x_files: {kind: textures, root: t}\n  nightly_x: {kind: textures, root: u}\n"
     "assets:\n  a: {op: upscale, from: x_files}\n",
     ":3: sources.nightly_x: Dagster would have two things named 'nightly_x_files': the nightly schedule of source "
     "'x_files' and the file sensor of source 'nightly_x'"),
    ("sources:\n  models: {kind: textures, root: t}\nmodels:\n  m: {op: train_srcae, from: models}\n"
     "assets:\n  a: {op: upscale, from: models}\n",  # m, which no asset uses, gets build_models too
     ":2: sources.models: Dagster would have two things named 'build_models'"),
    ("sources:\n  legacy: {kind: textures, root: t}\nassets:\n  legacy_files: {op: upscale, from: legacy}\n"
     "  remaster_unreached: {op: upscale, from: legacy}\n", None),  # an asset and a sensor may share a name
])
def test_names_dagster_would_hold_twice_are_refused_where_the_ui_would_load_nothing(tmp_path, cli, body, says):
    write_spec(tmp_path, body)
    spec = load_spec(tmp_path / "assets_spec.yaml")
    if says is None:
        dg.Definitions.validate_loadable(build_definitions(spec))
        return
    with pytest.raises(dg.DagsterError):
        import pipeline.definitions

        with pytest.MonkeyPatch.context() as patch:  # what Dagster does without the check
            patch.setattr(pipeline.definitions, "name_clashes", lambda spec: [])
            dg.Definitions.validate_loadable(build_definitions(spec))
    code, output = cli(tmp_path, "validate")
    assert code == 2 and f"{tmp_path / 'assets_spec.yaml'}{says}" in " ".join(output.split()), output


def test_an_asset_named_like_the_job_a_build_runs_as_builds_and_loads_in_the_ui(project, cli):
    """A build's runs run as the job remaster_build, which only the build's own definitions hold: an asset of that
    name meets it in neither those nor the UI's."""
    spec = write_spec(project, UPSCALE_SPEC.replace("legacy_2x", "remaster_build"))
    assert cli(project, "build")[0] == 0
    assert len(list((project / "build" / "remaster_build").rglob("*.png"))) == 5
    dg.Definitions.validate_loadable(build_definitions(load_spec(spec)))


def test_a_ui_run_of_what_uses_a_missing_upstream_output_or_model_puts_them_back(tmp_path, cli):
    write_textures(tmp_path / "textures", 2, size=24)
    write_textures(tmp_path / "hires", 4, size=64, seed=5)
    write_spec(tmp_path, MODEL_SPEC + "  up4: {op: upscale, from: legacy_2x, scale: 2}\n")
    assert cli(tmp_path, "build")[0] == 0
    built = {p: p.read_bytes() for p in sorted((tmp_path / "build").rglob("*.p[nt]*"))}
    key = "walls/tex001.png"
    (tmp_path / "build" / "legacy_2x" / key).unlink()  # a cleaned build folder; the cache holds them
    (tmp_path / "build" / "sr2x" / "model.pt").unlink()
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png", key])
        for asset in ("up4", "legacy_sr"):  # the Materialize button on one partition of each
            run = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=[asset],
                                 partition_key=key, raise_on_error=False)
            assert run.success, [e.message for e in run.all_events if e.is_failure]
    assert {p: p.read_bytes() for p in built} == built  # put back, and what uses them kept
    assert {(r["asset"], r["status"]) for r in manifest_rows(tmp_path) if r["partition"] == key} >= {
        ("up4", "cached"), ("legacy_sr", "cached")}


def test_a_ui_run_of_a_material_s_export_puts_back_each_missing_map(project, cli):
    write_spec(project, UPSCALE_SPEC + "  floors: {op: material, from: legacy, method: from_texture}\n"
                                       "  floors_dds: {op: export_dds, from: floors, maps: [albedo, normal, ao]}\n")
    assert cli(project, "build")[0] == 0
    key, maps = "walls/tex001.png", project / "build" / "floors" / "walls" / "tex001"
    built = {path: path.read_bytes() for path in sorted(maps.iterdir())}
    for name in ("normal.png", "ao.png"):  # not the first map only
        (maps / name).unlink()
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", [key])
        run = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["floors_dds"],
                             partition_key=key, raise_on_error=False)
        assert run.success, [e.message for e in run.all_events if e.is_failure]
    assert {path: path.read_bytes() for path in built} == built


def test_a_ui_run_while_the_source_folder_is_away_keeps_the_outputs(project, cli):
    assert cli(project, "build")[0] == 0
    key = "walls/tex001.png"
    output = project / "build" / "legacy_2x" / key
    before = output.read_bytes()
    (project / "textures").rename(project / "textures.away")  # an unmounted share, a renamed folder
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", [key])
        run = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["legacy_2x"],
                             partition_key=key, raise_on_error=False)
    assert not run.success
    [failure] = [r["error"] for r in manifest_rows(project) if r["partition"] == key]
    assert f"source 'legacy': folder {project / 'textures'} does not exist; nothing is built from it, its outputs are kept" in failure
    assert output.read_bytes() == before
    (project / "textures.away").rename(project / "textures")
    code, said = cli(project, "build")
    assert code == 0 and output.read_bytes() == before, said


def test_an_upstream_output_is_put_back_only_as_its_manifest_row_lists_it(project, cli, monkeypatch):
    import ops.upscale

    write_spec(project, UPSCALE_SPEC + "  up4: {op: upscale, from: legacy_2x, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    key = "walls/tex001.png"
    (project / "build" / "legacy_2x" / key).unlink()

    def out_of_memory(*args, **kwargs):
        raise MemoryError("CUDA out of memory")

    monkeypatch.setattr(ops.upscale, "run", out_of_memory)
    assert cli(project, "build", "--force", "--select", "legacy_2x", "up4")[0] == 1  # legacy_2x fails: its row too
    monkeypatch.undo()
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", [key])
        run = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=["up4"],
                             partition_key=key, raise_on_error=False)
    assert not run.success  # not built from a file its failed row does not list, which a later removal would miss
    assert not (project / "build" / "legacy_2x" / key).exists()


def _ui_run_log(spec: Path, asset: str, partitions: list[str], phrase: str = "") -> list[str]:
    """The messages holding ``phrase`` that a UI run of ``asset`` alone over the first of ``partitions`` (the
    partitions the instance has) logs, as an artist reads them on the run's page."""
    defs = build_definitions(load_spec(spec))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", partitions)
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=[asset],
                                partition_key=partitions[0])
        return [event.user_message for event in instance.all_logs(result.run_id) if phrase in event.user_message]


def test_the_run_log_in_the_ui_shows_what_libpng_warns_of_naming_the_texture(project):
    import struct
    import zlib

    texture = project / "textures" / "walls" / "tex001.png"
    write_image(texture, Image(np.full((8, 8, 3), 0.5, np.float32), bit_depth=16))
    data, srgb = texture.read_bytes(), b"sRGB\x09"  # a rendering intent that is none of the four
    texture.write_bytes(data[:33] + struct.pack(">I", 1) + srgb + struct.pack(">I", zlib.crc32(srgb)) + data[33:])
    messages = _ui_run_log(project / "assets_spec.yaml", "legacy_2x", ["walls/tex001.png"])
    assert f"{texture}: PNG warning: sRGB: invalid" in messages, messages


@pytest.mark.parametrize("cursor", ["not json", "[1, 2]", "42", '"text"', '{"a.png": 3}', '{"versions": {}, "weights": []}',
                                    '{"versions": {}, "retried": [1]}', '{"versions": {"a.png": 3}}', '{"versions": {}, "broken": 1}'])
def test_a_cursor_the_sensor_did_not_write_is_refused_saying_to_leave_it_empty(project, cursor):
    """As one typed into the UI's "Test sensor" dialog: it failed on a bare JSONDecodeError or AttributeError, or
    with the keys the sensor writes holding something else, was taken (versions no file has) or failed so too."""
    sensor = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance, pytest.raises(Exception, match="leave the cursor empty") as refused:
        sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
    assert repr(cursor) in str(refused.value)


def test_a_ui_run_on_a_cache_that_is_gone_says_so_once_in_its_run_log(project, cli):
    """The warning of a cache_dir holding no cache where one was expected (a share not mounted) went to Python's
    log alone in a UI run: it was given before the run's log took the pipeline's lines, so the UI showed nothing
    while every output was computed again."""
    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / ".remaster")
    said = _ui_run_log(project / "assets_spec.yaml", "legacy_2x", ["walls/tex001.png", "walls/tex002.png"],
                       "no cache at")
    assert said == [f"no cache at {project / '.remaster' / 'cache'} (cache_dir in assets_spec.yaml), though "
                    f"{project / 'build' / 'manifest.json'} lists outputs built before: a new, empty one is made there, "
                    "so nothing is put back from a cache; if this cache should be on a share, is it mounted?"]


def test_a_ui_run_says_in_its_log_which_setting_of_its_asset_its_method_does_not_read(project):
    """A setting its method does not read (iterations on a material from_texture, normal_strength on a photo fit)
    was said by remaster validate alone: the UI showed it in the asset's description as if it were in effect, and a
    run that changed nothing said nothing of it."""
    write_spec(project, UPSCALE_SPEC.replace("legacy_2x: {op: upscale, from: legacy, scale: 2, filter: lanczos}",
                                             "floors: {op: material, from: legacy, method: from_texture, iterations: 50}"))
    said = _ui_run_log(project / "assets_spec.yaml", "floors", ["walls/tex001.png"], "not read")
    assert said == [f"{project / 'assets_spec.yaml'}:7: assets.floors.iterations: not read with the params given here, so "
                    "it changes nothing (a setting of the photo fit, methods two_shot and one_shot): remove it"]


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("instigator", ["sensor", "schedule"])
def test_a_tick_on_a_cache_that_is_gone_says_so_in_its_log(project, cli, instigator):
    """A file sensor's or nightly schedule's tick on a cache_dir whose cache is gone (a share not mounted) made a
    new, empty one with its warning in the daemon's own output alone: the run it requested then found a cache and
    said nothing, so the UI never told why every output was computed again."""
    assert cli(project, "build")[0] == 0
    shutil.rmtree(project / ".remaster")
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    # each context entered and left: its log holds the instance, which a context never left keeps as Dagster's
    # current one, and every later materialize in this process failed on that instance's dead weakref
    with dg.instance_for_test() as instance, (
            dg.build_sensor_context(instance=instance) if instigator == "sensor"
            else dg.build_schedule_context(instance=instance)) as context:
        said = _Said()
        context.log.addHandler(said)
        if instigator == "sensor":
            defs.resolve_sensor_def("legacy_files")(context)
        else:
            defs.resolve_schedule_def("nightly_legacy")(context)
    assert [m for m in said.messages if "no cache at" in m] == [
        f"no cache at {project / '.remaster' / 'cache'} (cache_dir in assets_spec.yaml), though "
        f"{project / 'build' / 'manifest.json'} lists outputs built before: a new, empty one is made there, so nothing "
        "is put back from a cache; if this cache should be on a share, is it mounted?"]


def test_observing_a_source_whose_folder_is_away_says_so_in_the_run_s_log(tmp_path):
    """An unmounted share (or a deleted folder) as a source's root: remaster build says so and exits 1, where the
    UI's observation of the source, or of the files a model trains from, succeeded, observed nothing and said
    nothing."""
    write_textures(tmp_path / "textures", 2, size=24)
    write_spec(tmp_path, MODEL_SPEC)  # hires, the reference textures, never there
    (tmp_path / "textures").rename(tmp_path / "textures.away")
    base = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    jobs = [dg.define_asset_job("observe_legacy", selection=["legacy"]),
            dg.define_asset_job("observe_reference", selection=["reference/files"])]
    defs = dg.Definitions(assets=base.assets, jobs=jobs, resources=base.resources)
    said = {}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["walls/tex001.png"])
        tags = {RANGE_START_TAG: "walls/tex001.png", RANGE_END_TAG: "walls/tex001.png"}
        for job, its_tags in [("observe_legacy", tags), ("observe_reference", {})]:
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, tags=its_tags)
            said[job] = [event.user_message for event in instance.all_logs(result.run_id)
                         if event.level == logging.WARNING]
    assert said == {
        "observe_legacy": [f"{tmp_path / 'assets_spec.yaml'}:5: source 'legacy': folder {tmp_path / 'textures'} does "
                           "not exist; nothing is built from it, its outputs are kept (fix its root, or mount the share)"],
        "observe_reference": [f"{tmp_path / 'assets_spec.yaml'}:6: source 'reference': folder {tmp_path / 'hires'} does "
                              "not exist; nothing is built from it, its outputs are kept (fix its root, or mount the "
                              "share)"],
    }


def test_a_ui_run_over_a_source_whose_folder_is_away_says_its_error_once_with_a_count(project):
    """Every partition fails with one message, the folder's: the run's log said it once per partition and its
    failure listed it once per partition again, 300 lines each for a run of 300."""
    from pipeline.resources import RemasterResource

    spec = load_spec(project / "assets_spec.yaml")
    keys = sorted(RemasterResource().builder(spec).partitions("legacy"))
    (project / "textures").rename(project / "textures.away")  # an unmounted share, a renamed folder
    away = (f"{project / 'assets_spec.yaml'}:5: source 'legacy': folder {project / 'textures'} does not exist; nothing "
            "is built from it, its outputs are kept (fix its root, or mount the share)")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        result = build_definitions(spec).resolve_job_def("build_legacy").execute_in_process(
            instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}, raise_on_error=False)
        said = [event.user_message for event in instance.all_logs(result.run_id)
                if event.level == logging.ERROR and "does not exist" in event.user_message]
    [failure] = result.get_step_failure_events()
    assert said == [f"{keys[0]}: {away} (and the same for 4 more partitions)"]
    assert failure.step_failure_data.user_failure_data.description == (
        f"5 of 5 partitions of legacy_2x failed:\n- {away} (and the same for 4 more partitions)")


def test_a_nightly_tick_on_a_source_whose_folder_is_away_says_so_in_its_log(tmp_path):
    """The tick still asks to train the models the source's assets use, and said nothing of its source."""
    write_textures(tmp_path / "hires", 4, size=64, seed=5)
    write_spec(tmp_path, MODEL_SPEC)  # textures, the legacy source, not there
    defs = build_definitions(load_spec(tmp_path / "assets_spec.yaml"))
    with dg.instance_for_test() as instance, dg.build_schedule_context(instance=instance) as context:
        said = _Said()
        context.log.addHandler(said)
        request = defs.resolve_schedule_def("nightly_legacy")(context)
    assert request.asset_selection == [dg.AssetKey("sr2x")]
    assert said.messages == [f"{tmp_path / 'assets_spec.yaml'}:5: source 'legacy': folder {tmp_path / 'textures'} does "
                             "not exist; nothing is built from it, its outputs are kept (fix its root, or mount the share)"]


def test_a_nightly_tick_says_which_run_keeps_a_deleted_texture_s_partition(project):
    """The nightly tick keeps a deleted texture's partition that a queued run names, as a file sensor's tick does,
    and said nothing of it, where the sensor's tick history and Observe's log name the run."""
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    with dg.instance_for_test() as instance, dg.build_schedule_context(instance=instance) as context:
        keys = ["floors/tex000.png", "floors/tex002.png", "floors/tex004.png", "walls/tex001.png", "walls/tex003.png"]
        instance.add_dynamic_partitions("legacy", keys)
        waiting = instance.create_run_for_job(job_def=defs.resolve_job_def("build_legacy"),
                                              tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
                                              status=dg.DagsterRunStatus.NOT_STARTED)
        (project / "textures" / keys[-1]).unlink()
        said = _Said()
        context.log.addHandler(said)
        request = defs.resolve_schedule_def("nightly_legacy")(context)
        assert instance.get_dynamic_partitions("legacy") == keys
    assert request.tags[RANGE_END_TAG] == keys[-2]
    assert said.messages == [
        f"{keys[-1]} of legacy deleted: its partition is kept while run {waiting.run_id[:8]}, yet to finish, names it "
        "(Dagster looks a run's partitions up as it starts), and dropped by the first tick, build or Observe after it "
        "ends; a run a crash left started keeps it for a day: terminate it in the UI (Runs, Terminate, with Force "
        "termination)"]


class _LetThrough(logging.Handler):
    """The other build, holding each partition's lock until this one says it waits for it (as a record of
    ``pipeline.locks``, given before it waits): then it lets that one go."""

    def __init__(self, held: dict[str, object]) -> None:
        super().__init__()
        self.held = held

    def emit(self, record: logging.LogRecord) -> None:
        self.held.pop(record.file).release()  # type: ignore[attr-defined]


def test_a_ui_run_behind_another_build_says_it_waits_once_per_step(project):
    """A run whose every partition another build is making waits for each in turn, and said so on a line per
    partition: a run of 300 partitions logged 300. Once per step now, and how many more waited, as the CLI says."""
    from filelock import FileLock

    from pipeline.progress import handled
    from pipeline.resources import RemasterResource

    spec = load_spec(project / "assets_spec.yaml")
    defs = build_definitions(spec)
    builder = RemasterResource().builder(spec)
    keys = sorted(builder.partitions("legacy"))
    held = {}
    for key in keys:
        lock = FileLock(spec.cache_dir / "locks" / builder.plan(spec.targets["legacy_2x"], key).cache_key)
        lock.acquire()
        held[f"legacy_2x [{key}]"] = lock
    with dg.instance_for_test() as instance, handled(logging.getLogger("pipeline.locks"), _LetThrough(held)):
        instance.add_dynamic_partitions("legacy", keys)
        result = defs.resolve_job_def("build_legacy").execute_in_process(
            instance=instance, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
        said = [event.user_message for event in instance.all_logs(result.run_id) if "another build" in event.user_message]
    assert not held  # every partition waited
    assert len(said) == 2 and said[0].startswith(f"legacy_2x [{keys[0]}]: waiting for another build making the same "
                                                 "outputs (cache key "), said
    assert said[1] == "4 more of legacy_2x's partitions waited likewise for another build making them"


def test_a_ui_run_of_an_asset_alone_warns_that_its_upstream_asset_is_out_of_date(project, cli):
    """The UI builds what is selected and no more: up4 alone was built from legacy_2x's output of a texture changed
    since, a success that said nothing, where remaster build builds legacy_2x first."""
    write_spec(project, UPSCALE_SPEC + "  up4: {op: upscale, from: legacy_2x, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    changed, unchanged = "walls/tex001.png", "walls/tex003.png"
    write_textures(project / "elsewhere", 2, seed=9)
    (project / "textures" / changed).write_bytes((project / "elsewhere" / changed).read_bytes())
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    said = {}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", [changed, unchanged])
        tags = {RANGE_START_TAG: changed, RANGE_END_TAG: unchanged}
        for selection in (["up4"], ["legacy_2x", "up4"]):
            result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                    selection=selection, tags=tags)
            said[len(selection)] = [event.user_message for event in instance.all_logs(result.run_id)
                                    if "out of date" in event.user_message]
    assert said == {
        1: [f"up4 was built from legacy_2x's outputs for {changed}, which are out of date (a texture or a setting of "
            "legacy_2x changed since it was built): materialize legacy_2x as well, or select up4 with its upstream "
            "assets (remaster build does both)"],
        2: [],
    }


def test_a_ui_run_of_an_asset_alone_warns_of_an_asset_out_of_date_two_up_the_chain(tmp_path, cli):
    """The variants enlarged, then exported: big_dds alone after a texture changed read big's outputs, current for
    the variants they were made from, which are out of date; only the asset next to it was asked, so none warned."""
    spec = variants_dds_project(tmp_path, count=2)
    spec.write_text(spec.read_text() + "  big: {op: upscale, from: variants, scale: 2}\n"
                                       "  big_dds: {op: export_dds, from: big}\n")
    assert cli(tmp_path, "build")[0] == 0
    changed = "walls/tex001.png"
    write_image(tmp_path / "textures" / changed, Image(np.random.default_rng(7).random((64, 64, 3), dtype=np.float32)))
    said = _ui_run_log(spec, "big_dds", [changed], "out of date")
    assert said == [f"big_dds was built from variants's outputs (through big) for {changed}, which are out of date (a "
                    "texture or a setting of variants changed since it was built): materialize variants and big as "
                    "well, or select big_dds with its upstream assets (remaster build does both)"]


def test_a_ui_run_of_an_asset_alone_says_an_upstream_output_deleted_with_its_cache_entry_is_missing(project, cli):
    """legacy_2x's output deleted from the build folder, its cache entry gone too (gc, a cache cleared): a UI run of
    legacy_4x alone failed, and one of legacy_8x warned, saying a texture or a setting of legacy_2x changed, and the
    artist looked for a change nobody made."""
    from pipeline.cache import ContentStore

    write_spec(project, CHAIN_SPEC + "  legacy_8x: {op: upscale, from: legacy_4x, scale: 2}\n")
    assert cli(project, "build")[0] == 0
    key = "walls/tex001.png"
    [row] = [row for row in manifest_rows(project) if (row["asset"], row["partition"]) == ("legacy_2x", key)]
    (project / "build" / "legacy_2x" / key).unlink()
    ContentStore(project / ".remaster" / "cache").drop(row["cache_key"])
    missing = (f"build/legacy_2x/{key} is missing from the build folder and the cache no longer holds it, so "
               "legacy_2x must make it again")
    defs = build_definitions(load_spec(project / "assets_spec.yaml"))
    said = {}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", [key])
        for selected in ("legacy_8x", "legacy_4x"):
            result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                    selection=[selected], partition_key=key, raise_on_error=False)
            said[selected] = [event.user_message for event in instance.all_logs(result.run_id)
                              if "legacy_2x must make" in event.user_message or "changed since" in event.user_message]
    assert said["legacy_8x"] == [  # not legacy_4x's as changed too: only what it reads is gone
        f"legacy_8x was built from legacy_2x's outputs (through legacy_4x) for {key}, which are out of date "
        f"({missing}): materialize legacy_2x and legacy_4x as well, or select legacy_8x with its upstream assets "
        "(remaster build does both)"]
    assert not result.success and said["legacy_4x"][0] == (
        f"{key}: {project / 'build/legacy_2x' / key}: the upstream asset 'legacy_2x' has no up-to-date output for "
        f"{key} ({missing}: materialize legacy_2x as well, or select legacy_4x with its upstream assets (remaster "
        "build does both))")


@pytest.mark.parametrize("more, selected, reads, materialize", [
    ("", "variants_dds", "variants", "variants"),
    ("  big: {op: upscale, from: variants, scale: 2}\n  big_dds: {op: export_dds, from: big}\n", "big_dds", "big",
     "variants and big"),
], ids=["dds of variants", "dds of enlarged variants"])
def test_a_ui_run_of_an_asset_alone_after_count_was_raised_says_to_materialize_the_multiply(
    tmp_path, cli, more, selected, reads, materialize
):
    """The third variant's output has no variant_02.png to read until variants is built again: the failure said to
    see an error of variants' own ("it failed, or was not built yet"), which had none; and two down the chain, that
    a texture or a setting of big changed and to materialize big as well, which fails in turn: count is variants'."""
    spec = variants_dds_project(tmp_path, count=2)
    spec.write_text(spec.read_text() + more)
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(spec.read_text().replace("count: 2", "count: 3"))
    defs = build_definitions(load_spec(spec))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["walls/tex001.png"])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                selection=[selected], partition_key="walls/tex001.png", raise_on_error=False)
        said = {event.user_message for event in instance.all_logs(result.run_id) if "up-to-date" in event.user_message}
    assert not result.success
    assert said == {f"walls/tex001.png: {tmp_path / f'build/{reads}/walls/tex001/variant_02.png'}: the upstream asset "
                    f"'{reads}' has no up-to-date output for walls/tex001.png (a texture or a setting of variants "
                    f"changed since it was built: materialize {materialize} as well, or select {selected} with its "
                    "upstream assets (remaster build does both))"}


def test_a_ui_run_of_an_asset_alone_warns_that_its_model_is_out_of_date(tmp_path, cli):
    write_textures(tmp_path / "textures", 1, size=24)
    write_textures(tmp_path / "hires", 2, size=64, seed=5)
    write_spec(tmp_path, MODEL_SPEC)
    assert cli(tmp_path, "build")[0] == 0
    write_textures(tmp_path / "hires" / "more", 1, size=64, seed=6)  # sr2x would train again
    said = _ui_run_log(tmp_path / "assets_spec.yaml", "legacy_sr", ["floors/tex000.png"], "out of date")
    assert said == ["legacy_sr was built with model sr2x, which is out of date (its reference textures or settings "
                    "changed since it was trained): materialize sr2x as well, or select legacy_sr with its upstream "
                    "assets (remaster build does both)"]


@pytest.mark.parametrize("change", ["params", "reference textures"])
def test_a_ui_run_of_an_asset_alone_warns_of_a_model_out_of_date_up_its_chain(tmp_path, cli, change):
    """The DDS export of super-resolved textures alone, after sr2x's params or reference textures changed, read
    legacy_sr's outputs, current for the old weights: only the model was out of date, and only the asset's own
    model was asked, so the run said nothing."""
    write_textures(tmp_path / "textures", 1, size=24)
    write_textures(tmp_path / "hires", 2, size=64, seed=5)
    spec = write_spec(tmp_path, MODEL_SPEC + "  legacy_dds: {op: export_dds, from: legacy_sr}\n")
    assert cli(tmp_path, "build")[0] == 0
    if change == "params":
        spec.write_text(spec.read_text().replace("steps: 4", "steps: 5"))
    else:
        write_textures(tmp_path / "hires" / "more", 1, size=64, seed=6)
    said = _ui_run_log(spec, "legacy_dds", ["floors/tex000.png"], "out of date")
    assert said == ["legacy_dds was built from legacy_sr's outputs for floors/tex000.png, made with model sr2x, which "
                    "is out of date (its reference textures or settings changed since it was trained): materialize "
                    "sr2x and legacy_sr as well, or select legacy_dds with its upstream assets (remaster build does "
                    "both)"]


def test_a_ui_run_of_an_asset_alone_names_a_model_out_of_date_once_where_two_assets_up_its_chain_use_it(tmp_path, cli):
    """Super-resolved twice with sr2x, then exported: the export alone, after sr2x's params changed, warned of sr2x
    twice, once for each asset that used it, with two fixes where the one furthest up covers both."""
    write_textures(tmp_path / "textures", 1, size=24)
    write_textures(tmp_path / "hires", 2, size=64, seed=5)
    spec = write_spec(tmp_path, MODEL_SPEC + "  legacy_sr4: {op: super_resolve, from: legacy_sr, model: sr2x}\n"
                                             "  legacy_dds: {op: export_dds, from: legacy_sr4}\n")
    assert cli(tmp_path, "build")[0] == 0
    spec.write_text(spec.read_text().replace("steps: 4", "steps: 5"))
    said = _ui_run_log(spec, "legacy_dds", ["floors/tex000.png"], "out of date")
    assert said == ["legacy_dds was built from legacy_sr's outputs (through legacy_sr4) for floors/tex000.png, made "
                    "with model sr2x, which is out of date (its reference textures or settings changed since it was "
                    "trained): materialize sr2x and legacy_sr and legacy_sr4 as well, or select legacy_dds with its "
                    "upstream assets (remaster build does both)"]


@pytest.mark.parametrize("trained", [False, True], ids=["never trained", "weights deleted with their cache entry"])
def test_a_ui_run_of_an_asset_alone_says_the_model_up_its_chain_has_no_weights(tmp_path, cli, trained):
    """legacy_dds alone, where legacy_sr has no output because sr2x has no weights: the failure said to see an error
    of legacy_sr's that there was not, or that a texture or a setting of legacy_sr changed and to materialize it,
    which fails in turn for the model. Only the assets up the chain were asked, not the models they are made with."""
    from pipeline.cache import ContentStore

    write_textures(tmp_path / "textures", 1, size=24)
    write_textures(tmp_path / "hires", 2, size=64, seed=5)
    spec = write_spec(tmp_path, MODEL_SPEC + "  legacy_dds: {op: export_dds, from: legacy_sr}\n")
    key = "floors/tex000.png"
    if trained:
        assert cli(tmp_path, "build")[0] == 0
        for asset, partition, output in (("sr2x", "", "sr2x/model.pt"), ("legacy_sr", key, f"legacy_sr/{key}")):
            [row] = [r for r in manifest_rows(tmp_path) if (r["asset"], r["partition"]) == (asset, partition)]
            (tmp_path / "build" / output).unlink()
            ContentStore(tmp_path / ".remaster" / "cache").drop(row["cache_key"])
    said = _ui_run_log_of_a_failure(spec, "legacy_dds", key)
    why = ("build/sr2x/model.pt is missing from the build folder and the cache no longer holds it, so sr2x must make "
           "it again" if trained else f"{tmp_path / 'build/sr2x/model.pt'}: model 'sr2x' (which legacy_sr is made with) "
           "has not been trained yet")
    assert said == [f"{key}: {tmp_path / 'build/legacy_sr' / key}: the upstream asset 'legacy_sr' has no up-to-date "
                    f"output for {key} ({why}: materialize sr2x and legacy_sr as well, or select legacy_dds with its "
                    "upstream assets (remaster build does both))"]


def _ui_run_log_of_a_failure(spec: Path, asset: str, partition: str) -> list[str]:
    """The errors a failed UI run of ``asset`` alone over ``partition`` logs for its partitions."""
    defs = build_definitions(load_spec(spec))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", [partition])
        result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources, selection=[asset],
                                partition_key=partition, raise_on_error=False)
        assert not result.success
        return [event.user_message for event in instance.all_logs(result.run_id)
                if event.user_message.startswith(f"{partition}: ")]


def test_a_ui_run_of_an_asset_alone_says_model_weights_deleted_with_their_cache_entry_are_missing(tmp_path, cli):
    """sr2x's weights deleted from the build folder, its cache entry gone too: a UI run of legacy_sr alone said the
    model had not been built yet, and one of legacy_dds that legacy_sr's texture or setting and sr2x's reference
    textures or settings had changed, none of which had."""
    from pipeline.cache import ContentStore

    write_textures(tmp_path / "textures", 1, size=24)
    write_textures(tmp_path / "hires", 2, size=64, seed=5)
    spec = write_spec(tmp_path, MODEL_SPEC + "  legacy_dds: {op: export_dds, from: legacy_sr}\n")
    assert cli(tmp_path, "build")[0] == 0
    [row] = [row for row in manifest_rows(tmp_path) if row["asset"] == "sr2x"]
    (tmp_path / "build" / "sr2x" / "model.pt").unlink()
    ContentStore(tmp_path / ".remaster" / "cache").drop(row["cache_key"])
    missing = ("build/sr2x/model.pt is missing from the build folder and the cache no longer holds it, so sr2x must "
               "make it again")
    defs = build_definitions(load_spec(spec))
    said = {}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", ["floors/tex000.png"])
        for selected in ("legacy_dds", "legacy_sr"):
            result = dg.materialize(list(defs.assets), instance=instance, resources=defs.resources,
                                    selection=[selected], partition_key="floors/tex000.png", raise_on_error=False)
            said[selected] = [event.user_message for event in instance.all_logs(result.run_id)
                              if "out of date" in event.user_message or "sr2x must make" in event.user_message]
    assert said["legacy_dds"] == [
        f"legacy_dds was built from legacy_sr's outputs for floors/tex000.png, made with model sr2x, which is out of "
        f"date ({missing}): materialize sr2x and legacy_sr as well, or select legacy_dds with its upstream assets "
        "(remaster build does both)"]
    assert not result.success and said["legacy_sr"][0] == (
        f"floors/tex000.png: {missing}: materialize sr2x as well, or select legacy_sr with its upstream assets "
        "(remaster build does both)")
