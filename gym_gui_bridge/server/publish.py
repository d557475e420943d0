"""The publishing side of the bridge: a stream of RecordBatch in, one BatchAck per batch out.

Per stream, a reader thread takes batches as they arrive, checks every JSONL line with the
strict decoder, publishes the valid records to the RunBus and queues the batch for its ack.
The handler thread answers: it waits until the SQLite sink has committed everything published
so far (one wait covers every batch queued by then: group commit), then sends the acks in
order. So an ack means *stored*; a bridge killed before it never acknowledged the batch and the
emitter re-sends it. A batch the sink could not commit in ``BRIDGE_ACK_TIMEOUT_S`` (or that the
bus lost) is answered as ``dropped``; the emitter re-sends it too.

A message that is not a RecordBatch ends the stream with INVALID_ARGUMENT and the reason.
Reading stops (gRPC flow control pushes back on the worker, which keeps spooling to disk) while
the sink's queue is above ``RUNBUS_DB_PATH_QUEUE_SIZE``, so the bus never has to drop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from google.protobuf.message import DecodeError

from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.config.bridge import BridgeConfig
from gym_gui_bridge.errors import RecordDecodeError
from gym_gui_bridge.logs import LOG_BRIDGE_BATCH_REJECTED, LogThrottle
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import decode_record
from gym_gui_bridge.protocol.jsonl_batch import decode_valid_batch
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.store.sink import TelemetryDBSink

__all__ = ["Malformed", "PublishCounters", "decode_batch", "parse_batch", "serve_publish"]

_log = logging.getLogger(__name__)
_POLL_S = 0.2  # how often waiting loops look at the stop flag and the RPC's state


@dataclass(frozen=True)
class Malformed:
    """Stands for a request that could not be parsed as a RecordBatch."""

    reason: str


def parse_batch(data: bytes) -> pb.RecordBatch | Malformed:
    """The request deserializer: never raises, so a bad message becomes INVALID_ARGUMENT."""
    try:
        return pb.RecordBatch.FromString(data)
    except DecodeError as error:
        return Malformed(f"Expected a RecordBatch message, got undecodable bytes: {error}")


@dataclass
class PublishCounters:
    """Totals over every publishing stream of a bridge (records). Guarded by ``lock``."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    dropped: int = 0
    publishers: int = 0
    runs: set[str] = field(default_factory=set)  # run ids published since the bridge started
    lock: threading.Lock = field(default_factory=threading.Lock)


def decode_batch(
    batch: pb.RecordBatch,
    kind: str | None,
    max_reported: int = BridgeConfig().max_rejections_reported,
) -> tuple[list[TelemetryEvent], list[pb.Rejection], int]:
    """Valid records of ``batch`` (of ``kind`` only, when given), the first ``max_reported``
    rejections, and the number of rejected lines. A batch whose lines are all valid is decoded
    in one call (:func:`decode_valid_batch`); any other batch line by line, for the reasons."""
    fast = decode_valid_batch(batch.jsonl, kind)
    if fast is not None:
        return fast, [], 0
    records: list[TelemetryEvent] = []
    rejections: list[pb.Rejection] = []
    rejected = 0
    lines = batch.jsonl.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines):
        try:
            record = decode_record(line)
            if kind is not None and record.kind != kind:
                raise RecordDecodeError(
                    "wrong_kind", f"Expected a {kind} record, got {record.kind}"
                )
        except RecordDecodeError as error:
            rejected += 1
            if len(rejections) < max_reported:
                rejections.append(
                    pb.Rejection(line=number, code=error.code, message=str(error)[:200])
                )
            continue
        records.append(record)
    return records, rejections, rejected


def _read(
    requests: Iterator[pb.RecordBatch | Malformed],
    kind: str | None,
    bus: RunBus,
    sink: TelemetryDBSink,
    out: queue.SimpleQueue,
    stopping: threading.Event,
    config: BridgeConfig,
    throttle: LogThrottle,
) -> None:
    publisher = bus.publisher()  # the stream's seq state is forgotten when it ends
    try:
        for batch in requests:
            if isinstance(batch, Malformed):
                out.put(batch)
                return
            records, rejections, rejected = decode_batch(
                batch, kind, config.max_rejections_reported
            )
            if rejected and throttle.ready("rejected"):
                _log.warning(
                    "%s %d of %d lines of batch %d rejected, first: %s",
                    LOG_BRIDGE_BATCH_REJECTED,
                    rejected,
                    rejected + len(records),
                    batch.batch_id,
                    rejections[0].message,
                )
            while sink.stats().queued > bus.config.db_path_queue_size and not stopping.is_set():
                time.sleep(_POLL_S / 10)  # back-pressure on this stream only
            publisher.publish_many(records)
            runs = {r.run_id for r in records}
            out.put((batch.batch_id, len(records), rejected, rejections, runs))
            if stopping.is_set():
                break
    except grpc.RpcError:
        pass  # the client went away; the handler sees the end
    except Exception:  # the thread's boundary: report, end this stream
        _log.exception("publishing stream reader failed")
    finally:
        publisher.close()
        out.put(None)


def serve_publish(
    requests: Iterator[pb.RecordBatch | Malformed],
    context: grpc.ServicerContext,
    kind: str | None,
    bus: RunBus,
    sink: TelemetryDBSink,
    counters: PublishCounters,
    stopping: threading.Event,
    config: BridgeConfig,
    throttle: LogThrottle,
) -> Iterator[pb.BatchAck]:
    """The body of PublishRecords / PublishRun*: yields one ack per batch, in order.

    ``config`` gives the ack timeout and the rejections reported per ack; ``throttle`` (shared
    by the bridge's streams) rate-limits the rejected-batch warning.
    """
    out: queue.SimpleQueue = queue.SimpleQueue()
    reader = threading.Thread(
        target=_read,
        args=(requests, kind, bus, sink, out, stopping, config, throttle),
        name="bridge-publish-reader",
        daemon=True,
    )
    reader.start()
    lost_key = sink.name
    ended = False
    while not ended:
        try:
            item = out.get(timeout=_POLL_S)
        except queue.Empty:
            if not context.is_active() or stopping.is_set():
                return  # stopping: what was published is flushed by the sink's stop()
            continue
        pending = [item]
        while True:  # everything already queued is acknowledged by the same flush
            try:
                pending.append(out.get_nowait())
            except queue.Empty:
                break
        lost_before = bus.overflow_stats()[lost_key].lost if lost_key in bus.overflow_stats() else 0
        stored = sink.flush(config.ack_timeout_s)
        lost_after = bus.overflow_stats()[lost_key].lost if lost_key in bus.overflow_stats() else 0
        stored = stored and lost_after == lost_before
        for entry in pending:
            if entry is None:
                ended = True
                break
            if isinstance(entry, Malformed):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, entry.reason)
            batch_id, valid, rejected, rejections, runs = entry
            with counters.lock:
                counters.runs |= runs
                counters.received += valid + rejected
                counters.rejected += rejected
                if stored:
                    counters.accepted += valid
                else:
                    counters.dropped += valid
            yield pb.BatchAck(
                batch_id=batch_id,
                accepted=valid if stored else 0,
                rejected=rejected,
                dropped=0 if stored else valid,
                rejections=rejections,
            )
