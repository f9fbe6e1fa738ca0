"""``<build_dir>/manifest.json``: one row per (asset, partition), kept current by every build.

Each asset step merges its rows under an exclusive lock, so builds launched
from the UI, a sensor or two CLIs at once all leave one consistent file.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal, TypedDict, TypeGuard, cast

from ops.atomic import leftover_temporaries, unlink, write_bytes_atomic
from pipeline.cache import is_digest
from pipeline.locks import exclusive
from pipeline.spec import Target

MANIFEST = "manifest.json"
Status = Literal["computed", "cached", "failed"]
# One entry of the manifest (README's "manifest.json"), as PartitionResult.to_json writes it. Not total: a
# build merges some fields over a row ({**row, "status": "failed", ...}), and a row it has not yet is {}; a row
# read_manifest gives holds each field but error, run_id and from (_FIELDS).
Row = TypedDict("Row", {
    "asset": str,
    "partition": str,  # a model's is ""
    "status": Status,
    "cache_key": str | None,
    "outputs": dict[str, str],  # path relative to the spec's folder -> xxh3-128
    "inputs": dict[str, str],  # the same, the model's weights included
    "params": dict[str, object],  # as the spec gives them
    "op": str,
    "op_version": str,
    "seconds": float,
    "metadata": dict[str, object],  # the op's figures, guards' included
    "error": str,  # where failed
    "run_id": str | None,  # the Dagster run that wrote it (interrupted-<build id>: a Ctrl-C came first); None: found current
    "from": str | None,  # the spec's ``from``; rows of a remaster before it have none
    "last_built_key": str,  # where failed: the cache key of its last build that succeeded, which gc keeps
}, total=False)
_FIELDS: dict[str, tuple[type, ...]] = {  # what every row holds (PartitionResult), as the code reads it
    "asset": (str,), "partition": (str,), "status": (str,), "cache_key": (str, type(None)), "outputs": (dict,),
    "inputs": (dict,), "params": (dict,), "op": (str,), "op_version": (str,), "seconds": (int, float),
    "metadata": (dict,),
}


@dataclass
class PartitionResult:
    """One (asset, partition) of a build; this is a row of ``manifest.json``."""

    asset: str
    partition: str
    status: Status
    cache_key: str | None
    outputs: dict[str, str]  # path -> xxh3-128
    inputs: dict[str, str]  # path -> xxh3-128 (the model's weights included)
    params: dict[str, object]
    op: str
    op_version: str
    seconds: float
    metadata: dict[str, object] = field(default_factory=dict)
    error: str | None = None
    run_id: str | None = None
    upstream: str | None = None  # the spec's ``from``, under that name in the manifest
    last_built_key: str | None = None  # where failed: see ``last_built_key``

    def to_json(self) -> Row:
        record = asdict(self)
        for optional in ("error", "last_built_key"):
            if record[optional] is None:
                del record[optional]
        record["from"] = record.pop("upstream")
        return cast(Row, record)

    @classmethod
    def from_json(cls, row: Mapping[str, object]) -> PartitionResult:
        """A manifest row as written by ``to_json``, or by a version before ``from`` (None)."""
        named = {f.name: row[f.name] for f in fields(cls) if f.name in row}
        return cls(**named, upstream=row.get("from"))  # type: ignore[arg-type]


def not_built(target: Target, key: str, run_id: str | None = None, error: str | None = None) -> PartitionResult:
    """The row of a partition that has not built (yet): failed, with no outputs."""
    return PartitionResult(
        target.name, key, "failed", None, {}, {}, target.params.model_dump(mode="json"),  # as the spec gives them
        target.op.name, target.op.version, 0.0, error=error, run_id=run_id, upstream=target.upstream,
    )


def last_built_key(last: Mapping[str, object], key: str | None) -> str | None:
    """What a row failing under cache key ``key`` keeps of ``last``, the partition's row before: the key of its last
    build that succeeded (``last``'s own, or the one it kept failing). A texture that a build fails on every night
    (saved corrupt) dropped it, so the nightly gc removed that entry, and the texture saved back as it was, or the
    model retrained from it, was made again rather than put back. A row a run never reached ("not built: ...", a
    Ctrl-C) keeps its last build's key as its own, with no ``last_built_key`` where that build succeeded: a failure
    after it dropped that key too. None where it is ``key`` itself."""
    if last.get("status") in ("computed", "cached"):
        built = last.get("cache_key")
    else:
        never_reached = str(last.get("error") or "").startswith("not built:")
        built = last.get("last_built_key") or (last.get("cache_key") if never_reached else None)
    return built if isinstance(built, str) and built != key else None


def keys_in_use(row: Mapping[str, object]) -> list[str]:
    """The cache keys whose entries ``cache gc`` keeps for a manifest ``row``: its own, and where it failed, its last
    successful build's (``last_built_key``)."""
    return [key for name in ("cache_key", "last_built_key") if isinstance(key := row.get(name), str)]


def partition_label(asset: str, partition: str) -> str:
    """How messages name a partition: ``legacy_2x [walls/brick.png]``, and a model's ``sr2x [model]``."""
    return f"{asset} [{partition or 'model'}]"


def manifest_path(build_dir: Path) -> Path:
    return build_dir / MANIFEST


@dataclass(frozen=True)
class ManifestRead:
    """The manifest as one read found it (``read_once``). A build asks why it cannot be read, for the rows to sync
    and for the rows to plan by before it writes it: each was a read of its own, a tenth of a second at 2,000
    textures."""

    build_dir: Path
    entries: list[object] | None  # as written; None where it cannot be read
    error: str | None  # why it cannot be read

    def whole(self) -> list[Row]:
        """``read_manifest``'s rows."""
        return whole_rows(self.entries or [])

    def keyed(self) -> list[dict[str, object]]:
        """``keyed_rows``'s rows."""
        return [row for row in self.entries or [] if isinstance(row, dict) and isinstance(row.get("asset"), str)
                and isinstance(row.get("partition"), str)]

    def problem(self) -> str | None:
        """``manifest_problem``'s message."""
        return None if self.error is None else (
            f"{manifest_path(self.build_dir)} cannot be read ({self.error}): every output reads as never built, and "
            "a build lists them anew, putting back from the cache what it holds")


def read_once(build_dir: Path) -> ManifestRead:
    """The manifest, read once for every question a caller asks of it before it writes it."""
    return ManifestRead(build_dir, *_read(build_dir))


def read_manifest(build_dir: Path) -> list[Row]:
    """The manifest's whole rows; none where it is missing or cannot be read (derived data: the next build
    rewrites it). A row missing a field, or holding one of the wrong type (a hand edit, a merge), or an output
    hash that is no hash (a path: a build restores an upstream output by its hash from the cache), is left out:
    its partition is built again, or put back from the cache, and the build writes its row anew."""
    return read_once(build_dir).whole()


def whole_rows(entries: Iterable[object]) -> list[Row]:
    """The entries ``read_manifest`` keeps, of entries read already (``keyed_rows``'s): a manifest of thousands of
    rows takes a twentieth of a second to read, which ``status`` did three times."""
    return [row for row in entries if _whole(row)]


def manifest_rows_or_none(build_dir: Path) -> list[dict[str, object]] | None:
    """The manifest's rows as written, damaged ones too (none where there is no manifest yet), or None where one
    is there but cannot be read, or holds an entry that is not a row at all: what keeps the cache entries that
    rows name must then refuse, since that entry's key is unknown."""
    rows = _entries(build_dir)
    if rows is None or not all(isinstance(row, dict) for row in rows):
        return None
    return cast(list[dict[str, object]], rows)  # every one a dict, as just checked


def keyed_rows(build_dir: Path) -> list[dict[str, object]]:
    """The rows that name their asset and partition, damaged or not: the rest can never be replaced or dropped."""
    return read_once(build_dir).keyed()


def manifest_problem(build_dir: Path) -> str | None:
    """Why the manifest there cannot be read, for a build or status to say: every output it lists then reads
    as never built, and the build writes it anew: a truncated file or a merge conflict would otherwise go unsaid."""
    return read_once(build_dir).problem()


def _entries(build_dir: Path) -> list[object] | None:
    """The manifest's entries as written: [] where there is no manifest yet, None where it cannot be read."""
    return _read(build_dir)[0]


def _read(build_dir: Path) -> tuple[list[object] | None, str | None]:
    """(the manifest's entries, None) or (None, what is wrong with it); ([], None) where there is none yet."""
    try:
        entries = json.loads(manifest_path(build_dir).read_text())["entries"]
    except FileNotFoundError:
        return [], None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, str(exc) if not isinstance(exc, (KeyError, TypeError)) else "it has no list of entries"
    return (entries, None) if isinstance(entries, list) else (None, "its entries are not a list")


def _whole(row: object) -> TypeGuard[Row]:
    return (isinstance(row, dict) and all(isinstance(row.get(name, ...), types) for name, types in _FIELDS.items())
            and all(is_digest(digest) for digest in row["outputs"].values()))


def rows_by_key(build_dir: Path) -> dict[tuple[str, str], Row]:
    """The manifest's rows by (asset, partition); a model's partition is the empty string."""
    return by_key(read_manifest(build_dir))


def by_key(rows: Iterable[Row]) -> dict[tuple[str, str], Row]:
    """``rows_by_key`` of rows read already."""
    return {(str(r["asset"]), str(r["partition"])): r for r in rows}


def _locked(build_dir: Path) -> contextlib.AbstractContextManager[None]:
    return exclusive(build_dir / f".{MANIFEST}.lock")


def update_manifest(build_dir: Path, rows: Iterable[Row] = (), drop: Iterable[tuple[str, str]] = (),
                    as_read: Mapping[tuple[str, str], Row] | None = None) -> None:
    """Replace the rows of the same (asset, partition) and remove the ``drop`` ones. With ``as_read``, the rows
    by key as the caller read them, a row on disk that is no longer the one read is kept: another build at once
    wrote it since (what it built from a texture changed meanwhile), and it is newer than the caller's."""
    rows = list(rows)
    with _locked(build_dir):
        entries = keyed_rows(build_dir)
        if as_read is not None:
            on_disk = {(r["asset"], r["partition"]): r for r in entries}
            rows = [r for r in rows if on_disk.get(key := (r["asset"], r["partition"])) == as_read.get(key)]
        replaced = {(r["asset"], r["partition"]) for r in rows} | set(drop)
        kept: list[Mapping[str, object]] = [r for r in entries if (r["asset"], r["partition"]) not in replaced]
        merged = sorted([*kept, *rows], key=lambda r: (str(r["asset"]), str(r["partition"])))
        # One row per line: diffable, yet fast to write for thousands of textures.
        lines = ",\n".join(json.dumps(row, sort_keys=True, separators=(",", ":")) for row in merged)
        body = f'{{"version": 1, "entries": [\n{lines}\n]}}\n'
        for temporary in leftover_temporaries([manifest_path(build_dir)]):  # a build killed writing it: held, none lives
            unlink(temporary)
        write_bytes_atomic(manifest_path(build_dir), body.encode())

