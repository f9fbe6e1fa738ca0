"""The names remaster gives Dagster, and Dagster's own rules for names, asked of Dagster itself so that a spec
``validate`` takes is one the UI loads.

Dagster is imported only when a rule is asked: the spec, which every CLI command reads, imports this module.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.spec import Spec


@functools.cache
def takes_name(name: str) -> bool:
    """Whether Dagster lets an asset take ``name``: its own check, so validate agrees with build. An asset's name is
    refused as the name of the op that builds it; a graph's name is checked so too, and a graph is made in a
    twentieth of an asset's time (making an asset for each of a spec's 20,000 entries takes a minute and a half)."""
    import dagster as dg

    try:
        dg.GraphDefinition(name=name)
    except dg.DagsterInvalidDefinitionError:
        return False
    return True


def takes_schedule(cron: str, timezone: str | None = None) -> bool:
    """Whether Dagster takes a schedule at ``cron`` in ``timezone`` (None: Dagster's default, UTC): its own check,
    so a spec that validates also loads in the UI (ranges like ``0 25 * * *`` fail)."""
    import dagster as dg

    try:
        dg.ScheduleDefinition(name="spec_schedule", cron_schedule=cron, job_name="spec_job", execution_timezone=timezone)
    except dg.DagsterInvalidDefinitionError:
        return False
    return True


def files_asset_name(source: str) -> str:
    """What Dagster calls the ``<source>/files`` asset (``assets.files_key``) inside, in the namespace it shares
    with every op and job."""
    return f"{source}__files"


BUILD_JOB = "remaster_build"  # a build's runs' job: in the build's own definitions only, so it meets no entry's name


def job_name(partition_set: str | None) -> str:
    """The nightly job of ``partition_set`` (None: the models no asset uses): here, where a run's job tells which
    source's partitions it names (``assets.names_source``) without importing the schedules."""
    return f"build_{partition_set or 'models'}"


def sensor_name(source: str) -> str:
    """The file sensor of ``source``: here, not in ``sensors``, so that a build's message can name it without
    importing Dagster."""
    return f"{source}_files"


def weights_asset_name(target: str, role: str) -> str:
    """What Dagster calls the ``<asset>/<role>`` asset of a weights file named by path (``provenance.weights_key``)
    inside, in the namespace it shares with every op and job."""
    return f"{target}__{role}"


def trained_from(spec: Spec) -> list[str]:
    """The sources models train from, each of which gets a ``<source>/files`` asset."""
    return list(dict.fromkeys(model.upstream for model in spec.models.values()))


_Names = dict[str, tuple[str, tuple[str, ...]]]  # a namespace: each name, what has it and where that is in the spec


def name_clashes(spec: Spec) -> list[str]:
    """Names the definitions would hold twice, one problem each: Dagster would then load none, in the UI,
    though a CLI build runs. Ops and jobs share one namespace (every source, model and asset, each
    ``<source>/files`` asset of a source models train from, each ``<asset>/<role>`` asset of a weights file named
    by path, each nightly job), schedules and sensors another.
    A problem points at the spec's own entry where one is involved, else at the source whose name was used.
    A ``<source>/files`` asset is here for the nightly jobs it may meet (source ``a__files``'s job and source
    ``build_a``'s files are both ``build_a__files``); one whose name an entry takes ``load_spec`` refuses already."""
    # Imported here: they build Dagster's definitions, and import the spec, which imports this module.
    from pipeline.graph import run_groups
    from pipeline.killed_builds import KILLED_BUILDS_SENSOR
    from pipeline.schedules import schedule_name
    from pipeline.unreached import CANCELED_SENSOR, UNREACHED_SENSOR

    ops: dict[str, tuple[str, tuple[str, ...]]] = {}
    runs: dict[str, tuple[str, tuple[str, ...]]] = {UNREACHED_SENSOR: ("the run-failure sensor", ()),
                                                  CANCELED_SENSOR: ("the canceled-run sensor", ()),
                                                  KILLED_BUILDS_SENSOR: ("the killed-builds sensor", ())}
    entries = [(ops, name, f"{section}.{name}", (section, name))
               for section in ("sources", "models", "assets") for name in getattr(spec, section)]
    made: list[tuple[_Names, str, str, tuple[str, ...]]]
    made = [(ops, files_asset_name(name), f"the files of source {name!r}", ("sources", name)) for name in trained_from(spec)]
    made += [(ops, weights_asset_name(target.name, role), f"the weights file of {target.section}.{target.name}.{role}",
              (target.section, target.name)) for target in spec.targets.values() for role in target.params.file_params()]
    at: tuple[str, ...]  # where in the spec: () for the job of the models no asset uses
    for group in run_groups(spec):
        whose, at = (f"source {group!r}", ("sources", group)) if group is not None else ("the models no asset uses", ())
        made += [(ops, job_name(group), f"the nightly job of {whose}", at),
                 (runs, schedule_name(group), f"the nightly schedule of {whose}", at)]
    made += [(runs, sensor_name(name), f"the file sensor of source {name!r}", ("sources", name)) for name in spec.sources]
    problems = []
    for space, name, what, at in entries + made:
        if name not in space:
            space[name] = (what, at)
            continue
        first, earlier = space[name]
        where = earlier if first.endswith(f".{name}") or not at else at  # entries come first: the one to rename
        problems.append(f"{spec.path}:{spec.lines.get(where, '?')}: {'.'.join(where)}: Dagster would have two "
                        f"things named {name!r}: {first} and {what}; rename one")
    return problems
