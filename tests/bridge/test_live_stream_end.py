"""A live stream whose call has already ended ends too, even when gRPC never calls it back.

gRPC's ``add_callback`` returns False, and never calls the callback, for a call that ended before
the handler registered it (a client that left at once). The handler must still end: otherwise
its thread loops for ever, holds a subscriber slot, and keeps the bridge's process from exiting
(the server's thread pool is joined at interpreter exit). A real server cannot be made to lose
that race on purpose, so the call's context here is a stand-in with exactly that state.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from waits import WAIT_S

from gym_gui_bridge.bus.credits import CreditManager
from gym_gui_bridge.bus.run_bus import RunBus
from gym_gui_bridge.config.bridge import CreditConfig
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.records import KIND_EPISODE
from gym_gui_bridge.server.live import LiveSubscriber
from gym_gui_bridge.store.sink import TelemetryDBSink


class _EndedCall:
    """The context of a call that ended before its handler ran."""

    def add_callback(self, callback: Any) -> bool:
        return False  # gRPC: "the RPC has already terminated", the callback will not be called

    def is_active(self) -> bool:
        return False

    def abort(self, code: Any, details: str) -> None:
        raise AssertionError(f"unexpected abort {code}: {details}")


def test_a_stream_whose_call_already_ended_ends(tmp_path: Path) -> None:
    bus = RunBus()
    sink = TelemetryDBSink(bus, tmp_path / "db.sqlite")
    sink.start()
    try:
        subscriber = LiveSubscriber(
            pb.StreamRequest(run_id="r"),
            KIND_EPISODE,
            bus,
            sink,
            CreditManager(CreditConfig()),
            _EndedCall(),  # type: ignore[arg-type]
        )
        sent: list[Any] = []
        consumer = threading.Thread(target=lambda: sent.extend(subscriber.messages()))
        consumer.start()
        consumer.join(WAIT_S)
        assert not consumer.is_alive(), "the stream of an ended call is still running"
        assert sent == []
    finally:
        sink.stop()
