"""The publishing side of the bridge: a stream of RecordBatch in, one BatchAck per batch out.

Per stream, a reader thread takes batches as they arrive, checks every JSONL line with the
strict decoder (a batch it can vouch for in one call), hands the rejected lines to the sink's
quarantine (at most ``BRIDGE_QUARANTINE_PER_BATCH`` per batch; all are counted), publishes the
valid records to the RunBus and queues the batch for its ack. The handler thread answers: it
waits until the SQLite sink has committed everything published so far (one wait covers every
batch queued by then: group commit), then sends the acks in order.

So an ack means *stored or rejected*: ``accepted`` records are in SQLite, ``rejected`` ones are
not and never will be (a line the decoder refused, or a record the sink quarantined), and the
sender may forget both. A bridge killed before the ack never acknowledged the batch and the
emitter re-sends it. A batch the sink could not commit in ``BRIDGE_ACK_TIMEOUT_S`` (a transient
fault: disk full, database locked), or that the bus lost, is answered as ``dropped``; the
emitter re-sends it too. A stream never ends with OK while a batch it read is unanswered:
decoding never raises, a reader that fails anyway ends its stream with INTERNAL, and a bridge
that stops ends the streams still open with UNAVAILABLE (what they published is stored by the
sink's stop; the emitter re-sends what was not acknowledged).

A message that is not a RecordBatch ends the stream with INVALID_ARGUMENT and the reason.
Reading stops (gRPC flow control pushes back on the worker, which keeps spooling to disk) while
the sink's queue is above ``RUNBUS_DB_PATH_QUEUE_SIZE``, so the bus never has to drop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
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
from gym_gui_bridge.server.stream_limits import StreamEnd
from gym_gui_bridge.store.quarantine import Quarantined, quarantined_line
from gym_gui_bridge.store.sink import TelemetryDBSink

__all__ = [
    "UNKNOWN_KIND",
    "DecodedBatch",
    "KindCounts",
    "Malformed",
    "PublishCounters",
    "decode_batch",
    "parse_batch",
    "read_batch",
    "serve_publish",
]

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


@dataclass(frozen=True)
class _ReaderFailed:
    """Stands for a reader thread that ended on an unexpected error."""

    reason: str


@dataclass
class KindCounts:
    """Records of one kind over every publishing stream (``/metrics`` shows them per kind)."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    dropped: int = 0


#: The kind a rejected line is counted under when its stream takes every kind: a line the
#: decoder refused has no kind it can vouch for.
UNKNOWN_KIND = "unknown"


@dataclass
class PublishCounters:
    """Totals over every publishing stream of a bridge (records). Guarded by ``lock``.

    ``by_kind`` splits the four totals by record kind (``run``, ``episode``, ``step``,
    ``scalar``; rejected lines of a mixed stream under :data:`UNKNOWN_KIND`).
    """

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    dropped: int = 0
    publishers: int = 0
    runs: set[str] = field(default_factory=set)  # run ids published since the bridge started
    by_kind: dict[str, KindCounts] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(
        self,
        kind: str | None,
        records: list[TelemetryEvent],
        refused: list[TelemetryEvent],
        lines_rejected: int,
        stored: bool,
    ) -> None:
        """Add one answered batch to ``by_kind`` (the caller holds ``lock``): its valid
        ``records`` (of ``kind`` when the stream takes one kind), the records of them the sink
        ``refused`` and the lines the decoder rejected."""
        if kind is not None:
            per = {kind: len(records)} if records else {}
        else:
            per = dict(Counter(record.kind for record in records))
        refused_per = Counter(record.kind for record in refused)
        for name, number in per.items():
            counts = self.by_kind.setdefault(name, KindCounts())
            counts.received += number
            if stored:
                counts.accepted += number - refused_per.get(name, 0)
                counts.rejected += refused_per.get(name, 0)
            else:
                counts.dropped += number
        if lines_rejected:
            counts = self.by_kind.setdefault(kind or UNKNOWN_KIND, KindCounts())
            counts.received += lines_rejected
            counts.rejected += lines_rejected


@dataclass
class DecodedBatch:
    """A batch as the reader leaves it for its ack."""

    batch_id: int
    records: list[TelemetryEvent]
    """The valid records, published to the bus."""
    lines: list[int] | None
    """The line of each record (None: record i is line i)."""
    rejected: int
    """Lines the decoder rejected."""
    rejections: list[pb.Rejection]
    """The first of them, with reasons."""
    quarantine: list[Quarantined]
    """The rejected lines to keep in the quarantine table."""
    runs: set[str] = field(default_factory=set)
    refused_mark: int = 0
    """The sink's count of refused records before this batch was published."""


def read_batch(
    batch: pb.RecordBatch,
    kind: str | None,
    max_reported: int = BridgeConfig().max_rejections_reported,
    max_quarantined: int = BridgeConfig().quarantine_per_batch,
    source: str = "bridge",
) -> DecodedBatch:
    """Decode ``batch`` (records of ``kind`` only, when given). Never raises: a line that is not
    a valid record is rejected with its reason (the first ``max_reported`` listed, the first
    ``max_quarantined`` kept for the quarantine). A batch whose lines are all valid is decoded in
    one call (:func:`decode_valid_batch`); any other batch line by line, for the reasons."""
    data = batch.jsonl
    fast = decode_valid_batch(data, kind)
    if fast is not None:
        return DecodedBatch(batch.batch_id, fast, None, 0, [], [])
    result = DecodedBatch(batch.batch_id, [], [], 0, [], [])
    assert result.lines is not None
    lines = data.split(b"\n")
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
            result.rejected += 1
            message = str(error)
            if len(result.rejections) < max_reported:
                result.rejections.append(
                    pb.Rejection(line=number, code=error.code, message=_utf8(message[:200]))
                )
            if len(result.quarantine) < max_quarantined:
                result.quarantine.append(quarantined_line(line, error.code, message, source))
            continue
        result.records.append(record)
        result.lines.append(number)
    return result


def _utf8(text: str) -> str:
    """``text`` as protobuf strings must be: UTF-8 (a lone surrogate as a backslash escape)."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode()


def decode_batch(
    batch: pb.RecordBatch,
    kind: str | None,
    max_reported: int = BridgeConfig().max_rejections_reported,
) -> tuple[list[TelemetryEvent], list[pb.Rejection], int]:
    """Valid records of ``batch`` (of ``kind`` only, when given), the first ``max_reported``
    rejections, and the number of rejected lines (:func:`read_batch`, without quarantine)."""
    result = read_batch(batch, kind, max_reported, 0)
    return result.records, result.rejections, result.rejected


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
            decoded = read_batch(
                batch, kind, config.max_rejections_reported, config.quarantine_per_batch
            )
            if decoded.rejected and throttle.ready("rejected"):
                _log.warning(
                    "%s %d of %d lines of batch %d rejected, first: %s",
                    LOG_BRIDGE_BATCH_REJECTED,
                    decoded.rejected,
                    decoded.rejected + len(decoded.records),
                    batch.batch_id,
                    decoded.rejections[0].message if decoded.rejections else "",
                )
            while sink.stats().queued > bus.config.db_path_queue_size and not stopping.is_set():
                time.sleep(_POLL_S / 10)  # back-pressure on this stream only
            decoded.refused_mark = sink.stats().invalid
            sink.quarantine(decoded.quarantine)
            publisher.publish_many(decoded.records)
            decoded.runs = {r.run_id for r in decoded.records}
            out.put(decoded)
            if stopping.is_set():
                break
    except grpc.RpcError:
        pass  # the client went away; the handler sees the end
    except Exception as error:  # the thread's boundary: report, end this stream with an error
        _log.exception("publishing stream reader failed")
        out.put(_ReaderFailed(f"{type(error).__name__}: {error}"))
    finally:
        publisher.close()
        out.put(None)


def _refused_in(decoded: DecodedBatch, refused: dict[int, Quarantined]) -> list[pb.Rejection]:
    """Rejections for the records of ``decoded`` the sink refused (matched by identity)."""
    found = []
    for index, record in enumerate(decoded.records):
        entry = refused.get(id(record))
        if entry is not None and entry.record is record:
            line = index if decoded.lines is None else decoded.lines[index]
            found.append(
                pb.Rejection(line=line, code=entry.reason, message=_utf8(entry.message[:200]))
            )
    return found


def _refused_of(decoded: DecodedBatch, refused: dict[int, Quarantined]) -> list[TelemetryEvent]:
    """The records of ``decoded`` the sink refused (matched by identity)."""
    if not refused:
        return []
    found = ((refused.get(id(record)), record) for record in decoded.records)
    return [record for entry, record in found if entry is not None and entry.record is record]


def serve_publish(
    requests: Iterator[pb.RecordBatch | Malformed],
    context: grpc.ServicerContext,
    kind: str | None,
    bus: RunBus,
    sink: TelemetryDBSink,
    counters: PublishCounters,
    stopping: StreamEnd,
    config: BridgeConfig,
    throttle: LogThrottle,
) -> Iterator[pb.BatchAck]:
    """The body of PublishRecords / PublishRun*: yields one ack per batch, in order.

    ``stopping`` ends the stream: as an error when the bridge stops, quietly (OK) when the
    stream idled out.

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
            if not context.is_active():
                return  # the client went away
            if stopping.is_set() and stopping.idle:
                return  # OK; the handler says why in the trailing metadata
            if stopping.is_set():  # what was published is flushed by the sink's stop()
                context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    "Expected to keep serving, the bridge is stopping: re-send what was not "
                    "acknowledged",
                )
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
        marks = [e.refused_mark for e in pending if isinstance(e, DecodedBatch)]
        refused: dict[int, Quarantined] = {}
        if stored and marks and sink.stats().invalid > min(marks):
            refused = {id(entry.record): entry for entry in sink.refused_since(min(marks))}
        for entry in pending:
            if entry is None:
                ended = True
                break
            if isinstance(entry, Malformed):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, entry.reason)
            if isinstance(entry, _ReaderFailed):
                context.abort(
                    grpc.StatusCode.INTERNAL,
                    f"Expected to read the stream, failed: {entry.reason}; re-send what was "
                    "not acknowledged",
                )
            assert isinstance(entry, DecodedBatch)
            refusals = _refused_in(entry, refused) if refused else []
            valid, rejected = len(entry.records) - len(refusals), entry.rejected + len(refusals)
            with counters.lock:
                counters.runs |= entry.runs
                counters.received += len(entry.records) + entry.rejected
                counters.rejected += rejected
                if stored:
                    counters.accepted += valid
                else:
                    counters.dropped += len(entry.records)
                counters.count(
                    kind, entry.records, _refused_of(entry, refused), entry.rejected, stored
                )
            room = max(0, config.max_rejections_reported - len(entry.rejections))
            yield pb.BatchAck(
                batch_id=entry.batch_id,
                accepted=valid if stored else 0,
                rejected=rejected,
                dropped=0 if stored else len(entry.records),
                rejections=[*entry.rejections, *refusals[:room]],
            )
