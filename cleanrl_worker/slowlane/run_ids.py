"""Is a run id new? Asked of the target database or bridge before a run writes anything.

A run id names one run: a second run under an id that already has a lifecycle record (its
``started``, ``finished`` or ``failed``) would mix its episodes, steps and scalars into the first
run's, and the summary would keep the first run's pid and duration. The start of a run asks its
destination first:

- :func:`stored_status`: the status of ``run_id`` in a SQLite file, without creating it or
  changing its content. The connection is read-write (``mode=rw``: never creates the file) so
  that closing it removes the ``-wal`` / ``-shm`` files as the writer's last close does (a
  read-only connection would leave them behind). A missing or empty file holds no run; a file
  that is not a SQLite database, or a path that cannot be opened for writing (the recorder
  could not write it either), raises :class:`StoreError`.
- :func:`ask_bridge`: the status of ``run_id`` on a running bridge (``ListRuns``) and the
  bridge's database path (``GetHealth``). A bridge that does not answer within ``timeout``
  cannot be asked: the run then spools as usual and the bridge stores it when it is back.

The check is not a lock: two processes starting the same new run id at the same moment both
pass it (a live run is also caught by its fast-lane ring, see ``cleanrl_worker.run_start``).
Records of a run id with no lifecycle record (a proxy's records, a partial ingest) do not count.

>>> stored_status("/nonexistent/folder/runs.sqlite", "ppo-1") is None
True
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from gym_gui_bridge.errors import StoreError
from gym_gui_bridge.protocol.records import RUN_FAILED, RUN_FINISHED, RUN_STARTED

__all__ = ["LIFECYCLE_STATUSES", "BridgeAnswer", "ask_bridge", "stored_status"]

#: The statuses that mean "a run used this id": it has a lifecycle record.
LIFECYCLE_STATUSES = frozenset({RUN_STARTED, RUN_FINISHED, RUN_FAILED})


class BridgeAnswer(NamedTuple):
    """What a bridge said about a run id: ``status`` (None: no run of that id has a lifecycle
    record there) and ``db_path``, the bridge's database (None: it did not say)."""

    status: str | None
    db_path: str | None


def stored_status(db_path: str | Path, run_id: str, busy_timeout_s: float = 5.0) -> str | None:
    """The lifecycle status of ``run_id`` stored at ``db_path``, or None if it has none there.

    Raises:
        StoreError: ``db_path`` is a folder, cannot be read, or is not a SQLite database.
    """
    file = Path(db_path)
    if not file.exists():
        return None
    if not file.is_file():
        raise StoreError(f"Expected a SQLite file at {file}, got a {_kind(file)}")
    try:
        conn = sqlite3.connect(
            f"file:{quote(str(file.resolve()))}?mode=rw", uri=True, timeout=busy_timeout_s
        )
    except sqlite3.Error as error:
        raise StoreError(f"Expected a writable SQLite file at {file}, got {error}") from error
    try:
        has_runs = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
        ).fetchone()
        if not has_runs:
            return None  # an empty file or another program's database: the writer decides
        row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    except sqlite3.Error as error:
        raise StoreError(f"Expected a SQLite database at {file}, got {error}") from error
    finally:
        conn.close()
    status = None if row is None else str(row[0])
    return status if status in LIFECYCLE_STATUSES else None


def ask_bridge(
    address: str, token: str | None, run_id: str, timeout: float, *, tls_ca: str | None = None
) -> BridgeAnswer:
    """Ask the bridge at ``address`` about ``run_id``; ``BridgeAnswer(None, None)`` if it does
    not answer within ``timeout`` seconds (down, unreachable, or refusing the token or the
    certificate authority ``tls_ca``)."""
    import grpc

    from cleanrl_worker.emitter.shipper import open_bridge_channel
    from gym_gui_bridge.proto import trainer_pb2 as pb
    from gym_gui_bridge.protocol.wire import SERVICE_NAME, auth_metadata

    metadata = auth_metadata(token)
    try:
        channel = open_bridge_channel(address, tls_ca)
    except OSError:
        return BridgeAnswer(None, None)  # the emitter says why, once it tries
    try:
        list_runs = channel.unary_unary(
            f"/{SERVICE_NAME}/ListRuns",
            request_serializer=pb.ListRunsRequest.SerializeToString,
            response_deserializer=pb.ListRunsResponse.FromString,
        )
        health = channel.unary_unary(
            f"/{SERVICE_NAME}/GetHealth",
            request_serializer=pb.HealthRequest.SerializeToString,
            response_deserializer=pb.Health.FromString,
        )
        try:
            runs = list_runs(pb.ListRunsRequest(), timeout=timeout, metadata=metadata).runs
        except grpc.RpcError:
            return BridgeAnswer(None, None)
        status = next((run.status for run in runs if run.run_id == run_id), None)
        try:
            db_path = health(pb.HealthRequest(), timeout=timeout, metadata=metadata).db_path
        except grpc.RpcError:
            db_path = ""
        return BridgeAnswer(status if status in LIFECYCLE_STATUSES else None, db_path or None)
    finally:
        channel.close()


def _kind(path: Path) -> str:
    return "folder" if path.is_dir() else "special file"
