"""Ctrl-C and SIGTERM during a build: one line, nothing half-written, the rest marked not built."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from helpers import (
    CHAIN_SPEC, UPSCALE_SPEC, manifest_rows, pngs_written, remaster_on_a_terminal, start_remaster, statuses, write_spec,
    write_textures,
)
from pipeline.hashing import hash_file
from pipeline.resources import RemasterResource
from pipeline.runs import run_build
from pipeline.spec import load_spec


def test_a_sigterm_repeated_while_the_build_winds_down_still_exits_130(tmp_path):
    write_textures(tmp_path / "textures", 40, size=96)
    write_spec(tmp_path, UPSCALE_SPEC.replace("scale: 2", "scale: 8"))
    proc = start_remaster(tmp_path, "build")
    built = tmp_path / "build" / "legacy_2x"
    while proc.poll() is None and pngs_written(built) < 3:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    for line in proc.stdout:  # a CI runner that signals again and again as the build winds down
        if "interrupted" in line:
            break
    while proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.002)
    assert proc.wait() == 130, proc.stdout.read()


def test_a_stopped_build_leaves_the_programs_its_caller_starts_later_stoppable(project, cli, monkeypatch):
    import pipeline.runs

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.runs, "run_build", stopped)
    # SIGTERM as a script has it, whatever this test process was left with: a run Dagster ends gives SIGTERM
    # SIGINT's handler, which is SIG_IGN where pytest was started in the background
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        assert cli(project, "build")[0] == 130
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # a script that goes on after calling remaster
        child = subprocess.Popen(["sleep", "30"])
        child.terminate()
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def ctrl_c_ignored():
    """SIGINT ignored, as a shell script's ``remaster build &`` or ``python make_textures.py &`` starts it."""
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    for number, handler in previous.items():
        signal.signal(number, handler)


@pytest.fixture
def ctrl_c_from_a_terminal():
    """SIGINT as a terminal's program has it, whatever the shell that started pytest gave it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_build_with_ctrl_c_ignored_still_stops_on_sigterm_between_its_runs(project, cli, monkeypatch, ctrl_c_ignored):
    import pipeline.runs

    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")  # two runs
    handlers = []
    run_set = pipeline.runs._run_set

    def noting(*args, **kwargs):
        result = run_set(*args, **kwargs)
        handlers.append(signal.getsignal(signal.SIGTERM))  # what a CI job's cancel meets until the next run
        return result

    monkeypatch.setattr(pipeline.runs, "_run_set", noting)
    assert cli(project, "build")[0] == 0
    assert handlers == [signal.default_int_handler] * 2


def test_a_sigterm_just_as_a_dagster_run_ends_stops_a_build_with_ctrl_c_ignored(project, cli, monkeypatch,
                                                                                 ctrl_c_ignored):
    from dagster._utils import interrupts

    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")  # two runs
    replace, before_the_run, sent = interrupts._replace_interrupt_signal, [], []

    def replace_then_terminate(handler):  # Dagster's own: sets SIGINT's handler, and SIGTERM's to the same
        if not before_the_run:
            before_the_run.append(signal.getsignal(signal.SIGINT))
        replace(handler)
        if handler is before_the_run[0] and not sent:  # the run has ended: its handlers are put back
            sent.append(signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(interrupts, "_replace_interrupt_signal", replace_then_terminate)
    code, output = cli(project, "build")
    assert sent and code == 130 and "interrupted" in output


def test_a_ctrl_c_that_a_background_build_ignores_stops_nothing(project, cli, monkeypatch, ctrl_c_ignored):
    import pipeline.runs

    def ctrl_c_after(fn):
        def wrapped(*args, **kwargs):
            result = fn(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGINT)
            return result
        return wrapped

    execute = dg.JobDefinition.execute_in_process  # a build's run: Dagster's handlers are back as it ends
    monkeypatch.setattr(dg.JobDefinition, "execute_in_process", ctrl_c_after(execute))
    monkeypatch.setattr(pipeline.runs, "mark_not_built", ctrl_c_after(pipeline.runs.mark_not_built))  # rows held
    assert cli(project, "build")[0] == 0
    assert {row["status"] for row in manifest_rows(project)} == {"computed"}


def test_run_build_stops_on_sigterm_between_runs_whatever_its_caller_s_handler_and_puts_it_back(project, monkeypatch):
    import pipeline.runs
    from pipeline.runs import run_build

    write_spec(project, UPSCALE_SPEC + "  legacy_4x: {op: upscale, from: legacy_2x, scale: 2}\n")
    run_set = pipeline.runs._run_set

    def then_terminated(*args, **kwargs):
        result = run_set(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # a CI job cancelled after the first run
        return result

    monkeypatch.setattr(pipeline.runs, "_run_set", then_terminated)

    def callers(number, frame):
        raise SystemExit(143)

    previous = signal.signal(signal.SIGTERM, callers)
    try:
        with dg.instance_for_test() as instance:
            report = run_build(load_spec(project / "assets_spec.yaml"), instance=instance)
        assert signal.getsignal(signal.SIGTERM) is callers
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert report.interrupted is not None
    assert {row["status"] for row in manifest_rows(project) if row["asset"] == "legacy_4x"} == {"failed"}


def test_run_build_leaves_its_caller_s_signal_handlers_as_they_were(project, ctrl_c_ignored):
    from pipeline.runs import run_build

    sigterm = signal.getsignal(signal.SIGTERM)
    with dg.instance_for_test() as instance:
        run_build(load_spec(project / "assets_spec.yaml"), instance=instance)
    assert signal.getsignal(signal.SIGTERM) is sigterm and signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])  # Ctrl-C, and a CI job cancelled
def test_ctrl_c_stops_the_build_with_one_line_and_the_next_build_goes_on(tmp_path, stop):
    write_textures(tmp_path / "textures", 40, size=96)
    write_textures(tmp_path / "other", 2, size=16)
    spec = write_spec(tmp_path, """
build_dir: build
cache_dir: .remaster/cache
sources:
  legacy: {kind: textures, root: textures, glob: "**/*.png"}
  other: {kind: textures, root: other, glob: "**/*.png"}
assets:
  legacy_2x: {op: upscale, from: legacy, scale: 8, filter: lanczos}
  variants: {op: multiply, from: legacy, method: patch, count: 1, size: 48}
  other_2x: {op: upscale, from: other, scale: 2, filter: lanczos}
""")
    assert start_remaster(tmp_path, "build").wait() == 0
    spec.write_text(spec.read_text().replace("filter: lanczos", "filter: bicubic"))  # both upscales are stale
    started = time.time()
    proc = start_remaster(tmp_path, "build")
    built = tmp_path / "build" / "legacy_2x"
    while proc.poll() is None and pngs_written(built, since=started) < 3:
        time.sleep(0.01)
    proc.send_signal(stop)
    output, _ = proc.communicate()
    assert pngs_written(built, since=started) < 40, "it finished before the interrupt"
    assert proc.returncode == 130, output
    assert "interrupted during legacy_2x" in output and "failed" not in output, output
    rows = {(r["asset"], r["partition"]): r for r in manifest_rows(tmp_path)}
    stopped = [r for r in rows.values() if r["status"] == "failed"]
    assert stopped and {r["error"] for r in stopped} == {"not built: the build was interrupted (Ctrl-C or SIGTERM)"}
    for (asset, key), row in rows.items():  # a stale output is gone; one made before the interrupt is listed
        if asset in ("legacy_2x", "other_2x") and row["status"] == "failed":
            on_disk = tmp_path / "build" / asset / key
            assert row["outputs"] == ({f"build/{asset}/{key}": hash_file(on_disk)} if on_disk.exists() else {})
    assert {rows[("other_2x", key)]["status"] for key in ("floors/tex000.png", "walls/tex001.png")} == {"failed"}
    assert start_remaster(tmp_path, "build").wait() == 0
    assert {r["status"] for r in manifest_rows(tmp_path)} <= {"computed", "cached"}


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_under_dagster_home_prints_only_the_build_s_line(tmp_path):
    """Under DAGSTER_HOME, Dagster starts processes that mirror a run's captured output, in the build's process
    group, which a terminal's Ctrl-C reaches whole: each printed a KeyboardInterrupt traceback. 120 textures
    leave seconds of work when the Ctrl-C comes: with 40, a busy CI machine once finished them first."""
    write_textures(tmp_path / "textures", 120, size=96)
    write_spec(tmp_path, UPSCALE_SPEC.replace("scale: 2", "scale: 8"))
    (tmp_path / "dagster_home").mkdir()
    started = time.time()
    proc = start_remaster(tmp_path, "build", dagster_home=tmp_path / "dagster_home")
    built = tmp_path / "build" / "legacy_2x"
    while proc.poll() is None and pngs_written(built, since=started) < 3:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate()
    assert pngs_written(built, since=started) < 120, "it finished before the interrupt"
    assert proc.returncode == 130 and "Traceback" not in output, output
    assert "interrupted during legacy_2x" in output, output


@pytest.mark.parametrize(("stopped", "going_on"), [
    ("ops.upscale", "run remaster build again to go on: legacy_2x makes again what it had not finished"),
    ("ops.superres.train",
     "run remaster build again to go on: model sr2x trains on from its last checkpoint, or from the start where it reached none"),
])
def test_the_interrupt_line_says_what_the_next_build_does_with_the_step_it_stopped(project, cli, monkeypatch, stopped,
                                                                                   going_on):
    """A stopped asset's line ended "a model from its last checkpoint", where no model was stopped."""
    import importlib

    write_textures(project / "hires", 2, size=32, seed=5)
    write_spec(project, UPSCALE_SPEC.replace("assets:", """\
  reference: {kind: textures, root: hires, glob: "**/*.png"}
models:
  sr2x: {op: train_srcae, from: reference, scale: 2, steps: 2, patch_size: 32, batch_size: 1, widths: [8, 8, 8]}
assets:"""))

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module(stopped), "run", ctrl_c)
    code, output = cli(project, "build", "sr2x" if "train" in stopped else "legacy_2x")
    line = " ".join(output.split())
    assert code == 130 and line.endswith(going_on), output
    assert ("checkpoint" in line) == ("train" in stopped)


def test_what_a_stopped_run_never_reached_is_said_to_be_stopped_not_failed(project):
    """A run the daemon ran, stopped (SIGTERM to its worker): the run-failure sensor marks the steps after the
    stopped one as a CLI build does, so the file sensor leaves them to whoever stopped it."""
    from pipeline.unreached import INTERRUPTED, mark_not_built

    spec = load_spec(write_spec(project, CHAIN_SPEC))
    builder = RemasterResource().builder(spec)
    keys = sorted(builder.partitions("legacy"))
    mark_not_built(builder, [("legacy_2x", keys[0]), ("legacy_4x", keys[0])], "run-1", {"legacy_2x": INTERRUPTED})
    assert {row["error"] for row in manifest_rows(project)} == {f"not built: {INTERRUPTED}"}


def test_a_partition_made_just_before_an_interrupt_is_listed_as_it_is_on_disk(project, cli):
    from pipeline.unreached import mark_not_built

    cli(project, "build")
    spec_file = project / "assets_spec.yaml"
    spec_file.write_text(spec_file.read_text().replace("filter: lanczos", "filter: bicubic"))
    spec = load_spec(spec_file)
    write_textures(project / "textures" / "new", 1, seed=7)  # a partition no build has made yet
    builder = RemasterResource().builder(spec)
    for key in ("floors/tex000.png", "new/floors/tex000.png"):
        made = builder.build(spec.targets["legacy_2x"], key)  # placed; the step's manifest update never came
        mark_not_built(builder, [("legacy_2x", key)], "run", {"legacy_2x": "the build was interrupted"})
        [row] = [r for r in manifest_rows(project) if r["partition"] == key]
        assert row["status"] == "failed" and row["outputs"] == made.outputs and row["cache_key"] == made.cache_key


def test_status_after_a_ctrl_c_says_what_the_spec_changed_since(project, cli, monkeypatch):
    """An artist who stopped a long first build to lower its settings saw only "not built: the build was
    interrupted" in status, as though the build would go on with what it had started."""
    import pipeline.runs

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(pipeline.runs, "_range_tags", ctrl_c)
        assert cli(project, "build")[0] == 130
    write_spec(project, UPSCALE_SPEC.replace("scale: 2", "scale: 4"))
    code, output = cli(project, "status", "--json")
    assert {s["reason"] for s in json.loads(output)["stale"]} == {
        "failed last build: not built: the build was interrupted (Ctrl-C or SIGTERM); params changed: scale 2 -> 4"}
    write_spec(project, UPSCALE_SPEC)
    code, output = cli(project, "status", "--json")
    assert {s["reason"] for s in json.loads(output)["stale"]} == {
        "failed last build: not built: the build was interrupted (Ctrl-C or SIGTERM)"}


def _two_sources(folder: Path) -> Path:
    """A spec of two sources of two textures each, each upscaled by an asset of its own (two runs), in ``folder``."""
    write_textures(folder / "textures", 2, size=16)
    write_textures(folder / "other", 2, size=16, seed=1)
    spec_file = write_spec(folder, UPSCALE_SPEC + "  other_2x: {op: upscale, from: other, scale: 2, filter: lanczos}\n")
    legacy = '  legacy: {kind: textures, root: textures, glob: "**/*.png"}\n'
    other = "  other: {kind: textures, root: other, glob: '**/*.png'}\n"
    spec_file.write_text(spec_file.read_text().replace(legacy, legacy + other))
    return spec_file


@pytest.mark.parametrize("landing_in", ["_range_tags", "_stretches"])  # setting the run up, or cutting the work
def test_ctrl_c_between_two_runs_marks_the_rest_not_built(tmp_path, monkeypatch, landing_in):
    import pipeline.runs

    spec_file = _two_sources(tmp_path)
    spec = load_spec(spec_file)
    run_build(spec)
    spec_file.write_text(spec_file.read_text().replace("filter: lanczos", "filter: bicubic"))
    spec = load_spec(spec_file)
    asks_the_instance = getattr(pipeline.runs, landing_in)

    def ctrl_c_before_the_second_run(instance, partition_set, keys):
        if partition_set == "other":
            raise KeyboardInterrupt
        return asks_the_instance(instance, partition_set, keys)

    monkeypatch.setattr(pipeline.runs, landing_in, ctrl_c_before_the_second_run)
    report = run_build(spec)
    assert report.interrupted == "other_2x"
    other = [r for r in manifest_rows(tmp_path) if r["asset"] == "other_2x"]
    assert {r["error"] for r in other} == {"not built: the build was interrupted (Ctrl-C or SIGTERM)"}
    assert all(not r["outputs"] for r in other) and not (tmp_path / "build" / "other_2x").exists()  # stale, gone
    assert {r["status"] for r in manifest_rows(tmp_path) if r["asset"] == "legacy_2x"} == {"computed"}


def test_a_ctrl_c_while_dagster_closes_a_run_stops_the_build(tmp_path, monkeypatch, ctrl_c_from_a_terminal):
    write_textures(tmp_path / "textures", 2, size=16)
    write_textures(tmp_path / "other", 2, size=16, seed=1)
    legacy = '  legacy: {kind: textures, root: textures, glob: "**/*.png"}\n'
    spec = load_spec(write_spec(tmp_path, UPSCALE_SPEC.replace(legacy, legacy + "  other: {kind: textures, root: other, glob: '**/*.png'}\n")
                                + "  other_2x: {op: upscale, from: other, scale: 2, filter: lanczos}\n"))
    handle_new_event = dg.DagsterInstance.handle_new_event

    def ctrl_c_as_the_first_run_ends(self, event, *args, **kwargs):
        if event.dagster_event is not None and event.dagster_event.event_type_value == "PIPELINE_SUCCESS":
            monkeypatch.setattr(dg.DagsterInstance, "handle_new_event", handle_new_event)
            os.kill(os.getpid(), signal.SIGINT)  # Dagster notes it, and forgets it when the run ends
        return handle_new_event(self, event, *args, **kwargs)

    monkeypatch.setattr(dg.DagsterInstance, "handle_new_event", ctrl_c_as_the_first_run_ends)
    report = run_build(spec)
    assert report.interrupted == ""
    assert {(r["asset"], r["status"]) for r in manifest_rows(tmp_path)} == {("legacy_2x", "computed"), ("other_2x", "failed")}


def test_a_ctrl_c_python_drops_as_a_run_is_set_up_still_stops_its_step(tmp_path, monkeypatch, ctrl_c_from_a_terminal):
    """Caught where a garbage collector's callback runs (SQLAlchemy's, as Dagster stores the run's plan), a Ctrl-C's
    KeyboardInterrupt is printed by Python as 'Exception ignored' and dropped: the step ran to its end (a model's whole
    training) before the build stopped, and the artist saw a traceback."""
    write_textures(tmp_path / "textures", 3, size=16)
    spec = load_spec(write_spec(tmp_path, UPSCALE_SPEC))
    create_run = dg.DagsterInstance.create_run_for_job

    class Collected:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here, inside __del__

    def ctrl_c_in_a_gc_callback(self, *args, **kwargs):
        monkeypatch.setattr(dg.DagsterInstance, "create_run_for_job", create_run)
        Collected()
        return create_run(self, *args, **kwargs)

    printed = []  # what Python would print as 'Exception ignored in ...'
    monkeypatch.setattr(sys, "unraisablehook", printed.append)
    monkeypatch.setattr(dg.DagsterInstance, "create_run_for_job", ctrl_c_in_a_gc_callback)
    report = run_build(spec)
    assert report.interrupted == "legacy_2x"
    assert {r["error"] for r in manifest_rows(tmp_path)} == {"not built: the build was interrupted (Ctrl-C or SIGTERM)"}
    assert not printed


def test_a_ctrl_c_just_after_a_run_leaves_what_it_built_as_built(tmp_path, monkeypatch):
    write_textures(tmp_path / "textures", 2, size=16)
    write_textures(tmp_path / "other", 2, size=16, seed=1)
    legacy = '  legacy: {kind: textures, root: textures, glob: "**/*.png"}\n'
    spec_file = write_spec(tmp_path, UPSCALE_SPEC.replace(legacy, legacy + "  other: {kind: textures, root: other, glob: '**/*.png'}\n")
                           + "  other_2x: {op: upscale, from: other, scale: 2, filter: lanczos}\n")
    run_build(load_spec(spec_file))
    spec_file.write_text(spec_file.read_text().replace("filter: lanczos", "filter: bicubic"))
    (tmp_path / "textures" / "bad.png").write_bytes(b"half a png")  # fails in the run, with its own error
    execute = dg.JobDefinition.execute_in_process  # a build's run

    def then_ctrl_c(*args, **kwargs):
        execute(*args, **kwargs)
        monkeypatch.setattr(dg.JobDefinition, "execute_in_process", execute)
        raise KeyboardInterrupt  # as Dagster lets go of the signal handlers

    monkeypatch.setattr(dg.JobDefinition, "execute_in_process", then_ctrl_c)
    report = run_build(load_spec(spec_file))
    assert report.interrupted == "legacy_2x"
    rows = {(r["asset"], r["partition"]): r for r in manifest_rows(tmp_path)}
    [bad] = [r for (asset, key), r in rows.items() if key == "bad.png"]
    assert "bad.png" in bad["error"] and "interrupted" not in bad["error"]
    assert {(asset, r["status"], r["params"]["filter"]) for (asset, key), r in rows.items() if key != "bad.png"} == {
        ("legacy_2x", "computed", "bicubic"), ("other_2x", "failed", "lanczos")}


def test_a_ctrl_c_while_rows_are_written_waits_for_them(ctrl_c_from_a_terminal):
    from pipeline.signals import signals_held

    with signals_held() as caught:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # delivered here, and held
    assert caught == [signal.SIGINT, signal.SIGTERM]
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)  # Python's own handler is back
        time.sleep(0.05)


def _importing(module: str) -> str:
    """A script's lines that make its ``wait()`` as ``module`` is imported (Dagster's import, in a command's first
    second or two)."""
    return ("import importlib.abc, sys\n"
            "class Importing(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, *args):\n"
            f"        if name == {module!r}:\n"
            "            wait()\n"
            "sys.meta_path.insert(0, Importing())\n")


_STOPPED = "(nothing is half-written); run it again"


@pytest.mark.parametrize("command, waits_in, said", [
    (["status"], "import pipeline.hashing as waits_in\nwaits_in.open = wait\n",  # hashing a fresh clone's textures
     f"interrupted status {_STOPPED}"),
    (["status"], _importing("pipeline.staleness"), f"interrupted status {_STOPPED}"),  # most of a small project's
    (["validate"], "import pipeline.devices as waits_in\nwaits_in.spec_device_problem = wait\n",  # asking torch for a GPU
     f"interrupted validate {_STOPPED}"),
    (["build"], "import pipeline.hashing as waits_in\nwaits_in.open = wait\n",  # hashing before the first run
     "interrupted before any step started: what is stale is not built (nothing is half-written); run remaster build "
     "again to go on"),
    (["cache", "gc"], _importing("pipeline.runs"),  # most of a small cache's gc
     "interrupted cache gc (every cache entry is whole); run it again to collect the rest"),
])
def test_a_sigterm_stops_status_validate_gc_and_an_early_build_with_one_line_and_exit_130(project, command, waits_in,
                                                                                          said):
    """A CI job cancelled while its status hashed a fresh clone's files, or while it imported Dagster: Python's
    SIGTERM ended it with 143 and not a word, where build says in one line that it stopped and exits 130. A build
    stopped before its first run said "interrupted" and no more of what it had done."""
    code, output = _stopped_by_sigterm(project, waits_in, *command)
    assert code == 130, output
    assert output.endswith(said), output


def test_a_second_sigterm_while_status_says_it_stopped_changes_nothing(project):
    """A CI runner's SIGTERM sent again as status began to say that it had stopped ended it without that line, and
    without the JSON the bot reads; here the second comes as the line is printed."""
    second = ("import os, signal, pipeline.cli as cli\n"
              "say = cli.console.print\n"
              "def said_twice(line, *args, **kwargs):\n"
              "    if str(line).startswith('[red]interrupted'):\n"
              "        os.kill(os.getpid(), signal.SIGTERM)\n"
              "    say(line, *args, **kwargs)\n"
              "cli.console.print = said_twice\n")
    code, output = _stopped_by_sigterm(project, "import pipeline.hashing as waits_in\nwaits_in.open = wait\n" + second,
                                       "status", "--json")
    assert code == 130, output
    assert json.loads(output[output.index("{"):]) == {"up_to_date": False, "errors": [f"interrupted status {_STOPPED}"]}


def _stopped_by_sigterm(project: Path, waits_in: str, *args: str) -> tuple[int, str]:
    """``remaster *args`` in ``project``, sent SIGTERM as ``waits_in`` makes it call ``wait()``: its exit status,
    and what it printed, stdout and stderr together."""
    script = ("import sys, time\n"
              "def wait(*args, **kwargs):\n"
              "    print('waiting', flush=True)\n"
              "    time.sleep(60)\n"
              f"{waits_in}"
              "from pipeline.cli import main\n"
              f"sys.argv = ['remaster', *{args!r}]\n"
              "main()\n")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    child = subprocess.Popen([sys.executable, "-c", script], cwd=project, env=env, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.startswith("waiting"):
            child.send_signal(signal.SIGTERM)
    return child.wait(), " ".join("".join(lines).split())


def test_status_json_stopped_says_so_in_its_json(project, cli, monkeypatch):
    """A CI bot reading status --json found an empty stdout when the job was cancelled: a failed parse, no reason."""
    import pipeline.staleness

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline.staleness, "stale_partitions", stopped)
    code, output = cli(project, "status", "--json")
    assert code == 130, output
    assert json.loads(output[output.index("{"):]) == {
        "up_to_date": False, "errors": ["interrupted status (nothing is half-written); run it again"]}, output


def test_a_sigterm_once_every_run_has_ended_does_not_say_the_build_stopped_before_them(project, cli, monkeypatch):
    """A stop escaping the build after its last run was said as one before its first: "what is stale is not built",
    of a build that had built it all. Its runs over, the build reports what they did."""
    import pipeline.runs

    judged = pipeline.runs.left_out

    def signalled_then_judged(*args, **kwargs):  # as the build reports, once the runs are over
        os.kill(os.getpid(), signal.SIGTERM)
        return judged(*args, **kwargs)

    monkeypatch.setattr(pipeline.runs, "left_out", signalled_then_judged)
    code, output = cli(project, "build")
    assert code == 0 and "interrupted" not in output, output
    assert set(statuses(project).values()) == {"computed"}, output


def test_a_ctrl_c_on_a_terminal_before_the_first_run_says_what_is_not_built(project):
    """An artist's Ctrl-C while the build hashed the sources' files, its progress bars drawn."""
    script = ("import os, signal, sys, time\nimport pipeline.hashing\n"
              "def ctrl_c(*args, **kwargs):\n    os.kill(os.getpid(), signal.SIGINT)\n    time.sleep(5)\n"
              "pipeline.hashing.open = ctrl_c\nfrom pipeline.cli import main\nsys.argv = ['remaster', 'build']\n"
              "main()\n")
    code, shown = remaster_on_a_terminal(script, project, env={k: v for k, v in os.environ.items()
                                                               if k != "DAGSTER_HOME"})
    said = " ".join(shown.split())
    assert code == 130 and "Traceback" not in said, said
    assert said.endswith("interrupted\x1b[0m before any step started: what is stale is not built (nothing is "
                         "half-written); run remaster build again to go on"), said


def test_a_sigterm_while_the_build_s_table_is_printed_says_the_build_was_over(project, cli, monkeypatch):
    """A CI job cancelled as its build printed its table ended with exit 130 and not a word (Typer's own), the
    table cut short; the build had finished, and its manifest lists what it did."""
    import pipeline.cli

    table = pipeline.cli._print_table

    def signalled_then_printed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return table(*args, **kwargs)

    monkeypatch.setattr(pipeline.cli, "_print_table", signalled_then_printed)
    code, output = cli(project, "build")
    assert code == 130, output
    assert " ".join(output.split()).endswith(
        "interrupted as the build's summary was printed, the build over: its manifest lists what it did (remaster "
        "status says what is still stale)"), output
    assert set(statuses(project).values()) == {"computed"}, output


def test_marking_what_a_ctrl_c_left_undone_reads_the_manifest_once(tmp_path, monkeypatch):
    """Marking the partitions a Ctrl-C'd build never reached read ``manifest.json`` three times before writing it
    (for the rows this build's runs wrote, for staleness, for the rows to mark), each a tenth of a second at
    2,000 textures: now once, and once more under its lock to write it."""
    import pipeline.manifest
    import pipeline.runs

    spec = load_spec(_two_sources(tmp_path))
    stretches, mark, read = pipeline.runs._stretches, pipeline.runs._mark_interrupted, pipeline.manifest._read
    reads: list[Path] = []
    marking: list[bool] = []

    def ctrl_c_before_the_second_run(instance, partition_set, keys):
        if partition_set == "other":
            raise KeyboardInterrupt
        return stretches(instance, partition_set, keys)

    def counted_mark(*args):
        marking.append(True)
        mark(*args)
        marking.clear()

    monkeypatch.setattr(pipeline.runs, "_stretches", ctrl_c_before_the_second_run)
    monkeypatch.setattr(pipeline.runs, "_mark_interrupted", counted_mark)
    monkeypatch.setattr(pipeline.manifest, "_read",
                        lambda build_dir: (reads.append(build_dir) if marking else None) or read(build_dir))
    assert run_build(spec).interrupted == "other_2x"
    assert len(reads) == 2, reads  # the rows, then under its lock as it writes them
    other = [r for r in manifest_rows(tmp_path) if r["asset"] == "other_2x"]
    assert {r["error"] for r in other} == {"not built: the build was interrupted (Ctrl-C or SIGTERM)"}
