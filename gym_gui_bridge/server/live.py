"""Live subscribers: StreamRunSteps / StreamRunEpisodes / StreamRunScalars, replay from SQLite then live, no seam.

A subscriber asks for one (run id, agent id), one slot or all, from a sequence number. Its pump
thread (``live-<n>-pump``):

1. subscribes to the RunBus first (drop-oldest queue, ``LIVE_SUBSCRIBER_QUEUE_SIZE``), so
   nothing published from then on is missed;
2. waits for the sink to commit everything published before (``flush``), then replays from
   SQLite every record with ``seq`` above the last one sent on its slot's stream;
3. then forwards live events, skipping any whose ``seq`` is not above the last one sent on its
   stream (duplicates: re-sent batches, the replay/live overlap). An event *above* the next
   expected ``seq`` means events were missed (this queue dropped them while the client was
   slow): it goes back to step 2, which finds them in SQLite. If SQLite lacks them too, the
   producer really lost them; the gap is passed on once and counted.

Every event forwarded costs a credit of the subscriber's account
(:mod:`gym_gui_bridge.bus.credits`), given back when gRPC takes the message; a client that
stops reading starves and throttles only its own pump. The publishers and the sink never wait
for a subscriber.

The pump converts each record to its message. A record the message cannot hold (a slot beyond
int32, a string that is not Unicode, a number out of the field's range) is skipped, counted
(``skipped``) and logged (``LOG_LIVE_RECORD_SKIPPED``, rate-limited); the stream goes on with
the next record, so one odd record never ends a subscriber's stream. A pump that fails for
another reason ends the stream with INTERNAL and the reason, never a silent hang.
"""

from __future__ import annotations

import itertools
import logging
import queue
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import grpc

from gym_gui_bridge.bus.credits import CreditAccount, CreditManager
from gym_gui_bridge.bus.run_bus import OverflowPolicy, RunBus
from gym_gui_bridge.config.bridge import BridgeConfig, LiveConfig
from gym_gui_bridge.logs import LOG_LIVE_RECORD_SKIPPED, LogThrottle
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.records import KIND_EPISODE, KIND_SCALAR, KIND_STEP, TelemetryEvent
from gym_gui_bridge.protocol.wire import episode_message, scalar_message, step_message
from gym_gui_bridge.store.queries import replay_page
from gym_gui_bridge.store.schema import open_reader
from gym_gui_bridge.store.sink import TelemetryDBSink

__all__ = ["LiveSubscriber"]

_log = logging.getLogger(__name__)
# what converting a record to its message raises when the message cannot hold it: a number out
# of the field's range, a string that cannot be UTF-8, a value of another type, nesting too deep
_UNCONVERTIBLE = (ValueError, TypeError, OverflowError, RecursionError)
_POLL_S = 0.2  # how often blocked loops look at the stream's state
_FLUSH_TIMEOUT_S = 30.0  # longest a replay waits for the sink to commit what was published
_ids = itertools.count(1)
_CONVERTERS: dict[str, Any] = {
    KIND_STEP: step_message,
    KIND_EPISODE: episode_message,
    KIND_SCALAR: scalar_message,
}


class LiveSubscriber:
    """One live subscriber stream; :meth:`messages` is the RPC's response iterator.

    Its account is opened in ``credits`` (the bridge's credit manager); ``config`` sizes its
    RunBus queue and its replay queries; ``throttle`` (the bridge's) rate-limits its warnings.
    """

    def __init__(
        self,
        request: pb.StreamRequest,
        kind: str,
        bus: RunBus,
        sink: TelemetryDBSink,
        credits: CreditManager,
        context: grpc.ServicerContext,
        config: LiveConfig = LiveConfig(),
        throttle: LogThrottle | None = None,
    ) -> None:
        if kind not in _CONVERTERS:
            raise ValueError(f"Expected kind step, episode or scalar, got {kind!r}")
        self.name = f"live-{next(_ids)}"
        self.kind = kind
        self.run_id = request.run_id
        self.agent_id = request.agent_id or "default"
        self.slot: int | None = request.slot if request.HasField("slot") else None
        self.from_seq = request.from_seq
        self.gaps = 0
        self.skipped = 0  # records the message could not hold
        self._bus, self._sink, self._context = bus, sink, context
        self._page_rows = config.replay_page_rows
        self._throttle = throttle or LogThrottle(BridgeConfig().log_interval_s)
        self._convert: Any = _CONVERTERS[kind]
        self._outgoing: queue.SimpleQueue[pb.Step | pb.Episode | pb.Scalar] = queue.SimpleQueue()
        self._failure: str | None = None  # why the pump stopped, if it failed
        self._done = threading.Event()
        self._last: dict[int, int] = {}  # slot -> last seq sent
        self._subscription = bus.subscribe(
            self.name, OverflowPolicy.DROP_OLDEST, config.subscriber_queue_size
        )
        self._account: CreditAccount = credits.open(self.run_id, self.agent_id, self.name)
        self._pump = threading.Thread(target=self._run, name=f"{self.name}-pump", daemon=True)

    @property
    def dropped(self) -> int:
        return self._subscription.stats().dropped

    def messages(self) -> Iterator[pb.Step | pb.Episode | pb.Scalar]:
        """Start the pump and yield messages until the client goes away."""
        if not self._context.add_callback(self._done.set):
            self._done.set()  # the call already ended (the client left before this started)
        self._pump.start()
        try:
            while not self._done.is_set():
                try:
                    message = self._outgoing.get(timeout=_POLL_S)
                except queue.Empty:
                    if not self._context.is_active():  # a callback can be missed: look too
                        break
                    continue
                yield message
                self._account.grant(1)
        finally:
            self.stop()
        if self._failure is not None:
            self._context.abort(
                grpc.StatusCode.INTERNAL, f"Expected the live stream to go on, got {self._failure}"
            )

    def stop(self) -> None:
        self._done.set()
        self._subscription.unsubscribe()
        self._pump.join(_POLL_S * 5)

    # --- the pump thread --------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._pump_events()
        except Exception as error:  # the thread's boundary: report it and end this stream
            _log.exception("live subscriber %s of run %s failed", self.name, self.run_id)
            self._failure = f"{type(error).__name__}: {error}"
            self._done.set()

    def _pump_events(self) -> None:
        conn = open_reader(self._sink.db_path)
        try:
            self._replay(conn)
            gap_retried: dict[int, int] = {}
            while not self._done.is_set():
                event = self._subscription.get(timeout=_POLL_S)
                if event is None or not self._wanted(event):
                    continue
                last = self._last.get(event.slot)
                expected = self.from_seq if last is None else last + 1
                if event.seq < expected:
                    continue  # duplicate
                if event.seq > expected:
                    if gap_retried.get(event.slot) != expected:
                        gap_retried[event.slot] = expected
                        self._replay(conn)  # the missed events are in SQLite by now
                        if self._last.get(event.slot, -1) >= event.seq:
                            continue
                    self.gaps += 1  # lost before the bridge: pass the gap on
                self._emit(event)
        finally:
            conn.close()

    def _wanted(self, event: TelemetryEvent) -> bool:
        return (
            event.kind == self.kind
            and event.run_id == self.run_id
            and event.agent_id == self.agent_id
            and (self.slot is None or event.slot == self.slot)
        )

    def _emit(self, record: TelemetryEvent) -> None:
        try:
            message = self._convert(record)
        except _UNCONVERTIBLE as error:
            self._last[record.slot] = record.seq  # passed over, not missed: no replay for it
            self.skipped += 1
            if self._throttle.ready(("skipped", self.name)):
                _log.warning(
                    "%s subscriber %s of run %s skipped the %s record of slot %d seq %d "
                    "(%s: %s); %d skipped so far",
                    LOG_LIVE_RECORD_SKIPPED,
                    self.name,
                    self.run_id,
                    record.kind,
                    record.slot,
                    record.seq,
                    type(error).__name__,
                    str(error)[:200],
                    self.skipped,
                )
            return
        while not self._account.acquire(timeout=_POLL_S):
            if self._done.is_set():
                return
        self._last[record.slot] = record.seq
        self._outgoing.put(message)

    def _replay(self, conn: sqlite3.Connection) -> None:
        self._sink.flush(_FLUSH_TIMEOUT_S)
        after: TelemetryEvent | None = None
        while not self._done.is_set():
            page = replay_page(
                conn, self.kind, self.run_id, self.agent_id, self.slot, after, self._page_rows
            )
            for record in page:
                last = self._last.get(record.slot)
                if record.seq >= (self.from_seq if last is None else last + 1):
                    self._emit(record)
            if len(page) < self._page_rows:
                return
            after = page[-1]
