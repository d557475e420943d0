"""The emitter's shipper thread: the disk spool to the bridge, one acknowledged stream.

Thread ``<name>-ship`` connects to the bridge (interruptible, with backoff from
``EMITTER_RECONNECT_MIN_S`` to ``EMITTER_RECONNECT_MAX_S``, reset after a stream that made
progress), opens one ``PublishRecords`` stream and sends the spool's lines from the first
unacknowledged one, in batches of ``EMITTER_BATCH_SIZE`` lines (at most
``EMITTER_BATCH_MAX_BYTES``), with up to ``EMITTER_MAX_IN_FLIGHT`` batches unacknowledged. Acks arrive in order; each moves
the acknowledged offset of its segment, and a closed segment acknowledged to its end is deleted.
A broken stream, an unexpected ack or an ack with ``dropped`` records ends the stream; the next
one starts again from the first unacknowledged line (the store ignores what it already holds).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator

import grpc
import numpy as np

from cleanrl_worker.emitter.ledger import SpoolLedger
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.logs import LOG_EMITTER_BRIDGE_UNREACHABLE, LOG_EMITTER_CONNECTED
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.spool import segment_path
from gym_gui_bridge.protocol.wire import PUBLISH_METHOD, channel_options

__all__ = ["Shipper"]

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


class Shipper:
    """Thread ``<name>-ship``: spool -> bridge, deleting what the bridge acknowledged."""

    def __init__(
        self,
        ledger: SpoolLedger,
        address: str,
        metadata: tuple[tuple[str, str], ...],
        config: EmitterConfig,
    ) -> None:
        self._ledger, self._address = ledger, address
        self._metadata, self._config = metadata, config
        self._batch_size = config.batch_size
        self._stop = threading.Event()
        # guarded by ledger.lock: batches sent and not acknowledged, as (batch, seg, end, lines)
        self._in_flight: deque[tuple[int, int, int, int]] = deque()
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
            channel = grpc.insecure_channel(self._address, options=channel_options())
            if not self._wait_ready(channel, max(backoff, _CONNECT_TIMEOUT_MIN_S)):
                if ledger.throttle.ready("unreachable"):
                    _log.warning(
                        "%s %s: bridge %s unreachable; spooling to %s, retrying",
                        LOG_EMITTER_BRIDGE_UNREACHABLE,
                        ledger.name,
                        self._address,
                        ledger.spool_dir,
                    )
                channel.close()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, config.reconnect_max_s)
                continue
            if self._stop.is_set():  # stopped while connecting: the spool is no longer ours
                channel.close()
                break
            progressed = self._stream(channel)
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
        """One PublishRecords stream until it breaks; True if any batch was acknowledged."""
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
        progressed = False
        try:
            for ack in call:
                if not self._on_ack(ack):
                    break
                progressed = True
        except grpc.RpcError as error:
            if not self._stop.is_set() and ledger.throttle.ready("stream"):
                code = error.code() if hasattr(error, "code") else error
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
        return progressed

    def _end_stream(self) -> None:
        with self._ledger.changed:
            self._epoch += 1
            self._ledger.changed.notify_all()
        call = self._call
        if call is not None:
            call.cancel()

    # --- one stream -------------------------------------------------------------------------------
    def _requests(self, epoch: int) -> Iterator[pb.RecordBatch]:
        """The request iterator of one stream (run by gRPC's own thread)."""
        ledger = self._ledger
        with ledger.lock:
            unacked = sorted(n for n, s in ledger.sizes.items() if ledger.acked[n] < s)
            number = unacked[0] if unacked else max(ledger.sizes, default=0)
            offset = ledger.acked.get(number, 0)
        while True:
            with ledger.changed:
                while True:
                    if self._epoch != epoch or self._stop.is_set():
                        return
                    size = ledger.sizes.get(number, 0)
                    if len(self._in_flight) < self._config.max_in_flight:
                        if offset < size:
                            break
                        later = [n for n in ledger.sizes if n > number]
                        if later and number != ledger.open_segment:
                            number, offset = min(later), ledger.acked[min(later)]
                            continue
                    ledger.changed.wait(self._config.flush_interval_s)
            try:
                data = self._read(number, offset, size)
            except FileNotFoundError:  # removed by hand: nothing left to send from it
                _log.warning(
                    "%s: spool segment %d vanished from %s", ledger.name, number, ledger.spool_dir
                )
                with ledger.changed:
                    if number in ledger.sizes:
                        ledger.acked[number] = ledger.sizes[number]
                    ledger.changed.notify_all()
                offset = size
                continue
            end, lines = _whole_lines(data, self._batch_size)
            with ledger.changed:
                batch_id = self._next_batch
                self._next_batch += 1
                offset += end
                self._in_flight.append((batch_id, number, offset, lines))
            yield pb.RecordBatch(batch_id=batch_id, jsonl=data[:end])

    def _read(self, number: int, offset: int, size: int) -> bytes:
        """Bytes of segment ``number`` from ``offset`` holding about one batch of whole lines."""
        most = self._config.batch_max_bytes
        guess = min(size - offset, most, self._batch_size * _LINE_BYTES_GUESS)
        with open(segment_path(self._ledger.spool_dir, number), "rb") as handle:
            handle.seek(offset)
            data = handle.read(guess)
            if b"\n" not in data:  # longer lines than guessed: read up to the batch limit
                data += handle.read(min(size - offset, most) - len(data))
        return data

    def _on_ack(self, ack: pb.BatchAck) -> bool:
        """Apply one ack; False if the stream must restart (re-send from the cursor)."""
        ledger = self._ledger
        with ledger.changed:
            if not self._in_flight or self._in_flight[0][0] != ack.batch_id:
                _log.warning(
                    "%s: unexpected ack %d; re-sending from the last acknowledged record",
                    ledger.name,
                    ack.batch_id,
                )
                return False
            if ack.dropped:
                return False  # the bridge did not store it: re-send it on a new stream
            _, number, end, _ = self._in_flight.popleft()
            ledger.acked[number] = end
            ledger.accepted += ack.accepted
            ledger.rejected += ack.rejected
            done = [
                n
                for n, size in ledger.sizes.items()
                if n != ledger.open_segment and (n < number or (n == number and end >= size))
            ]
            for n in done:
                del ledger.sizes[n], ledger.acked[n]
            ledger.changed.notify_all()
        for n in done:
            segment_path(ledger.spool_dir, n).unlink(missing_ok=True)
        return True
