"""Telemetry records of the slow lane: steps, episode rollups, scalars and run lifecycle.

Every transport carries these same four immutable record types: the in-process :class:`RunBus`, the
SQLite store, the JSONL encoding (:mod:`gym_gui_bridge.protocol.jsonl`) and gRPC. Each record
names its stream: ``(run_id, agent_id, kind, slot)``. ``seq`` counts the records of one stream
from 0 without holes, so a consumer recognises a duplicate (same stream, same seq) and detects a
gap (a seq skipped). ``slot`` is the vector-env index of the record's env, ``-1`` for run-level
records (scalars, lifecycle). ``wall_time`` is seconds since the Unix epoch (``time.time()``).

Records are built on the training thread, once per step, so they are ``typing.NamedTuple``
classes rather than frozen dataclasses: equally immutable, typed and field-named, but built in
~0.6 us instead of ~3-5 us (a frozen dataclass sets each field through ``object.__setattr__``;
measured here, see docs/records.md). Being tuples in the order of their table's insert columns,
most records are bound to SQLite as they are. Records of different kinds never compare equal
(their lengths differ). Construction does no validation; the JSONL decoder validates everything
that comes from outside a process.

Each field is annotated with its domain (:mod:`gym_gui_bridge.protocol.fields`): the JSONL
codecs, the store and the protobuf conversion derive their work from these four definitions.

>>> rec = ScalarRecord(
...     run_id="run-1", slot=-1, agent_id="default", seq=0, wall_time=1700000000.0,
...     tag="charts/SPS", value=2300.0, step=512,
... )
>>> rec.kind, rec.value, RECORD_TYPES[rec.kind] is ScalarRecord
('scalar', 2300.0, True)
"""

from __future__ import annotations

from typing import NamedTuple

from gym_gui_bridge.protocol.fields import (
    Action,
    Count,
    ExitCode,
    Name,
    NonNegative,
    Slot,
    Status,
)

__all__ = [
    "ACTION_TYPES",
    "DEFAULT_AGENT_ID",
    "KIND_EPISODE",
    "KIND_RUN",
    "KIND_SCALAR",
    "KIND_STEP",
    "RECORD_TYPES",
    "RUN_FAILED",
    "RUN_FINISHED",
    "RUN_LEVEL_SLOT",
    "RUN_STARTED",
    "RUN_STATUSES",
    "Action",
    "EpisodeRollup",
    "RunRecord",
    "ScalarRecord",
    "StepRecord",
    "TelemetryEvent",
    "stream_key",
]

KIND_STEP = "step"
KIND_EPISODE = "episode"
KIND_SCALAR = "scalar"
KIND_RUN = "run"

RUN_STARTED = "started"
RUN_FINISHED = "finished"
RUN_FAILED = "failed"
RUN_STATUSES = (RUN_STARTED, RUN_FINISHED, RUN_FAILED)

#: ``agent_id`` of single-agent runs (every CleanRL script).
DEFAULT_AGENT_ID = "default"

#: ``slot`` of records that belong to the run rather than to one env (scalars, lifecycle).
RUN_LEVEL_SLOT = -1

#: The Python types of an action's value (see ``Action``).
ACTION_TYPES = (int, float, list, type(None))


class StepRecord(NamedTuple):
    """One env transition of one slot.

    ``episode`` is the slot's episode index (from 0), ``step`` the index of this transition in
    the episode (from 0), ``global_step`` the slot's transitions so far times the number of envs
    (CleanRL's ``global_step`` convention), ``frame_seq`` the fast-lane sequence number of the
    frame this step produced, or None.
    """

    run_id: Name
    slot: Slot
    agent_id: Name
    seq: Count
    wall_time: NonNegative
    episode: Count
    step: Count
    global_step: Count
    action: Action
    reward: float
    terminated: bool
    truncated: bool
    frame_seq: Count | None = None

    @property
    def kind(self) -> str:
        """``"step"``: the record's type in JSONL and its stream key."""
        return KIND_STEP


class EpisodeRollup(NamedTuple):
    """One finished episode of one slot: its return (sum of rewards), length (transitions) and
    how it ended. ``duration`` is wall seconds from the episode's reset to its last step."""

    run_id: Name
    slot: Slot
    agent_id: Name
    seq: Count
    wall_time: NonNegative
    episode: Count
    ep_return: float
    length: Count
    terminated: bool
    truncated: bool
    global_step: Count
    duration: NonNegative

    @property
    def kind(self) -> str:
        """``"episode"``: the record's type in JSONL and its stream key."""
        return KIND_EPISODE


class ScalarRecord(NamedTuple):
    """One ``SummaryWriter.add_scalar(tag, value, step)`` call of the training script."""

    run_id: Name
    slot: Slot
    agent_id: Name
    seq: Count
    wall_time: NonNegative
    tag: Name
    value: float
    step: Count

    @property
    def kind(self) -> str:
        """``"scalar"``: the record's type in JSONL and its stream key."""
        return KIND_SCALAR


class RunRecord(NamedTuple):
    """A lifecycle event of a run: ``started``, then ``finished`` or ``failed``.

    ``argv`` is the script's command line, ``version`` the package version that recorded it,
    ``pid`` the process id of the script, ``error`` a one-line description of the failure
    (None unless failed), ``exit_code`` the process exit status when known.
    """

    run_id: Name
    slot: Slot
    agent_id: Name
    seq: Count
    wall_time: NonNegative
    status: Status
    argv: tuple[str, ...]
    version: str
    pid: Count
    error: str | None = None
    exit_code: ExitCode | None = None

    @property
    def kind(self) -> str:
        """``"run"``: the record's type in JSONL and its stream key."""
        return KIND_RUN


#: What the RunBus carries (the briefing's name for the envelope): any of the four records.
TelemetryEvent = StepRecord | EpisodeRollup | ScalarRecord | RunRecord

#: The record type of each kind (the JSONL ``"type"``).
RECORD_TYPES: dict[str, type[TelemetryEvent]] = {
    KIND_STEP: StepRecord,
    KIND_EPISODE: EpisodeRollup,
    KIND_SCALAR: ScalarRecord,
    KIND_RUN: RunRecord,
}


def stream_key(record: TelemetryEvent) -> tuple[str, str, str, int]:
    """The stream a record belongs to: ``(run_id, agent_id, kind, slot)``; ``seq`` counts it.

    >>> stream_key(ScalarRecord("r", -1, "default", 3, 0.0, tag="loss", value=0.5, step=10))
    ('r', 'default', 'scalar', -1)
    """
    return (record.run_id, record.agent_id, record.kind, record.slot)
