"""``remaster ui``, and the project's own Dagster instance (``.dagster`` beside the spec) that it makes and the CLI
records its builds in: the UI one command away, and CLI builds in it with no DAGSTER_HOME exported."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import psutil
import pytest

from helpers import UPSCALE_SPEC, start_remaster, ui_statuses, write_spec, write_textures
from pipeline.claims import INSTANCE_SETTINGS, make_project_instance
from pipeline.definitions import build_definitions
from pipeline.runs import Recorded, record_what_is_built
from pipeline.spec import load_spec

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
def test_remaster_ui_serves_the_spec_s_assets_on_its_own_instance_and_stops_on_ctrl_c(project, cli):
    """No workspace file, no DAGSTER_HOME, not even the project's folder as the one it runs in: the spec's folder
    gets its .dagster instance with a dagster.yaml (no 'No dagster.yaml found' warning), what was built before on
    a throwaway instance is recorded there first, where it listens is said once it answers (not seconds before), a
    second remaster ui on that instance is refused, saying where the first listens, and Ctrl-C stops the webserver
    and the daemon with no traceback."""
    assert cli(project, "build")[0] == 0
    port = _free_port()
    ui = start_remaster(project.parent, "ui", "--spec", str(project / "assets_spec.yaml"), "--port", str(port))
    shown = ""
    try:
        # Ctrl-C before it says where it listens stops it as it starts, saying nothing of where: its own webserver
        # answering the test, on a loaded machine, came before its line.
        shown = _read_until(ui, "Dagster UI at")
        assert _asset_keys(port) == {"legacy", "legacy_2x"}, shown
        assert (project / ".dagster" / "dagster.yaml").is_file()
        code, second = cli(project, "ui", "--port", str(port))  # started twice: where it listens, not "port taken"
        assert code == 2 and f"another remaster ui already serves the Dagster instance {project / '.dagster'} at " \
            f"http://127.0.0.1:{port} (for {project / 'assets_spec.yaml'})" in " ".join(second.split()), second
    finally:
        output = shown + _stopped(ui)
    assert ui.returncode in (0, 130), output
    said = " ".join(output.split())
    assert said.startswith("5 partitions of 1 source; 5 outputs already built, recorded "), output
    serving = said.index(f"Serving dagster-webserver on http://127.0.0.1:{port}")  # said once a browser finds it
    assert said.index(f"Dagster UI at http://127.0.0.1:{port}, instance {project / '.dagster'}; Ctrl-C stops it") > \
        serving, output
    assert "Traceback" not in output and "No dagster.yaml found" not in output and "superseded" not in output, output
    assert _asset_keys(port) is None  # the webserver is gone too, and the port free


@pytest.mark.slow
def test_a_remaster_ui_killed_outright_takes_its_webserver_and_daemon_with_it(project):
    """kill -9 of remaster ui left dagster dev running in its session of its own: its webserver held the port, its
    daemon the instance, and the next remaster ui, the lock gone with the killed one, ran a second daemon beside it
    (Dagster: 'Another SENSOR daemon is still sending heartbeats'). Once they have stopped, the instance is free."""
    from pipeline.ui import serving

    port = _free_port()
    ui = start_remaster(project, "ui", "--port", str(port))
    threading.Thread(target=ui.stdout.read, daemon=True).start()  # Dagster's log, which would fill the pipe
    try:
        for _ in range(240):  # polled at most two minutes: a loaded CI machine starts Dagster slowly
            if ui.poll() is not None or _asset_keys(port) is not None:
                break
            time.sleep(0.5)
        dagster = psutil.Process(ui.pid).children(recursive=True)
        assert ui.poll() is None and dagster, "remaster ui did not start"
    finally:
        ui.kill()
        ui.wait()
    _, running = psutil.wait_procs(dagster, timeout=90)
    for process in running:
        process.kill()
    assert [process.pid for process in running] == []
    assert _asset_keys(port) is None
    with serving(project / ".dagster", "http://127.0.0.1:3000", load_spec(project / "assets_spec.yaml")):
        pass  # the next remaster ui goes on


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


def test_remaster_demo_builds_in_the_project_s_own_instance_that_remaster_ui_opens(tmp_path, cli, monkeypatch):
    """remaster demo, then remaster ui: the demo's build records in the .dagster it makes, with the dagster.yaml
    remaster ui writes, so the UI shows its run; DAGSTER_HOME, where set, still wins."""
    import pipeline.demo

    def small_demo(folder: Path) -> Path:  # the demo's data and spec, small: its build is the demo's
        write_textures(folder / "textures", 2)
        return write_spec(folder, UPSCALE_SPEC)

    monkeypatch.setattr(pipeline.demo, "write_demo", small_demo)
    code, output = cli(tmp_path, "demo", "--dir", "first")
    assert code == 0 and "Telemetry" not in output  # an artist's first command opens with no page of Dagster's notice
    assert (tmp_path / "first" / ".dagster" / "dagster.yaml").read_text() == INSTANCE_SETTINGS
    assert len(_runs(tmp_path / "first" / ".dagster")) == 1
    (home := tmp_path / "shared_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert cli(tmp_path, "demo", "--dir", "second")[0] == 0
    assert len(_runs(home)) == 1 and not (tmp_path / "second" / ".dagster").exists()


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
    """In the system's words alone: Python's added "(while attempting to bind on address ('127.0.0.1', 3000))",
    which put a parenthesis in a parenthesis and the address the line says already."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, output = cli(project, "ui", "--port", str(port))
    said = " ".join(output.split())
    assert code == 2 and said == f"error --port {port}: cannot listen on 127.0.0.1:{port} " \
        f"({os.strerror(errno.EADDRINUSE)}); another remaster ui or dagster dev may be running there: stop it, or " \
        "give another --port", output


def test_remaster_ui_says_a_host_that_is_no_address_of_this_machine_is_the_host_to_change(project, cli):
    """--host 192.0.2.1 (an address of another machine) was said as "--port 3000: ... another remaster ui or
    dagster dev may be running there: stop it, or give another --port", which no other port fixes."""
    code, output = cli(project, "ui", "--host", "192.0.2.1", "--port", "3000")
    said = " ".join(output.split())
    assert code == 2 and said == "error --host 192.0.2.1: cannot listen on 192.0.2.1:3000 " \
        f"({os.strerror(errno.EADDRNOTAVAIL)}): it is no address of this machine; give one of its addresses, such as " \
        "127.0.0.1 (the default) or 0.0.0.0 for every network", output


def test_remaster_ui_takes_an_ipv6_host_and_says_its_port_is_taken(project, cli):
    """--host ::1 was checked as an IPv4 address: refused as "Address family for hostname not supported", said to be
    a port another remaster ui holds."""
    try:
        taken = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    with taken:
        port = taken.getsockname()[1]
        with pytest.raises(OSError) as in_use:
            socket.create_server(("::1", port), family=socket.AF_INET6)
        code, output = cli(project, "ui", "--host", "::1", "--port", str(port))
    said = " ".join(output.split())
    assert code == 2 and f"error --port {port}: cannot listen on ::1:{port} ({os.strerror(in_use.value.errno)}); " \
        "another remaster ui" in said, output


def test_remaster_help_lists_ui(project, cli):
    code, output = cli(project, "--help")
    said = " ".join(output.replace("│", " ").split())  # the command list's box, its lines folded
    assert code == 0 and "ui Serve the Dagster UI on the spec (the webserver and the daemon, as dagster dev runs them) " \
                         "until Ctrl-C. demo" in said, output  # one sentence, not its docstring cut mid-line


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


def _start_up(project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Recorded, dict[str, set[str]], dict]:
    """What ``remaster ui`` does before serving, on the instance it makes: returns what it said it did, the
    partitions of ``legacy`` and the materialized ones of ``legacy_2x`` in the instance, and what the UI calls each."""
    spec = load_spec(project / "assets_spec.yaml")
    make_project_instance(spec)
    monkeypatch.setenv("DAGSTER_HOME", str(project / ".dagster"))  # as the ui command sets it
    with dg.DagsterInstance.get() as instance:
        recorded = record_what_is_built(spec, instance)
        keys = set(instance.get_dynamic_partitions("legacy"))
        partitions = {"legacy": keys, "legacy_2x": instance.get_materialized_partitions(dg.AssetKey("legacy_2x"))}
        shown = ui_statuses(instance, build_definitions(spec).assets, "legacy_2x", sorted(keys))
    return recorded, partitions, shown


def test_remaster_ui_records_what_a_build_on_a_throwaway_instance_made_before_it_starts(project, cli, monkeypatch):
    """remaster demo, then remaster ui: the demo built with no .dagster yet, and the UI showed no partition and
    nothing built. Its start-up gives the instance the partitions and records each current output, once."""
    assert cli(project, "build")[0] == 0 and not (project / ".dagster").exists()
    recorded, partitions, shown = _start_up(project, monkeypatch)
    names = {path.relative_to(project / "textures").as_posix() for path in (project / "textures").rglob("*.png")}
    assert recorded == Recorded(partitions=5, sources=1, outputs=5, forgotten=[])
    assert partitions == {"legacy": names, "legacy_2x": names}
    assert set(shown.values()) == {"FRESH"}, shown
    assert _start_up(project, monkeypatch)[0].outputs == 0  # recorded once: a second start says nothing


def test_remaster_ui_start_up_on_a_project_never_built_adds_its_partitions_and_records_nothing(project, monkeypatch):
    recorded, partitions, _ = _start_up(project, monkeypatch)
    assert recorded == Recorded(partitions=5, sources=1, outputs=0, forgotten=[])
    assert len(partitions["legacy"]) == 5 and not partitions["legacy_2x"]


def test_remaster_ui_says_in_one_line_what_its_start_up_recorded(project, cli, capsys, monkeypatch):
    """The step the ui command runs before serving says what it recorded, and the outputs of a file that is gone,
    which it deletes as a build does; nothing where nothing was built, or all was recorded before."""
    from pipeline.cli import _record_what_is_built

    spec, home = load_spec(project / "assets_spec.yaml"), project / ".dagster"
    make_project_instance(spec)
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # as the ui command sets it
    _record_what_is_built(spec, home)
    assert cli(project, "build")[0] == 0  # recorded in .dagster as it builds
    _record_what_is_built(spec, home)
    assert capsys.readouterr().out == ""

    shutil.rmtree(home)  # as if built on a throwaway instance
    make_project_instance(spec)
    (project / "textures" / "walls" / "tex003.png").unlink()
    _record_what_is_built(spec, home)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("removed the outputs of legacy_2x") and "walls/tex003.png" in lines[0], lines
    assert lines[1:] == ["4 partitions of 1 source; 4 outputs already built, recorded"], lines


def test_remaster_ui_s_start_up_says_which_run_keeps_a_deleted_texture_s_partition(project, cli, capsys, monkeypatch):
    """The start-up syncs the partitions as a build does, and kept one a queued run names without a word: the UI then
    listed the deleted texture, with nothing to say why."""
    from pipeline.assets import RANGE_END_TAG, RANGE_START_TAG
    from pipeline.cli import _record_what_is_built

    spec, home = load_spec(project / "assets_spec.yaml"), project / ".dagster"
    make_project_instance(spec)
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # as the ui command sets it
    assert cli(project, "build")[0] == 0
    capsys.readouterr()
    with dg.DagsterInstance.get() as instance:
        keys = instance.get_dynamic_partitions("legacy")
        waiting = instance.create_run_for_job(job_def=build_definitions(spec).resolve_job_def("build_legacy"),
                                              tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
                                              status=dg.DagsterRunStatus.NOT_STARTED)
    (project / "textures" / keys[0]).unlink()
    _record_what_is_built(spec, home)
    said = [line for line in capsys.readouterr().out.splitlines() if "deleted" in line]
    assert said == [
        f"{keys[0]} of legacy deleted: its partition is kept while run {waiting.run_id[:8]}, yet to finish, names it "
        "(Dagster looks a run's partitions up as it starts), and dropped by the first tick, build or Observe after it "
        "ends; a run a crash left started keeps it for a day: terminate it in the UI (Runs, Terminate, with Force "
        "termination)"]


def test_remaster_ui_stopped_by_ctrl_c_during_its_start_up_says_so_not_a_traceback(project, cli, monkeypatch):
    import pipeline.runs

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.runs, "record_what_is_built", interrupted)
    code, output = cli(project, "ui", "--port", str(_free_port()))
    assert (code, output) == (0, "stopped before the Dagster UI started (nothing is half-written)\n")


def test_remaster_ui_says_why_a_source_has_no_partitions_before_it_starts(project, capsys, monkeypatch):
    """A root that does not exist, or a glob that matches nothing: the UI showed the source with no partition and
    nothing to materialize, and no line said why (a build says it after its table; the UI nowhere)."""
    from pipeline.cli import _record_what_is_built

    spec_file = project / "assets_spec.yaml"
    spec_file.write_text(spec_file.read_text().replace("root: textures", "root: texturs"))
    spec, home = load_spec(spec_file), project / ".dagster"
    make_project_instance(spec)
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # as the ui command sets it
    _record_what_is_built(spec, home)
    said = " ".join(capsys.readouterr().err.split())
    assert said == f"warning {spec_file}:5: source 'legacy': folder {project / 'texturs'} does not exist; nothing is " \
        f"built from it, its outputs are kept (fix its root, or mount the share); did you mean the folder " \
        f"{project / 'textures'}?", said


def test_a_second_remaster_ui_on_one_instance_is_refused_saying_where_the_first_listens(project, cli):
    """The same project's UI started again on another port ran a second daemon on its instance: each ran every
    sensor and schedule, and Dagster said so only half a minute later, in red among its logs."""
    from pipeline.ui import serving

    spec = load_spec(project / "assets_spec.yaml")
    make_project_instance(spec)
    with socket.create_server(("127.0.0.1", 0)) as taken:  # where it went on, it stops there, before Dagster starts
        port = str(taken.getsockname()[1])
        with serving(project / ".dagster", "http://127.0.0.1:3000", spec):  # as the first remaster ui holds it
            code, output = cli(project, "ui", "--port", port)
        said = " ".join(output.split())
        assert code == 2 and said == f"error another remaster ui already serves the Dagster instance " \
            f"{project / '.dagster'} at http://127.0.0.1:3000 (for {project / 'assets_spec.yaml'}): open that one in " \
            "the browser, or stop it (Ctrl-C where it runs) first; two on one instance would run every sensor and " \
            "schedule twice", output
        assert f"--port {port}" in cli(project, "ui", "--port", port)[1]  # once the first stopped, it goes on


def test_a_remaster_ui_of_another_project_on_the_shared_dagster_home_is_told_to_give_this_one_its_own(
        project, cli, tmp_path, monkeypatch):
    """Projects of other names may share a DAGSTER_HOME, but not its daemon: the UI serving it shows the other
    project, so 'open that one' would send the artist to the wrong spec's assets."""
    from pipeline.ui import serving

    (home := tmp_path / "shared_home").mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    write_textures(tmp_path / "other" / "textures", 1)
    other = write_spec(tmp_path / "other", UPSCALE_SPEC.replace("legacy", "props"))
    with socket.create_server(("127.0.0.1", 0)) as taken:  # where it went on, it stops there, before Dagster starts
        with serving(home, "http://127.0.0.1:3000", load_spec(other)):
            code, output = cli(project, "ui", "--port", str(taken.getsockname()[1]))
    said = " ".join(output.split())
    assert code == 2 and said == f"error another remaster ui already serves the Dagster instance {home} at " \
        f"http://127.0.0.1:3000, for {other}, not this spec: stop it (Ctrl-C where it runs) first, or give this " \
        "project an instance of its own (unset DAGSTER_HOME: each project then has its own .dagster); two on one " \
        "instance would run every sensor and schedule twice", output


def test_a_remaster_ui_of_another_spec_beside_this_one_is_told_to_move_one_spec(project, cli):
    """Two specs of other names in one folder share its .dagster, and so would its daemon."""
    from pipeline.ui import serving

    other = project / "props.yaml"
    other.write_text(UPSCALE_SPEC.replace("legacy", "props").replace("build_dir: build", "build_dir: build_props"))
    make_project_instance(spec := load_spec(other))
    with socket.create_server(("127.0.0.1", 0)) as taken:  # where it went on, it stops there, before Dagster starts
        with serving(project / ".dagster", "http://127.0.0.1:3000", spec):
            code, output = cli(project, "ui", "--port", str(taken.getsockname()[1]))
    said = " ".join(output.split())
    assert code == 2 and f"for {other}, not this spec: stop it (Ctrl-C where it runs) first, or give this project " \
        "an instance of its own (move one spec to a folder of its own);" in said, output


def _heartbeats(home: Path) -> dict:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return dict(instance.get_daemon_heartbeats())


def _stopped(ui: subprocess.Popen) -> str:
    """Ctrl-C to a remaster ui started by ``start_remaster``; returns the rest of its output. What it left running
    is killed, and the test fails."""
    ui.send_signal(signal.SIGINT)
    try:
        return ui.communicate(timeout=90)[0]
    except subprocess.TimeoutExpired:  # the webserver and daemon too: they run in a session of their own
        for process in [*psutil.Process(ui.pid).children(recursive=True), ui]:
            process.kill()
        raise


def _read_until(ui: subprocess.Popen, text: str) -> str:
    """The output of ``ui`` up to its first line with ``text`` in it, which is the last line returned."""
    said = ""
    for line in ui.stdout:
        said += line
        if text in line:
            return said
    return said


@pytest.mark.slow
def test_remaster_ui_on_every_network_says_addresses_a_browser_opens_and_forgets_its_daemon_once_stopped(project):
    """--host 0.0.0.0 was said as http://0.0.0.0:PORT, which no browser opens. Stopped, its daemon's heartbeats
    go: the next remaster ui, started at once, is not taken for one beside a running daemon."""
    port = _free_port()
    ui = start_remaster(project, "ui", "--host", "0.0.0.0", "--port", str(port))
    try:
        said = _read_until(ui, "Dagster UI at").splitlines()[-1]
        for _ in range(120):  # the daemon stores its first heartbeats seconds after it starts
            if _heartbeats(project / ".dagster"):
                break
            time.sleep(0.5)
    finally:
        output = _stopped(ui)
    assert said == f"Dagster UI at http://127.0.0.1:{port} (listening on every network: http://{socket.gethostname()}:" \
        f"{port} from other machines), instance {project / '.dagster'}; Ctrl-C stops it", said
    assert ui.returncode == 0 and "Traceback" not in output, output
    assert _heartbeats(project / ".dagster") == {}


@pytest.mark.slow
def test_remaster_ui_stopped_by_ctrl_c_before_its_webserver_answers_stops_as_a_later_ctrl_c_does(project):
    """Ctrl-C while Dagster was still starting ended dagster dev with click's "Aborted!" (or a traceback, earlier
    still), its webserver or daemon maybe left running."""
    port = _free_port()
    ui = start_remaster(project, "ui", "--port", str(port))
    try:
        started = _read_until(ui, "Launching Dagster services")  # Dagster's first line: not yet answering
        dagster = psutil.Process(ui.pid).children(recursive=True)
    finally:
        output = started + _stopped(ui)
    said = " ".join(output.split())
    assert ui.returncode == 0 and "Aborted!" not in output and "Traceback" not in output, output
    assert "stopping the Dagster UI as soon as it has started (seconds); Ctrl-C again stops it at once" in said, output
    assert said.endswith("Dagster services shut down.") and "Dagster UI at" not in said, output
    assert [process.pid for process in psutil.wait_procs(dagster, timeout=30)[1]] == []
    assert _asset_keys(port) is None


@pytest.mark.slow
def test_remaster_ui_refuses_an_instance_a_plain_dagster_dev_serves(project, cli):
    """Only another remaster ui was refused: a dagster dev -w workspace.yaml on the same instance ran a second daemon
    beside this one's, each running every sensor and schedule. The daemon's heartbeats are what Dagster leaves."""
    make_project_instance(load_spec(project / "assets_spec.yaml"))
    home = project / ".dagster"
    env = {**os.environ, "DAGSTER_HOME": str(home), "REMASTER_SPEC": str(project / "assets_spec.yaml")}
    dev = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-m", "pipeline.definitions", "-p",
                            str(_free_port())], env=env, cwd=project, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):  # polled at most two minutes: a loaded CI machine starts Dagster slowly
            if dev.poll() is not None or _heartbeats(home):
                break
            time.sleep(0.5)
        assert _heartbeats(home), "dagster dev did not start"
        with socket.create_server(("127.0.0.1", 0)) as taken:  # where it went on, it stops there, not serving
            code, output = cli(project, "ui", "--port", str(taken.getsockname()[1]))
    finally:
        os.killpg(dev.pid, signal.SIGKILL)
        dev.wait()
    said = " ".join(output.split())
    assert code == 2 and said.startswith(f"error a Dagster daemon already runs on the Dagster instance {home} (its "
                                         "last heartbeat is "), output
    assert "a dagster dev or dagster-daemon run started there outside remaster ui; stop it (Ctrl-C where it runs) " \
        "first, or open the UI it serves;" in said, output


@pytest.mark.parametrize(("age", "refused"), [(5, "a Dagster daemon already runs"), (3600, "--port")])
def test_a_daemon_heartbeat_over_45_s_old_is_a_daemon_gone_not_one_to_refuse(project, cli, age, refused):
    """A daemon that crashed an hour ago (or a dagster dev killed outright) leaves its heartbeats: only a fresh one
    says a daemon runs. Past the daemon's check, the taken port is what refuses this one."""
    from dagster._daemon.types import DaemonHeartbeat

    make_project_instance(load_spec(project / "assets_spec.yaml"))
    with dg.DagsterInstance.from_config(str(project / ".dagster")) as instance:
        instance.add_daemon_heartbeat(DaemonHeartbeat(time.time() - age, "SENSOR", "crashed", None))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        code, output = cli(project, "ui", "--port", str(taken.getsockname()[1]))
    assert code == 2 and " ".join(output.split()).startswith(f"error {refused}"), output


def test_remaster_ui_whose_port_another_took_as_it_started_says_so_not_the_other_s_address(project, monkeypatch):
    """Two remaster ui of two projects started at one instant on one port both passed the port's check: the one
    whose webserver could not listen said the other's address, where a browser showed the other project, and
    served on, its webserver up but listening nowhere. Here the other answers at once: dagster dev is stopped
    as it starts."""
    from pipeline.ui import PortTaken, check_port, serve

    spec, home, port = load_spec(project / "assets_spec.yaml"), project / ".dagster", _free_port()
    make_project_instance(spec)
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # as the ui command sets it
    check_port("127.0.0.1", port)
    said: list[str] = []
    with socket.create_server(("127.0.0.1", port)), pytest.raises(PortTaken) as taken:  # taken since the check
        serve(spec, home, "127.0.0.1", port, said.append)
    assert said == [] and str(taken.value) == f"--port {port}: cannot listen on 127.0.0.1:{port} (another program " \
        "took it as this remaster ui started); another remaster ui or dagster dev may be running there: stop it, or " \
        "give another --port"
