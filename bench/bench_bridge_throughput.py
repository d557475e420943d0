"""Bridge throughput: worker emitter -> gRPC -> RunBus -> SQLite, against its two ceilings.

Measured in one run, on this machine:

- **SQLite ceiling**: ``write_batch`` (executemany, WAL, synchronous=NORMAL) of step rows in
  batches of ``DB_SINK_BATCH_SIZE``, in this process: what the sink could do at best.
- **gRPC ceiling**: the same JSONL batches (``EMITTER_BATCH_SIZE`` lines) sent on one
  PublishRecords stream to a no-op servicer in another process that acknowledges without
  decoding: what the transport could do at best.
- **end to end**: a worker process puts records into a :class:`BridgeEmitter` as fast as it can
  (disk spool, batches, acks after commit) to a real ``gym-gui-bridge serve`` process; the rate
  is records / (first put -> last acknowledgement), and the database is checked for zero loss.
- **memory**: with ``--long-records N`` the end-to-end run is repeated with N records while the
  bridge's RSS (/proc/PID/status VmRSS) is sampled every second.

usage: python bench/bench_bridge_throughput.py [--records 200000] [--long-records 0]
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc

from gym_gui_bridge.constants import DB_SINK_BATCH_SIZE, EMITTER_BATCH_SIZE, EMITTER_MAX_IN_FLIGHT
from gym_gui_bridge.jsonl import encode_record
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.records import StepRecord
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import write_batch
from gym_gui_bridge.wire import PUBLISH_METHOD, SERVICE_NAME, channel_options

WAIT_S = 600.0


def _step(run_id: str, i: int) -> StepRecord:
    return StepRecord(run_id, 0, "default", i, 1.7e9, i // 500, i % 500, i, 1, 1.0, False, False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def grpc_ceiling(records: int) -> float:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--noop-server", str(port)])
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=channel_options())
        grpc.channel_ready_future(channel).result(timeout=30)
        line = encode_record(_step("grpc", 1)).encode() + b"\n"
        payload = line * EMITTER_BATCH_SIZE
        batches = records // EMITTER_BATCH_SIZE
        window = threading.Semaphore(EMITTER_MAX_IN_FLIGHT)

        def requests() -> Iterator[pb.RecordBatch]:
            for i in range(batches):
                window.acquire()
                yield pb.RecordBatch(batch_id=i + 1, jsonl=payload)

        call = channel.stream_stream(
            PUBLISH_METHOD, pb.RecordBatch.SerializeToString, pb.BatchAck.FromString
        )
        start = time.perf_counter()
        acked = 0
        for ack in call(requests()):
            acked += ack.accepted
            window.release()
        elapsed = time.perf_counter() - start
        assert acked == batches * EMITTER_BATCH_SIZE
        return acked / elapsed
    finally:
        proc.kill()
        proc.wait()


# --- end to end -------------------------------------------------------------------------------
_WORKER = r"""
import sys, time
from cleanrl_worker.emitter import BridgeEmitter
from gym_gui_bridge.records import StepRecord
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
print(f"{put_s} {total_s} {done} {s.accepted} {s.dropped}", flush=True)
"""


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def end_to_end(
    records: int, tmp: Path, label: str
) -> tuple[float, float, list[tuple[float, int, int]]]:
    """(records/s, put cost in us per record, RSS samples (s, KiB, stored)) of one run."""
    port, db = _free_port(), tmp / f"{label}.sqlite"
    bridge = subprocess.Popen(
        [sys.executable, "-m", "gym_gui_bridge.cli", "serve", "--db", str(db),
         "--listen", f"127.0.0.1:{port}", "--spool-dir", str(tmp / "none"),
         "--log-level", "WARNING"],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    samples: list[tuple[float, int, int]] = []
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=60)
        run_id = f"bench-{label}-{os.getpid()}"
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER, run_id, f"127.0.0.1:{port}", str(tmp / "spool"), str(records)],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        start = time.monotonic()
        while worker.poll() is None:
            samples.append((time.monotonic() - start, _rss_kb(bridge.pid), 0))
            time.sleep(1.0)
        out, _ = worker.communicate(timeout=WAIT_S)
        put_s, total_s, done, accepted, dropped = out.split()
        assert done == b"True" and int(accepted) == records and int(dropped) == 0, out
    finally:
        bridge.terminate()
        bridge.wait(WAIT_S)
    stored = (
        sqlite3.connect(db)
        .execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,))
        .fetchone()[0]
    )
    assert stored == records, f"lost {records - stored} records"
    return records / float(total_s), float(put_s) / records * 1e6, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
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
        e2e, put_us, _ = end_to_end(args.records, tmp, "e2e")
        print(f"records per run:                 {args.records:,}")
        print(f"SQLite ceiling (write_batch):    {sql:12,.0f} rec/s")
        print(f"gRPC ceiling (no-op servicer):   {rpc:12,.0f} rec/s")
        print(
            f"end to end, zero loss:           {e2e:12,.0f} rec/s "
            f"({e2e / sql:.2f} x SQLite, {e2e / rpc:.2f} x gRPC)"
        )
        print(f"emitter.put() on the worker:     {put_us:12.2f} us/record")
        if args.long_records:
            rate, _, samples = end_to_end(args.long_records, tmp, "long")
            print(f"long run: {args.long_records:,} records at {rate:,.0f} rec/s, zero loss")
            print(
                "bridge RSS (MiB) every ~10 s: "
                + " ".join(f"{kb / 1024:.0f}" for _, kb, _ in samples[::10])
            )
            kbs = [kb for _, kb, _ in samples]
            if kbs:
                print(f"bridge RSS min/max: {min(kbs) / 1024:.0f} / {max(kbs) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
