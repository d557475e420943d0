"""Records with plain defaults, built by field name: ``step(seq=3, action=[0.5, 1.0])``.

Every field can be given; the rest keep the defaults below (slot 0 or run-level, agent
"default", seq 0), so a test names only what it is about.
"""

from __future__ import annotations

from typing import Any

from gym_gui_bridge.protocol.records import EpisodeRollup, RunRecord, ScalarRecord, StepRecord

__all__ = ["episode", "run", "scalar", "step"]

_STEP = StepRecord(
    run_id="run-1",
    slot=0,
    agent_id="default",
    seq=0,
    wall_time=1.0,
    episode=0,
    step=0,
    global_step=0,
    action=0,
    reward=1.0,
    terminated=False,
    truncated=False,
)
_EPISODE = EpisodeRollup(
    run_id="run-1",
    slot=0,
    agent_id="default",
    seq=0,
    wall_time=1.0,
    episode=0,
    ep_return=10.0,
    length=10,
    terminated=True,
    truncated=False,
    global_step=10,
    duration=0.1,
)
_SCALAR = ScalarRecord(
    run_id="run-1",
    slot=-1,
    agent_id="default",
    seq=0,
    wall_time=1.0,
    tag="loss",
    value=1.0,
    step=0,
)
_RUN = RunRecord(
    run_id="run-1",
    slot=-1,
    agent_id="default",
    seq=0,
    wall_time=1.0,
    status="started",
    argv=("train.py",),
    version="0",
    pid=1,
)


def step(**fields: Any) -> StepRecord:
    """A step record: ``fields`` replace the defaults."""
    return _STEP._replace(**fields)


def episode(**fields: Any) -> EpisodeRollup:
    """An episode rollup: ``fields`` replace the defaults."""
    return _EPISODE._replace(**fields)


def scalar(**fields: Any) -> ScalarRecord:
    """A scalar record (tag "loss"): ``fields`` replace the defaults."""
    return _SCALAR._replace(**fields)


def run(**fields: Any) -> RunRecord:
    """A lifecycle record (``started``): ``fields`` replace the defaults."""
    return _RUN._replace(**fields)
