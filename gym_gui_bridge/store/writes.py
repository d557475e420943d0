"""Turning records into rows and writing a batch of them: idempotent, and a bad record never
stops the others.

:func:`write_batch` tests every record with the validation
(:func:`~gym_gui_bridge.protocol.validation.storable`; values of foreign types are converted
first) and writes the valid ones in one ``INSERT OR IGNORE`` transaction. When SQLite refuses
that transaction for a reason retrying cannot cure (:func:`is_transient` says which), the batch
is split in halves, each written in its own transaction, until the records SQLite refuses are
alone; those and the invalid ones go into the quarantine table
(:mod:`gym_gui_bridge.store.quarantine`) with their reason. A transient failure (locked, busy,
disk full, I/O error) is raised: the caller retries the whole batch, which is safe because
everything is idempotent.

>>> from gym_gui_bridge.store.schema import open_writer
>>> from gym_gui_bridge.protocol.records import ScalarRecord
>>> conn = open_writer(":memory:")
>>> batch = [ScalarRecord("r", -1, "default", 0, 1.0, tag="loss", value=0.5, step=10)]
>>> write_batch(conn, batch), write_batch(conn, batch)
(BatchResult(rows=1, invalid=0, quarantined=()), BatchResult(rows=1, invalid=0, quarantined=()))
>>> conn.execute("SELECT COUNT(*) FROM scalars").fetchone()[0]
1
>>> result = write_batch(conn, [batch[0]._replace(seq=1, step=2**63)])
>>> result.rows, result.invalid, result.quarantined[0].reason
(0, 1, 'out_of_range')
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from gym_gui_bridge.protocol.normalise import normalised
from gym_gui_bridge.protocol.records import (
    RUN_STARTED,
    EpisodeRollup,
    RunRecord,
    ScalarRecord,
    StepRecord,
    TelemetryEvent,
)
from gym_gui_bridge.protocol.storable import storable, storable_all
from gym_gui_bridge.protocol.validation import problem
from gym_gui_bridge.store.columns import COLUMNS, TABLES, column_list, sanitised_row
from gym_gui_bridge.store.quarantine import Quarantined, quarantined_record, write_quarantine

__all__ = [
    "NOT_STORABLE",
    "STEP_INSERT_SQL",
    "BatchResult",
    "FaultHook",
    "is_transient",
    "write_batch",
]

#: Test hook run inside each batch's transaction, before the inserts; raising fails the batch.
FaultHook = Callable[[Sequence[TelemetryEvent]], None]


#: Reason code of a record the validation accepts but SQLite refused (a constraint, say).
NOT_STORABLE = "not_storable"


class BatchResult(NamedTuple):
    """What :func:`write_batch` did."""

    rows: int
    """Records handed to SQLite (duplicates count: they are ignored by the key)."""
    invalid: int
    """Records not stored: invalid, or refused by SQLite; each is in ``quarantined``."""
    quarantined: tuple[Quarantined, ...] = ()
    """The entries written to the quarantine table: the batch's refused records, then the
    ``lines`` given to :func:`write_batch`."""


class NotStorableError(ValueError):
    """A record's values cannot be turned into a row (raised inside :func:`write_batch`)."""


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
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    steps: list[Any] = []
    episodes: list[Any] = []
    scalars: list[Any] = []
    runs: list[Any] = []
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
        except (TypeError, ValueError, OverflowError, RecursionError) as error:
            raise NotStorableError(f"{type(error).__name__}: {error}") from error
    return steps, episodes, scalars, runs


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back if it
    raises (anything, ``KeyboardInterrupt`` included)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _transaction(
    conn: sqlite3.Connection,
    records: Sequence[TelemetryEvent],
    sanitise: bool,
    fault_hook: FaultHook | None,
) -> None:
    steps, episodes, scalars, runs = _split(records, sanitise)
    with _immediate(conn):
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


def _write(
    conn: sqlite3.Connection, records: Sequence[TelemetryEvent], fault_hook: FaultHook | None
) -> None:
    """One transaction of ``records``: bound as they are (they are tuples in column order), or,
    if sqlite3 cannot bind a value as it is, from rows of converted values."""
    try:
        _transaction(conn, records, False, fault_hook)
    except (sqlite3.InterfaceError, sqlite3.ProgrammingError):  # a value it cannot bind as is
        _transaction(conn, records, True, fault_hook)


def is_transient(error: BaseException) -> bool:
    """Whether a failed write may succeed unchanged later: the database locked or busy, the
    disk full, an I/O error, the file unreadable (``sqlite3.OperationalError``), or any other
    fault of the database as a whole (a plain ``sqlite3.DatabaseError``: a damaged file is not
    one record's fault). Not transient: what is about the records themselves (a constraint,
    a value sqlite3 cannot bind, a string it cannot encode, an integer beyond 64 bits)."""
    if isinstance(error, sqlite3.OperationalError):
        return True
    return type(error) is sqlite3.DatabaseError


def _write_isolating(
    conn: sqlite3.Connection,
    records: Sequence[TelemetryEvent],
    fault_hook: FaultHook | None,
    refused: list[Quarantined],
) -> int:
    """Write ``records``, splitting the batch around the records SQLite refuses (those go to
    ``refused``); returns how many were written. Raises a transient error as it comes."""
    written = 0
    pending = [records]
    while pending:
        part = pending.pop()
        try:
            _write(conn, part, fault_hook)
        except Exception as error:  # a boundary: raised if transient, else isolated and reported
            if is_transient(error):
                raise
            if len(part) > 1:
                middle = len(part) // 2
                pending += [part[middle:], part[:middle]]
                continue
            record = part[0]
            if not storable(record):  # let through by the bulk test: an integer beyond 64 bits
                converted = normalised(record)  # in a real field, say; converted, it may do
                if storable(converted):
                    pending.append([converted])
                    continue
            reason = problem(record)
            code, message = (
                (reason.code, str(reason))
                if reason is not None
                else (NOT_STORABLE, f"{NOT_STORABLE}: {type(error).__name__}: {error}")
            )
            refused.append(quarantined_record(record, code, message))
            continue
        written += len(part)
    return written


def write_batch(
    conn: sqlite3.Connection,
    records: Sequence[TelemetryEvent],
    fault_hook: FaultHook | None = None,
    lines: Sequence[Quarantined] = (),
    decoded: bool = False,
) -> BatchResult:
    """Store the valid ``records``, quarantine the others (and the refused ``lines``, entries
    made by :func:`~gym_gui_bridge.store.quarantine.quarantined_line`).

    Every record is tested with the validation (unless ``decoded``: records a JSONL decoder
    returned passed it already); one of foreign values (numpy numbers) is converted first. The
    valid ones are written in one ``BEGIN IMMEDIATE`` transaction, or, if SQLite refuses it for
    a reason that is not transient, in halves until each refused record is alone. The quarantine
    entries are written last, in their own transaction.

    Raises:
        sqlite3.Error: a transient failure (:func:`is_transient`: locked, disk full, ...); the
            transaction in progress was rolled back. Writing the same batch again is safe.
    """
    valid: list[TelemetryEvent] = []
    refused: list[Quarantined] = []
    if decoded or storable_all(records):  # the whole batch at once: the common case
        valid, records = list(records), ()
    for record in records:
        if storable(record):
            valid.append(record)
            continue
        converted = normalised(record)
        if storable(converted):
            valid.append(converted)
            continue
        reason = problem(converted)
        if reason is None:  # the test and the checks disagree: SQLite decides
            valid.append(converted)
            continue
        refused.append(quarantined_record(record, reason.code, str(reason)))
    written = _write_isolating(conn, valid, fault_hook, refused) if valid else 0
    entries = (*refused, *lines)
    if entries:
        with _immediate(conn):
            write_quarantine(conn, entries)
    return BatchResult(written, len(refused), entries)
