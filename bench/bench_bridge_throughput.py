"""Bridge throughput: worker emitter -> gRPC -> RunBus -> SQLite, against its two ceilings.

Measured in one run, on this machine:

- **SQLite ceiling**: ``write_batch`` (executemany, WAL, synchronous=NORMAL) of step rows in
  batches of ``DB_SINK_BATCH_SIZE``, in this process: what the sink could do at best.
- **gRPC ceiling**: the same JSONL batches (``EMITTER_BATCH_SIZE`` lines) sent on one
  PublishRecords stream to a no-op servicer in another process that acknowledges without
  decoding: what the transport could do at best (best of three streams after a warm-up).
- **bridge alone**: a real ``gym-gui-bridge serve`` fed with batches of distinct step records
  encoded before the clock starts, by a client that only sends: the bridge's own capacity
  (decode -> RunBus -> SQLite -> ack), with the bridge process's CPU time per record.
- **end to end**: a worker process puts records into a :class:`BridgeEmitter` as fast as it can
  (disk spool, batches, acks after commit) to a real ``gym-gui-bridge serve`` process; the rate
  is records / (first put -> last acknowledgement), and the database is checked for zero loss.
  CPU time per record of both processes (``/proc/PID/stat``, ``os.times()``) says which side
  limits the rate.
- **memory**: with ``--long-records N`` the end-to-end run is repeated with N records while the
  bridge's RSS (/proc/PID/status VmRSS) is sampled every second.

usage: python bench/bench_bridge_throughput.py [--records 1000000] [--long-records 0]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from bench_helpers import cpu_seconds, free_port

from gym_gui_bridge.config import DB_SINK_BATCH_SIZE
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.records import StepRecord
from gym_gui_bridge.protocol.wire import PUBLISH_METHOD, SERVICE_NAME, channel_options
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import write_batch

WAIT_S = 600.0
EMITTER_BATCH_SIZE = EmitterConfig().batch_size
EMITTER_MAX_IN_FLIGHT = EmitterConfig().max_in_flight


def _step(run_id: str, i: int) -> StepRecord:
    return StepRecord(run_id, 0, "default", i, 1.7e9, i // 500, i % 500, i, 1, 1.0, False, False)


# --- SQLite ceiling ---------------------------------------------------------------------------
def sqlite_ceiling(records: int, tmp: Path) -> float:
    conn = open_writer(tmp / "ceiling.sqlite")
    rows = [_step("ceiling", i) for i in range(records)]
    start = time.perf_counter()
    for i in range(0, records, DB_SINK_BATCH_SIZE):
        write_batch(conn, rows[i : i + DB_SINK_BATCH_SIZE])
    elapsed = time.perf_counter() - start
    conn.close()
    return records / elapsed


# --- gRPC ceiling -----------------------------------------------------------------------------
def noop_server(port: int) -> None:
    """A PublishRecords servicer that acknowledges every batch without decoding it."""

    def publish(
        requests: Iterator[pb.RecordBatch], _context: grpc.ServicerContext
    ) -> Iterator[pb.BatchAck]:
        for batch in requests:
            yield pb.BatchAck(batch_id=batch.batch_id, accepted=batch.jsonl.count(b"\n"))

    handler = grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            "PublishRecords": grpc.stream_stream_rpc_method_handler(
                publish, pb.RecordBatch.FromString, pb.BatchAck.SerializeToString
            )
        },
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(4), handlers=[handler], options=channel_options()
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


def _send_prebuilt(address: str, payloads: list[bytes]) -> int:
    """Stream ``payloads`` (JSONL batches, encoded beforehand) on one PublishRecords stream
    with the emitter's in-flight window; the records acknowledged as accepted."""
    channel = grpc.insecure_channel(address, options=channel_options())
    grpc.channel_ready_future(channel).result(timeout=30)
    window = threading.Semaphore(EMITTER_MAX_IN_FLIGHT)

    def requests() -> Iterator[pb.RecordBatch]:
        for i, payload in enumerate(payloads):
            window.acquire()
            yield pb.RecordBatch(batch_id=i + 1, jsonl=payload)

    call = channel.stream_stream(
        PUBLISH_METHOD, pb.RecordBatch.SerializeToString, pb.BatchAck.FromString
    )
    acked = 0
    for ack in call(requests()):
        acked += ack.accepted
        window.release()
    channel.close()
    return acked


def grpc_ceiling(records: int, repeats: int = 3) -> float:
    """Best of ``repeats`` streams to one no-op servicer, after a warm-up stream (the first
    stream of a fresh channel pays connection and buffer set-up)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--noop-server", str(port)])
    try:
        line = encode_record(_step("grpc", 1)).encode() + b"\n"
        payloads = [line * EMITTER_BATCH_SIZE] * (records // EMITTER_BATCH_SIZE)
        _send_prebuilt(f"127.0.0.1:{port}", payloads[: max(1, len(payloads) // 10)])
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            acked = _send_prebuilt(f"127.0.0.1:{port}", payloads)
            elapsed = time.perf_counter() - start
            assert acked == len(payloads) * EMITTER_BATCH_SIZE
            best = max(best, acked / elapsed)
        return best
    finally:
        proc.kill()
        proc.wait()


def _start_bridge(tmp: Path, label: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port, db = free_port(), tmp / f"{label}.sqlite"
    bridge = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gym_gui_bridge.cli",
            "serve",
            "--db",
            str(db),
            "--listen",
            f"127.0.0.1:{port}",
            "--spool-dir",
            str(tmp / "none"),
            "--log-level",
            "WARNING",
        ],
        stderr=subprocess.DEVNULL,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    grpc.channel_ready_future(channel).result(timeout=60)
    channel.close()
    return bridge, f"127.0.0.1:{port}", db


def _stored(db: Path, run_id: str) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,)).fetchone()
    return int(row[0])


def bridge_alone(records: int, tmp: Path) -> tuple[float, float]:
    """(records/s, bridge CPU us per record) of a real bridge fed with batches of distinct
    records encoded beforehand: what the bridge can take when the worker side costs nothing."""
    bridge, address, db = _start_bridge(tmp, "alone")
    run_id = f"bench-alone-{os.getpid()}"
    try:
        payloads = [
            b"".join(
                encode_record(_step(run_id, i)).encode() + b"\n"
                for i in range(first, min(first + EMITTER_BATCH_SIZE, records))
            )
            for first in range(0, records, EMITTER_BATCH_SIZE)
        ]
        cpu_before, start = cpu_seconds(bridge.pid), time.perf_counter()
        acked = _send_prebuilt(address, payloads)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds(bridge.pid) - cpu_before
    finally:
        bridge.terminate()
        bridge.wait(WAIT_S)
    assert acked == records and _stored(db, run_id) == records, "records lost"
    return records / elapsed, cpu / records * 1e6


# --- end to end -------------------------------------------------------------------------------
_WORKER = r"""
import os, sys, time
from cleanrl_worker.emitter.emitter import BridgeEmitter
from gym_gui_bridge.protocol.records import StepRecord
run_id, address, spool, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
emitter = BridgeEmitter(address, run_id, spool_root=spool)
emitter.start()
start = time.perf_counter()
for i in range(n):
    if i % 1024 == 0:  # paced at what the pipeline sustains: measure it, do not overflow it
        while emitter.backlog() > 16384:
            time.sleep(0.001)
    emitter.put(StepRecord(run_id, 0, "default", i, 1.7e9, i // 500, i % 500, i, 1, 1.0, False, False))
put_s = time.perf_counter() - start
done = emitter.close(timeout=3600)
total_s = time.perf_counter() - start
s = emitter.stats()
cpu = os.times()
print(f"{put_s} {total_s} {done} {s.accepted} {s.dropped} {cpu.user + cpu.system}", flush=True)
"""


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class EndToEnd:
    rate: float  # records / (first put -> last acknowledgement)
    put_us: float  # emitter.put() per record on the worker's main thread
    bridge_cpu_us: float  # bridge process CPU per record
    worker_cpu_us: float  # worker process CPU per record (all its threads)
    samples: list[tuple[float, int]]  # (seconds, bridge VmRSS KiB)


def end_to_end(records: int, tmp: Path, label: str) -> EndToEnd:
    """One zero-loss run: worker emitter -> gRPC -> bridge -> SQLite."""
    bridge, address, db = _start_bridge(tmp, label)
    samples: list[tuple[float, int]] = []
    run_id = f"bench-{label}-{os.getpid()}"
    try:
        cpu_before = cpu_seconds(bridge.pid)
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER, run_id, address, str(tmp / "spool"), str(records)],
            stdout=subprocess.PIPE,
        )
        start = time.monotonic()
        while worker.poll() is None:
            samples.append((time.monotonic() - start, _rss_kb(bridge.pid)))
            time.sleep(1.0)
        bridge_cpu = cpu_seconds(bridge.pid) - cpu_before
        out, _ = worker.communicate(timeout=WAIT_S)
        put_s, total_s, done, accepted, dropped, worker_cpu = out.split()
        assert done == b"True" and int(accepted) == records and int(dropped) == 0, out
    finally:
        bridge.terminate()
        bridge.wait(WAIT_S)
    stored = _stored(db, run_id)
    assert stored == records, f"lost {records - stored} records"
    return EndToEnd(
        rate=records / float(total_s),
        put_us=float(put_s) / records * 1e6,
        bridge_cpu_us=bridge_cpu / records * 1e6,
        worker_cpu_us=float(worker_cpu) / records * 1e6,
        samples=samples,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--long-records", type=int, default=0)
    parser.add_argument("--noop-server", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_server:
        noop_server(args.noop_server)
        return
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sql = sqlite_ceiling(args.records, tmp)
        rpc = grpc_ceiling(args.records)
        alone, alone_cpu = bridge_alone(args.records, tmp)
        e2e = end_to_end(args.records, tmp, "e2e")
        print(f"records per run:                 {args.records:,}")
        print(f"SQLite ceiling (write_batch):    {sql:12,.0f} rec/s")
        print(f"gRPC ceiling (no-op servicer):   {rpc:12,.0f} rec/s")
        print(
            f"bridge alone (pre-encoded):      {alone:12,.0f} rec/s "
            f"(bridge CPU {alone_cpu:.1f} us/record)"
        )
        print(
            f"end to end, zero loss:           {e2e.rate:12,.0f} rec/s "
            f"({e2e.rate / sql:.2f} x SQLite, {e2e.rate / rpc:.2f} x gRPC)"
        )
        print(
            f"  CPU per record: bridge {e2e.bridge_cpu_us:.1f} us, worker {e2e.worker_cpu_us:.1f} us;"
            f" emitter.put() {e2e.put_us:.2f} us"
        )
        if args.long_records:
            long = end_to_end(args.long_records, tmp, "long")
            print(f"long run: {args.long_records:,} records at {long.rate:,.0f} rec/s, zero loss")
            print(
                "bridge RSS (MiB) every ~10 s: "
                + " ".join(f"{kb / 1024:.0f}" for _, kb in long.samples[::10])
            )
            kbs = [kb for _, kb in long.samples]
            if kbs:
                print(f"bridge RSS min/max: {min(kbs) / 1024:.0f} / {max(kbs) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
