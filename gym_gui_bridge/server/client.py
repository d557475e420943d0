"""A small synchronous client of a running bridge: channels, health, runs, sending JSONL files.

>>> stub = connect("127.0.0.1:1")  # connecting is lazy: nothing happens until a call
>>> type(stub).__name__
'TrainerServiceStub'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.errors import BridgeError
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.proto import trainer_pb2_grpc as pb_grpc
from gym_gui_bridge.protocol.spool import iter_complete_lines
from gym_gui_bridge.protocol.wire import auth_metadata
from gym_gui_bridge.server.channel import open_channel
from gym_gui_bridge.store.ingest import IngestResult

__all__ = ["IngestIncomplete", "connect", "open_channel", "send_files"]

_CALL_TIMEOUT_S = 600.0  # longest one ingest stream may take


def connect(
    address: str, *, token: str | None = None, tls_ca: str | Path | None = None
) -> pb_grpc.TrainerServiceStub:
    """A stub on a new channel to ``address`` (HOST:PORT); see :func:`open_channel`."""
    return pb_grpc.TrainerServiceStub(open_channel(address, token=token, tls_ca=tls_ca))


@dataclass
class _Sent:
    """What the batch generator handed to gRPC so far."""

    covers: list[set[int]] = field(default_factory=list)
    """For batch ``i + 1`` (its ``batch_id``), the files it holds lines of."""
    files: int = 0
    """The leading files every line of which is in a batch handed over."""


def _batches(files: list[Path], config: EmitterConfig, sent: _Sent) -> Iterator[pb.RecordBatch]:
    lines: list[bytes] = []
    size = 0
    held: set[int] = set()
    for index, file in enumerate(files):
        for line, _ in iter_complete_lines(file):
            lines.append(line)
            held.add(index)
            size += len(line)
            if len(lines) >= config.batch_size or size >= config.batch_max_bytes:
                sent.covers.append(held)
                sent.files = index
                yield pb.RecordBatch(batch_id=len(sent.covers), jsonl=b"".join(lines))
                lines, size, held = [], 0, set()
        if not lines:
            sent.files = index + 1
    if lines:
        sent.covers.append(held)
        sent.files = len(files)
        yield pb.RecordBatch(batch_id=len(sent.covers), jsonl=b"".join(lines))


class IngestIncomplete(BridgeError):
    """Sending files to a bridge ended before every record of them was acknowledged as stored
    or rejected. ``result`` says what was: its ``complete`` files may be deleted."""

    def __init__(self, message: str, result: IngestResult) -> None:
        super().__init__(message)
        self.result = result


def send_files(
    files: list[Path],
    address: str,
    token: str | None = None,
    config: EmitterConfig = EmitterConfig(),
    tls_ca: str | Path | None = None,
) -> IngestResult:
    """Send every line of ``files`` to the bridge; returns what it stored and rejected, and
    which files are complete (every record acknowledged as stored or rejected).

    Batches are cut as the emitter cuts them (``config``: ``EMITTER_BATCH_SIZE`` lines,
    ``EMITTER_BATCH_MAX_BYTES``). ``tls_ca`` (a PEM file) makes the connection TLS.

    Raises:
        IngestIncomplete: the bridge could not be reached, refused the call, dropped records,
            or ended the stream before acknowledging every batch; its ``result`` holds the
            files that are complete all the same.
    """
    stub = connect(address, tls_ca=tls_ca)
    result = IngestResult(files=len(files))
    sent = _Sent()
    acked = 0

    def incomplete(message: str) -> IngestIncomplete:
        pending = {i for batch in sent.covers[acked:] for i in batch}
        result.complete = [f for i, f in enumerate(files[: sent.files]) if i not in pending]
        return IngestIncomplete(message, result)

    responses = stub.PublishRecords(
        _batches(files, config, sent), metadata=auth_metadata(token), timeout=_CALL_TIMEOUT_S
    )
    try:
        for ack in responses:
            if ack.batch_id != acked + 1:
                raise incomplete(
                    f"Expected the bridge at {address} to acknowledge batch {acked + 1}, "
                    f"got an acknowledgement of batch {ack.batch_id}; run ingest again"
                )
            result.accepted += ack.accepted
            result.rejected += ack.rejected
            if ack.dropped:
                raise incomplete(
                    f"Expected the bridge to store batch {ack.batch_id}, "
                    f"it dropped {ack.dropped} records; run ingest again"
                )
            acked += 1
    except grpc.RpcError as error:
        raise incomplete(
            f"Expected a bridge at {address}, got {error.code()}: {error.details()}"
        ) from None
    finally:
        responses.cancel()  # ends the call at once if it is still going (no-op once it ended)
    if acked < len(sent.covers) or sent.files < len(files):
        raise incomplete(
            f"Expected an acknowledgement of each of the {len(sent.covers)} batches sent to "
            f"{address}, the stream ended after {acked}; run ingest again"
        )
    result.complete = list(files)
    return result
