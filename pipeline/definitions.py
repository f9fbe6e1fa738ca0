"""The one place the Dagster definitions are assembled, from ``assets_spec.yaml``.

``workspace.yaml`` points here. Loading reads the spec only: no file is
hashed and torch is not imported, so it stays fast with any number of files.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dagster as dg

from pipeline.assets import run_groups, source_asset, source_files_asset, target_asset
from pipeline.killed_builds import KILLED_BUILDS_SENSOR, killed_builds_sensor
from pipeline.resources import RemasterResource
from pipeline.schedules import job_name, nightly_schedules, schedule_name
from pipeline.sensors import sensor_name, source_sensor
from pipeline.spec import SPEC_FILE, Spec, SpecError, load_spec
from pipeline.unreached import CANCELED_SENSOR, UNREACHED_SENSOR, unreached_sensor

# Observable source assets and backfill policies are the right tools here, and still marked beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

SPEC_ENV = "REMASTER_SPEC"


def build_definitions(spec: Spec, *, device: str | None = None) -> dg.Definitions:
    if clashes := name_clashes(spec):
        raise SpecError(clashes)
    sources = [source_asset(spec, source) for source in spec.sources.values()]
    sources += [source_files_asset(spec, spec.sources[name]) for name in _trained_from(spec)]
    targets = [target_asset(spec, target) for target in spec.targets.values()]
    sensors = [*(source_sensor(spec, source) for source in spec.sources.values()), unreached_sensor(spec),
               unreached_sensor(spec, dg.DagsterRunStatus.CANCELED), killed_builds_sensor()]
    return dg.Definitions(
        assets=[*sources, *targets],
        sensors=sensors,
        schedules=nightly_schedules(spec),
        resources={"remaster": RemasterResource(device=device or spec.device)},
        # Steps run one after another in one process: torch is imported once and
        # two steps never fight over one GPU.
        executor=dg.in_process_executor,
    )


def name_clashes(spec: Spec) -> list[str]:
    """Names the definitions would hold twice, one problem each: Dagster would then load none, in the UI,
    though a CLI build runs. Ops and jobs share one namespace (every source, model and asset, each
    ``<source>/files`` asset of a source models train from, each nightly job), schedules and sensors another.
    A problem points at the spec's own entry where one is involved, else at the source whose name was used."""
    ops: dict[str, tuple[str, tuple[str, ...]]] = {}
    runs: dict[str, tuple[str, tuple[str, ...]]] = {UNREACHED_SENSOR: ("the run-failure sensor", ()),
                                                  CANCELED_SENSOR: ("the canceled-run sensor", ()),
                                                  KILLED_BUILDS_SENSOR: ("the killed-builds sensor", ())}
    entries = [(ops, name, f"{section}.{name}", (section, name))
               for section in ("sources", "models", "assets") for name in getattr(spec, section)]
    made = [(ops, f"{name}__files", f"the files of source {name!r}", ("sources", name)) for name in _trained_from(spec)]
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


def _trained_from(spec: Spec) -> list[str]:
    """The sources models train from, each of which gets a ``<source>/files`` asset."""
    return list(dict.fromkeys(model.upstream for model in spec.models.values()))


def spec_path() -> Path:
    return Path(os.environ.get(SPEC_ENV, SPEC_FILE)).absolute()  # links followed by load_spec, and by each check


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by ``dagster dev -w workspace.yaml``; ``REMASTER_SPEC`` picks another spec."""
    return build_definitions(load_spec(spec_path()))
