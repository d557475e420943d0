"""The worker's spool under hostile conditions: every record is stored exactly once or counted.

Each case spoils one thing (a full disk, a file-size limit, a removed or read-only spool folder,
a spool root at its cap, a bridge that is away or breaks its ack promise, a close with no time
left) and checks the same promise: ``dropped`` equals the records that never reached the store,
every other record is stored exactly once, nothing busy-loops and nothing hangs (every wait is
bounded). A disk is made full with a small tmpfs mounted by the worker process in its own mount
namespace (``unshare -m``), a folder read-only for a worker running as another user
(``setpriv``); where the machine cannot do that, the case is skipped and says why.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grpc
import pytest
from bridge_helpers import free_port, start_bridge, stop_bridge
from waits import WAIT_S, wait_until
from worker_helpers import SUPPORT

from cleanrl_worker.emitter.emitter import BridgeEmitter
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.records import StepRecord
from gym_gui_bridge.protocol.spool import list_segments
from gym_gui_bridge.protocol.wire import SERVICE_NAME
from gym_gui_bridge.store.ingest import ingest_into_db

#: quick retries, so that a case spends its time on the fault, not on waiting
QUICK = {"reconnect_min_s": 0.05, "reconnect_max_s": 0.3, "flush_interval_s": 0.05}


# --- helpers -------------------------------------------------------------------------------------
def _can(command: list[str]) -> str:
    """'' if ``command`` runs here, else why not."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=WAIT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return "" if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def _need_tmpfs() -> None:
    why = _can(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
    if why:
        pytest.skip(f"a small tmpfs for a full disk needs unshare -m and mount (root): {why}")


def _need_other_user() -> None:
    if os.geteuid() != 0:
        pytest.skip("a read-only folder needs a second user (setpriv as root); not root here")
    why = _can(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"])
    if why:
        pytest.skip(f"setpriv cannot run a process as uid 65534 here: {why}")


class Worker:
    """tests/support/spool_worker.py in a process (see there), driven one command at a time."""

    def __init__(self, log: Path, setup: dict[str, Any], prefix: tuple[str, ...] = ()) -> None:
        self.log = log
        with open(log, "ab") as stderr:
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, str(SUPPORT / "spool_worker.py"), json.dumps(setup)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.ready = self._reply()

    def _reply(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], WAIT_S)
        line = self.proc.stdout.readline() if readable else ""
        assert line, f"the worker did not answer; its log:\n{self.log.read_text()[-3000:]}"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def __call__(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def wait(self, condition: Any, what: str) -> dict[str, Any]:
        """The worker's stats once ``condition(stats)`` holds."""

        def check() -> dict[str, Any] | None:
            stats = self("stats")
            return stats if condition(stats) else None

        found: dict[str, Any] = wait_until(check, what=what)
        return found

    def end(self) -> str:
        """Wait for the process to exit; its log."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(WAIT_S)
            raise AssertionError("the worker did not exit after close") from None
        return self.log.read_text()


def stored_seqs(db: Path, run_id: str) -> list[int]:
    """Seqs of the run's stored steps (one row per record: the store keeps a record once)."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT seq FROM steps WHERE run_id = ?", (run_id,)).fetchall()
    return [seq for (seq,) in rows]


def assert_counted(stats: dict[str, Any], seqs: list[int]) -> None:
    """The promise: what is not stored is exactly what was counted, the rest stored once."""
    assert len(seqs) == len(set(seqs)), "a record stored twice"
    assert stats["put"] - stats["dropped"] == len(seqs), (stats, len(seqs))
    assert set(seqs) <= set(range(stats["put"]))


def _run_id(tag: str) -> str:
    return f"{tag}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _step(run_id: str, i: int) -> StepRecord:
    return StepRecord(run_id, 0, "default", i, 1.0, i // 10, i % 10, i, i % 2, 1.0, False, False)


# --- a full disk --------------------------------------------------------------------------------
@pytest.mark.slow
def test_disk_full_with_the_bridge_up_loses_nothing(tmp_path: Path) -> None:
    """The spool's disk fills up mid-run: records wait in memory, acknowledged segments are
    deleted, the space comes back, and every record is stored once; nothing is dropped."""
    _need_tmpfs()
    run_id, port, db = _run_id("full"), free_port(), tmp_path / "b.sqlite"
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    root = tmp_path / "mnt"
    setup = {
        "address": f"127.0.0.1:{port}",
        "run_id": run_id,
        "spool_root": str(root),
        "tmpfs": 1024 * 1024,
        "emitter": {**QUICK, "segment_bytes": 32 * 1024, "queue_size": 100_000},
    }
    worker = Worker(tmp_path / "worker.log", setup, ("unshare", "-m"))
    try:
        worker("fill", path=str(root / "filler"), leave=256 * 1024)  # 256 KiB left for 1.7 MB
        worker("put", n=8000)
        flushed = worker("flush", timeout=WAIT_S)
        closed = worker("close", timeout=WAIT_S)
    finally:
        worker.end()
        assert stop_bridge(bridge) == 0
    assert flushed["ok"] and closed["ok"]
    assert closed["write_failures"] > 0, "the disk never filled: the case tested nothing"
    assert closed["batches"] <= 100, "8000 records in a few dozen batches, not a busy loop"
    assert closed["dropped"] == 0 and closed["rejected"] == 0
    assert_counted(closed, stored_seqs(db, run_id))


@pytest.mark.slow
def test_disk_full_until_close_flush_returns_and_close_counts_the_rest(tmp_path: Path) -> None:
    """The disk stays full: the records put meanwhile wait in memory; flush returns False within
    its timeout naming the cause; close counts each of them as dropped; the records the spool
    held before are stored once (here through the spool the worker leaves)."""
    _need_tmpfs()
    run_id, root = _run_id("fullclose"), tmp_path / "mnt"
    setup = {
        "address": f"127.0.0.1:{free_port()}",  # no bridge: the spool keeps everything
        "run_id": run_id,
        "spool_root": str(root),
        "tmpfs": 512 * 1024,
        "emitter": {**QUICK, "segment_bytes": 64 * 1024},
    }
    worker = Worker(tmp_path / "worker.log", setup, ("unshare", "-m"))
    try:
        worker("put", n=1000)
        worker.wait(lambda s: s["spooled"] == 1000, "the first 1000 records spooled")
        worker("fill", path=str(root / "filler"), leave=0)
        worker("put", n=1000)
        worker.wait(
            lambda s: s["held"] > 0 and "No space left on device" in s["problem"],
            "the spool blocked by the full disk",
        )
        idle = worker("idle", seconds=1.0)
        flushed = worker("flush", timeout=0.5)
        closed = worker("close", timeout=1.0)
        worker("copy", dest=str(tmp_path / "left"))
    finally:
        log = worker.end()
    assert idle["cpu_share"] < 0.2, f"retrying a full disk in a busy loop: {idle}"
    assert not flushed["ok"] and flushed["elapsed"] < WAIT_S / 4
    assert "No space left on device" in flushed["problem"]
    assert "LOG_EMITTER_FLUSH_TIMEOUT" in log and "LOG_EMITTER_RECORDS_DROPPED" in log
    assert not closed["ok"] and closed["elapsed"] < WAIT_S / 4
    assert closed["dropped"] == 1000 and closed["spooled"] == 1000 and closed["held"] == 0
    db = tmp_path / "ingested.sqlite"
    ingest_into_db(tmp_path / "left", db)
    seqs = stored_seqs(db, run_id)
    assert sorted(seqs) == list(range(1000))
    assert_counted(closed, seqs)


@pytest.mark.slow
def test_short_writes_at_a_file_size_limit_lose_nothing(tmp_path: Path) -> None:
    """Every segment hits RLIMIT_FSIZE (a short write, then EFBIG): the whole lines written stay,
    the torn one is cut off and sent again in the next segment; no torn line reaches the bridge."""
    run_id, port, db = _run_id("fsize"), free_port(), tmp_path / "b.sqlite"
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    limit = 40_000
    setup = {
        "address": f"127.0.0.1:{port}",
        "run_id": run_id,
        "spool_root": str(tmp_path / "spool"),
        "fsize": limit,
        "emitter": {**QUICK, "segment_bytes": 1024 * 1024},
    }
    worker = Worker(tmp_path / "worker.log", setup)
    try:
        worker("put", n=5000)
        flushed = worker("flush", timeout=WAIT_S)
        sizes = [p.stat().st_size for _, p in list_segments(Path(worker.ready["spool_dir"]))]
        closed = worker("close", timeout=WAIT_S)
    finally:
        worker.end()
        assert stop_bridge(bridge) == 0
    assert flushed["ok"] and closed["ok"]
    assert all(size <= limit for size in sizes)
    assert closed["write_failures"] > 0, "no write fell short: the case tested nothing"
    assert closed["dropped"] == 0 and closed["rejected"] == 0
    assert sorted(stored_seqs(db, run_id)) == list(range(5000))


# --- the spool folder spoiled ------------------------------------------------------------------
@pytest.mark.slow
def test_spool_folder_removed_while_running_counts_exactly_what_was_in_it(tmp_path: Path) -> None:
    """``rm -rf`` of a live spool: the records only it held are counted as dropped, the folder is
    made again and every later record is stored once."""
    run_id, port, db = _run_id("rmdir"), free_port(), tmp_path / "b.sqlite"
    config = EmitterConfig(**QUICK)
    emitter = BridgeEmitter(
        f"127.0.0.1:{port}", run_id, spool_root=tmp_path / "spool", name="rm", config=config
    )
    emitter.start()
    for i in range(500):
        emitter.put(_step(run_id, i))
    wait_until(lambda: emitter.stats().spooled == 500, what="500 records spooled")
    shutil.rmtree(emitter.spool_dir)
    for i in range(500, 1000):
        emitter.put(_step(run_id, i))
    wait_until(lambda: emitter.stats().spooled == 1000, what="the next 500 spooled")
    assert list_segments(emitter.spool_dir), "the spool folder was not made again"
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    try:
        assert emitter.flush(WAIT_S)
        assert emitter.close(WAIT_S)
    finally:
        assert stop_bridge(bridge) == 0
    stats = emitter.stats()
    assert stats.dropped == 500 and stats.accepted == 500
    seqs = stored_seqs(db, run_id)
    assert sorted(seqs) == list(range(500, 1000))
    assert_counted(asdict(stats), seqs)


@pytest.mark.slow
def test_spool_folder_read_only_holds_records_then_counts_them_at_close(tmp_path: Path) -> None:
    """A worker (another user) whose spool folder turns read-only: no new segment can be made,
    records wait in memory; writable again, they are all stored; read-only again until close,
    the records put meanwhile are counted as dropped and the others stored once."""
    _need_other_user()
    run_id, port, db = _run_id("ro"), free_port(), tmp_path / "b.sqlite"
    bridge = start_bridge(db, port, tmp_path / "bridge-spool")
    root = Path(tempfile.mkdtemp(prefix="hostile-spool-"))  # tmp_path is root's alone
    os.chown(root, 65534, 65534)
    setup = {
        "address": f"127.0.0.1:{port}",
        "run_id": run_id,
        "spool_root": str(root),
        "emitter": {**QUICK, "segment_bytes": 8 * 1024},
    }
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    try:
        worker = Worker(tmp_path / "worker.log", setup, nobody)
        folder = worker.ready["spool_dir"]
        try:
            worker("put", n=200)
            assert worker("flush", timeout=WAIT_S)[
                "ok"
            ]  # segment 1 is full: the next write rotates
            worker("chmod", path=folder, mode=0o555)
            worker("put", n=2000)
            blocked = worker.wait(
                lambda s: s["held"] > 0 and "Permission denied" in s["problem"],
                "records held by a read-only spool",
            )
            worker("chmod", path=folder, mode=0o755)
            assert worker("flush", timeout=WAIT_S)["ok"]
            worker("chmod", path=folder, mode=0o555)
            worker("put", n=2000)
            worker.wait(
                lambda s: s["held"] > 0 and "Permission denied" in s["problem"],
                "records held again",
            )
            closed = worker("close", timeout=1.0)
        finally:
            worker.end()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        assert stop_bridge(bridge) == 0
    assert blocked["put"] == 2200
    assert closed["dropped"] == 2000 and closed["rejected"] == 0
    seqs = stored_seqs(db, run_id)
    assert sorted(seqs) == list(range(2200))
    assert_counted(closed, seqs)


# --- one cap for the whole spool root ----------------------------------------------------------
def _segment_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.glob("*/seg-*.jsonl"))


@pytest.mark.slow
def test_one_cap_for_the_spool_root_across_two_processes(tmp_path: Path) -> None:
    """Two workers (two runs) share a spool root with no bridge: together they stay within
    EMITTER_SPOOL_MAX_BYTES; past it their records wait in memory and are counted at close; a
    bridge started later ingests both spools, storing every record not counted, once."""
    root, cap, segment = tmp_path / "spool", 256 * 1024, 16 * 1024
    address = f"127.0.0.1:{free_port()}"
    config = {**QUICK, "segment_bytes": segment, "spool_max_bytes": cap, "queue_size": 100_000}
    runs = [_run_id("capa"), _run_id("capb")]
    setups = [
        {"address": address, "run_id": r, "spool_root": str(root), "emitter": config} for r in runs
    ]
    at_cap = lambda s: s["held"] > 0 and "EMITTER_SPOOL_MAX_BYTES" in s["problem"]  # noqa: E731
    workers = []
    try:
        workers = [Worker(tmp_path / f"worker{n}.log", setup) for n, setup in enumerate(setups)]
        first, second = workers
        first("put", n=500)  # ~110 KB: under the cap
        first.wait(lambda s: s["spooled"] == 500, "the first run's 500 records spooled")
        second("put", n=3000)  # ~660 KB: the second run fills the rest of the cap
        second.wait(at_cap, "the second run held at the root's cap")
        assert _segment_bytes(root) <= cap
        first("put", n=2500)  # the first run finds the root full
        first.wait(at_cap, "the first run held at the root's cap")
        assert _segment_bytes(root) <= cap
        closed = [w("close", timeout=0.3) for w in workers]
    finally:
        for worker in workers:
            worker.end()
    db, port = tmp_path / "b.sqlite", free_port()
    bridge = start_bridge(db, port, root)  # ingests the orphaned spools at start-up
    assert stop_bridge(bridge) == 0
    assert closed[0]["spooled"] >= 500 and closed[1]["spooled"] > 0
    for run_id, stats in zip(runs, closed, strict=True):
        assert stats["dropped"] == 3000 - stats["spooled"] > 0
        assert_counted(stats, stored_seqs(db, run_id))


# --- the bridge away, or breaking its promise --------------------------------------------------
@pytest.mark.slow
def test_bridge_down_then_up_nothing_lost_and_no_busy_loop(tmp_path: Path) -> None:
    """No bridge for a while: the worker spools, sends nothing, uses next to no CPU while it
    waits; the bridge comes up: everything is stored once."""
    run_id, port, db = _run_id("down"), free_port(), tmp_path / "b.sqlite"
    setup = {
        "address": f"127.0.0.1:{port}",
        "run_id": run_id,
        "spool_root": str(tmp_path / "spool"),
        "emitter": {"reconnect_max_s": 0.5},
    }
    worker = Worker(tmp_path / "worker.log", setup)
    try:
        worker("put", n=3000)
        before = worker.wait(lambda s: s["spooled"] == 3000, "every record spooled")
        worker.wait(lambda s: "unreachable" in s["problem"], "a failed connection attempt")
        idle = worker("idle", seconds=2.0)  # a busy loop would take ~1 CPU second per second
        bridge = start_bridge(db, port, tmp_path / "bridge-spool")
        try:
            flushed = worker("flush", timeout=WAIT_S)
            closed = worker("close", timeout=WAIT_S)
        finally:
            assert stop_bridge(bridge) == 0
    finally:
        log = worker.end()
    assert before["batches"] == 0 and idle["batches"] == 0, "batches sent with no bridge"
    assert idle["cpu_share"] < 0.2, idle
    assert flushed["ok"] and closed["ok"] and closed["dropped"] == 0
    assert closed["batches"] <= 3000 / EmitterConfig().batch_size + 2
    assert sorted(stored_seqs(db, run_id)) == list(range(3000))
    assert "Traceback" not in log


class FaultyBridge:
    """A PublishRecords peer on 127.0.0.1 that breaks its ack promise on its first ``faults``
    streams (``mode``), then acknowledges every batch. It keeps each record it receives (as a
    bridge that committed and then failed to acknowledge would)."""

    def __init__(self, mode: str, faults: int, port: int = 0) -> None:
        self.mode, self.faults = mode, faults
        self.lock = threading.Lock()
        self.received: Counter[int] = Counter()  # seq -> times received
        self.batches = 0
        self.empty_batches = 0
        self.streams = 0
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.stream_stream_rpc_method_handler(
            self._publish,
            request_deserializer=pb.RecordBatch.FromString,
            response_serializer=pb.BatchAck.SerializeToString,
        )
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE_NAME, {"PublishRecords": handler}),)
        )
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.server.start()

    def _keep(self, batch: pb.RecordBatch) -> int:
        lines = [line for line in batch.jsonl.split(b"\n") if line]
        with self.lock:
            self.batches += 1
            self.empty_batches += not lines
            for line in lines:
                self.received[json.loads(line)["seq"]] += 1
        return len(lines)

    def _publish(
        self, requests: Iterator[pb.RecordBatch], context: grpc.ServicerContext
    ) -> Iterator[pb.BatchAck]:
        with self.lock:
            self.streams += 1
            faulty = self.streams <= self.faults
        for number, batch in enumerate(requests):
            lines = self._keep(batch)
            ok = pb.BatchAck(batch_id=batch.batch_id, accepted=lines)
            if not faulty or (number == 0 and self.mode == "end-without-acks"):
                yield ok
            elif self.mode == "end-without-acks":
                return  # status OK, this batch and those after it never acknowledged
            elif self.mode == "short-ack":
                yield pb.BatchAck(batch_id=batch.batch_id, accepted=lines - 1)
            elif self.mode == "dropped-ack":
                yield pb.BatchAck(batch_id=batch.batch_id, dropped=lines)
            elif self.mode == "wrong-batch":
                yield pb.BatchAck(batch_id=batch.batch_id + 1000, accepted=lines)
            elif self.mode == "abort":
                context.abort(grpc.StatusCode.UNAVAILABLE, "going away")

    def stop(self) -> None:
        self.server.stop(grace=None)


@pytest.mark.parametrize(
    ("mode", "log_id"),
    [
        ("end-without-acks", "LOG_EMITTER_ACKS_MISSING"),
        ("short-ack", "LOG_EMITTER_ACKS_MISSING"),
        ("dropped-ack", "LOG_EMITTER_ACKS_MISSING"),
        ("wrong-batch", "LOG_EMITTER_ACKS_MISSING"),
        ("abort", "LOG_EMITTER_BRIDGE_UNREACHABLE"),
    ],
)
def test_a_stream_that_breaks_its_ack_promise_is_sent_again(
    tmp_path: Path, mode: str, log_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Only an ack that accounts for every line of its batch settles it. A stream ended with
    batches unacknowledged, an ack short of lines or with ``dropped``, an ack for another batch
    and an aborted stream are faults: what they left unsettled is sent again (the store keeps
    one copy), nothing is dropped, and the faults do not start a busy loop."""
    bridge = FaultyBridge(mode, faults=3)
    run_id, n, batch = _run_id(mode), 1000, 50
    config = EmitterConfig(**QUICK, batch_size=batch, max_in_flight=4)
    emitter = BridgeEmitter(
        f"127.0.0.1:{bridge.port}", run_id, spool_root=tmp_path, name="acks", config=config
    )
    emitter.start()
    try:
        for i in range(n):
            emitter.put(_step(run_id, i))
        assert emitter.flush(WAIT_S)
        assert emitter.close(WAIT_S)
    finally:
        bridge.stop()
    stats = emitter.stats()
    assert set(bridge.received) == set(range(n))
    assert stats.accepted == n and stats.dropped == 0 and stats.pending == 0
    assert bridge.empty_batches == 0
    assert bridge.streams == 4  # three faulty streams, then one that carried the rest
    assert bridge.batches <= 100  # 20 batches of 50, some sent again; a busy loop sends 1000s
    assert log_id in caplog.text
    assert not emitter.spool_dir.exists()


def test_a_spool_segment_cut_short_or_removed_counts_the_lines_it_lost(tmp_path: Path) -> None:
    """Segments spoiled before they were sent (one cut mid-line, one removed): exactly their
    unsent lines are counted as dropped; every other record is sent once; no empty batch."""
    port = free_port()
    run_id, n = _run_id("cut"), 2000
    config = EmitterConfig(**QUICK, segment_bytes=32 * 1024)
    emitter = BridgeEmitter(
        f"127.0.0.1:{port}", run_id, spool_root=tmp_path, name="cut", config=config
    )
    emitter.start()
    for i in range(n):  # in rounds: each round's chunk lands in a segment of its own
        emitter.put(_step(run_id, i))
        if i % 400 == 399:
            wait_until(lambda i=i: emitter.stats().spooled == i + 1, what="a round spooled")
    segments = [path for _, path in list_segments(emitter.spool_dir)]
    assert len(segments) >= 3
    cut, removed = segments[0], segments[1]
    data = cut.read_bytes()
    keep = len(data) // 2 + 7  # mid-line
    lost = data.count(b"\n") - data[:keep].count(b"\n") + removed.read_bytes().count(b"\n")
    cut.write_bytes(data[:keep])
    removed.unlink()
    bridge = FaultyBridge("none", faults=0, port=port)
    try:
        assert emitter.flush(WAIT_S)
        assert emitter.close(WAIT_S)
    finally:
        bridge.stop()
    stats = emitter.stats()
    assert stats.dropped == lost and stats.accepted == n - lost
    assert sum(bridge.received.values()) == n - lost and bridge.empty_batches == 0


def test_close_with_no_time_left_spools_or_counts_every_record(tmp_path: Path) -> None:
    """close(0) right after a burst: each record put is either in the spool (and stored once when
    the spool is ingested) or counted as dropped; close returns at once; later puts count too."""
    run_id, n = _run_id("close0"), 60_000
    config = EmitterConfig(queue_size=100_000)
    emitter = BridgeEmitter(
        f"127.0.0.1:{free_port()}", run_id, spool_root=tmp_path / "spool", config=config
    )
    emitter.start()
    for i in range(n):
        emitter.put(_step(run_id, i))
    assert not emitter.close(0.0)
    emitter.put(_step(run_id, n))
    stats = emitter.stats()
    assert stats.put == n + 1 and stats.spooled + stats.dropped == stats.put
    db = tmp_path / "ingested.sqlite"
    ingest_into_db(emitter.spool_dir, db)
    assert_counted(asdict(stats), stored_seqs(db, run_id))
