"""For the remote-viewing tests: a bridge in this process, and records published to it.

``in_process_bridge`` starts a real :class:`~gym_gui_bridge.server.app.Bridge` on 127.0.0.1
(gRPC, RunBus, SQLite sink, frame relay) in the test's process; ``publish`` sends records to it
through PublishRecords as a worker's emitter does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from waits import WAIT_S

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.jsonl import encode_lines
from gym_gui_bridge.protocol.records import TelemetryEvent
from gym_gui_bridge.server.app import Bridge, server_credentials
from gym_gui_bridge.server.client import connect

__all__ = ["TOKEN", "in_process_bridge", "publish"]

#: A token long enough for the bridge (16 characters or more).
TOKEN = "remote-view-test-token-0123456789"


@contextlib.contextmanager
def in_process_bridge(
    db: Path, *, port: int = 0, token: str | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[Bridge]:
    """A started bridge on 127.0.0.1:``port`` (0: any free port, see ``bridge.port``);
    ``tls``: its (certificate, key) files, for TLS only."""
    credentials = server_credentials(*tls) if tls is not None else None
    bridge = Bridge(db, f"127.0.0.1:{port}", token=token, tls=credentials)
    bridge.start()
    try:
        yield bridge
    finally:
        bridge.stop(grace=1.0)


def publish(bridge: Bridge, records: Sequence[TelemetryEvent], token: str | None = None) -> None:
    """Publish ``records`` to ``bridge`` in one batch; returns once they are stored."""
    stub = connect(f"127.0.0.1:{bridge.port}", token=token)
    batch = pb.RecordBatch(batch_id=1, jsonl=encode_lines(records).encode())
    acks = list(stub.PublishRecords(iter([batch]), timeout=WAIT_S))
    assert sum(a.accepted for a in acks) == len(records), acks
