"""The one place the Dagster definitions are assembled, from ``assets_spec.yaml``.

``workspace.yaml`` points here. Loading reads the spec only: no file is
hashed and torch is not imported, so it stays fast with any number of files.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import dagster as dg

from pipeline.assets import source_asset, source_files_asset, target_asset, weights_asset
from pipeline.dagster_names import name_clashes, trained_from
from pipeline.killed_builds import killed_builds_sensor
from pipeline.resources import RemasterResource
from pipeline.schedules import nightly_schedules
from pipeline.sensors import source_sensor
from pipeline.spec import SPEC_FILE, Spec, SpecError, load_spec
from pipeline.unreached import unreached_sensor

# Observable source assets and backfill policies are the right tools here, and still marked beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

SPEC_ENV = "REMASTER_SPEC"


def build_definitions(spec: Spec, *, device: str | None = None) -> dg.Definitions:
    if clashes := name_clashes(spec):
        raise SpecError(clashes)
    sources = [source_asset(spec, source) for source in spec.sources.values()]
    sources += [source_files_asset(spec, spec.sources[name]) for name in trained_from(spec)]
    sources += [weights_asset(spec, target, role) for target in spec.targets.values() for role in target.params.file_params()]
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


def spec_path() -> Path:
    return Path(os.environ.get(SPEC_ENV, SPEC_FILE)).absolute()  # links followed by load_spec, and by each check


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by ``dagster dev -w workspace.yaml``; ``REMASTER_SPEC`` picks another spec."""
    return build_definitions(load_spec(spec_path()))
