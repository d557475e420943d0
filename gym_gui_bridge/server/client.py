"""A small synchronous client of a running bridge: health, runs, sending JSONL files.

>>> stub = connect("127.0.0.1:1")  # connecting is lazy: nothing happens until a call
>>> type(stub).__name__
'TrainerServiceStub'
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc

from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.proto import trainer_pb2_grpc as pb_grpc
from gym_gui_bridge.protocol.spool import iter_complete_lines
from gym_gui_bridge.protocol.wire import auth_metadata, channel_options
from gym_gui_bridge.store.ingest import IngestResult

__all__ = ["connect", "send_files"]

_CALL_TIMEOUT_S = 600.0  # longest one ingest stream may take


def connect(address: str) -> pb_grpc.TrainerServiceStub:
    """A stub on a new channel to ``address`` (HOST:PORT)."""
    return pb_grpc.TrainerServiceStub(grpc.insecure_channel(address, options=channel_options()))


def _batches(files: list[Path], config: EmitterConfig) -> Iterator[pb.RecordBatch]:
    lines: list[bytes] = []
    size, batch_id = 0, 0
    for file in files:
        for line, _ in iter_complete_lines(file):
            lines.append(line)
            size += len(line)
            if len(lines) >= config.batch_size or size >= config.batch_max_bytes:
                batch_id += 1
                yield pb.RecordBatch(batch_id=batch_id, jsonl=b"".join(lines))
                lines, size = [], 0
    if lines:
        yield pb.RecordBatch(batch_id=batch_id + 1, jsonl=b"".join(lines))


def send_files(
    files: list[Path],
    address: str,
    token: str | None = None,
    config: EmitterConfig = EmitterConfig(),
) -> IngestResult:
    """Send every line of ``files`` to the bridge; returns what it stored and rejected.

    Batches are cut as the emitter cuts them (``config``: ``EMITTER_BATCH_SIZE`` lines,
    ``EMITTER_BATCH_MAX_BYTES``).

    Raises:
        BridgeError: the bridge could not be reached, refused the call, or dropped records.
    """
    stub = connect(address)
    result = IngestResult(files=len(files))
    try:
        for ack in stub.PublishRecords(
            _batches(files, config), metadata=auth_metadata(token), timeout=_CALL_TIMEOUT_S
        ):
            result.accepted += ack.accepted
            result.rejected += ack.rejected
            if ack.dropped:
                raise BridgeError(
                    f"Expected the bridge to store batch {ack.batch_id}, "
                    f"it dropped {ack.dropped} records; run ingest again"
                )
    except grpc.RpcError as error:
        raise BridgeError(
            f"Expected a bridge at {address}, got {error.code()}: {error.details()}"
        ) from None
    return result
