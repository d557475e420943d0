"""Live subscribers: StreamRunSteps / StreamRunEpisodes, replay from SQLite then live, no seam.

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
"""

from __future__ import annotations

import itertools
import queue
import sqlite3
import threading
from collections.abc import Iterator

import grpc

from gym_gui_bridge.bus.credits import CreditAccount, CreditManager
from gym_gui_bridge.bus.run_bus import OverflowPolicy, RunBus
from gym_gui_bridge.config.bridge import LiveConfig
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.records import KIND_EPISODE, KIND_STEP, TelemetryEvent
from gym_gui_bridge.protocol.wire import episode_message, step_message
from gym_gui_bridge.store.queries import replay_page
from gym_gui_bridge.store.schema import open_reader
from gym_gui_bridge.store.sink import TelemetryDBSink

__all__ = ["LiveSubscriber"]

_POLL_S = 0.2  # how often blocked loops look at the stream's state
_FLUSH_TIMEOUT_S = 30.0  # longest a replay waits for the sink to commit what was published
_ids = itertools.count(1)


class LiveSubscriber:
    """One live subscriber stream; :meth:`messages` is the RPC's response iterator.

    Its account is opened in ``credits`` (the bridge's credit manager); ``config`` sizes its
    RunBus queue and its replay queries.
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
    ) -> None:
        if kind not in (KIND_STEP, KIND_EPISODE):
            raise ValueError(f"Expected kind step or episode, got {kind!r}")
        self.name = f"live-{next(_ids)}"
        self.kind = kind
        self.run_id = request.run_id
        self.agent_id = request.agent_id or "default"
        self.slot: int | None = request.slot if request.HasField("slot") else None
        self.from_seq = request.from_seq
        self.gaps = 0
        self._bus, self._sink, self._context = bus, sink, context
        self._page_rows = config.replay_page_rows
        self._outgoing: queue.SimpleQueue[TelemetryEvent] = queue.SimpleQueue()
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

    def messages(self) -> Iterator[pb.Step | pb.Episode]:
        """Start the pump and yield messages until the client goes away."""
        self._context.add_callback(self._done.set)
        self._pump.start()
        convert = step_message if self.kind == KIND_STEP else episode_message
        try:
            while not self._done.is_set():
                try:
                    record = self._outgoing.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                yield convert(record)  # type: ignore[arg-type]
                self._account.grant(1)
        finally:
            self.stop()

    def stop(self) -> None:
        self._done.set()
        self._subscription.unsubscribe()
        self._pump.join(_POLL_S * 5)

    # --- the pump thread --------------------------------------------------------------------------
    def _run(self) -> None:
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
        while not self._account.acquire(timeout=_POLL_S):
            if self._done.is_set():
                return
        self._last[record.slot] = record.seq
        self._outgoing.put(record)

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
