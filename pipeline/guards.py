"""The ops' guards judged on manifest rows, for a build from the command line (the UI shows them as asset checks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ops.registry import Guard
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
    for row, guard, value in _figures(spec, rows):
        if value is not None and not guard.passes(float(value)):
            metadata: dict = row.get("metadata") or {}
            partition = f" [{row['partition']}]" if row["partition"] else ""  # a model has one, unnamed
            detail = metadata.get(guard.detail_key) if guard.detail_key else None
            found.append(FailedGuard(guard.blocking, (
                f"{row['asset']}{partition}: {guard.name}: {guard.metadata_key} {float(value):.3g}, "
                f"must be {guard.direction} {guard.limit:g} ({guard.description})" + (f": {detail}" if detail else "")
            ), str(row["asset"]), guard.name, str(row["partition"]), row["status"] == "cached"))
    return found


class Unmeasured(NamedTuple):
    """A guard that outputs made by a version of remaster from before it have no figure for: a newer remaster
    finds them current and restores them from the cache, so nothing judges them until they are built again."""

    asset: str
    check: str
    partitions: list[str]


def unmeasured_guards(spec: Spec, rows: list[Row]) -> list[Unmeasured]:
    """Per asset and guard, the built partitions whose figure for it is missing (``keeps_coverage`` on variants
    made before it existed): the check passes them unseen, which an upgraded project is told of."""
    found: dict[tuple[str, str], list[str]] = {}
    for row, guard, value in _figures(spec, rows):
        if value is None:
            found.setdefault((str(row["asset"]), guard.name), []).append(str(row["partition"]))
    return [Unmeasured(asset, check, partitions) for (asset, check), partitions in found.items()]


def _figures(spec: Spec, rows: list[Row]) -> Iterator[tuple[Row, Guard, float | None]]:
    """Each built row's figure for each guard its asset has now (None where the row has none)."""
    for row in rows:
        target = spec.targets.get(str(row["asset"]))
        if target is None or row["status"] == "failed":
            continue
        for guard in target.guards():
            yield row, guard, figure(row, guard)


def figure(row: Row, guard: Guard) -> float | None:
    """``row``'s figure for ``guard``: None where it has none, or where a hand edit (a merge) left something other
    than a number, so that the guard is said not measured rather than stopping what reads it."""
    value = (row.get("metadata") or {}).get(guard.metadata_key)
    return float(value) if isinstance(value, (int, float)) else None
