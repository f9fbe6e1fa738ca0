"""Whether this machine has the device a build is asked for, said before anything is built.

Apart from the build's own modules, which import Dagster: ``validate`` checks a spec's device too, and Dagster's
import was most of its time. A CUDA device asks torch; auto and cpu ask nothing.
"""

from __future__ import annotations

from ops.device_names import DEVICE_PATTERN, device_hint
from pipeline.spec import Spec


def check_device(spec: Spec, device: str | None = None) -> None:
    """Refuse a bad ``--device``, or a CUDA device this machine lacks, before anything is built: every partition
    would fail, and with ``--force`` lose its outputs. The message names where the device came from, the flag
    or the spec's line, with the fix that belongs there."""
    if device is not None and not DEVICE_PATTERN.fullmatch(device):
        raise ValueError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N{device_hint(device)}")
    if device is not None:
        if missing := _missing_device(device):
            raise ValueError(f"--device {device}: {missing}; give --device auto or cpu")
    elif problem := spec_device_problem(spec):
        raise ValueError(f"{problem}; set device: auto or cpu in the spec, or give --device cpu for this build")


def spec_device_problem(spec: Spec) -> str | None:
    """The spec's ``device`` where this machine lacks it, at its line; None where it has it. Fine for the GPU box
    the spec was written for, so ``validate`` only warns of it."""
    missing = _missing_device(spec.device)
    return None if missing is None else f"{spec.path}:{_device_line(spec)}: device: {spec.device}: {missing}"


def _missing_device(name: str) -> str | None:
    """``ops.device.missing_device`` for a CUDA device; auto and cpu ask nothing of torch, so a build whose every
    output is a cache hit never imports it."""
    if not name.startswith("cuda"):
        return None
    from ops.device import missing_device

    return missing_device(name)


def _device_line(spec: Spec) -> int | str:
    """The line that sets the spec's ``device``: its own, or where a merge key (``<<: *gpu``, ``<<: [*a, *gpu]``)
    brings it in, the anchored block's line that gives it (the first block's, which YAML takes), where the fix
    belongs; ``?`` for a spec given without lines."""
    merged = (line for at, line in spec.lines.items() if at[0] == "<<" and at[-1] == "device" and len(at) <= 3)
    return spec.lines.get(("device",)) or next(merged, None) or spec.lines.get(("<<",)) or "?"
