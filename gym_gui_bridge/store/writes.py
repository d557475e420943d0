"""Turning records into rows and writing a batch of them in one idempotent transaction.

>>> from gym_gui_bridge.store.schema import open_writer
>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> conn = open_writer(":memory:")
>>> batch = [ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=0.5, step=10)]
>>> write_batch(conn, batch), write_batch(conn, batch)
(BatchResult(rows=1, invalid=0), BatchResult(rows=1, invalid=0))
>>> conn.execute("SELECT COUNT(*) FROM scalars").fetchone()[0]
1
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from gym_gui_bridge.protocol.records import (
    RUN_STARTED,
    EpisodeRollup,
    RunRecord,
    ScalarRecord,
    StepRecord,
    TelemetryEvent,
)
from gym_gui_bridge.store.columns import COLUMNS, TABLES, column_list, sanitised_row

__all__ = ["STEP_INSERT_SQL", "BatchResult", "FaultHook", "write_batch"]

_log = logging.getLogger(__name__)

#: Test hook run inside each batch's transaction, before the inserts; raising fails the batch.
FaultHook = Callable[[Sequence[TelemetryEvent]], None]


class BatchResult(NamedTuple):
    """Records handed to SQLite (``rows``; duplicates count, they are ignored by the key) and
    records that could not be turned into a row (``invalid``; logged and skipped)."""

    rows: int
    invalid: int


# Column lists are the records' stored fields in field order (store/columns.py): a step,
# episode or scalar record is its own row.
_COLUMN_LISTS = {record_type: column_list(record_type) for record_type in TABLES}


def _insert_sql(record_type: type) -> str:
    marks = ", ".join("?" * len(COLUMNS[record_type]))
    return (
        f"INSERT OR IGNORE INTO {TABLES[record_type]} ({column_list(record_type)}) VALUES ({marks})"
    )


#: One row per execute, for callers that want ``executemany`` (the benchmark's baseline).
STEP_INSERT_SQL = _insert_sql(StepRecord)
_RUN_EVENT_SQL = _insert_sql(RunRecord)
_FALLBACK_VARIABLE_LIMIT = 999  # SQLite's compiled-in default before 3.32
# The runs table summarises a run's lifecycle records (one row per run).
_RUN_INSERT_SQL = (
    "INSERT OR IGNORE INTO runs (run_id, status, started_at, finished_at, argv, version, pid, "
    "error, exit_code, agent_id, last_seq, updated_at) VALUES (:run_id, :status, :started_at, "
    ":finished_at, :argv, :version, :pid, :error, :exit_code, :agent_id, :seq, :now)"
)
# the newest lifecycle record (highest seq) decides the status, whatever order they arrive in
_RUN_STATUS_SQL = (
    "UPDATE runs SET status = :status, last_seq = :seq, updated_at = :now, "
    "finished_at = COALESCE(:finished_at, finished_at), error = COALESCE(:error, error), "
    "exit_code = COALESCE(:exit_code, exit_code) WHERE run_id = :run_id AND last_seq < :seq"
)
_RUN_START_SQL = (
    "UPDATE runs SET started_at = MIN(COALESCE(started_at, :started_at), :started_at), "
    "argv = COALESCE(argv, :argv), version = COALESCE(version, :version), "
    "pid = COALESCE(pid, :pid) WHERE run_id = :run_id"
)
_ACTION = StepRecord._fields.index("action")


def _null(value: None) -> None:
    return value


# sqlite3 binds int, float, str and bytes as they are; any other value, bool and None included,
# goes through its adaptation protocol, which builds and discards an AttributeError per value
# (~0.5-1 us each; a step row holds two bools and often a None). A registered adapter is found
# first. These two store exactly what SQLite stored without them (1 / 0, NULL), for every
# connection of the process: process-wide is the only way sqlite3 offers.
sqlite3.register_adapter(bool, int)
sqlite3.register_adapter(type(None), _null)


def _variable_limit(conn: sqlite3.Connection) -> int:
    getlimit = getattr(conn, "getlimit", None)  # Python >= 3.11
    category = getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", None)
    if getlimit is None or category is None:
        return _FALLBACK_VARIABLE_LIMIT
    return int(getlimit(category))


def insert_rows(conn: sqlite3.Connection, table: str, columns: str, rows: Sequence[Any]) -> None:
    """``INSERT OR IGNORE`` ``rows`` with multi-row ``VALUES`` statements, as many rows per
    statement as SQLite's bound-variable limit allows.

    Why not ``executemany``: it releases and re-takes the GIL around every row, and while the
    training thread runs Python each re-take waits for the interpreter's switch interval
    (5 ms): the sink then writes ~200 rows/s. One statement per chunk takes the GIL once.
    """
    width = columns.count(",") + 1
    per_statement = max(1, _variable_limit(conn) // width)
    row_sql = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES " + ", ".join(
            [row_sql] * len(chunk)
        )
        conn.execute(sql, list(itertools.chain.from_iterable(chunk)))


def _write_runs(conn: sqlite3.Connection, runs: list[tuple[Any, ...]]) -> None:
    """Store lifecycle records (sanitised rows) in run_events and summarise them in runs."""
    now = time.time()
    for row in runs:
        conn.execute(_RUN_EVENT_SQL, row)
        values = dict(zip(COLUMNS[RunRecord], row, strict=True))
        started = values["status"] == RUN_STARTED
        values.update(
            now=now,
            started_at=values["wall_time"] if started else None,
            finished_at=None if started else values["wall_time"],
        )
        conn.execute(_RUN_INSERT_SQL, values)
        conn.execute(_RUN_STATUS_SQL, values)
        if started:
            conn.execute(_RUN_START_SQL, values)


def _split(
    records: Sequence[TelemetryEvent], sanitise: bool
) -> tuple[list[Any], list[Any], list[Any], list[Any], int]:
    steps: list[Any] = []
    episodes: list[Any] = []
    scalars: list[Any] = []
    runs: list[Any] = []
    invalid = 0
    for r in records:
        kind = type(r)
        try:
            if kind is StepRecord:
                action = r[_ACTION]  # r.action, without the attribute lookup (hot)
                plain = action is None or type(action) is int or type(action) is float
                steps.append(r if plain and not sanitise else sanitised_row(r))
            elif kind is EpisodeRollup:
                episodes.append(sanitised_row(r) if sanitise else r)
            elif kind is ScalarRecord:
                scalars.append(sanitised_row(r) if sanitise else r)
            elif kind is RunRecord:
                runs.append(sanitised_row(r))
            else:
                raise TypeError(f"Expected a telemetry record, got {kind.__name__}")
        except (TypeError, ValueError, OverflowError) as error:
            invalid += 1
            _log.error("record skipped, it cannot be stored: %s (%r)", error, r)
    return steps, episodes, scalars, runs, invalid


def _transaction(
    conn: sqlite3.Connection,
    records: Sequence[TelemetryEvent],
    sanitise: bool,
    fault_hook: FaultHook | None,
) -> int:
    steps, episodes, scalars, runs, invalid = _split(records, sanitise)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if fault_hook is not None:
            fault_hook(records)
        for record_type, rows in (
            (StepRecord, steps),
            (EpisodeRollup, episodes),
            (ScalarRecord, scalars),
        ):
            if rows:
                insert_rows(conn, TABLES[record_type], _COLUMN_LISTS[record_type], rows)
        if runs:
            _write_runs(conn, runs)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return invalid


def write_batch(
    conn: sqlite3.Connection,
    records: Sequence[TelemetryEvent],
    fault_hook: FaultHook | None = None,
) -> BatchResult:
    """Store ``records`` in one ``BEGIN IMMEDIATE`` transaction; all or nothing.

    Records are bound as they are (they are tuples in column order). If SQLite cannot bind a
    value (a record built with numpy numbers, say), the batch is rolled back and written again
    from sanitised rows; a record that cannot even be sanitised is logged and skipped.

    Raises:
        sqlite3.Error: the transaction failed (locked, disk full, ...) and was rolled back;
            nothing of the batch is stored and the caller may retry it unchanged.
    """
    try:
        invalid = _transaction(conn, records, False, fault_hook)
    except (sqlite3.InterfaceError, sqlite3.ProgrammingError):  # a value SQLite cannot bind
        invalid = _transaction(conn, records, True, fault_hook)
    return BatchResult(len(records) - invalid, invalid)
