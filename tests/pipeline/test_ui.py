"""``remaster ui``, and the project's own Dagster instance (``.dagster`` beside the spec) that it makes and the CLI
records its builds in: the UI one command away, and CLI builds in it with no DAGSTER_HOME exported."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import psutil
import pytest

from helpers import UPSCALE_SPEC, start_remaster, write_spec, write_textures

ASSET_KEYS = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _asset_keys(port: int) -> set[str] | None:
    """The asset keys the UI's GraphQL endpoint lists; None while it does not answer yet."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=ASSET_KEYS,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            nodes = json.load(answer)["data"]["assetNodes"]
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return {"/".join(node["assetKey"]["path"]) for node in nodes}


def _runs(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs())


@pytest.mark.slow
def test_remaster_ui_serves_the_spec_s_assets_on_its_own_instance_and_stops_on_ctrl_c(project):
    """No workspace file, no DAGSTER_HOME, not even the project's folder as the one it runs in: the spec's folder
    gets its .dagster instance with a dagster.yaml (no 'No dagster.yaml found' warning), and Ctrl-C stops the
    webserver and the daemon with no traceback."""
    port = _free_port()
    ui = start_remaster(project.parent, "ui", "--spec", str(project / "assets_spec.yaml"), "--port", str(port))
    try:
        keys = None
        for _ in range(240):  # polled at most two minutes: a loaded CI machine starts Dagster slowly
            if ui.poll() is not None or (keys := _asset_keys(port)) is not None:
                break
            time.sleep(0.5)
        assert keys == {"legacy", "legacy_2x"}, ui.poll()
        assert (project / ".dagster" / "dagster.yaml").is_file()
    finally:
        ui.send_signal(signal.SIGINT)
        try:
            output, _ = ui.communicate(timeout=90)
        except subprocess.TimeoutExpired:  # the webserver and daemon too: they run in a session of their own
            for process in [*psutil.Process(ui.pid).children(recursive=True), ui]:
                process.kill()
            raise
    assert ui.returncode in (0, 130), output
    assert f"Dagster UI at http://127.0.0.1:{port}, instance {project / '.dagster'}; Ctrl-C stops it" in \
        " ".join(output.split()), output
    assert "Traceback" not in output and "No dagster.yaml found" not in output and "superseded" not in output, output
    assert _asset_keys(port) is None  # the webserver is gone too, and the port free


def test_a_cli_build_records_in_the_project_s_own_instance_where_dagster_home_is_unset(project, cli, tmp_path):
    (project / ".dagster").mkdir()  # as remaster ui makes it
    assert cli(project, "build")[0] == 0
    assert len(_runs(project / ".dagster")) == 1
    assert "DAGSTER_HOME" not in os.environ  # the caller's environment is its own again

    other = tmp_path / "other"  # no .dagster: a throwaway instance, as before
    write_textures(other / "textures", 2, seed=7)
    write_spec(other, UPSCALE_SPEC)
    assert cli(other, "build")[0] == 0
    assert not (other / ".dagster").exists()


def test_dagster_home_wins_over_the_project_s_own_instance(project, cli, tmp_path, monkeypatch):
    (project / ".dagster").mkdir()
    (home := tmp_path / "shared_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(project, "build")[0] == 0
    assert len(_runs(home)) == 1 and not (project / ".dagster" / "history").exists()


def test_a_second_spec_of_the_same_names_beside_the_first_is_refused_the_project_s_instance(project, cli):
    """Two specs in one folder share its .dagster: as with one DAGSTER_HOME, the second's builds would drop the
    first's partitions, so it exits 2, and so do its status and validate."""
    (project / ".dagster").mkdir()
    assert cli(project, "build")[0] == 0
    (project / "copy.yaml").write_text((project / "assets_spec.yaml").read_text().replace("build_dir: build",
                                                                                          "build_dir: build_copy"))
    for command in ("build", "status", "validate", "ui"):
        code, output = cli(project, command, "--spec", "copy.yaml")
        said = " ".join(output.split())
        assert code == 2 and f"the project's Dagster instance {project / '.dagster'} records the builds of " \
            f"{project / 'assets_spec.yaml'}, which also has legacy, legacy_2x; their partitions and runs would mix: " \
            "move one spec to a folder of its own, or export DAGSTER_HOME=" in said, (command, output)
    assert not (project / "build_copy").exists()  # refused before its build folder was made


def test_remaster_ui_refuses_a_bad_spec_before_making_an_instance(project, cli):
    spec = project / "assets_spec.yaml"
    spec.write_text(spec.read_text().replace("from: legacy", "from: legcy"))
    code, output = cli(project, "ui")
    assert code == 2 and "legcy" in output and "Traceback" not in output, output
    assert not (project / ".dagster").exists()


def test_remaster_ui_says_a_file_stands_where_the_project_s_instance_goes(project, cli):
    (project / ".dagster").write_text("")
    code, output = cli(project, "ui")
    said = " ".join(output.split())
    assert code == 2 and f"error cannot make the project's Dagster instance {project / '.dagster'}: File exists; " \
        "move that file aside, or export DAGSTER_HOME=" in said, output


def test_remaster_ui_refuses_a_port_another_program_listens_on(project, cli):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, output = cli(project, "ui", "--port", str(port))
    said = " ".join(output.split())
    assert code == 2 and f"error --port {port}: cannot listen on 127.0.0.1:{port}" in said and \
        "another remaster ui or dagster dev may be running there: stop it, or give another --port" in said, output


def test_remaster_help_lists_ui(project, cli):
    code, output = cli(project, "--help")
    assert code == 0 and "Open the Dagster UI on the spec" in output, output


def test_remaster_ui_keeps_a_dagster_yaml_the_artist_wrote(project, cli):
    (project / ".dagster").mkdir()
    (project / ".dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with socket.create_server(("127.0.0.1", 0)) as taken:  # stops it before Dagster starts
        assert cli(project, "ui", "--port", str(taken.getsockname()[1]))[0] == 2
    assert (project / ".dagster" / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_a_project_instance_s_settings_dagster_cannot_read_say_how_to_fix_them_not_to_unset_dagster_home(project, cli):
    """The artist exported no DAGSTER_HOME: 'unset DAGSTER_HOME' would be no fix."""
    (project / ".dagster").mkdir()
    (project / ".dagster" / "dagster.yaml").write_text("storage:\n  sqlite: \"a\n")
    code, output = cli(project, "build")
    said = " ".join(output.split())
    assert code == 2 and said.startswith(f"error {project / '.dagster' / 'dagster.yaml'}:2: not valid YAML"), output
    assert "(the project's instance settings); fix it, or delete it (remaster ui writes one anew)" in said, output
