"""TelemetryDBSink on real SQLite files: idempotent storage, surviving failing batches
(an injected fault and a real lock held by another connection), bounded WAL, flush barrier."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from record_factory import episode, run, scalar, step
from waits import wait_until

from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.config.store import SinkConfig
from gym_gui_bridge.store.sink import TelemetryDBSink

TIMEOUT_S = 60.0  # bound on waits so a broken sink fails the test instead of hanging it


def _run_id() -> str:
    return f"sink-{uuid.uuid4().hex[:8]}"


def _records(run_id: str, n: int) -> list[object]:
    """A run's lifecycle around ``n`` steps (an episode every 10) and ``n`` scalars."""
    records: list[object] = [run(run_id=run_id, argv=("x",))]
    for i in range(n):
        records.append(step(run_id=run_id, seq=i, episode=i // 10, step=i % 10, global_step=i))
        if i % 10 == 9:
            records.append(episode(run_id=run_id, seq=i // 10, episode=i // 10, global_step=i))
        records.append(scalar(run_id=run_id, seq=i, value=float(i), step=i))
    records.append(run(run_id=run_id, seq=1, wall_time=2.0, status="finished", argv=("x",)))
    return records


def _counts(path: Path, run_id: str) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            for table in ("steps", "episodes", "scalars", "run_events", "runs")
        }
    finally:
        conn.close()


def _expected(n: int) -> dict[str, int]:
    return {"steps": n, "episodes": n // 10, "scalars": n, "run_events": 2, "runs": 1}


def test_records_delivered_twice_are_stored_once(tmp_path: Path) -> None:
    path, run_id = tmp_path / "idem.sqlite", _run_id()
    records = _records(run_id, 300)
    bus = RunBus()
    sink = TelemetryDBSink(bus, path)
    sink.start()
    bus.publish_many(records)  # type: ignore[arg-type]
    bus.publish_many(records[100:])  # type: ignore[arg-type]
    assert sink.stop(TIMEOUT_S)
    # a second sink (another process would do the same) delivers them all again
    bus2 = RunBus()
    sink2 = TelemetryDBSink(bus2, path)
    sink2.start()
    bus2.publish_many(reversed(records))  # type: ignore[arg-type]
    assert sink2.stop(TIMEOUT_S)
    assert _counts(path, run_id) == _expected(300)
    conn = sqlite3.connect(path)
    # the newest lifecycle record wins even when it arrived first
    assert conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone() == (
        "finished",
    )


def test_an_injected_failing_batch_is_retried_until_the_fault_clears(tmp_path: Path) -> None:
    path, run_id = tmp_path / "fault.sqlite", _run_id()
    failures_left = [4]

    def fault(batch: object) -> None:
        if failures_left[0] > 0:
            failures_left[0] -= 1
            raise sqlite3.OperationalError("database or disk is full (injected)")

    bus = RunBus()
    sink = TelemetryDBSink(bus, path, config=SinkConfig(batch_size=64), fault_hook=fault)
    sink.start()
    bus.publish_many(_records(run_id, 500))  # type: ignore[arg-type]
    assert sink.flush(TIMEOUT_S)
    assert sink.is_alive
    stats = sink.stats()
    assert stats.failed_batches == 4 and "disk is full" in (stats.last_error or "")
    assert sink.stop(TIMEOUT_S)
    assert _counts(path, run_id) == _expected(500)


def test_a_database_locked_by_another_connection_delays_but_loses_nothing(tmp_path: Path) -> None:
    path, run_id = tmp_path / "locked.sqlite", _run_id()
    bus = RunBus()
    sink = TelemetryDBSink(bus, path, config=SinkConfig(busy_timeout_s=0.02, batch_size=32))
    sink.start()
    bus.publish_many(_records(run_id, 50))  # type: ignore[arg-type]
    assert sink.flush(TIMEOUT_S)

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    bus.publish_many(_records(run_id + "-b", 200))  # type: ignore[arg-type]
    assert not sink.flush(timeout=0.5)  # cannot write while the lock is held ...
    wait_until(lambda: sink.stats().failed_batches >= 1, TIMEOUT_S, "a batch failing on the lock")
    assert sink.is_alive
    blocker.execute("ROLLBACK")
    blocker.close()
    assert sink.flush(TIMEOUT_S)  # ... and writes everything once it is released
    assert sink.stop(TIMEOUT_S)
    assert _counts(path, run_id) == _expected(50)
    assert _counts(path, run_id + "-b") == _expected(200)


def test_wal_stays_bounded_while_writing_many_batches(tmp_path: Path) -> None:
    path, run_id = tmp_path / "wal.sqlite", _run_id()
    checkpoint_pages = 64
    bus = RunBus()
    sink = TelemetryDBSink(
        bus, path, config=SinkConfig(batch_size=256, checkpoint_pages=checkpoint_pages)
    )
    sink.start()
    wal = Path(str(path) + "-wal")
    largest = 0
    for chunk in range(20):
        bus.publish_many(_records(f"{run_id}-{chunk}", 1000))  # type: ignore[arg-type]
        assert sink.flush(TIMEOUT_S)
        largest = max(largest, wal.stat().st_size)
    assert sink.stop(TIMEOUT_S)
    database_bytes = path.stat().st_size
    # one checkpoint interval plus one batch's pages, far below the data written
    assert largest <= (checkpoint_pages + 256) * 4096 + 65536
    assert largest < database_bytes / 2


def test_flush_is_a_barrier_and_stop_writes_the_half_full_batch(tmp_path: Path) -> None:
    path, run_id = tmp_path / "flush.sqlite", _run_id()
    bus = RunBus()
    sink = TelemetryDBSink(bus, path, config=SinkConfig(batch_size=10_000, flush_interval_s=30.0))
    sink.start()
    bus.publish(scalar(run_id=run_id, seq=0))
    assert sink.flush(TIMEOUT_S)  # does not wait for the 30 s batch interval
    assert _counts(path, run_id)["scalars"] == 1
    bus.publish(scalar(run_id=run_id, seq=1, step=1))
    assert sink.stop(TIMEOUT_S)
    assert _counts(path, run_id)["scalars"] == 2
    assert not sink.is_alive


def test_half_full_batches_are_written_after_the_flush_interval(tmp_path: Path) -> None:
    path, run_id = tmp_path / "interval.sqlite", _run_id()
    bus = RunBus()
    sink = TelemetryDBSink(bus, path, config=SinkConfig(batch_size=10_000, flush_interval_s=0.05))
    sink.start()
    bus.publish(scalar(run_id=run_id, seq=0))
    wait_until(lambda: sink.stats().written == 1, TIMEOUT_S, "the half-full batch written")
    assert sink.stop(TIMEOUT_S)


def test_a_readonly_reader_does_not_block_the_writer(tmp_path: Path) -> None:
    from gym_gui_bridge.store.schema import open_reader

    path, run_id = tmp_path / "reader.sqlite", _run_id()
    bus = RunBus()
    sink = TelemetryDBSink(bus, path)
    sink.start()
    bus.publish_many(_records(run_id, 10))  # type: ignore[arg-type]
    assert sink.flush(TIMEOUT_S)
    reader = open_reader(path)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 10
    bus.publish_many(_records(run_id + "-2", 10))  # type: ignore[arg-type]
    assert sink.flush(TIMEOUT_S)  # written while the reader's transaction is open
    reader.execute("COMMIT")
    assert reader.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 20
    with pytest.raises(sqlite3.OperationalError):
        reader.execute("DELETE FROM steps")
    reader.close()
    assert sink.stop(TIMEOUT_S)


def test_records_holding_numpy_numbers_are_stored_as_plain_numbers(tmp_path: Path) -> None:
    import numpy as np

    path, run_id = tmp_path / "numpy.sqlite", _run_id()
    bus = RunBus()
    sink = TelemetryDBSink(bus, path)
    sink.start()
    numpy_values = {"action": np.int64(1), "reward": np.float32(0.5), "terminated": np.bool_(True)}
    bus.publish(step(run_id=run_id, global_step=1, **numpy_values))
    bus.publish(step(run_id=run_id, seq=1, step=1, global_step=2, action=[0.25, 1.0]))
    assert sink.stop(TIMEOUT_S)
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT action, reward, terminated FROM steps WHERE run_id = ? ORDER BY step", (run_id,)
    ).fetchall()
    assert rows == [(1, 0.5, 1), ("[0.25, 1.0]", 1.0, 0)]
    assert sink.stats().invalid == 0
