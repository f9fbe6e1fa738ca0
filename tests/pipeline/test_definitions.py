"""Definitions load fast and without torch; sensors and the schedule do what they say."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg

from helpers import REPO, write_textures
from pipeline.definitions import build_definitions
from pipeline.spec import load_spec


def test_dagster_definitions_validate_on_the_workspace():
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_loading_definitions_neither_imports_torch_nor_reads_sources(tmp_path):
    write_textures(tmp_path / "textures", 3)
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


def test_sensor_adds_partitions_and_requests_runs_only_for_changes(project):
    spec = load_spec(project / "assets_spec.yaml")
    defs = build_definitions(spec)
    sensor = defs.resolve_sensor_def("legacy_files")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance))
        [add] = first.dynamic_partitions_requests
        assert len(add.partition_keys) == 5 and len(first.run_requests) == 5
        instance.add_dynamic_partitions("legacy", list(add.partition_keys))
        second = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert second.run_requests == [] and second.dynamic_partitions_requests == []
        (project / "textures" / "floors" / "tex000.png").unlink()
        write_textures(project / "textures" / "new", 1, seed=4)
        third = sensor(dg.build_sensor_context(instance=instance, cursor=second.cursor))
        assert [r.partition_key for r in third.run_requests] == ["new/floors/tex000.png"]
        kinds = {type(r).__name__: list(r.partition_keys) for r in third.dynamic_partitions_requests}
        assert kinds == {
            "AddDynamicPartitionsRequest": ["new/floors/tex000.png"],
            "DeleteDynamicPartitionsRequest": ["floors/tex000.png"],
        }
        assert json.loads(third.cursor).keys() == {"walls/tex001.png", "floors/tex002.png", "walls/tex003.png",
                                                    "floors/tex004.png", "new/floors/tex000.png"}


def test_nightly_schedule_requests_every_partition_in_one_run(project):
    spec = load_spec(project / "assets_spec.yaml")
    defs = build_definitions(spec)
    schedule = defs.resolve_schedule_def("nightly_legacy")
    assert schedule.job_name == "build_legacy"
    with dg.instance_for_test() as instance:
        assert isinstance(schedule(dg.build_schedule_context(instance=instance)), dg.SkipReason)
        instance.add_dynamic_partitions("legacy", ["a.png", "b.png", "c.png"])
        request = schedule(dg.build_schedule_context(instance=instance))
        assert request.tags["dagster/asset_partition_range_start"] == "a.png"
        assert request.tags["dagster/asset_partition_range_end"] == "c.png"


def test_observing_a_source_reports_each_file_hash_as_its_data_version(project):
    from pipeline.hashing import hash_file

    base = build_definitions(load_spec(project / "assets_spec.yaml"))
    observe = dg.define_asset_job("observe_legacy", selection=["legacy"])
    defs = dg.Definitions(assets=base.assets, jobs=[observe], resources=base.resources)
    keys = ["floors/tex000.png", "walls/tex001.png"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("legacy", keys)
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        assert defs.resolve_job_def("observe_legacy").execute_in_process(instance=instance, tags=tags).success
        records = instance.fetch_observations(dg.AssetKey("legacy"), limit=10).records
        versions = {r.asset_observation.partition: r.asset_observation.data_version for r in records}
    assert versions == {key: hash_file(project / "textures" / key) for key in keys}
