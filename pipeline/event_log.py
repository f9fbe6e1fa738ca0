"""Dagster's SQLite event log written in a few transactions where a step or a build records many events at once.

Under ``DAGSTER_HOME``, Dagster's default event log (SQLite: a database per run beside an index of all runs) stores
each event by opening a connection to the run's database, committing and closing it, then the same in the index:
each commit syncs the disk and each close checkpoints the database's log. That was 40 to 90 ms an event, and a first
build records four per texture (22 minutes of a first build of 5,192 textures, of which the outputs took one). Inside
``few_transactions`` the storage is handed one open connection per database instead, in a transaction committed
about every second, so that another process writing there (``dagster dev``, another build) waits no longer than
that: the same events, rows and ids, written in a fraction of the time. Any other storage (Postgres, which keeps its
connections) is left as it is. The in-memory storage of a build without ``DAGSTER_HOME`` (``_in_memory_connection``)
opened a connection, set it up and asked for a table's columns for each event, half of each event's time: inside
``few_transactions`` it is handed one connection instead, each use still its own transaction, as no other process
can write there.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ContextManager

import dagster as dg
import sqlalchemy
from sqlalchemy.pool import NullPool

COMMIT_EVERY_S = 1.0  # the longest another writer of the event log waits on a batch
OTHERS_TURN_S = 0.15  # then the databases are left free, longer than SQLite's busy handler sleeps between tries
BUSY_TIMEOUT_S = 30  # how long a batch waits on another writer, as Dagster's own connections do
_batching: set[int] = set()  # ids of the storages inside few_transactions now


@contextlib.contextmanager
def few_transactions(instance: dg.DagsterInstance) -> Iterator[None]:
    """Meanwhile, the instance's event log stores what this thread writes through connections held open: Dagster's
    SQLite storage in one transaction per database and second (``_batched``), each committed on leaving, whether by
    an exception or not (what was stored was meant to be); the in-memory one through one connection, each use its
    own transaction (``_in_memory_connection``)."""
    storage = instance.event_log_storage
    if id(storage) in _batching:
        yield  # batched already by an outer few_transactions
    elif _in_memory(storage):
        with _in_memory_connection(storage):
            yield
    elif (storage.is_run_sharded and hasattr(storage, "run_connection") and hasattr(storage, "index_connection")
          and hasattr(storage, "has_table")):
        with _batched(storage):
            yield
    else:
        yield  # not Dagster's SQLite storage (Postgres, or an in-memory one lacking what _in_memory looks for)


@contextlib.contextmanager
def _batched(storage: Any) -> Iterator[None]:  # Any: Dagster's storage classes are not its public API
    """Meanwhile, Dagster's run-sharded SQLite ``storage`` stores what this thread writes through a ``_Batch``."""
    batch = _Batch()
    kind = type(storage)
    try:
        with _handed(storage, lambda run_id=None: batch.connection(("run", run_id),
                                                                   lambda: kind.run_connection(storage, run_id)),
                     lambda: batch.connection(("index",), lambda: kind.index_connection(storage))):
            yield
    finally:
        batch.close()


def _in_memory(storage: Any) -> bool:  # Any: Dagster's storage classes are not its public API
    """Whether ``storage`` is Dagster's in-memory event log (an ephemeral instance's), by what it has: its class is
    not Dagster's public API."""
    return not storage.is_persistent and hasattr(storage, "_engine") and hasattr(storage, "_db_lock")


@contextlib.contextmanager
def _in_memory_connection(storage: Any) -> Iterator[None]:
    """Meanwhile, the in-memory ``storage`` stores what this thread writes through one connection, each use in a
    transaction of its own under the storage's lock, as its own connections are: 2,000 textures' first build
    records about 14,000 events, and each opened a connection, set up its pragmas and looked up a table, twice.
    Another thread's writes go through connections of their own, as Dagster makes them."""
    held = storage._engine.connect()  # Dagster's engine of the in-memory database, which only it names
    with held.begin():  # as each of Dagster's connections is set up, once
        held.execute(sqlalchemy.text("PRAGMA foreign_keys=ON;")).close()
    kind, thread = type(storage), threading.get_ident()

    @contextlib.contextmanager
    def connection(run_id: str | None = None) -> Iterator[sqlalchemy.Connection]:
        if threading.get_ident() != thread:
            with kind.run_connection(storage, run_id) as own:
                yield own
            return
        with storage._db_lock, held.begin():
            yield held

    try:
        with _handed(storage, connection, connection):
            yield
    finally:
        held.close()


@contextlib.contextmanager
def _handed(storage: Any, run_connection: Callable[..., ContextManager[sqlalchemy.Connection]],
            index_connection: Callable[[], ContextManager[sqlalchemy.Connection]]) -> Iterator[None]:
    """Meanwhile, ``storage`` is handed these connections, and asks each table's existence once, where it asked it
    for each event (a table that does not come and go); then it is as Dagster made it, whether by an exception or
    not, for a next build on the same instance."""
    kind = type(storage)
    tables: dict[str, bool] = {}

    def has_table(name: str) -> bool:
        if name not in tables:
            tables[name] = kind.has_table(storage, name)
        return tables[name]

    _batching.add(id(storage))
    storage.run_connection, storage.index_connection, storage.has_table = run_connection, index_connection, has_table
    try:
        yield
    finally:
        del storage.run_connection, storage.index_connection, storage.has_table
        _batching.discard(id(storage))


class _Held:
    """One database's connection, in a transaction (pysqlite begins it at the first write)."""

    def __init__(self, url: sqlalchemy.URL) -> None:
        self.engine = sqlalchemy.create_engine(url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_S})
        self.connection = self.engine.connect()
        self.connection.begin()

    def commit(self) -> None:
        self.connection.commit()
        self.connection.begin()

    def close(self) -> None:
        try:
            self.connection.commit()
        finally:
            self.connection.close()
            self.engine.dispose()


class _Batch:
    """The connections of one ``few_transactions``, by database: a run's (``("run", run_id)``) or the index, all
    committed together, each run's database before the index, in the order Dagster writes an event to them."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.held: dict[tuple[str, ...], _Held] = {}
        self.since = time.monotonic()
        self.depth = 0  # the uses of its connections under way: they are committed between them only

    @contextlib.contextmanager
    def connection(self, database: tuple[str, ...], own: Callable[[], ContextManager[sqlalchemy.Connection]]
                   ) -> Iterator[sqlalchemy.Connection]:
        if threading.get_ident() != self.thread:  # another thread's writes go on as Dagster makes them
            with own() as connection:
                yield connection
            return
        if self.depth == 0 and time.monotonic() - self.since > COMMIT_EVERY_S:
            self.commit()
        if database not in self.held:
            with own() as connection:  # Dagster's own, once: it makes a new run's database
                url = connection.engine.url
            self.held[database] = _Held(url)
        self.depth += 1
        try:
            yield self.held[database].connection
        finally:
            self.depth -= 1

    def commit(self) -> None:
        """Commit, then leave the databases to other writers for a turn: SQLite lets a waiting writer in only when
        its busy handler, asleep up to 100 ms at a time, next finds them free, so a batch that wrote again at once
        kept them for as long as it wrote, and Dagster's writers elsewhere (another build, the daemon, the UI)
        gave up after their 30 s with 'database is locked'."""
        for held in self._in_order():
            held.commit()
        time.sleep(OTHERS_TURN_S)
        self.since = time.monotonic()

    def close(self) -> None:
        """Commit and close each, even where another fails."""
        with contextlib.ExitStack() as stack:
            for held in reversed(self._in_order()):
                stack.callback(held.close)  # called last first

    def _in_order(self) -> list[_Held]:
        return [held for database, held in sorted(self.held.items(), key=lambda item: item[0] == ("index",))]


@contextlib.contextmanager
def runs_made_in_few_transactions(instance: dg.DagsterInstance) -> Iterator[None]:
    """Meanwhile, a run made on ``instance`` records its planned materializations, one per partition of its
    range, in few transactions too."""
    make = instance.create_run_for_job

    def create_run_for_job(*args: Any, **kwargs: Any) -> dg.DagsterRun:  # Any: passed on as they came
        with few_transactions(instance):
            return make(*args, **kwargs)

    instance.create_run_for_job = create_run_for_job  # type: ignore[method-assign]
    try:
        yield
    finally:
        del instance.create_run_for_job
