"""The SQLite schema of the slow lane, its migrations, and how connections are opened.

Tables (all rowid tables: a follower may read new rows by ``rowid > last``):

- ``schema_version(version, applied_at)``: one row per applied migration.
- ``runs``: one row per run, the summary of its lifecycle records (``status`` is the status of
  the newest lifecycle record: ``started``, ``finished`` or ``failed``).
- ``run_events``: every lifecycle record as received (key: run, agent, seq).
- ``episodes``: one row per finished episode (key: run, slot, episode, agent).
- ``steps``: one row per recorded step (key: run, slot, episode, step, agent).
- ``scalars``: one row per ``add_scalar`` call (key: run, agent, slot, seq), indexed by tag.
- ``quarantine`` (version 2): lines and records the store refused, with their reason
  (:mod:`gym_gui_bridge.store.quarantine`), indexed by run.

Every primary key is the identity of a record, and every insert is ``INSERT OR IGNORE``: a
record delivered twice is stored once. The record tables' columns are their record types' fields
(:mod:`gym_gui_bridge.store.columns`); the statements below are written out because a migration
is never edited, and a test checks that they match the record types. Column by column:
``docs/records.md``.

>>> conn = open_writer(":memory:")
>>> schema_version(conn) == LATEST_VERSION
True
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from gym_gui_bridge.config.store import SinkConfig
from gym_gui_bridge.errors import StoreError

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "apply_schema",
    "open_reader",
    "open_writer",
    "schema_version",
]

_V1 = (
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        started_at REAL,
        finished_at REAL,
        argv TEXT,
        version TEXT,
        pid INTEGER,
        error TEXT,
        exit_code INTEGER,
        agent_id TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE run_events (
        run_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        wall_time REAL NOT NULL,
        argv TEXT NOT NULL,
        version TEXT NOT NULL,
        pid INTEGER NOT NULL,
        error TEXT,
        exit_code INTEGER,
        PRIMARY KEY (run_id, agent_id, seq)
    )""",
    """CREATE TABLE episodes (
        run_id TEXT NOT NULL,
        slot INTEGER NOT NULL,
        episode INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ep_return REAL,
        length INTEGER NOT NULL,
        terminated INTEGER NOT NULL,
        truncated INTEGER NOT NULL,
        global_step INTEGER NOT NULL,
        duration REAL NOT NULL,
        wall_time REAL NOT NULL,
        PRIMARY KEY (run_id, slot, episode, agent_id)
    )""",
    """CREATE TABLE steps (
        run_id TEXT NOT NULL,
        slot INTEGER NOT NULL,
        episode INTEGER NOT NULL,
        step INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        global_step INTEGER NOT NULL,
        action,
        reward REAL,
        terminated INTEGER NOT NULL,
        truncated INTEGER NOT NULL,
        frame_seq INTEGER,
        wall_time REAL NOT NULL,
        PRIMARY KEY (run_id, slot, episode, step, agent_id)
    )""",
    """CREATE TABLE scalars (
        run_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        slot INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        tag TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL,
        wall_time REAL NOT NULL,
        PRIMARY KEY (run_id, agent_id, slot, seq)
    )""",
    "CREATE INDEX scalars_by_tag ON scalars (run_id, tag, step)",
)

_V2 = (
    """CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        quarantined_at REAL NOT NULL,
        run_id TEXT,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        record TEXT NOT NULL,
        record_chars INTEGER NOT NULL
    )""",
    "CREATE INDEX quarantine_by_run ON quarantine (run_id, id)",
)

#: version -> statements that bring a database from version - 1 to it. Append, never edit.
MIGRATIONS: dict[int, tuple[str, ...]] = {1: _V1, 2: _V2}
LATEST_VERSION = max(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The newest migration applied to ``conn``'s database (0: none)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def apply_schema(conn: sqlite3.Connection) -> int:
    """Bring the database to :data:`LATEST_VERSION` in one write transaction; return it.

    Safe when several processes open a new file at once: the first takes the write lock and
    migrates, the others wait (busy timeout) and then find nothing to do.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        current = schema_version(conn)
        if current > LATEST_VERSION:
            raise StoreError(
                f"Expected schema version <= {LATEST_VERSION}, got {current}: "
                "the database was written by a newer cleanrl-fastlane"
            )
        for version in range(current + 1, LATEST_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return LATEST_VERSION


#: first and longest pause between two attempts to switch a busy database to WAL (seconds)
_WAL_RETRY_FIRST_S = 0.005
_WAL_RETRY_MAX_S = 0.2


def _enable_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """Switch to WAL. Must run outside a transaction (SQLite ignores it inside one).

    Changing the journal mode needs an exclusive lock and SQLite reports ``database is locked``
    at once, without its busy handler, when another connection holds the file: several
    workers opening a new database together do. So the switch is retried, for up to
    ``busy_timeout_s``; once any connection has switched, the mode is persistent in the file.
    """
    if conn.in_transaction:
        raise StoreError("Expected no open transaction when switching to WAL, got one")
    deadline = time.monotonic() + busy_timeout_s
    delay = _WAL_RETRY_FIRST_S
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() + delay > deadline:
                raise StoreError(
                    f"Expected to switch the database to WAL within {busy_timeout_s:g} s, "
                    f"got: {error}"
                ) from error
            time.sleep(delay)
            delay = min(delay * 2, _WAL_RETRY_MAX_S)
    if str(mode).lower() not in {"wal", "memory"}:
        raise StoreError(f"Expected journal_mode wal, got {mode!r}")


_SINK = SinkConfig()  # the defaults of the connection settings below


def open_writer(
    path: str | Path,
    busy_timeout_s: float = _SINK.busy_timeout_s,
    checkpoint_pages: int = _SINK.checkpoint_pages,
    wal_limit_bytes: int = _SINK.wal_limit_bytes,
) -> sqlite3.Connection:
    """The write connection of a sink: WAL, synchronous=NORMAL, bounded WAL, schema applied.

    The connection is in autocommit mode (``isolation_level=None``): the caller opens its own
    ``BEGIN IMMEDIATE`` transactions. ``check_same_thread`` is off because the sink opens the
    connection in ``start()`` and then uses it only from its own thread.
    """
    if str(path) != ":memory:":
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"Expected a writable folder for {path}, got {error}") from error
    try:
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise _unusable(path, error) from error
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _enable_wal(conn, busy_timeout_s)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA journal_size_limit = {int(wal_limit_bytes)}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
        apply_schema(conn)
    except sqlite3.Error as error:
        conn.close()
        raise _unusable(path, error) from error
    except BaseException:
        conn.close()
        raise
    return conn


def _unusable(path: str | Path, error: sqlite3.Error) -> StoreError:
    """The error of a database that cannot be opened for writing, with what to do about it."""
    text = str(error)
    if "not a database" in text or "malformed" in text:
        fix = "it is not an SQLite database: move it away or choose another file"
    elif "readonly" in text or "unable to open" in text:
        fix = "check that the file and its folder exist and are writable by this user"
    else:
        fix = "check the file, or choose another one"
    return StoreError(f"Expected a writable SQLite database at {path}, got '{text}': {fix}")


def open_reader(
    path: str | Path, busy_timeout_s: float = _SINK.busy_timeout_s
) -> sqlite3.Connection:
    """A read-only connection. In WAL mode readers never block the writer (nor it them).

    Raises:
        StoreError: no file at ``path``, or it is not a cleanrl-fastlane database.
    """
    file = Path(path)
    try:
        found = file.is_file()
    except OSError as error:  # a folder on the way this user may not enter
        raise StoreError(f"Expected a readable database file at {file}, got {error}") from None
    if not found:
        raise StoreError(f"Expected a database file at {file}, found none")
    uri = f"file:{quote(str(file.resolve()))}?mode=ro"
    conn = None
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        version = schema_version(conn)
    except sqlite3.Error as error:
        if conn is not None:
            conn.close()
        raise StoreError(
            f"Expected a readable SQLite database at {file}, got '{error}': choose another file"
        ) from error
    if version == 0:
        conn.close()
        raise StoreError(f"Expected a cleanrl-fastlane database at {file}, found no schema")
    if version > LATEST_VERSION:
        conn.close()
        raise StoreError(f"Expected schema version <= {LATEST_VERSION} at {file}, got {version}")
    return conn
