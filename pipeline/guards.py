"""The ops' guards judged on manifest rows, for a build from the command line (the UI shows them as asset checks)."""

from __future__ import annotations

from typing import NamedTuple

from pipeline.manifest import Row
from pipeline.spec import Spec


class FailedGuard(NamedTuple):
    blocking: bool  # fails the build; else advisory
    message: str
    asset: str
    check: str  # the guard's name, as the spec's ``checks:`` takes it
    partition: str
    earlier: bool  # judged on outputs an earlier build made (cached now)


def failed_guards(spec: Spec, rows: list[Row]) -> list[FailedGuard]:
    """Every guard whose figure a built partition fails: what the UI shows as failed asset checks, for a
    build from the command line."""
    found = []
    for row in rows:
        target = spec.targets.get(str(row["asset"]))
        if target is None or row["status"] == "failed":
            continue
        metadata: dict = row.get("metadata") or {}  # type: ignore[assignment]
        for guard in target.guards():
            value = metadata.get(guard.metadata_key)
            if value is not None and not guard.passes(float(value)):
                partition = f" [{row['partition']}]" if row["partition"] else ""  # a model has one, unnamed
                detail = metadata.get(guard.detail_key) if guard.detail_key else None
                found.append(FailedGuard(guard.blocking, (
                    f"{row['asset']}{partition}: {guard.name}: {guard.metadata_key} {float(value):.3g}, "
                    f"must be {guard.direction} {guard.limit:g} ({guard.description})" + (f": {detail}" if detail else "")
                ), str(row["asset"]), guard.name, str(row["partition"]), row["status"] == "cached"))
    return found
