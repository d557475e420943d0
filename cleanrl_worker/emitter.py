"""The JSONL-to-gRPC emitter: ships a worker's records to the bridge, never losing one.

Two named background threads; the training thread only appends to a bounded deque:

- **spooler** (``<name>-spool``): encodes records as JSONL v1 and appends them to the run's disk
  spool (:mod:`gym_gui_bridge.spool`, ``runs/spool/<run_id>/seg-*.jsonl``). It fsyncs the
  current segment every ``EMITTER_FSYNC_INTERVAL_S``, and always when a segment is closed and
  at exit: a crash of the process loses nothing it wrote, a power cut at most that interval.
- **shipper** (``<name>-ship``): holds one bidirectional ``PublishRecords`` stream to the bridge,
  sends the spool's lines in batches (``EMITTER_BATCH_SIZE`` lines) with up to
  ``EMITTER_MAX_IN_FLIGHT`` batches unacknowledged, and deletes a segment once every line of it
  is acknowledged. The bridge acknowledges a batch after its SQLite commit. When the bridge is
  down, unreachable or restarting, records keep going to disk; the shipper reconnects with
  backoff and resumes from the first unacknowledged line. Re-sent lines are harmless: the store
  ignores a record it already holds.

At exit, :meth:`BridgeEmitter.close` waits a bounded time for the acknowledgements; what is left
stays in the spool (logged with ``LOG_EMITTER_SPOOL_LEFT``) for the bridge's start-up or
``gym-gui-bridge ingest``. Memory is bounded by ``EMITTER_QUEUE_SIZE`` records, disk by
``EMITTER_SPOOL_MAX_BYTES``; past either bound the newest records are dropped and counted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from gym_gui_bridge.constants import (
    EMITTER_BATCH_MAX_BYTES,
    EMITTER_BATCH_SIZE,
    EMITTER_CLOSE_TIMEOUT_S,
    EMITTER_FLUSH_INTERVAL_S,
    EMITTER_FSYNC_INTERVAL_S,
    EMITTER_MAX_IN_FLIGHT,
    EMITTER_QUEUE_SIZE,
    EMITTER_RECONNECT_MAX_S,
    EMITTER_RECONNECT_MIN_S,
    EMITTER_SEGMENT_BYTES,
    EMITTER_SPOOL_DIR,
    EMITTER_SPOOL_MAX_BYTES,
    JSONL_MAX_LINE_BYTES,
)
from gym_gui_bridge.errors import RecordEncodeError
from gym_gui_bridge.jsonl import encode_record
from gym_gui_bridge.log_ids import (
    LOG_EMITTER_BRIDGE_UNREACHABLE,
    LOG_EMITTER_CONNECTED,
    LOG_EMITTER_RECORDS_DROPPED,
    LOG_EMITTER_SPOOL_LEFT,
)
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.records import TelemetryEvent
from gym_gui_bridge.spool import SpoolLock, list_segments, run_spool_dir, segment_path
from gym_gui_bridge.throttle import LogThrottle
from gym_gui_bridge.wire import PUBLISH_METHOD, auth_metadata, channel_options

__all__ = ["BridgeEmitter", "EmitterStats"]

_log = logging.getLogger(__name__)
_TAKE_MAX = 4096  # records the spooler encodes per write() call at most
_LOG_INTERVAL_S = 10.0  # least interval between two repeated emitter warnings


@dataclass(frozen=True)
class EmitterStats:
    """Counters of an emitter (records). ``pending`` is spooled and not yet acknowledged."""

    put: int
    dropped: int
    spooled: int
    accepted: int
    rejected: int
    pending: int
    reconnects: int
    connected: bool
    spool_dir: str


class BridgeEmitter:
    """A record sink (see :mod:`cleanrl_worker.record_sink`) that ships to a bridge.

    ``spool_name`` names the spool directory (default: the run id); two emitters of one run in
    two processes (the proxy and its child) need two names, a spool has one owner.
    ``segment_bytes`` is the size at which a new spool segment starts.
    """

    def __init__(
        self,
        address: str,
        run_id: str,
        *,
        spool_root: str | Path = EMITTER_SPOOL_DIR,
        token: str | None = None,
        name: str = "fastlane-emitter",
        batch_size: int = EMITTER_BATCH_SIZE,
        spool_name: str | None = None,
        segment_bytes: int = EMITTER_SEGMENT_BYTES,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"Expected batch_size >= 1, got {batch_size}")
        self.name = name
        self.address = address
        self.run_id = run_id
        self.spool_dir = run_spool_dir(spool_root, spool_name or run_id)
        self._metadata = auth_metadata(token)
        self._batch_size = batch_size
        self._segment_bytes = segment_bytes
        self._queue: deque[TelemetryEvent | bytes] = deque()  # training thread -> spooler
        self._lock_file = SpoolLock(self.spool_dir)
        # guards everything below; _changed is notified when data is spooled or acknowledged
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._sizes: dict[int, int] = {}  # segment -> bytes of whole lines written
        self._acked: dict[int, int] = {}  # segment -> offset acknowledged up to
        self._open_segment: int | None = None  # segment the spooler appends to
        self._in_flight: deque[tuple[int, int, int, int]] = deque()  # (batch, seg, end, lines)
        self._stream_epoch = 0  # bumped to end the current stream's request generator
        self._next_batch = 1
        self._put = 0
        self._dropped = 0
        self._spooled = 0
        self._accepted = 0
        self._rejected = 0
        self._reconnects = 0
        self._connected = False
        self._spool_stop = threading.Event()
        self._ship_stop = threading.Event()
        self._call: grpc.Future | None = None
        self._spooler: threading.Thread | None = None
        self._shipper: threading.Thread | None = None
        self._throttle = LogThrottle(_LOG_INTERVAL_S)

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        """Take the run's spool (lock), pick up segments a previous process left, start both
        threads. Raises RuntimeError if another live process owns this run's spool."""
        if self._spooler is not None:
            raise RuntimeError(f"Expected {self.name} to be started once, got a second start()")
        if not self._lock_file.acquire():
            raise RuntimeError(f"Expected to own the spool {self.spool_dir}, another process does")
        for number, path in list_segments(self.spool_dir):
            data = path.read_bytes()
            self._sizes[number] = data.rfind(b"\n") + 1  # a torn last line is ignored
            self._acked[number] = 0
        self._spooler = threading.Thread(
            target=self._spool_loop, name=f"{self.name}-spool", daemon=True
        )
        self._shipper = threading.Thread(
            target=self._ship_loop, name=f"{self.name}-ship", daemon=True
        )
        self._spooler.start()
        self._shipper.start()

    def put(self, record: TelemetryEvent | bytes) -> None:
        """Hand over a record (or an already validated JSONL line). Never blocks."""
        self._put += 1
        if len(self._queue) >= EMITTER_QUEUE_SIZE:
            self._drop(1, "hand-off queue full")
            return
        self._queue.append(record)

    def backlog(self) -> int:
        """Records put and not yet written to the spool (the RAM hand-off's depth)."""
        return len(self._queue)

    def flush(self, timeout: float | None = EMITTER_CLOSE_TIMEOUT_S) -> bool:
        """Wait until every record put so far is acknowledged by the bridge. False on timeout."""
        with self._changed:
            return self._changed.wait_for(self._all_acked, timeout)

    def close(self, timeout: float = EMITTER_CLOSE_TIMEOUT_S) -> bool:
        """Spool what was put, wait up to ``timeout`` s for the bridge to acknowledge it all,
        stop both threads. True if nothing is left in the spool."""
        deadline = time.monotonic() + timeout
        if self._spooler is None or self._shipper is None:
            return True
        self._spool_stop.set()
        self._spooler.join(max(0.0, deadline - time.monotonic()))
        with self._changed:
            self._changed.wait_for(self._all_acked, max(0.0, deadline - time.monotonic()))
            done = self._all_acked() and not self._spooler.is_alive()
        self._ship_stop.set()
        self._end_stream()
        # the shipper sees the stop within EMITTER_FLUSH_INTERVAL_S: joined before the spool's
        # lock is released, so it can never ship (and delete) a spool another process took
        self._shipper.join(max(deadline - time.monotonic(), EMITTER_RECONNECT_MAX_S))
        if done:
            for _, path in list_segments(self.spool_dir):
                path.unlink(missing_ok=True)
        else:
            _log.warning(
                "%s %s: %d records not acknowledged by the bridge at %s are kept in %s; "
                "load them with 'gym-gui-bridge ingest %s' (or restart the bridge there)",
                LOG_EMITTER_SPOOL_LEFT, self.name, self.stats().pending, self.address,
                self.spool_dir, self.spool_dir,
            )  # fmt: skip
        self._lock_file.release()
        if done:
            (self.spool_dir / ".lock").unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: someone else's files
                self.spool_dir.rmdir()
        return done

    stop = close

    def stats(self) -> EmitterStats:
        with self._lock:
            return EmitterStats(
                put=self._put, dropped=self._dropped, spooled=self._spooled,
                accepted=self._accepted, rejected=self._rejected,
                pending=max(0, self._spooled - self._accepted - self._rejected),
                reconnects=self._reconnects, connected=self._connected,
                spool_dir=str(self.spool_dir),
            )  # fmt: skip

    # --- spooler thread ---------------------------------------------------------------------------
    def _spool_loop(self) -> None:
        fd, number, size, synced_at = -1, 0, 0, time.monotonic()
        while True:
            try:
                items = self._take()
                if not items:
                    if self._spool_stop.is_set() and not self._queue:
                        break
                    self._spool_stop.wait(EMITTER_FLUSH_INTERVAL_S)
                    continue
                data, count = self._encode(items)
                if not count:
                    continue
                if fd < 0 or size >= self._segment_bytes:
                    fd, number, size = self._rotate(fd, number)
                if self._spool_bytes() + len(data) > EMITTER_SPOOL_MAX_BYTES:
                    self._drop(count, f"spool over {EMITTER_SPOOL_MAX_BYTES} bytes")
                    continue
                os.write(fd, data)
                size += len(data)
                with self._changed:
                    self._sizes[number] = size
                    self._spooled += count
                    self._changed.notify_all()
                if time.monotonic() - synced_at >= EMITTER_FSYNC_INTERVAL_S:
                    os.fsync(fd)
                    synced_at = time.monotonic()
            except Exception:  # the thread's boundary: report and keep going
                _log.exception("%s: spooling to %s failed, retrying", self.name, self.spool_dir)
                self._spool_stop.wait(EMITTER_RECONNECT_MIN_S)
        if fd >= 0:
            os.fsync(fd)
            os.close(fd)
        with self._changed:
            self._open_segment = None
            self._changed.notify_all()

    def _take(self) -> list[TelemetryEvent | bytes]:
        queue = self._queue
        items: list[TelemetryEvent | bytes] = []
        while queue and len(items) < _TAKE_MAX:
            items.append(queue.popleft())
        return items

    def _encode(self, items: list[TelemetryEvent | bytes]) -> tuple[bytes, int]:
        lines: list[bytes] = []
        for item in items:
            try:
                line = item if isinstance(item, bytes) else encode_record(item).encode("utf-8")
            except RecordEncodeError as error:
                self._drop(1, f"not encodable: {error}")
                continue
            if len(line) > JSONL_MAX_LINE_BYTES:
                self._drop(1, f"line over {JSONL_MAX_LINE_BYTES} bytes")
                continue
            lines.append(line if line.endswith(b"\n") else line + b"\n")
        return b"".join(lines), len(lines)

    def _rotate(self, fd: int, number: int) -> tuple[int, int, int]:
        if fd >= 0:
            os.fsync(fd)
            os.close(fd)
        with self._changed:
            number = max([number, *self._sizes]) + 1
            self._sizes[number], self._acked[number] = 0, 0
            self._open_segment = number
            self._changed.notify_all()
        new_fd = os.open(
            segment_path(self.spool_dir, number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        return new_fd, number, 0

    def _spool_bytes(self) -> int:
        with self._lock:
            return sum(size - self._acked.get(n, 0) for n, size in self._sizes.items())

    def _drop(self, count: int, why: str) -> None:
        with self._lock:
            self._dropped += count
            total = self._dropped
        if self._throttle.ready("drop"):
            _log.warning(
                "%s %s: dropped %d records (%s); %d dropped in all",
                LOG_EMITTER_RECORDS_DROPPED,
                self.name,
                count,
                why,
                total,
            )

    # --- shipper thread ---------------------------------------------------------------------------
    def _all_acked(self) -> bool:  # caller holds _lock
        """Every record put is spooled (or dropped) and every spooled line acknowledged."""
        settled = self._spooled + self._dropped >= self._put
        return settled and all(self._acked[n] >= s for n, s in self._sizes.items())

    def _ship_loop(self) -> None:
        backoff = EMITTER_RECONNECT_MIN_S
        while not self._ship_stop.is_set():
            channel = grpc.insecure_channel(self.address, options=channel_options())
            if not self._wait_ready(channel, max(backoff, 1.0)):
                if self._throttle.ready("unreachable"):
                    _log.warning(
                        "%s %s: bridge %s unreachable; spooling to %s, retrying",
                        LOG_EMITTER_BRIDGE_UNREACHABLE,
                        self.name,
                        self.address,
                        self.spool_dir,
                    )
                channel.close()
                self._ship_stop.wait(backoff)
                backoff = min(backoff * 2, EMITTER_RECONNECT_MAX_S)
                continue
            if self._ship_stop.is_set():  # closed while connecting: the spool is no longer ours
                channel.close()
                break
            progressed = self._stream(channel)
            channel.close()
            backoff = EMITTER_RECONNECT_MIN_S if progressed else backoff
            self._ship_stop.wait(backoff)
            backoff = min(backoff * 2, EMITTER_RECONNECT_MAX_S)

    def _wait_ready(self, channel: grpc.Channel, timeout: float) -> bool:
        """True once ``channel`` connects; False after ``timeout`` s or when closing."""
        ready = grpc.channel_ready_future(channel)
        deadline = time.monotonic() + timeout
        while not self._ship_stop.is_set() and time.monotonic() < deadline:
            try:
                ready.result(timeout=EMITTER_FLUSH_INTERVAL_S)
                return True
            except grpc.FutureTimeoutError:
                continue
        ready.cancel()
        return False

    def _stream(self, channel: grpc.Channel) -> bool:
        """One PublishRecords stream until it breaks; True if any batch was acknowledged."""
        with self._changed:
            self._stream_epoch += 1
            epoch = self._stream_epoch
            self._in_flight.clear()
            self._connected = True
            self._reconnects += 1
        _log.info(
            "%s %s: streaming to %s from the first unacknowledged record",
            LOG_EMITTER_CONNECTED,
            self.name,
            self.address,
        )
        publish = channel.stream_stream(
            PUBLISH_METHOD,
            request_serializer=pb.RecordBatch.SerializeToString,
            response_deserializer=pb.BatchAck.FromString,
        )
        call = publish(self._requests(epoch), metadata=self._metadata)
        self._call = call
        progressed = False
        try:
            for ack in call:
                if not self._on_ack(ack):
                    break
                progressed = True
        except grpc.RpcError as error:
            if not self._ship_stop.is_set() and self._throttle.ready("stream"):
                _log.warning(
                    "%s %s: stream to %s ended (%s); reconnecting",
                    LOG_EMITTER_BRIDGE_UNREACHABLE,
                    self.name,
                    self.address,
                    error.code() if hasattr(error, "code") else error,
                )
        finally:
            self._end_stream()
            call.cancel()
            with self._changed:
                self._connected = False
        return progressed

    def _end_stream(self) -> None:
        with self._changed:
            self._stream_epoch += 1
            self._changed.notify_all()
        call = self._call
        if call is not None:
            call.cancel()

    def _requests(self, epoch: int) -> Iterator[pb.RecordBatch]:
        """The request iterator of one stream (run by gRPC's own thread)."""
        with self._lock:
            unacked = sorted(n for n, s in self._sizes.items() if self._acked[n] < s)
            number = unacked[0] if unacked else max(self._sizes, default=0)
            offset = self._acked.get(number, 0)
        while True:
            with self._changed:
                while True:
                    if self._stream_epoch != epoch or self._ship_stop.is_set():
                        return
                    size = self._sizes.get(number, 0)
                    if len(self._in_flight) < EMITTER_MAX_IN_FLIGHT:
                        if offset < size:
                            break
                        later = [n for n in self._sizes if n > number]
                        if later and number != self._open_segment:
                            number, offset = min(later), self._acked[min(later)]
                            continue
                    self._changed.wait(EMITTER_FLUSH_INTERVAL_S)
            try:
                with open(segment_path(self.spool_dir, number), "rb") as handle:
                    handle.seek(offset)
                    data = handle.read(min(size - offset, EMITTER_BATCH_MAX_BYTES))
            except FileNotFoundError:  # removed by hand: nothing left to send from it
                _log.warning(
                    "%s: spool segment %d vanished from %s", self.name, number, self.spool_dir
                )
                with self._changed:
                    if number in self._sizes:
                        self._acked[number] = self._sizes[number]
                    self._changed.notify_all()
                offset = size
                continue
            end, lines = 0, 0
            while lines < self._batch_size:
                newline = data.find(b"\n", end)
                if newline < 0:
                    break
                end, lines = newline + 1, lines + 1
            with self._changed:
                batch_id = self._next_batch
                self._next_batch += 1
                offset += end
                self._in_flight.append((batch_id, number, offset, lines))
            yield pb.RecordBatch(batch_id=batch_id, jsonl=data[:end])

    def _on_ack(self, ack: pb.BatchAck) -> bool:
        """Apply one ack; False if the stream must restart (re-send from the cursor)."""
        with self._changed:
            if not self._in_flight or self._in_flight[0][0] != ack.batch_id:
                _log.warning(
                    "%s: unexpected ack %d; re-sending from the last acknowledged record",
                    self.name,
                    ack.batch_id,
                )
                return False
            if ack.dropped:
                return False  # the bridge did not store it: re-send it on a new stream
            _, number, end, _ = self._in_flight.popleft()
            self._acked[number] = end
            self._accepted += ack.accepted
            self._rejected += ack.rejected
            done = [
                n for n, size in self._sizes.items()
                if n != self._open_segment and (n < number or (n == number and end >= size))
            ]  # fmt: skip
            for n in done:
                del self._sizes[n], self._acked[n]
            self._changed.notify_all()
        for n in done:
            segment_path(self.spool_dir, n).unlink(missing_ok=True)
        return True
