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

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.protocol.limits import GRPC_MAX_MESSAGE_BYTES
from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord

__all__ = [
    "PUBLISH_METHOD",
    "SERVICE_NAME",
    "TOKEN_METADATA_KEY",
    "auth_metadata",
    "channel_options",
    "episode_message",
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


def step_message(r: StepRecord) -> pb.Step:
    """A step record as sent to live subscribers."""
    m = pb.Step(
        run_id=r.run_id, slot=r.slot, agent_id=r.agent_id, seq=r.seq, wall_time=r.wall_time,
        episode=r.episode, step=r.step, global_step=r.global_step, reward=r.reward,
        terminated=r.terminated, truncated=r.truncated,
    )  # fmt: skip
    action = r.action
    if type(action) is int:
        m.action_int = action
    elif type(action) is float:
        m.action_float = action
    elif action is not None:
        m.action_json = json.dumps(action)
    if r.frame_seq is not None:
        m.frame_seq = r.frame_seq
    return m


def episode_message(r: EpisodeRollup) -> pb.Episode:
    """An episode rollup as sent to live subscribers."""
    return pb.Episode(
        run_id=r.run_id, slot=r.slot, agent_id=r.agent_id, seq=r.seq, wall_time=r.wall_time,
        episode=r.episode, ep_return=r.ep_return, length=r.length, terminated=r.terminated,
        truncated=r.truncated, global_step=r.global_step, duration=r.duration,
    )  # fmt: skip
