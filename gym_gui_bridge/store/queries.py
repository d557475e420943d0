"""Every query that reads the store, for the inspection CLI, run summaries, the bridge (ListRuns,
live replay) and the viewer's live panel: none of them holds SQL of its own. (Writes are in
:mod:`gym_gui_bridge.store.writes`, the schema in :mod:`gym_gui_bridge.store.schema`.)

Every function takes a connection from :func:`~gym_gui_bridge.store.schema.open_reader` and
returns plain dicts (JSON-able) or records, rebuilt by column name. Readers never block the
sink: WAL mode.

>>> from gym_gui_bridge.store.schema import open_writer
>>> from gym_gui_bridge.store.writes import write_batch
>>> from gym_gui_bridge.protocol.records import EpisodeRollup
>>> conn = open_writer(":memory:")
>>> episode = EpisodeRollup(
...     run_id="r", slot=1, agent_id="default", seq=0, wall_time=9.0, episode=0, ep_return=5.0,
...     length=5, terminated=True, truncated=False, global_step=10, duration=0.5,
... )
>>> _ = write_batch(conn, [episode])
>>> [(e["slot"], e["episode"], e["return"], e["length"]) for e in list_episodes(conn, "r")]
[(1, 0, 5.0, 5)]
>>> list(iter_records(conn, "r", "episode")) == [episode]
True
>>> require_run(conn, "nope")
Traceback (most recent call last):
gym_gui_bridge.errors.UnknownRunError: no run 'nope' in this database
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from gym_gui_bridge.errors import UnknownRunError
from gym_gui_bridge.protocol.fields import record_fields
from gym_gui_bridge.protocol.records import (
    KIND_EPISODE,
    KIND_RUN,
    KIND_SCALAR,
    KIND_STEP,
    RECORD_TYPES,
    TelemetryEvent,
)
from gym_gui_bridge.store.columns import TABLES, column_list, column_readers, read_records

__all__ = [
    "episode_points_after",
    "episode_stats_by_slot",
    "iter_records",
    "list_episodes",
    "list_quarantine",
    "list_runs",
    "list_scalars",
    "list_steps",
    "replay_page",
    "require_run",
    "run_exists",
    "run_status",
    "scalar_points_after",
    "scalar_stats_by_tag",
]

_RECORD_TABLES = ("episodes", "steps", "scalars")
#: The order records of each kind are read in: their streams' order.
_STREAM_ORDER = {
    KIND_RUN: "seq",
    KIND_EPISODE: "slot, episode, agent_id",
    KIND_STEP: "slot, episode, step, agent_id",
    KIND_SCALAR: "tag, step, seq",
}
#: The order of a live replay of one (run, agent): the tables' primary keys.
_REPLAY_KEY = {
    KIND_STEP: ("slot", "episode", "step"),
    KIND_EPISODE: ("slot", "episode"),
    KIND_SCALAR: ("slot", "seq"),
}
# fields every record type has (run_id, slot, agent_id, seq, wall_time)
_COMMON = frozenset.intersection(*(frozenset(t._fields) for t in RECORD_TYPES.values()))


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _listing(kind: str, lead: tuple[str, ...] = ()) -> str:
    """The columns a listing of ``kind`` shows: ``lead``, the record type's own fields, then
    its stream fields (not run_id: a listing is of one run). A field is listed under its JSONL
    key (``ep_return AS "return"``)."""
    fields = record_fields(RECORD_TYPES[kind])
    keys = {f.name: f.key for f in fields}
    own = [f.name for f in fields if f.name not in _COMMON]
    names = [*lead, *own, *(n for n in ("wall_time", "agent_id", "slot", "seq") if n not in lead)]
    return ", ".join(n if keys[n] == n else f'{n} AS "{keys[n]}"' for n in names)


def _list(conn: sqlite3.Connection, kind: str, sql: str, params: tuple[Any, ...]) -> list[dict]:
    rows = _rows(conn, sql, params)
    readers = column_readers(RECORD_TYPES[kind])
    for row in rows:
        for name, read in readers.items():
            if row.get(name) is not None:
                row[name] = read(row[name])
    return rows


def run_exists(conn: sqlite3.Connection, run_id: str) -> bool:
    """True if the store holds a lifecycle record or any data of ``run_id``."""
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
        return True
    return any(
        conn.execute(f"SELECT 1 FROM {table} WHERE run_id = ? LIMIT 1", (run_id,)).fetchone()
        for table in _RECORD_TABLES
    )


def require_run(conn: sqlite3.Connection, run_id: str) -> None:
    """Raise :class:`UnknownRunError` unless the store knows ``run_id``."""
    if not run_exists(conn, run_id):
        raise UnknownRunError(f"no run {run_id!r} in this database")


def run_status(conn: sqlite3.Connection, run_id: str) -> str | None:
    """The status of the run's newest lifecycle record, or None if it has none (yet)."""
    row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def list_runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every run, newest first, with its lifecycle and the number of episodes stored.

    Runs whose worker wrote episodes but no lifecycle record (yet) are listed with status
    ``unknown``.
    """
    runs = _rows(
        conn,
        "SELECT r.run_id, r.status, r.started_at, r.finished_at, r.pid, r.version, r.exit_code, "
        "r.error, r.argv, (SELECT COUNT(*) FROM episodes e WHERE e.run_id = r.run_id) AS episodes "
        "FROM runs r",
    )
    for run in runs:
        run["argv"] = json.loads(run["argv"]) if run["argv"] else []
    known = {run["run_id"] for run in runs}
    orphans = _rows(
        conn,
        "SELECT run_id, MIN(wall_time) AS started_at, COUNT(*) AS episodes "
        "FROM episodes GROUP BY run_id",
    )
    for row in orphans:
        if row["run_id"] not in known:
            runs.append({**row, "status": "unknown", "finished_at": None, "argv": []})
    runs.sort(key=lambda r: r.get("started_at") or 0.0, reverse=True)
    return runs


def _where(run_id: str, **equal: Any) -> tuple[str, tuple[Any, ...]]:
    """``run_id = ? AND name = ? ...`` for the given values that are not None."""
    given = {name: value for name, value in equal.items() if value is not None}
    where = " AND ".join(["run_id = ?", *(f"{name} = ?" for name in given)])
    return where, (run_id, *given.values())


def list_episodes(
    conn: sqlite3.Connection, run_id: str, slot: int | None = None
) -> list[dict[str, Any]]:
    """Episodes of a run ordered by slot then episode; ``return`` is the episode's return."""
    where, params = _where(run_id, slot=slot)
    sql = f"SELECT {_listing(KIND_EPISODE, ('slot',))} FROM episodes WHERE {where} "
    return _list(conn, KIND_EPISODE, sql + f"ORDER BY {_STREAM_ORDER[KIND_EPISODE]}", params)


def list_steps(
    conn: sqlite3.Connection,
    run_id: str,
    episode: int | None = None,
    slot: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Steps of a run ordered by slot, episode, step; optionally one episode and/or slot."""
    where, params = _where(run_id, slot=slot, episode=episode)
    sql = f"SELECT {_listing(KIND_STEP, ('slot',))} FROM steps WHERE {where} "
    sql += f"ORDER BY {_STREAM_ORDER[KIND_STEP]}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _list(conn, KIND_STEP, sql, params)


def list_scalars(
    conn: sqlite3.Connection, run_id: str, tag: str | None = None
) -> list[dict[str, Any]]:
    """Scalars of a run ordered by tag, step and arrival; optionally one tag."""
    where, params = _where(run_id, tag=tag)
    sql = f"SELECT {_listing(KIND_SCALAR)} FROM scalars WHERE {where} "
    return _list(conn, KIND_SCALAR, sql + f"ORDER BY {_STREAM_ORDER[KIND_SCALAR]}", params)


def list_quarantine(
    conn: sqlite3.Connection, run_id: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Quarantined lines and records (store/quarantine.py), oldest first; optionally of one
    run and only the newest ``limit``. Empty for a database older than the quarantine table."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'quarantine'"
    ).fetchone()
    if not found:
        return []
    where, params = ("WHERE run_id = ? ", (run_id,)) if run_id is not None else ("", ())
    sql = (
        "SELECT id, quarantined_at, run_id, source, reason, message, record, record_chars "
        f"FROM quarantine {where}ORDER BY id DESC"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _rows(conn, sql, params)[::-1]


def iter_records(conn: sqlite3.Connection, run_id: str, kind: str) -> Iterator[TelemetryEvent]:
    """The stored records of one kind (``run``, ``episode``, ``step``, ``scalar``) of a run,
    rebuilt as record objects (for export and replay), in stream order."""
    record_type = RECORD_TYPES.get(kind)
    if record_type is None:
        raise ValueError(f"Expected kind in run, episode, step, scalar; got {kind!r}")
    cursor = conn.execute(
        f"SELECT {column_list(record_type)} FROM {TABLES[record_type]} WHERE run_id = ? "
        f"ORDER BY {_STREAM_ORDER[kind]}",
        (run_id,),
    )
    yield from read_records(record_type, cursor)


def replay_page(
    conn: sqlite3.Connection,
    kind: str,
    run_id: str,
    agent_id: str,
    slot: int | None,
    after: TelemetryEvent | None,
    limit: int,
) -> list[TelemetryEvent]:
    """Up to ``limit`` stored step, episode or scalar records of one (run, agent), of one slot
    or all (None), in primary-key order (slot, episode[, step]; scalars slot, seq), from the one after the record
    ``after`` (None: from the first). A live subscriber replays a stream page by page."""
    key = _REPLAY_KEY[kind]
    record_type = RECORD_TYPES[kind]
    where, params = _where(run_id, agent_id=agent_id, slot=slot)
    if after is not None:
        where += f" AND ({', '.join(key)}) > ({', '.join('?' * len(key))})"
        params += tuple(getattr(after, name) for name in key)
    cursor = conn.execute(
        f"SELECT {column_list(record_type)} FROM {TABLES[record_type]} WHERE {where} "
        f"ORDER BY {', '.join(key)} LIMIT ?",
        (*params, limit),
    )
    return list(read_records(record_type, cursor))


def episode_points_after(
    conn: sqlite3.Connection, run_id: str, rowid: int, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` episodes of a run stored after row ``rowid``, in storage order: their
    ``rowid``, ``slot``, ``episode``, ``ep_return``, ``length`` and ``wall_time`` (a live
    panel's curve points; tailing by rowid reads each row once)."""
    return _rows(
        conn,
        "SELECT rowid, slot, episode, ep_return, length, wall_time FROM episodes "
        "WHERE rowid > ? AND run_id = ? ORDER BY rowid LIMIT ?",
        (rowid, run_id, limit),
    )


def scalar_points_after(
    conn: sqlite3.Connection, run_id: str, rowid: int, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` scalars of a run stored after row ``rowid``, in storage order: their
    ``rowid``, ``tag``, ``step``, ``value`` and ``wall_time``."""
    return _rows(
        conn,
        "SELECT rowid, tag, step, value, wall_time FROM scalars "
        "WHERE rowid > ? AND run_id = ? ORDER BY rowid LIMIT ?",
        (rowid, run_id, limit),
    )


def episode_stats_by_slot(
    conn: sqlite3.Connection, run_id: str, recent: int
) -> list[dict[str, Any]]:
    """Per slot of a run: ``episodes``, ``mean_return``, ``recent_return`` (mean of the last
    ``recent`` episodes), ``best_return``, ``mean_length`` and ``steps_recorded``."""
    totals = conn.execute(
        "SELECT slot, COUNT(*), AVG(ep_return), MAX(ep_return), AVG(length) FROM episodes "
        "WHERE run_id = ? GROUP BY slot ORDER BY slot",
        (run_id,),
    ).fetchall()
    steps = dict(
        conn.execute(
            "SELECT slot, COUNT(*) FROM steps WHERE run_id = ? GROUP BY slot", (run_id,)
        ).fetchall()
    )
    rows = []
    for slot, count, mean, best, mean_length in totals:
        (recent_return,) = conn.execute(
            "SELECT AVG(ep_return) FROM (SELECT ep_return FROM episodes WHERE run_id = ? "
            "AND slot = ? ORDER BY episode DESC LIMIT ?)",
            (run_id, slot, recent),
        ).fetchone()
        rows.append(
            {
                "slot": slot,
                "episodes": count,
                "mean_return": mean,
                "recent_return": recent_return,
                "best_return": best,
                "mean_length": mean_length,
                "steps_recorded": steps.get(slot, 0),
            }
        )
    return rows


def scalar_stats_by_tag(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """Each tag of a run with its number of ``points``, its ``last`` value (by step, then
    arrival) and ``last_step``."""
    return _rows(
        conn,
        "SELECT tag, COUNT(*) AS points, (SELECT s2.value FROM scalars s2 "
        "WHERE s2.run_id = s.run_id AND s2.tag = s.tag ORDER BY s2.step DESC, s2.seq DESC "
        "LIMIT 1) AS last, MAX(step) AS last_step FROM scalars s WHERE run_id = ? "
        "GROUP BY tag ORDER BY tag",
        (run_id,),
    )
