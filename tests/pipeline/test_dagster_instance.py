"""Builds recorded in a Dagster instance: DAGSTER_HOME, and what the UI shows of a build's runs and outputs."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from helpers import (
    CHAIN_SPEC, UPSCALE_SPEC, build_killed_at_the_third_variant, manifest_rows, statuses, ui_statuses, variants_project,
    write_spec, write_textures,
)
from ops.image_io import Image, write_image
from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG
from pipeline.definitions import build_definitions
from pipeline.killed_builds import HOST_TAG, KILLED_BUILDS_SENSOR, PID_TAG
from pipeline.resources import RemasterResource
from pipeline.runs import run_build
from pipeline.spec import load_spec


def test_a_build_makes_a_throwaway_dagster_instance_only_where_it_runs_something(project, cli, monkeypatch):
    made = []
    ephemeral = dg.DagsterInstance.ephemeral
    monkeypatch.setattr(dg.DagsterInstance, "ephemeral", staticmethod(lambda *a, **k: made.append(1) or ephemeral(*a, **k)))
    assert cli(project, "build")[0] == 0 and len(made) == 1
    assert cli(project, "build")[0] == 0 and len(made) == 1  # a no-op build: about a second less start-up
    assert set(statuses(project).values()) == {"cached"}
    write_textures(project / "textures" / "new", 1, seed=5)
    assert cli(project, "build")[0] == 0 and len(made) == 2
    assert statuses(project)["new/floors/tex000.png"] == "computed"


def test_partitions_follow_files_added_and_removed(project, cli, tmp_path):
    os.environ["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    (tmp_path / "dagster_home").mkdir()
    try:
        instance = dg.DagsterInstance.get()
        spec = load_spec(project / "assets_spec.yaml")
        run_build(spec, instance=instance)
        assert len(instance.get_dynamic_partitions("legacy")) == 5
        (project / "textures" / "floors" / "tex000.png").unlink()
        write_textures(project / "textures" / "extra", 2, seed=3)
        report = run_build(spec, instance=instance)
        keys = instance.get_dynamic_partitions("legacy")
        assert "floors/tex000.png" not in keys and len(keys) == 6
        assert [removed[:2] for removed in report.sync.forgotten] == [("legacy_2x", "floors/tex000.png")]
        assert not (project / "build" / "legacy_2x" / "floors" / "tex000.png").exists()
        assert sorted(r["status"] for r in report.rows) == ["cached"] * 4 + ["computed"] * 2
        materialized = instance.get_materialized_partitions(dg.AssetKey("legacy_2x"))
        assert materialized >= set(keys)
    finally:
        del os.environ["DAGSTER_HOME"]


def test_a_run_from_the_ui_logs_its_progress(project, monkeypatch):
    """A step over many textures whose op logs nothing (an upscale, cache hits) showed nothing in the run's log
    between its start and its end: it gets the progress line a CI log gets (at most every 30 s)."""
    from pipeline.progress import ProgressLines

    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)  # adds the partitions; the run below then finds each in the cache
        keys = instance.get_dynamic_partitions("legacy")
        result = dg.materialize(
            list(build_definitions(spec).assets or []), instance=instance, selection=["legacy_2x"],
            resources={"remaster": RemasterResource(device="cpu")},
            tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
        )
        said = [e.message for e in instance.all_logs(result.run_id) if e.user_message and not e.is_dagster_event]
    assert [line.partition(" (")[0] for line in said] == [f"legacy_2x {done}/5" for done in range(6)]  # less times


def test_a_project_built_before_dagster_home_was_set_shows_as_built_in_the_ui(project, cli, monkeypatch, tmp_path):
    from pipeline.progress import ProgressLines

    assert cli(project, "build")[0] == 0  # a throwaway instance
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setattr(ProgressLines, "interval", 0.0)  # a line per update instead of per 30 s
    (tmp_path / "dagster_home").mkdir()
    printed = []
    for _ in range(2):
        code, output = cli(project, "build")
        assert code == 0, output
        printed.append(output)
    recording = [line.partition(" (")[0] for line in printed[0].splitlines() if line.startswith("recording")]
    assert recording == [f"recording up-to-date outputs in Dagster {done}/5" for done in range(6)], printed[0]
    assert "recording" not in printed[1]
    instance = dg.DagsterInstance.get()
    keys = instance.get_dynamic_partitions("legacy")
    assert set(instance.get_materialized_partitions(dg.AssetKey("legacy_2x"))) == set(keys) and len(keys) == 5
    events = instance.fetch_materializations(dg.AssetKey("legacy_2x"), limit=100).records
    assert len(events) == 5  # once each: the second build found them recorded
    assert events[0].asset_materialization.metadata["cache"].value == "hit"
    assets = build_definitions(load_spec(project / "assets_spec.yaml")).assets
    assert set(ui_statuses(instance, assets, "legacy_2x", keys).values()) == {"FRESH"}


def test_a_dagster_home_without_settings_is_said_in_one_line_of_remaster_s(project, cli, monkeypatch, tmp_path, caplog):
    """Dagster's own warning ("No dagster instance configuration file ... If this is the desired behavior, create an
    empty dagster.yaml") said nothing of what it meant for a build; one remaster line says it, with the README's fix,
    and the fix silences it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0
    said = [record.getMessage() for record in caplog.records if "dagster.yaml" in record.getMessage()]
    assert said == [f"the Dagster instance {home} has no dagster.yaml, so Dagster uses its default settings there, "
                    "which send its usage statistics; to turn them off (and this line with them) write its settings: "
                    f"printf 'telemetry:\\n  enabled: false\\n' > {home / 'dagster.yaml'}"], said
    subprocess.run(["sh", "-c", said[0].split("write its settings: ")[1]], check=True)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    caplog.clear()
    assert cli(project, "build")[0] == 0
    assert not [record for record in caplog.records if "dagster.yaml" in record.getMessage()]


def test_a_first_build_under_dagster_home_commits_its_events_in_transactions_that_do_not_grow_with_its_textures(
        tmp_path, cli, monkeypatch):
    """Dagster's SQLite event log committed (a disk sync) and closed (a checkpoint of its log) each event, in the
    run's database and in the index, and a first build records four per texture: 40 to 90 ms each, most of 22
    minutes for 5,192 textures. What the UI shows of them is the same."""
    import sqlalchemy

    import pipeline.event_log

    monkeypatch.setattr(pipeline.event_log, "COMMIT_EVERY_S", 3600.0)  # counted by events, not by this machine's speed
    committed: list[str] = []

    def note(connection: sqlalchemy.Connection) -> None:  # a transaction that wrote (a read commits too)
        if connection.connection.dbapi_connection.total_changes:
            committed.append(str(connection.engine.url.database))

    commits = {}
    sqlalchemy.event.listen(sqlalchemy.Engine, "commit", note)
    try:
        for count in (1, 6):
            project, home = tmp_path / f"project{count}", tmp_path / f"home{count}"
            home.mkdir()
            write_textures(project / "textures", count)
            write_spec(project, UPSCALE_SPEC)
            monkeypatch.setenv("DAGSTER_HOME", str(home))
            committed.clear()
            assert cli(project, "build")[0] == 0
            commits[count] = sum(f"{os.sep}history{os.sep}runs{os.sep}" in database for database in committed)
    finally:
        sqlalchemy.event.remove(sqlalchemy.Engine, "commit", note)
    assert commits[6] == commits[1]  # was 42 more: eight per texture but the first
    instance = dg.DagsterInstance.get()
    keys = instance.get_dynamic_partitions("legacy")
    assets = build_definitions(load_spec(project / "assets_spec.yaml")).assets
    assert len(keys) == 6 and set(ui_statuses(instance, assets, "legacy_2x", keys).values()) == {"FRESH"}
    latest = [r.asset_materialization for r in instance.fetch_materializations(dg.AssetKey("legacy_2x"), limit=6).records]
    assert {event.partition for event in latest} == set(keys)  # each partition's own, with its figures, last
    assert all(event.metadata["cache"].value == "miss" for event in latest)


def test_a_build_s_runs_show_in_the_ui_as_remaster_build_with_their_tags(project):
    """The Runs page listed every run of remaster build as __ephemeral_asset_job__, Dagster's name for a job with
    none."""
    from pipeline.runs import BUILD_TAG

    write_spec(project, CHAIN_SPEC)
    with dg.instance_for_test() as instance:
        run_build(load_spec(project / "assets_spec.yaml"), instance=instance)
        runs, keys = instance.get_runs(), instance.get_dynamic_partitions("legacy")
    assert [(run.job_name, run.status, run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) for run in runs] == [
        ("remaster_build", dg.DagsterRunStatus.SUCCESS, keys[0], keys[-1])] * 2
    assert len({run.tags[BUILD_TAG] for run in runs}) == 1


@pytest.mark.parametrize(("changed", "runs"), [((0, 5), 2), ((0, 1), 1), ((0, 2), 1)])
def test_changed_textures_far_apart_are_built_by_a_run_each_not_one_over_every_texture_between(
        project, monkeypatch, changed, runs):
    """A run covers a range of partitions and records each current one inside it as a cache hit: a change to
    the first and the last of 1,298 textures recorded all of them (15 s, where a run of its own starts in 1 s)."""
    import pipeline.ranges

    monkeypatch.setattr(pipeline.ranges, "GAP_FOR_A_NEW_RUN", 1)  # more than one current texture between: a new run
    write_textures(project / "textures" / "more", 1, seed=1)  # a sixth texture
    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        keys = instance.get_dynamic_partitions("legacy")
        first_runs = len(instance.get_runs())
        for index in changed:
            write_image(project / "textures" / keys[index], Image(np.full((16, 16, 3), index / 8, np.float32)))
        report = run_build(spec, instance=instance)
        new_runs = instance.get_runs()[: len(instance.get_runs()) - first_runs]
        recorded = {record.partition_key for run in new_runs for record in instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records}
    assert len(new_runs) == runs
    between = {keys[index] for index in range(changed[0], changed[1] + 1)} if runs == 1 else set()
    assert recorded == {keys[index] for index in changed} | between
    assert sorted(row["status"] for row in report.rows).count("computed") == 2


def test_a_partition_another_build_drops_meanwhile_is_left_out_of_the_runs_not_a_traceback(project, monkeypatch):
    """The file sensor, or a second build, drops the partition of a file deleted after this build's scan: the
    runs are cut by the instance's partitions, and one it no longer has raised KeyError before anything ran."""
    import pipeline.runs

    spec = load_spec(project / "assets_spec.yaml")
    with dg.instance_for_test() as instance:
        run_build(spec, instance=instance)
        gone, changed = instance.get_dynamic_partitions("legacy")[:2]
        for key in (gone, changed):
            write_image(project / "textures" / key, Image(np.full((16, 16, 3), 0.3, np.float32)))
        keep = pipeline.runs._keep_in_cache

        def and_the_sensor_drops_one(builder, rows):  # after the scan, before the runs
            (project / "textures" / gone).unlink()
            instance.delete_dynamic_partition("legacy", gone)
            keep(builder, rows)

        monkeypatch.setattr(pipeline.runs, "_keep_in_cache", and_the_sensor_drops_one)
        report = run_build(spec, instance=instance)
    assert not report.run_errors and statuses(project)[changed] == "computed"


def test_a_batch_of_events_lets_another_writer_of_the_event_log_in_between_its_commits(tmp_path, monkeypatch):
    """A batch committed every second but wrote again at once, and SQLite lets a waiting writer in only when its
    busy handler, asleep up to 100 ms at a time, finds the database free: a build recording thousands of
    partitions kept the event log for as long as it recorded (a minute for 5,000), and another build, the daemon
    or the UI writing there failed after 30 s with 'database is locked'."""
    import dagster._core.storage.event_log.sqlite.sqlite_event_log as dagster_sqlite

    import pipeline.event_log

    monkeypatch.setattr(dagster_sqlite, "SQLITE_BUSY_TIMEOUT_SECONDS", 5)  # the other writer's patience, not 30 s
    monkeypatch.setattr(pipeline.event_log, "COMMIT_EVERY_S", 0.5)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    build, other = dg.DagsterInstance.get(), dg.DagsterInstance.get()  # another process's: Dagster's own writes
    outcome: list[str] = []

    def write() -> None:
        try:
            other.report_runless_asset_event(dg.AssetObservation("other"))
            outcome.append("written")
        except Exception as error:  # sqlite3.OperationalError: database is locked
            outcome.append(str(error))

    writer = threading.Thread(target=write)
    with pipeline.event_log.few_transactions(build):
        build.report_runless_asset_event(dg.AssetObservation("legacy_2x"))  # the batch holds the databases now
        writer.start()
        give_up = time.monotonic() + 60
        while writer.is_alive() and time.monotonic() < give_up:  # a step recording for as long as the writer waits
            build.report_runless_asset_event(dg.AssetObservation("legacy_2x"))
    writer.join()
    assert outcome == ["written"]
    assert other.fetch_observations(dg.AssetKey("other"), limit=1).records


def test_a_build_corrects_what_the_ui_shows_for_partitions_built_under_another_instance(project, cli, monkeypatch,
                                                                                        tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0
    write_textures(project / "textures", 1, seed=3)  # tex000 changes and is built without DAGSTER_HOME
    monkeypatch.delenv("DAGSTER_HOME")
    assert cli(project, "build")[0] == 0
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0
    latest = {}
    for record in dg.DagsterInstance.get().fetch_materializations(dg.AssetKey("legacy_2x"), limit=100).records:
        latest.setdefault(record.asset_materialization.partition, record.asset_materialization)
    assert {key: event.metadata["cache_key"].value for key, event in latest.items()} == {
        str(row["partition"]): row["cache_key"] for row in manifest_rows(project)
    }


def test_a_dagster_database_another_process_holds_says_to_build_again_not_that_it_is_damaged(
        project, cli, monkeypatch, tmp_path):
    import sqlite3

    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0
    write_image(project / "textures" / "walls" / "tex001.png", Image(np.full((16, 16, 3), 0.5, np.float32)))
    holder = sqlite3.connect(home / "history" / "runs.db", isolation_level=None)  # the UI or the daemon, writing
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, output = cli(project, "build")
    finally:
        holder.close()
    output = output.replace("\n", "")
    assert code == 1 and "is held by another process" in output and "aside" not in output, output
    assert cli(project, "build")[0] == 0


def test_an_error_whose_chain_loops_is_not_taken_for_a_database_error():
    from pipeline.cli import _database_error

    try:
        try:
            raise ValueError("first")
        except ValueError as first:
            try:
                raise KeyError("second") from first
            except KeyError as second:
                raise first from second
    except ValueError as looped:
        assert _database_error(looped) is None


def test_a_dagster_home_under_a_tilde_no_shell_expanded_is_the_home_folder_s(project, cli, monkeypatch, tmp_path):
    (tmp_path / "home" / "dh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_HOME", "~/dh")  # as a CI file's env: block or a compose file gives it
    assert cli(project, "build")[0] == 0
    assert (tmp_path / "home" / "dh" / "remaster-specs").is_file()


@pytest.mark.parametrize("home", ["dagster_home", "/no/such/folder"])
def test_a_dagster_home_dagster_cannot_use_is_one_line_for_every_command(project, cli, monkeypatch, home):
    monkeypatch.setenv("DAGSTER_HOME", home)  # a CI file's relative path, or a folder nobody made
    for command in ("build", "status", "validate"):
        code, output = cli(project, command)
        said = " ".join(output.split())
        assert code == 2 and f"error DAGSTER_HOME={home} is not" in said and "Traceback" not in said, (command, output)
    assert not (project / "build").exists()


def test_the_mkdir_a_missing_dagster_home_s_message_gives_makes_it_where_its_path_has_spaces(project, cli, monkeypatch,
                                                                                               tmp_path):
    """Unquoted, the pasted ``mkdir -p /tmp/Mein Projekt/.dagster`` made ``/tmp/Mein`` and ``Projekt/.dagster``."""
    home = tmp_path / "Mein Projekt é" / ".dagster"
    home.parent.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    said = " ".join(cli(project, "build")[1].split())
    command = said[said.index("mkdir -p "):said.index(" first")]
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)
    assert home.is_dir() and not (tmp_path / "Mein").exists() and not (tmp_path / "Projekt é").exists()
    assert cli(project, "build")[0] == 0 and (home / "remaster-specs").is_file()


def test_a_dagster_home_left_behind_by_a_moved_project_says_so_rather_than_only_to_make_it_again(project, cli,
                                                                                                monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "Alter Ort" / ".dagster"))  # the project lived there
    code, output = cli(project, "build")
    said = " ".join(output.split())
    assert code == 2 and f"{tmp_path / 'Alter Ort'} is gone too: if the project moved, export " \
        'DAGSTER_HOME="$PWD"/.dagster in its new folder' in said, output


@pytest.mark.parametrize("settings, says", [
    ("storage:\n  sqlite: \"a\n", "dagster.yaml:2: not valid YAML: a quote opened at line 2 is never closed"),
    ("storage:\n  sqlite: 5\n", "dagster.yaml: Dagster cannot use these instance settings: "),
])
def test_a_dagster_home_whose_settings_dagster_cannot_read_is_one_line(project, cli, monkeypatch, tmp_path, settings, says):
    """A dagster.yaml with a typo was Dagster's ParserError or DagsterInvalidConfigError traceback."""
    (tmp_path / "dh").mkdir()
    (tmp_path / "dh" / "dagster.yaml").write_text(settings)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    code, output = cli(project, "build")
    said = " ".join(output.split())
    assert code == 2 and said.startswith(f"error {tmp_path / 'dh' / says}"), output
    assert ("unset DAGSTER_HOME: builds then record in the project's own .dagster where there is one, else on a "
            "throwaway instance") in said, output


def test_two_projects_with_the_same_names_cannot_share_a_dagster_home(project, cli, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # set once for every project, in a shell profile
    other = tmp_path / "other"
    write_textures(other / "textures", 2, seed=7)
    write_spec(other, UPSCALE_SPEC)
    assert cli(project, "build")[0] == 0
    code, output = cli(other, "build")  # its sync dropped the first project's partitions of 'legacy'
    assert code == 2 and f"DAGSTER_HOME {home} records the builds of {project / 'assets_spec.yaml'}, which also has " \
                         "legacy, legacy_2x; their partitions and runs would mix" in " ".join(output.split()), output
    assert "unset DAGSTER_HOME: each project then records in its own .dagster" in " ".join(output.split()), output
    assert len(dg.DagsterInstance.get().get_dynamic_partitions("legacy")) == 5
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("from: legacy", "from: legcy"))  # a typo for a minute
    code, output = cli(other, "build")  # it took the instance over, judging the broken spec to clash with nothing
    assert code == 2 and "which also has legacy, legacy_2x" in " ".join(output.split()), output
    spec.write_text(spec.read_text().replace("from: legcy", "from: legacy"))
    write_spec(other, UPSCALE_SPEC.replace("legacy", "props"))  # other names: one instance holds both
    assert cli(other, "build")[0] == 0 and cli(project, "build")[0] == 0
    third = tmp_path / "third"
    write_textures(third / "textures", 1, seed=8)
    write_spec(third, UPSCALE_SPEC)
    assert cli(other, "build")[0] == 0  # built last, but the first project's names are still checked
    defs = build_definitions(load_spec(third / "assets_spec.yaml"))
    result = dg.materialize(list(defs.assets), instance=dg.DagsterInstance.get(), resources=defs.resources,
                            selection=["legacy_2x"], partition_key="walls/tex001.png", raise_on_error=False)
    assert not result.success  # a run from the UI is refused as the CLI's build is
    code, output = cli(third, "build")
    assert code == 2 and f"records the builds of {project / 'assets_spec.yaml'}" in " ".join(output.split()), output


def test_status_and_validate_refuse_a_dagster_home_whose_names_clash_as_the_build_does(project, cli, tmp_path,
                                                                                        monkeypatch):
    """status --check, a CI gate, passed (everything up to date, built on a throwaway instance) where the build
    it stands for exits 2: another project of the same names records its builds in DAGSTER_HOME. validate
    passed too, though its help said it exits 2 there."""
    other = tmp_path / "other"
    write_textures(other / "textures", 2, seed=7)
    write_spec(other, UPSCALE_SPEC)
    assert cli(other, "build")[0] == 0 and cli(other, "status", "--check")[0] == 0
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0 and cli(project, "status", "--check")[0] == 0  # it records there: no clash
    clash = f"DAGSTER_HOME {home} records the builds of {project / 'assets_spec.yaml'}, which also has legacy, legacy_2x"
    for command in (["status", "--check"], ["status"], ["status", "--json"], ["validate"], ["build"]):
        code, output = cli(other, *command)
        assert code == 2 and clash in " ".join(output.split()), (command, output)


def _run_left_by_a_killed_build(folder: Path, monkeypatch) -> tuple[Path, dg.DagsterInstance, dg.DagsterRun]:
    """The spec, the instance of ``DAGSTER_HOME`` and the one run in it, which a build killed outright left."""
    spec = variants_project(folder, count=3)
    home = folder / "dagster_home"
    home.mkdir()
    build_killed_at_the_third_variant(folder, home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    [left] = instance.get_runs()
    return spec, instance, left


def test_the_run_of_a_killed_build_is_failed_by_the_next_build_not_left_running(tmp_path, cli, monkeypatch):
    _, instance, left = _run_left_by_a_killed_build(tmp_path, monkeypatch)
    assert left.status == dg.DagsterRunStatus.STARTED  # and so it would stay: it ran in the killed process
    assert cli(tmp_path, "build")[0] == 0
    assert instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
    assert {run.status for run in instance.get_runs()} == {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS}

    from pipeline.processes import process_space, start_time

    def unfinished(run_id: str, **tags: str) -> None:
        tags = {HOST_TAG: process_space(), PID_TAG: left.tags[PID_TAG], **tags}
        parent = tags.pop("parent", None)
        instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=dg.DagsterRunStatus.STARTED,
                                       tags=tags, parent_run_id=parent, root_run_id=parent))

    unfinished("reexecuted", parent=left.run_id)  # the UI's re-execution of the failed run inherits its tags
    unfinished("elsewhere", **{HOST_TAG: "ci-container/another-boot/4026531999"})  # a pid this process cannot judge
    unfinished("alive", **{PID_TAG: f"{os.getpid()}@{start_time(os.getpid())}"})
    unfinished("reused", **{PID_TAG: f"{os.getpid()}@1"})  # the pid of a dead build, taken by a later process
    assert cli(tmp_path, "build")[0] == 0
    statuses = {run_id: instance.get_run_by_id(run_id).status for run_id in ("reexecuted", "elsewhere", "alive", "reused")}
    assert statuses == {"reexecuted": dg.DagsterRunStatus.STARTED, "elsewhere": dg.DagsterRunStatus.STARTED,
                        "alive": dg.DagsterRunStatus.STARTED, "reused": dg.DagsterRunStatus.FAILURE}


def test_a_sensor_tick_fails_the_run_of_a_killed_build_where_no_build_comes_after_it(tmp_path, monkeypatch):
    """With the run queue's max_concurrent_runs, that run held the turn, every UI, sensor and schedule run queued
    behind it, until the next ``remaster build`` on that machine."""
    spec, instance, left = _run_left_by_a_killed_build(tmp_path, monkeypatch)
    sensor = build_definitions(load_spec(spec)).resolve_sensor_def(KILLED_BUILDS_SENSOR)
    ticks = [sensor.evaluate_tick(dg.build_sensor_context(instance=instance)) for _ in range(2)]
    assert instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
    assert [(tick.run_requests, tick.skip_message) for tick in ticks] == [
        ([], f"ended 1 run of a killed remaster build: {left.run_id}"),
        ([], "no run of a killed remaster build")]

    terminated = "terminated"  # Terminate without Force in the UI: the run waits for a process that is gone
    instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", run_id=terminated, status=dg.DagsterRunStatus.CANCELING,
                                   tags={HOST_TAG: left.tags[HOST_TAG], PID_TAG: left.tags[PID_TAG]}))
    sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert instance.get_run_by_id(terminated).status == dg.DagsterRunStatus.CANCELED


def test_a_damaged_dagster_database_is_one_line_that_says_how_to_go_on(project, cli, monkeypatch, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0
    (home / "history" / "runs.db").write_bytes(b"not a database" * 100)  # as a crash or a full disk may leave it
    code, output = cli(project, "build")
    assert code == 1 and "Traceback" not in output
    assert f"Dagster's run storage in the Dagster instance {home} failed (file is not a database)" in output.replace("\n", "")
    (home / "history").rename(home / "history.damaged")
    assert cli(project, "build")[0] == 0
    assert set(statuses(project).values()) == {"cached"}


def test_a_build_that_keeps_a_deleted_texture_s_partition_for_a_queued_run_says_so_naming_the_file_and_run(
        project, cli, monkeypatch, tmp_path):
    """A build kept the partition, as a tick does, and said nothing: the UI went on listing the deleted texture after
    it, where the sensor's tick history, the nightly tick's and Observe's logs name the run that keeps it. Once
    Dagster ends the run (run monitoring, set as README's Crashed gives it, fails one past its max runtime), the next
    build drops the partition."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("run_monitoring: {enabled: true, max_runtime_seconds: 36000}\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0
    instance = dg.DagsterInstance.get()
    keys = instance.get_dynamic_partitions("legacy")
    job = build_definitions(load_spec(project / "assets_spec.yaml")).resolve_job_def("build_legacy")
    waiting = instance.create_run_for_job(job_def=job, tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
                                          status=dg.DagsterRunStatus.NOT_STARTED)
    (project / "textures" / keys[-1]).unlink()
    code, output = cli(project, "build")
    assert code == 0, output
    assert instance.get_dynamic_partitions("legacy") == keys
    said = [line for line in output.splitlines() if "deleted" in line]
    assert said == [
        f"{keys[-1]} of legacy deleted: its partition is kept while run {waiting.run_id[:8]}, yet to finish, names it "
        "(Dagster looks a run's partitions up as it starts), and dropped by the first tick, build or Observe after it "
        "ends; a run a crash left started keeps it for a day: terminate it in the UI (Runs, Terminate, with Force "
        "termination)"]
    instance.report_run_failed(waiting, "Exceeded maximum runtime of 36000 seconds.")
    code, output = cli(project, "build")
    assert code == 0 and "kept while" not in output, output
    assert instance.get_dynamic_partitions("legacy") == keys[:-1]
