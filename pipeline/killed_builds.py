"""The Dagster runs of a ``remaster build`` killed outright, which nothing else ever ends.

A build runs its Dagster runs in its own process, so when that process dies (``kill -9``, the OOM killer,
a CI job cancelled) its runs stay "started" for good: the UI shows them running, the run-failure sensor never
sees them, and with the run queue's ``max_concurrent_runs`` they hold a turn, every UI, sensor and schedule
run queued behind them. The next build ends them as it starts (failed, or canceled where the UI was asked to
terminate one), and so does a sensor tick where no build comes (a studio machine that only runs the UI and
the nightly schedule).
"""

from __future__ import annotations

import dagster as dg

from pipeline.processes import is_gone, process_space, this_process
from pipeline.words import counted

HOST_TAG, PID_TAG = "remaster/host", "remaster/pid"  # where and which process a build's runs live in
KILLED_BUILDS_SENSOR = "remaster_killed_builds"
UNFINISHED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
              dg.DagsterRunStatus.CANCELING]  # Terminate (without Force) in the UI: nothing is left to stop it


def process_tags() -> dict[str, str]:
    """This process, for ``fail_runs_of_killed_builds`` to judge its runs by; none where it could not."""
    space = process_space()
    return {} if space is None else {HOST_TAG: space, PID_TAG: this_process()}


def fail_runs_of_killed_builds(instance: dg.DagsterInstance) -> list[str]:
    """Fail the runs a build left unfinished when it was killed outright, or mark canceled those the UI was
    asked to terminate; returns their ids. Only runs of a
    process this one can see are judged: same boot and pid namespace (a container's build may share the
    hostname and the instance), and the process gone, a zombie, or its pid reused (its start time differs).
    A re-executed run inherits the tags of the one it re-executes, so it is left alone; a throwaway instance
    holds none, and without Linux's /proc nothing can be judged."""
    space = process_space()
    if instance.is_ephemeral or space is None:
        return []
    failed = []
    for run in instance.get_runs(dg.RunsFilter(statuses=UNFINISHED, tags={HOST_TAG: space})):
        process = run.tags.get(PID_TAG, "")
        if run.parent_run_id is None and is_gone(space, process) is True:
            said = f"the remaster build that ran it (process {process.partition('@')[0]}) was killed"
            if run.status == dg.DagsterRunStatus.CANCELING:
                instance.report_run_canceled(run, said)
            else:
                instance.report_run_failed(run, said)
            failed.append(run.run_id)
    return failed


def killed_builds_sensor() -> dg.SensorDefinition:
    """Ends killed builds' runs every minute (on by default: the daemon runs it), so that they stop holding
    the run queue's turn on a machine where no later ``remaster build`` comes to do it."""

    @dg.sensor(
        name=KILLED_BUILDS_SENSOR,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Ends (as failed, or canceled where Terminate was asked) the runs of a remaster build killed "
                    "outright (kill -9, the OOM killer), which would otherwise show as running for good and hold the "
                    "run queue's turn",
    )
    def killed_builds(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        failed = fail_runs_of_killed_builds(context.instance)
        if not failed:
            return dg.SkipReason("no run of a killed remaster build")
        return dg.SkipReason(f"ended {counted(len(failed), 'run')} of a killed remaster build: {', '.join(failed)}")

    return killed_builds
