"""Read-only queries over the store, shared by the inspection CLI and (later) gRPC replay.

Every function takes a connection from :func:`~gym_gui_bridge.store.schema.open_reader` and
returns plain dicts (JSON-able) or records. Readers never block the sink: WAL mode.

>>> from gym_gui_bridge.store.schema import open_writer
>>> from gym_gui_bridge.store.writes import write_batch
>>> from gym_gui_bridge.protocol.records import EpisodeRollup
>>> conn = open_writer(":memory:")
>>> _ = write_batch(conn, [EpisodeRollup("r", 1, "default", 0, 9.0, 0, 5.0, 5, True, False, 10, 0.5)])
>>> [(e["slot"], e["episode"], e["return"], e["length"]) for e in list_episodes(conn, "r")]
[(1, 0, 5.0, 5)]
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
from gym_gui_bridge.protocol.records import (
    RUN_LEVEL_SLOT,
    EpisodeRollup,
    RunRecord,
    ScalarRecord,
    StepRecord,
    TelemetryEvent,
)

__all__ = [
    "iter_records",
    "list_episodes",
    "list_runs",
    "list_scalars",
    "list_steps",
    "require_run",
    "run_exists",
]

_RECORD_TABLES = ("episodes", "steps", "scalars")


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


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


def list_episodes(
    conn: sqlite3.Connection, run_id: str, slot: int | None = None
) -> list[dict[str, Any]]:
    """Episodes of a run ordered by slot then episode; ``return`` is the episode's return."""
    params: list[object]
    where, params = "run_id = ?", [run_id]
    if slot is not None:
        where, params = where + " AND slot = ?", [run_id, slot]
    rows = _rows(
        conn,
        'SELECT slot, episode, ep_return AS "return", length, terminated, truncated, '
        f"global_step, duration, wall_time, agent_id, seq FROM episodes WHERE {where} "
        "ORDER BY slot, episode, agent_id",
        tuple(params),
    )
    for row in rows:
        row["terminated"], row["truncated"] = bool(row["terminated"]), bool(row["truncated"])
    return rows


def list_steps(
    conn: sqlite3.Connection,
    run_id: str,
    episode: int | None = None,
    slot: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Steps of a run ordered by slot, episode, step; optionally one episode and/or slot."""
    where, params = ["run_id = ?"], [run_id]
    params_: list[object] = list(params)
    if slot is not None:
        where.append("slot = ?")
        params_.append(slot)
    if episode is not None:
        where.append("episode = ?")
        params_.append(episode)
    sql = (
        "SELECT slot, episode, step, global_step, action, reward, terminated, truncated, "
        f"frame_seq, wall_time, agent_id, seq FROM steps WHERE {' AND '.join(where)} "
        "ORDER BY slot, episode, step, agent_id"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = _rows(conn, sql, tuple(params_))
    for row in rows:
        row["terminated"], row["truncated"] = bool(row["terminated"]), bool(row["truncated"])
        if isinstance(row["action"], str):
            row["action"] = json.loads(row["action"])
    return rows


def list_scalars(
    conn: sqlite3.Connection, run_id: str, tag: str | None = None
) -> list[dict[str, Any]]:
    """Scalars of a run ordered by tag, step and arrival; optionally one tag."""
    where, params = "run_id = ?", [run_id]
    if tag is not None:
        where, params = where + " AND tag = ?", [run_id, tag]
    return _rows(
        conn,
        f"SELECT tag, value, step, wall_time, agent_id, slot, seq FROM scalars WHERE {where} "
        "ORDER BY tag, step, seq",
        tuple(params),
    )


def iter_records(conn: sqlite3.Connection, run_id: str, kind: str) -> Iterator[TelemetryEvent]:
    """The stored records of one kind (``run``, ``episode``, ``step``, ``scalar``) of a run,
    rebuilt as record objects (for export and replay), in stream order."""
    if kind == "run":
        for row in _rows(conn, "SELECT * FROM run_events WHERE run_id = ? ORDER BY seq", (run_id,)):
            yield RunRecord(
                row["run_id"], RUN_LEVEL_SLOT, row["agent_id"], row["seq"], row["wall_time"],
                row["status"], tuple(json.loads(row["argv"])), row["version"], row["pid"],
                row["error"], row["exit_code"],
            )  # fmt: skip
    elif kind == "episode":
        for e in list_episodes(conn, run_id):
            yield EpisodeRollup(
                run_id, e["slot"], e["agent_id"], e["seq"], e["wall_time"], e["episode"],
                e["return"], e["length"], e["terminated"], e["truncated"], e["global_step"],
                e["duration"],
            )  # fmt: skip
    elif kind == "step":
        for s in list_steps(conn, run_id):
            yield StepRecord(
                run_id, s["slot"], s["agent_id"], s["seq"], s["wall_time"], s["episode"],
                s["step"], s["global_step"], s["action"], s["reward"], s["terminated"],
                s["truncated"], s["frame_seq"],
            )  # fmt: skip
    elif kind == "scalar":
        for c in list_scalars(conn, run_id):
            yield ScalarRecord(
                run_id, c["slot"], c["agent_id"], c["seq"], c["wall_time"], c["tag"],
                c["value"], c["step"],
            )  # fmt: skip
    else:
        raise ValueError(f"Expected kind in run, episode, step, scalar; got {kind!r}")
