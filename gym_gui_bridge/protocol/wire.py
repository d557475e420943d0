"""What both ends of the gRPC connection agree on besides the .proto: method paths, the token
metadata, channel options (message size limits) and record <-> message conversion for live
subscribers.

>>> auth_metadata("s3cret")
(('authorization', 'Bearer s3cret'),)
>>> auth_metadata(None)
()
"""

from __future__ import annotations

import json
from typing import Any

from gym_gui_bridge.errors import RecordEncodeError
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.limits import GRPC_MAX_MESSAGE_BYTES
from gym_gui_bridge.protocol.normalise import normalised
from gym_gui_bridge.protocol.records import EpisodeRollup, ScalarRecord, StepRecord
from gym_gui_bridge.protocol.storable import storable
from gym_gui_bridge.protocol.validation import problem

__all__ = [
    "PUBLISH_METHOD",
    "SERVICE_NAME",
    "TOKEN_METADATA_KEY",
    "auth_metadata",
    "channel_options",
    "episode_message",
    "scalar_message",
    "step_message",
]

SERVICE_NAME = "gym_gui_bridge.v1.TrainerService"
#: The emitter's stream: records of every kind on one bidirectional stream.
PUBLISH_METHOD = f"/{SERVICE_NAME}/PublishRecords"
#: gRPC metadata key carrying ``Bearer <token>`` when the bridge requires a shared token.
TOKEN_METADATA_KEY = "authorization"


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """The call metadata that authenticates with ``token`` (nothing without one)."""
    return ((TOKEN_METADATA_KEY, f"Bearer {token}"),) if token else ()


def channel_options() -> list[tuple[str, Any]]:
    """Options of every channel and server: deliberate message size limits both ways."""
    return [
        ("grpc.max_send_message_length", GRPC_MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", GRPC_MAX_MESSAGE_BYTES),
    ]


def _shared_fields(record_type: Any, message_type: Any) -> tuple[str, ...]:
    """The record's fields that the message has under the same name, in record order."""
    names = message_type.DESCRIPTOR.fields_by_name
    return tuple(name for name in record_type._fields if name in names)


# Fields are copied by name (a test checks that every record field reaches its message); the
# action, a oneof of three typed fields, is converted. A None is not set: the message's optional
# field (frame_seq) stays absent.
_STEP_FIELDS = _shared_fields(StepRecord, pb.Step)


def _valid(record: Any) -> Any:
    """``record`` (its values converted, if foreign), or RecordEncodeError with the reason: the
    wire carries what the validation accepts, nothing else (``slot`` is an int32 there)."""
    if storable(record):
        return record
    converted = normalised(record)
    reason = problem(converted)
    if reason is not None:
        raise RecordEncodeError(f"Expected a record protobuf can carry, got {reason}")
    return converted


def step_message(r: StepRecord) -> pb.Step:
    """A step record as sent to live subscribers.

    Raises:
        RecordEncodeError: a record that fails the validation
            (:func:`~gym_gui_bridge.protocol.validation.check_record`); none that a decoder or
            the store's sink accepted does.
    """
    r = _valid(r)
    m = pb.Step(**{name: getattr(r, name) for name in _STEP_FIELDS})
    action = r.action
    if type(action) is int:
        m.action_int = action
    elif type(action) is float:
        m.action_float = action
    elif action is not None:
        m.action_json = json.dumps(action)
    return m


def episode_message(r: EpisodeRollup) -> pb.Episode:
    """An episode rollup as sent to live subscribers.

    Raises:
        RecordEncodeError: a record that fails the validation (see :func:`step_message`).
    """
    return pb.Episode(**_valid(r)._asdict())


def scalar_message(r: ScalarRecord) -> pb.Scalar:
    """A scalar record as sent to live subscribers.

    Raises:
        RecordEncodeError: a record that fails the validation (see :func:`step_message`).
    """
    return pb.Scalar(**_valid(r)._asdict())
