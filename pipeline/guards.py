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
            partition = f" [{row['partition']}]" if row["partition"] else ""  # a model has one, unnamed
            detail = failed_detail(row, guard)
            found.append(FailedGuard(guard.blocking, (
                f"{row['asset']}{partition}: {guard.name}: {guard.metadata_key} {float(value):.3g}, "
                f"must be {guard.direction} {guard.limit:g} ({guard.description})" + (f": {detail}" if detail else "")
            ), str(row["asset"]), guard.name, str(row["partition"]), row["status"] == "cached"))
    return found


def failed_detail(row: Row, guard: Guard) -> str:
    """What ``row`` names past ``guard``'s bound (``guard.detail_key``: the variants, with their figures), where its
    figure fails the guard. Those were named against the bound of the remaster that measured them, and a cached
    partition keeps them, where the guard judges its figure against the bound it has now: after a stricter one, a
    failed check named no variant, and said nothing of how to find them."""
    if guard.detail_key is None:
        return ""
    if detail := (row.get("metadata") or {}).get(guard.detail_key):
        return str(detail)
    return (f"no file named: the remaster that measured them named those past another bound (or none); remaster "
            f"build --force {row['asset']} names those past this one")


class Unmeasured(NamedTuple):
    """A guard that built partitions have no figure for: outputs made by a version of remaster from before it,
    which a newer remaster finds current and restores from the cache, or a figure a hand edit made no number.
    Nothing judges them until they are built again."""

    asset: str
    check: str
    partitions: list[str]
    why: str  # ``why_unmeasured``'s


def unmeasured_guards(spec: Spec, rows: list[Row]) -> list[Unmeasured]:
    """Per asset, guard and reason, the built partitions whose figure for it is missing (``keeps_coverage`` on
    variants made before it existed) or no number: the check passes them unseen, which the user is told of."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for row, guard, value in _figures(spec, rows):
        if value is None:
            found.setdefault((str(row["asset"]), guard.name, why_unmeasured(row, guard)), []).append(str(row["partition"]))
    return [Unmeasured(asset, check, partitions, why) for (asset, check, why), partitions in found.items()]


def why_unmeasured(row: Row, guard: Guard) -> str:
    """Why ``row`` has no figure for ``guard`` (``figure`` gave None), as a clause after the partitions it names:
    only a row without the figure was made by a remaster from before the guard; one whose figure is there but no
    number was edited by hand (a merge), which an older remaster does not explain."""
    if guard.metadata_key in (row.get("metadata") or {}):
        return f"whose {guard.metadata_key} in the manifest is no number (edited by hand?)"
    return "made by a version of remaster from before this check"


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
