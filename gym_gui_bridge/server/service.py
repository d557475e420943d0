"""TrainerService: the servicer, its shared-token check, and its gRPC handler table.

Handlers are registered by hand (not with the generated ``add_..._to_server``) so that request
deserializers never raise: a message that does not parse becomes INVALID_ARGUMENT with the
reason instead of gRPC's generic INTERNAL. Every request passes :class:`TokenInterceptor` first
when the bridge has a token: a missing or wrong ``authorization: Bearer <token>`` gets
UNAUTHENTICATED (compared with ``hmac.compare_digest``, constant time).

Streams hold a server thread each, so they are capped in all and per peer
(:mod:`gym_gui_bridge.server.stream_limits`): past a cap a stream gets RESOURCE_EXHAUSTED naming it.
A publishing stream that received no batch for ``BRIDGE_IDLE_TIMEOUT_S``, with every batch
answered, is ended with status OK and the reason in the trailing metadata
``fastlane-stream-ended``, so a stream that only holds a slot loses it.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from gym_gui_bridge import __version__
from gym_gui_bridge.bus.credits import CreditManager
from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.config.bridge import BridgeConfig, CreditConfig, LiveConfig
from gym_gui_bridge.config.relay import RelayConfig
from gym_gui_bridge.errors import StoreError
from gym_gui_bridge.logs import (
    LOG_BRIDGE_AUTH_FAILED,
    LOG_BRIDGE_STREAM_IDLE,
    LOG_BRIDGE_STREAM_REFUSED,
    LogThrottle,
)
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.records import KIND_EPISODE, KIND_RUN, KIND_SCALAR, KIND_STEP
from gym_gui_bridge.protocol.wire import SERVICE_NAME, TOKEN_METADATA_KEY
from gym_gui_bridge.relay.hub import FrameRelay
from gym_gui_bridge.server.live import LiveSubscriber
from gym_gui_bridge.server.publish import PublishCounters, parse_batch, serve_publish
from gym_gui_bridge.server.stream_limits import StreamEnd, StreamSlots, counted, peer_of
from gym_gui_bridge.server.watch import fastlane_infos, serve_watch
from gym_gui_bridge.store.queries import list_runs
from gym_gui_bridge.store.schema import open_reader
from gym_gui_bridge.store.sink import TelemetryDBSink

__all__ = ["ENDED_METADATA_KEY", "TokenInterceptor", "TrainerServicer"]

_log = logging.getLogger(__name__)
#: Trailing metadata key of a publishing stream the bridge ended by itself (status OK): why.
ENDED_METADATA_KEY = "fastlane-stream-ended"


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuses every call whose metadata lacks ``authorization: Bearer <token>``.

    A refusal is logged at most once per ``log_interval_s`` (``BRIDGE_LOG_INTERVAL_S``).
    """

    def __init__(self, token: str, log_interval_s: float = BridgeConfig().log_interval_s) -> None:
        if not token:
            raise ValueError("Expected a non-empty token, got an empty one")
        self._expected = f"Bearer {token}".encode()
        self._throttle = LogThrottle(log_interval_s)

        def deny(_request: Any, context: grpc.ServicerContext) -> None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Expected a valid bridge token")

        self._deny_unary = grpc.unary_unary_rpc_method_handler(deny)
        self._deny_stream = grpc.stream_stream_rpc_method_handler(lambda it, ctx: deny(None, ctx))

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        given = dict(details.invocation_metadata or ()).get(TOKEN_METADATA_KEY, "")
        given_bytes = given.encode() if isinstance(given, str) else bytes(given)
        if hmac.compare_digest(given_bytes, self._expected):
            return continuation(details)
        if self._throttle.ready("auth"):
            _log.warning(
                "%s %s refused: %s token",
                LOG_BRIDGE_AUTH_FAILED,
                details.method,
                "wrong" if given else "no",
            )
        handler = continuation(details)
        if handler is not None and handler.request_streaming:
            return self._deny_stream
        return self._deny_unary


def _parse_or_none(message_type: Any) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return message_type.FromString(data)
        except DecodeError:
            return None

    return parse


class TrainerServicer:
    """The RPCs of TrainerService over one RunBus and the sink that owns the database.

    Args:
        bus: the RunBus publishing streams publish to.
        sink: the SQLite sink subscribed to ``bus``.
        config: stream limits, ack timeout, rejections per ack, log interval.
        live: queue size and replay page of each live subscriber.
        credits: the credits each live subscriber starts with and is throttled at.
        relay: the frame relay WatchFrames and ListFastLanes serve (default: a new one).
    """

    def __init__(
        self,
        bus: RunBus,
        sink: TelemetryDBSink,
        config: BridgeConfig = BridgeConfig(),
        live: LiveConfig = LiveConfig(),
        credits: CreditConfig = CreditConfig(),
        relay: FrameRelay | None = None,
    ) -> None:
        self.bus, self.sink = bus, sink
        self.relay = relay if relay is not None else FrameRelay(RelayConfig())
        self.config, self.live = config, live
        self.credits = CreditManager(credits)  # live subscribers' accounts
        self._throttle = LogThrottle(config.log_interval_s)  # shared by the publishing streams
        self.counters = PublishCounters()
        self.stopping = threading.Event()
        self.started = time.monotonic()
        self._lock = threading.Lock()  # guards _subscribers
        self._subscribers: list[LiveSubscriber] = []
        self.publish_slots = StreamSlots(
            "publishing streams",
            "BRIDGE_MAX_PUBLISHERS",
            config.max_publishers,
            config.max_publishers_per_peer,
            "_PER_PEER",
        )
        self.subscriber_slots = StreamSlots(
            "live subscribers",
            "BRIDGE_MAX_SUBSCRIBERS",
            config.max_subscribers,
            config.max_subscribers_per_peer,
            "_PER_PEER",
        )
        relay_config = self.relay.config
        self.watch_slots = StreamSlots(
            "frame watches",
            "RELAY_MAX_WATCHES",
            relay_config.max_watches,
            relay_config.max_watches_per_peer,
            "_PER_PEER",
        )

    def _take_slot(self, slots: StreamSlots, context: grpc.ServicerContext) -> str:
        """The caller's peer, once it holds a slot of ``slots``; else RESOURCE_EXHAUSTED."""
        peer = peer_of(context.peer())
        refused = slots.take(peer)
        if refused is not None:
            if self._throttle.ready(("refused", peer)):
                _log.warning("%s %s", LOG_BRIDGE_STREAM_REFUSED, refused)
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refused)
        return peer

    # --- publishing -----------------------------------------------------------------------------
    def _publish(
        self, kind: str | None
    ) -> Callable[[Iterator[Any], grpc.ServicerContext], Iterator[pb.BatchAck]]:
        def handler(
            requests: Iterator[Any], context: grpc.ServicerContext
        ) -> Iterator[pb.BatchAck]:
            peer = self._take_slot(self.publish_slots, context)
            with self.counters.lock:
                self.counters.publishers += 1
            end = StreamEnd(self.stopping, self.config.idle_timeout_s)
            try:
                for ack in serve_publish(
                    counted(requests, end),
                    context,
                    kind,
                    self.bus,
                    self.sink,
                    self.counters,
                    end,
                    self.config,
                    self._throttle,
                ):
                    end.answered()
                    yield ack
                if end.idle:
                    idle_s = self.config.idle_timeout_s
                    reason = f"idle for {idle_s:g} s without a batch (BRIDGE_IDLE_TIMEOUT_S)"
                    context.set_trailing_metadata(((ENDED_METADATA_KEY, reason),))
                    if self._throttle.ready(("idle", peer)):
                        _log.info(
                            "%s publishing stream of %s idle for %g s: ended",
                            LOG_BRIDGE_STREAM_IDLE,
                            peer,
                            idle_s,
                        )
            finally:
                with self.counters.lock:
                    self.counters.publishers -= 1
                self.publish_slots.give(peer)

        return handler

    # --- live subscribers -------------------------------------------------------------------------
    def _stream(
        self, kind: str
    ) -> Callable[[pb.StreamRequest | None, grpc.ServicerContext], Iterator[Any]]:
        def handler(
            request: pb.StreamRequest | None, context: grpc.ServicerContext
        ) -> Iterator[Any]:
            if request is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Expected a StreamRequest message")
            assert request is not None
            if not request.run_id:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Expected a run_id, got none")
            peer = self._take_slot(self.subscriber_slots, context)
            try:
                subscriber = LiveSubscriber(
                    request,
                    kind,
                    self.bus,
                    self.sink,
                    self.credits,
                    context,
                    self.live,
                    self._throttle,
                )
                with self._lock:
                    self._subscribers.append(subscriber)
                try:
                    yield from subscriber.messages()
                finally:
                    with self._lock:
                        self._subscribers.remove(subscriber)
            finally:
                self.subscriber_slots.give(peer)

        return handler

    # --- remote viewing -----------------------------------------------------------------------
    def watch_frames(
        self, request: pb.WatchRequest | None, context: grpc.ServicerContext
    ) -> Iterator[pb.Frame]:
        peer = self._take_slot(self.watch_slots, context)
        try:
            yield from serve_watch(self.relay, request, context, self.stopping)
        finally:
            self.watch_slots.give(peer)

    def list_fastlanes(
        self, _request: Any, _context: grpc.ServicerContext
    ) -> pb.ListFastLanesResponse:
        return fastlane_infos(self.relay)

    # --- queries ----------------------------------------------------------------------------------
    def list_runs(self, request: Any, context: grpc.ServicerContext) -> pb.ListRunsResponse:
        try:
            conn = open_reader(self.sink.db_path)
        except StoreError as error:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
        try:
            runs = list_runs(conn)
        finally:
            conn.close()
        response = pb.ListRunsResponse()
        for run in runs:
            info = response.runs.add(
                run_id=run["run_id"],
                status=run.get("status") or "unknown",
                started_at=run.get("started_at") or 0.0,
                finished_at=run.get("finished_at") or 0.0,
                episodes=run.get("episodes") or 0,
                pid=run.get("pid") or 0,
                error=run.get("error") or "",
            )
            if run.get("exit_code") is not None:
                info.exit_code = run["exit_code"]
        return response

    def health(self) -> pb.Health:
        sink = self.sink.stats()
        c = self.counters
        with c.lock:
            received, accepted, rejected = c.received, c.accepted, c.rejected
            dropped, publishers, runs = c.dropped, c.publishers, len(c.runs)
        with self._lock:
            subscribers = list(self._subscribers)
        try:
            wal = os.stat(self.sink.db_path + "-wal").st_size
        except OSError:
            wal = 0
        return pb.Health(
            status="stopping" if self.stopping.is_set() else "serving",
            version=__version__,
            uptime_s=time.monotonic() - self.started,
            records_received=received,
            records_accepted=accepted,
            records_rejected=rejected,
            records_dropped=dropped,
            sink_written=sink.written,
            sink_queue_depth=sink.queued + sink.pending,
            wal_bytes=wal,
            publishers=publishers,
            subscribers=len(subscribers),
            subscriber_drops=sum(s.dropped for s in subscribers),
            db_path=self.sink.db_path,
            runs=runs,
        )

    # --- handler table ----------------------------------------------------------------------------
    def generic_handler(self) -> grpc.GenericRpcHandler:
        ser = lambda message: message.SerializeToString()  # noqa: E731
        publish = {
            "PublishRecords": None,
            "PublishRunSteps": KIND_STEP,
            "PublishRunEpisodes": KIND_EPISODE,
            "PublishRunScalars": KIND_SCALAR,
            "PublishRunEvents": KIND_RUN,
        }
        handlers: dict[str, grpc.RpcMethodHandler] = {
            name: grpc.stream_stream_rpc_method_handler(
                self._publish(kind), request_deserializer=parse_batch, response_serializer=ser
            )
            for name, kind in publish.items()
        }
        streams = (
            ("StreamRunSteps", KIND_STEP),
            ("StreamRunEpisodes", KIND_EPISODE),
            ("StreamRunScalars", KIND_SCALAR),
        )
        for name, kind in streams:
            handlers[name] = grpc.unary_stream_rpc_method_handler(
                self._stream(kind),
                request_deserializer=_parse_or_none(pb.StreamRequest),
                response_serializer=ser,
            )
        handlers["WatchFrames"] = grpc.unary_stream_rpc_method_handler(
            self.watch_frames,
            request_deserializer=_parse_or_none(pb.WatchRequest),
            response_serializer=ser,
        )
        handlers["ListFastLanes"] = grpc.unary_unary_rpc_method_handler(
            self.list_fastlanes,
            request_deserializer=_parse_or_none(pb.ListFastLanesRequest),
            response_serializer=ser,
        )
        handlers["ListRuns"] = grpc.unary_unary_rpc_method_handler(
            self.list_runs,
            request_deserializer=_parse_or_none(pb.ListRunsRequest),
            response_serializer=ser,
        )
        handlers["GetHealth"] = grpc.unary_unary_rpc_method_handler(
            lambda _request, _context: self.health(),
            request_deserializer=_parse_or_none(pb.HealthRequest),
            response_serializer=ser,
        )
        return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
