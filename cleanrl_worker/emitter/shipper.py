"""The emitter's shipper thread: the disk spool to the bridge, one acknowledged stream.

Thread ``<name>-ship`` connects to the bridge (interruptible, with backoff from
``EMITTER_RECONNECT_MIN_S`` to ``EMITTER_RECONNECT_MAX_S``, reset after a stream that made
progress), opens one ``PublishRecords`` stream and sends the spool's lines from the first
unacknowledged one, in batches of ``EMITTER_BATCH_SIZE`` lines (at most
``EMITTER_BATCH_MAX_BYTES``), with up to ``EMITTER_MAX_IN_FLIGHT`` batches unacknowledged. It
sends only batches of at least one line, and waits (for the spooler, or an ack) when there is
nothing to send.

Only an acknowledgement settles lines: acks arrive in order, and one whose ``accepted`` (stored)
and ``rejected`` (invalid, never storable) add up to the batch's lines moves the acknowledged
point of its segment; a closed segment settled to its end is deleted. Anything else ends the
stream and the next one starts again from the first unacknowledged line (the store ignores what
it already holds): a broken stream, an ack for another batch, an ack with ``dropped`` records or
counts that do not add up, and a stream the bridge ends while batches wait for their acks
(``LOG_EMITTER_ACKS_MISSING``). A stream that ended in such a protocol fault does not reset the
reconnection backoff, so a bridge that keeps failing a batch is retried at most every
``EMITTER_RECONNECT_MAX_S``. A segment file that vanished (or was cut short) before its lines
were sent: the lines not sent are counted as dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np

from cleanrl_worker.emitter.ledger import SpoolLedger
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import (
    LOG_EMITTER_ACKS_MISSING,
    LOG_EMITTER_BRIDGE_UNREACHABLE,
    LOG_EMITTER_CONNECTED,
)
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES
from gym_gui_bridge.protocol.spool import segment_path
from gym_gui_bridge.protocol.wire import PUBLISH_METHOD, channel_options

__all__ = ["Shipper", "open_bridge_channel"]

_log = logging.getLogger(__name__)
_CONNECT_TIMEOUT_MIN_S = 1.0  # shortest wait for a connection before counting it as failed
# bytes read per batch line: a step record is ~220 bytes; reading the whole 4 MiB batch limit for
# every 256-line batch copied 60x what was sent (measured: halved the emitter's rate)
_LINE_BYTES_GUESS = 512
_NEWLINE = ord("\n")


def _whole_lines(data: bytes, most: int) -> tuple[int, int]:
    """(length, count) of the longest prefix of ``data`` made of at most ``most`` whole lines.

    >>> _whole_lines(b"a\\nb\\nc\\nd", 2), _whole_lines(b"a\\nb\\nc", 5), _whole_lines(b"abc", 5)
    ((4, 2), (4, 2), (0, 0))
    """
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == _NEWLINE)[:most]
    return (int(ends[-1]) + 1, len(ends)) if len(ends) else (0, 0)


def open_bridge_channel(address: str, tls_ca: str | Path | None = None) -> grpc.Channel:
    """A channel to the bridge at ``address``: TLS checked against the PEM file ``tls_ca``
    (``FASTLANE_BRIDGE_TLS_CA``), plain text without one. Raises OSError if it cannot be read."""
    if tls_ca is None:
        return grpc.insecure_channel(address, options=channel_options())
    with open(tls_ca, "rb") as file:
        credentials = grpc.ssl_channel_credentials(root_certificates=file.read())
    return grpc.secure_channel(address, credentials, options=channel_options())


class Shipper:
    """Thread ``<name>-ship``: spool -> bridge, deleting what the bridge acknowledged."""

    def __init__(
        self,
        ledger: SpoolLedger,
        address: str,
        metadata: tuple[tuple[str, str], ...],
        config: EmitterConfig,
        tls_ca: str | Path | None = None,
    ) -> None:
        self._ledger, self._address = ledger, address
        self._tls_ca = tls_ca
        self._metadata, self._config = metadata, config
        self._batch_size = config.batch_size
        self._stop = threading.Event()
        # guarded by ledger.lock: batches sent and not acknowledged, as
        # (batch id, segment, end offset, end line, lines)
        self._in_flight: deque[tuple[int, int, int, int, int]] = deque()
        self._epoch = 0  # guarded by ledger.lock; bumped to end the current request iterator
        self._next_batch = 1
        self._call: grpc.Future | None = None
        self._thread = threading.Thread(target=self._run, name=f"{ledger.name}-ship", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """End the stream and the thread; it never starts a stream again. True if it ended."""
        self._stop.set()
        self._end_stream()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- connection loop --------------------------------------------------------------------------
    def _run(self) -> None:
        config = self._config
        ledger, backoff = self._ledger, config.reconnect_min_s
        while not self._stop.is_set():
            try:
                channel = open_bridge_channel(self._address, self._tls_ca)
            except OSError as error:  # the CA file: reported like an unreachable bridge
                channel = None
                problem = f"bridge {self._address}: cannot read the TLS CA file: {error}"
            if channel is None or not self._wait_ready(
                channel, max(backoff, _CONNECT_TIMEOUT_MIN_S)
            ):
                if channel is not None:
                    problem = f"bridge {self._address} unreachable"
                with ledger.lock:
                    ledger.bridge_problem = problem
                if ledger.throttle.ready("unreachable"):
                    _log.warning(
                        "%s %s: bridge %s unreachable; spooling to %s, retrying",
                        LOG_EMITTER_BRIDGE_UNREACHABLE,
                        ledger.name,
                        self._address,
                        ledger.spool_dir,
                    )
                if channel is not None:
                    channel.close()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, config.reconnect_max_s)
                continue
            if self._stop.is_set():  # stopped while connecting: the spool is no longer ours
                channel.close()
                break
            try:
                progressed = self._stream(channel)
            except Exception:  # the thread's boundary: report, reconnect after the backoff
                _log.exception("%s: shipping to %s failed", ledger.name, self._address)
                progressed = False
            channel.close()
            backoff = config.reconnect_min_s if progressed else backoff
            self._stop.wait(backoff)
            backoff = min(backoff * 2, config.reconnect_max_s)

    def _wait_ready(self, channel: grpc.Channel, timeout: float) -> bool:
        """True once ``channel`` connects; False after ``timeout`` s or when stopping."""
        ready = grpc.channel_ready_future(channel)
        deadline = time.monotonic() + timeout
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                ready.result(timeout=self._config.flush_interval_s)
                return True
            except grpc.FutureTimeoutError:
                continue
        ready.cancel()
        return False

    def _stream(self, channel: grpc.Channel) -> bool:
        """One PublishRecords stream until it ends; True if it settled batches and ended in no
        protocol fault (the reconnection backoff then starts again from its minimum)."""
        ledger = self._ledger
        with ledger.changed:
            self._epoch += 1
            epoch = self._epoch
            self._in_flight.clear()
            ledger.connected = True
            ledger.reconnects += 1
        _log.info(
            "%s %s: streaming to %s from the first unacknowledged record",
            LOG_EMITTER_CONNECTED,
            ledger.name,
            self._address,
        )
        publish = channel.stream_stream(
            PUBLISH_METHOD,
            request_serializer=pb.RecordBatch.SerializeToString,
            response_deserializer=pb.BatchAck.FromString,
        )
        call = publish(self._requests(epoch), metadata=self._metadata)
        self._call = call
        progressed, fault = False, ""
        try:
            for ack in call:
                fault = self._on_ack(ack)
                if fault:
                    break
                progressed = True
            else:
                with ledger.lock:
                    waiting = len(self._in_flight)
                if waiting and not self._stop.is_set():
                    fault = f"the bridge ended the stream with {waiting} batches unacknowledged"
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else error
            if not self._stop.is_set():
                with ledger.lock:
                    ledger.bridge_problem = f"stream to {self._address} ended ({code})"
            if not self._stop.is_set() and ledger.throttle.ready("stream"):
                _log.warning(
                    "%s %s: stream to %s ended (%s); reconnecting",
                    LOG_EMITTER_BRIDGE_UNREACHABLE,
                    ledger.name,
                    self._address,
                    code,
                )
        finally:
            self._end_stream()
            call.cancel()
            with ledger.changed:
                ledger.connected = False
        if fault:
            with ledger.lock:
                ledger.bridge_problem = fault
            if ledger.throttle.ready("acks"):
                _log.warning(
                    "%s %s: %s; sending again from the first unacknowledged record",
                    LOG_EMITTER_ACKS_MISSING,
                    ledger.name,
                    fault,
                )
        return progressed and not fault

    def _end_stream(self) -> None:
        with self._ledger.changed:
            self._epoch += 1
            self._ledger.changed.notify_all()
        call = self._call
        if call is not None:
            call.cancel()

    # --- one stream's requests (gRPC's thread) and acks (this thread) -----------------------------
    def _resume_point(self) -> tuple[int, int, int]:
        """(segment, offset, line) of the first line not acknowledged. Caller holds the lock."""
        segments = self._ledger.segments
        unsettled = [n for n, s in segments.items() if not s.settled]
        number = min(unsettled) if unsettled else max(segments, default=0)
        segment = segments.get(number)
        return (number, segment.acked, segment.acked_lines) if segment else (number, 0, 0)

    def _requests(self, epoch: int) -> Iterator[pb.RecordBatch]:
        """The request iterator of one stream (run by gRPC's own thread)."""
        ledger, config = self._ledger, self._config
        with ledger.lock:
            number, offset, line = self._resume_point()
        while True:
            with ledger.changed:
                while True:
                    if self._epoch != epoch or self._stop.is_set():
                        return
                    segment = ledger.segments.get(number)
                    if len(self._in_flight) < config.max_in_flight:
                        if segment is not None and line < segment.end_line:
                            break
                        later = [n for n in ledger.segments if n > number]
                        if later and number != ledger.open_segment:
                            number = min(later)
                            offset = ledger.segments[number].acked
                            line = ledger.segments[number].acked_lines
                            continue
                    ledger.changed.wait(config.flush_interval_s)
                size = segment.size
            try:
                data = self._read(number, offset, size)
            except FileNotFoundError:
                data = b""
            except OSError as error:  # unreadable for now (EIO, EACCES): try again later
                with ledger.lock:
                    ledger.bridge_problem = f"cannot read spool segment {number}: {error}"
                self._stop.wait(config.reconnect_max_s)
                continue
            end, lines = _whole_lines(data, self._batch_size)
            if not lines:  # the file vanished or was cut short: its unsent lines are lost
                self._lose(number, line)
                continue
            with ledger.changed:
                batch_id = self._next_batch
                self._next_batch += 1
                offset += end
                line += lines
                self._in_flight.append((batch_id, number, offset, line, lines))
                ledger.batches += 1
            yield pb.RecordBatch(batch_id=batch_id, jsonl=data[:end])

    def _lose(self, number: int, line: int) -> None:
        """Segment ``number`` has no readable line at ``line``: count the rest as dropped."""
        ledger = self._ledger
        path = segment_path(ledger.spool_dir, number)
        with ledger.changed:
            lost = ledger.lose(number, line)
            done = ledger.retire()
            ledger.changed.notify_all()
        ledger.delete(done)
        ledger.report_drop(lost, f"spool segment {path} vanished or was cut short before sent")

    def _read(self, number: int, offset: int, size: int) -> bytes:
        """Bytes of segment ``number`` from ``offset`` holding about one batch of whole lines
        (at least one line, however long, if the file holds it)."""
        most = self._config.batch_max_bytes
        guess = min(size - offset, most, self._batch_size * _LINE_BYTES_GUESS)
        with open(segment_path(self._ledger.spool_dir, number), "rb") as handle:
            handle.seek(offset)
            data = handle.read(guess)
            if b"\n" not in data and len(data) == guess:  # longer lines than guessed
                longest = max(most, JSONL_MAX_LINE_BYTES + 1)
                data += handle.read(min(size - offset, longest) - len(data))
        return data

    def _on_ack(self, ack: pb.BatchAck) -> str:
        """Apply one ack; returns "" or the fault that ends the stream (lines sent again)."""
        ledger = self._ledger
        with ledger.changed:
            if not self._in_flight or self._in_flight[0][0] != ack.batch_id:
                return f"unexpected ack for batch {ack.batch_id}"
            batch_id, number, end, end_line, lines = self._in_flight[0]
            if ack.dropped:
                return f"the bridge did not store {ack.dropped} records of batch {batch_id}"
            if ack.accepted + ack.rejected != lines:
                return (
                    f"ack of batch {batch_id} settles {ack.accepted} stored + {ack.rejected} "
                    f"rejected records, expected {lines}"
                )
            self._in_flight.popleft()
            ledger.acknowledge(number, end, end_line)
            ledger.accepted += ack.accepted
            ledger.rejected += ack.rejected
            ledger.bridge_problem = ""
            done = ledger.retire()
            ledger.changed.notify_all()
        ledger.delete(done)
        return ""
