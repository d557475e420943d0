"""Turning records into rows and writing a batch of them in one idempotent transaction.

>>> from gym_gui_bridge.store.schema import open_writer
>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> conn = open_writer(":memory:")
>>> batch = [ScalarRecord("r", -1, "default", 0, 1.0, "loss", 0.5, 10)]
>>> write_batch(conn, batch), write_batch(conn, batch)
(BatchResult(rows=1, invalid=0), BatchResult(rows=1, invalid=0))
>>> conn.execute("SELECT COUNT(*) FROM scalars").fetchone()[0]
1
"""

from __future__ import annotations

import itertools
import json
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

__all__ = ["BatchResult", "FaultHook", "action_to_column", "write_batch"]

_log = logging.getLogger(__name__)

#: Test hook run inside each batch's transaction, before the inserts; raising fails the batch.
FaultHook = Callable[[Sequence[TelemetryEvent]], None]


class BatchResult(NamedTuple):
    """Records handed to SQLite (``rows``; duplicates count, they are ignored by the key) and
    records that could not be turned into a row (``invalid``; logged and skipped)."""

    rows: int
    invalid: int


# Column lists follow the records' field order: a record (a NamedTuple) is its own row.
_STEP_COLUMNS = (
    "run_id, slot, agent_id, seq, wall_time, episode, step, global_step, action, reward, "
    "terminated, truncated, frame_seq"
)
_EPISODE_COLUMNS = (
    "run_id, slot, agent_id, seq, wall_time, episode, ep_return, length, terminated, truncated, "
    "global_step, duration"
)
_SCALAR_COLUMNS = "run_id, slot, agent_id, seq, wall_time, tag, value, step"
#: One row per execute, for callers that want ``executemany`` (the benchmark's baseline).
STEP_INSERT_SQL = f"INSERT OR IGNORE INTO steps ({_STEP_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_FALLBACK_VARIABLE_LIMIT = 999  # SQLite's compiled-in default before 3.32
_RUN_EVENT_SQL = (
    "INSERT OR IGNORE INTO run_events (run_id, agent_id, seq, status, wall_time, argv, version, "
    "pid, error, exit_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RUN_INSERT_SQL = (
    "INSERT OR IGNORE INTO runs (run_id, status, started_at, finished_at, argv, version, pid, "
    "error, exit_code, agent_id, last_seq, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# the newest lifecycle record (highest seq) decides the status, whatever order they arrive in
_RUN_STATUS_SQL = (
    "UPDATE runs SET status = ?, last_seq = ?, updated_at = ?, "
    "finished_at = COALESCE(?, finished_at), error = COALESCE(?, error), "
    "exit_code = COALESCE(?, exit_code) WHERE run_id = ? AND last_seq < ?"
)
_RUN_START_SQL = (
    "UPDATE runs SET started_at = MIN(COALESCE(started_at, ?), ?), argv = COALESCE(argv, ?), "
    "version = COALESCE(version, ?), pid = COALESCE(pid, ?) WHERE run_id = ?"
)
_ACTION = 8  # index of StepRecord.action


def _null(value: None) -> None:
    return value


# sqlite3 binds int, float, str and bytes as they are; any other value, bool and None included,
# goes through its adaptation protocol, which builds and discards an AttributeError per value
# (~0.5-1 us each; a step row holds two bools and often a None). A registered adapter is found
# first. These two store exactly what SQLite stored without them (1 / 0, NULL), for every
# connection of the process: process-wide is the only way sqlite3 offers.
sqlite3.register_adapter(bool, int)
sqlite3.register_adapter(type(None), _null)


def action_to_column(action: Any) -> Any:
    """An action as stored: numbers as they are, lists as JSON text, anything else NULL."""
    if action is None or type(action) is int or type(action) is float:
        return action
    tolist = getattr(action, "tolist", None)  # numpy scalars and arrays
    if tolist is not None:
        return action_to_column(tolist())
    try:
        return json.dumps(action, allow_nan=False)
    except (TypeError, ValueError):
        return None


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


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


# Sanitised rows: only str, int, float and None, whatever foreign types a record holds.
def _step_row(r: StepRecord) -> tuple[Any, ...]:
    return (
        str(r.run_id), int(r.slot), str(r.agent_id), int(r.seq), float(r.wall_time),
        int(r.episode), int(r.step), int(r.global_step), action_to_column(r.action),
        float(r.reward), int(bool(r.terminated)), int(bool(r.truncated)), _opt_int(r.frame_seq),
    )  # fmt: skip


def _episode_row(r: EpisodeRollup) -> tuple[Any, ...]:
    return (
        str(r.run_id), int(r.slot), str(r.agent_id), int(r.seq), float(r.wall_time),
        int(r.episode), float(r.ep_return), int(r.length), int(bool(r.terminated)),
        int(bool(r.truncated)), int(r.global_step), float(r.duration),
    )  # fmt: skip


def _scalar_row(r: ScalarRecord) -> tuple[Any, ...]:
    return (
        str(r.run_id), int(r.slot), str(r.agent_id), int(r.seq), float(r.wall_time), str(r.tag),
        float(r.value), int(r.step),
    )  # fmt: skip


def _write_runs(conn: sqlite3.Connection, runs: list[RunRecord]) -> None:
    now = time.time()
    for r in runs:
        argv = json.dumps(list(r.argv))
        started_at = r.wall_time if r.status == RUN_STARTED else None
        finished_at = None if r.status == RUN_STARTED else r.wall_time
        conn.execute(
            _RUN_EVENT_SQL,
            (r.run_id, r.agent_id, r.seq, r.status, r.wall_time, argv, r.version, r.pid,
             r.error, r.exit_code),
        )  # fmt: skip
        conn.execute(
            _RUN_INSERT_SQL,
            (r.run_id, r.status, started_at, finished_at, argv, r.version, r.pid, r.error,
             r.exit_code, r.agent_id, r.seq, now),
        )  # fmt: skip
        conn.execute(
            _RUN_STATUS_SQL,
            (r.status, r.seq, now, finished_at, r.error, r.exit_code, r.run_id, r.seq),
        )
        if started_at is not None:
            conn.execute(_RUN_START_SQL, (started_at, started_at, argv, r.version, r.pid, r.run_id))


def _split(
    records: Sequence[TelemetryEvent], sanitise: bool
) -> tuple[list[Any], list[Any], list[Any], list[RunRecord], int]:
    steps: list[Any] = []
    episodes: list[Any] = []
    scalars: list[Any] = []
    runs: list[RunRecord] = []
    invalid = 0
    for r in records:
        kind = type(r)
        try:
            if kind is StepRecord:
                action = r[_ACTION]
                plain = action is None or type(action) is int or type(action) is float
                steps.append(r if plain and not sanitise else _step_row(r))  # type: ignore[arg-type]
            elif kind is EpisodeRollup:
                episodes.append(_episode_row(r) if sanitise else r)  # type: ignore[arg-type]
            elif kind is ScalarRecord:
                scalars.append(_scalar_row(r) if sanitise else r)  # type: ignore[arg-type]
            elif kind is RunRecord:
                runs.append(r)  # type: ignore[arg-type]
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
        if steps:
            insert_rows(conn, "steps", _STEP_COLUMNS, steps)
        if episodes:
            insert_rows(conn, "episodes", _EPISODE_COLUMNS, episodes)
        if scalars:
            insert_rows(conn, "scalars", _SCALAR_COLUMNS, scalars)
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
