"""What a build costs per texture, counted in work done (connections, reads), never in seconds."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy

from helpers import UPSCALE_SPEC, write_spec, write_textures
from pipeline.runs import run_build
from pipeline.spec import load_spec


def _event_log_connections(folder: Path, count: int) -> tuple[int, dg.DagsterInstance]:
    """Connections opened to the in-memory event log of an instance as a build without ``DAGSTER_HOME`` makes,
    while a first build of ``count`` textures records its runs on it; and the instance."""
    write_textures(folder / "textures", count)
    write_spec(folder, UPSCALE_SPEC)
    instance = dg.DagsterInstance.ephemeral()
    engine = instance.event_log_storage._engine  # the in-memory database's, which only Dagster names
    opened: list[object] = []
    sqlalchemy.event.listen(engine, "connect", lambda *_: opened.append(1))
    run_build(load_spec(folder / "assets_spec.yaml"), instance=instance)
    return len(opened), instance


def test_a_build_without_dagster_home_opens_no_event_log_connection_per_event(tmp_path):
    """The in-memory event log of a build without ``DAGSTER_HOME`` opened a connection, and another to look up a
    table, for each event (about 13 connections per texture): a sixth of the CPU time of a first build of 2,000
    textures. What it records is the same."""
    one, _ = _event_log_connections(tmp_path / "one", 1)
    six, instance = _event_log_connections(tmp_path / "six", 6)
    assert six - one < 5  # was 64 more: about 13 per texture but the first
    keys = instance.get_dynamic_partitions("legacy")
    latest = [r.asset_materialization for r in instance.fetch_materializations(dg.AssetKey("legacy_2x"), limit=6).records]
    assert len(keys) == 6 and {event.partition for event in latest} == set(keys)
    assert all(event.metadata["cache"].value == "miss" for event in latest)
