"""The encodings of a record are versioned formats: for fixed records, the JSONL line (strict
and batch encoder) and the protobuf message are exactly these bytes. A change here breaks
spools, exports and other implementations of the v1 formats."""

from __future__ import annotations

import pytest

from gym_gui_bridge.protocol.jsonl import decode_record, encode_record
from gym_gui_bridge.protocol.jsonl_batch import encode_valid_batch
from gym_gui_bridge.protocol.records import EpisodeRollup, RunRecord, ScalarRecord, StepRecord
from gym_gui_bridge.protocol.wire import episode_message, step_message

_COMMON = {"run_id": "run-é", "agent_id": "default"}
STEP = StepRecord(
    **_COMMON,
    slot=3,
    seq=41,
    wall_time=1732790000.125,
    episode=3,
    step=7,
    global_step=168,
    action=1,
    reward=-0.5,
    terminated=False,
    truncated=True,
    frame_seq=12,
)
NESTED_ACTION = STEP._replace(action=[0.25, [-1, 2.5]], reward=1e-300, frame_seq=None)
NO_ACTION = STEP._replace(action=None, terminated=True, frame_seq=None)
FLOAT_ACTION = STEP._replace(action=0.5, reward=0.0)
FLAT_ACTION = STEP._replace(action=[0.25, -1.0, 3])
EPISODE = EpisodeRollup(
    run_id="run-é",
    slot=0,
    agent_id='agent"1',
    seq=3,
    wall_time=1732790000.5,
    episode=3,
    ep_return=23.0,
    length=23,
    terminated=True,
    truncated=False,
    global_step=372,
    duration=0.21,
)
SCALAR = ScalarRecord(
    **_COMMON,
    slot=-1,
    seq=0,
    wall_time=1732790001.0,
    tag="losses/value_loss\n",
    value=0.25,
    step=512,
)
STARTED = RunRecord(
    **_COMMON,
    slot=-1,
    seq=0,
    wall_time=1732789999.0,
    status="started",
    argv=("ppo.py", "--env-id", "CartPole-v1", "ü"),
    version="0.1.0",
    pid=4242,
)
FAILED = STARTED._replace(seq=1, status="failed", argv=(), error="Error: x", exit_code=1)

LINES = [
    (
        STEP,
        '{"v":1,"type":"step","run_id":"run-é","slot":3,"agent_id":"default","seq":41,"wall_time":1732790000.125,"episode":3,"step":7,"global_step":168,"action":1,"reward":-0.5,"terminated":false,"truncated":true,"frame_seq":12}',
    ),
    (
        NESTED_ACTION,
        '{"v":1,"type":"step","run_id":"run-é","slot":3,"agent_id":"default","seq":41,"wall_time":1732790000.125,"episode":3,"step":7,"global_step":168,"action":[0.25,[-1,2.5]],"reward":1e-300,"terminated":false,"truncated":true,"frame_seq":null}',
    ),
    (
        NO_ACTION,
        '{"v":1,"type":"step","run_id":"run-é","slot":3,"agent_id":"default","seq":41,"wall_time":1732790000.125,"episode":3,"step":7,"global_step":168,"action":null,"reward":-0.5,"terminated":true,"truncated":true,"frame_seq":null}',
    ),
    (
        FLOAT_ACTION,
        '{"v":1,"type":"step","run_id":"run-é","slot":3,"agent_id":"default","seq":41,"wall_time":1732790000.125,"episode":3,"step":7,"global_step":168,"action":0.5,"reward":0.0,"terminated":false,"truncated":true,"frame_seq":12}',
    ),
    (
        FLAT_ACTION,
        '{"v":1,"type":"step","run_id":"run-é","slot":3,"agent_id":"default","seq":41,"wall_time":1732790000.125,"episode":3,"step":7,"global_step":168,"action":[0.25,-1.0,3],"reward":-0.5,"terminated":false,"truncated":true,"frame_seq":12}',
    ),
    (
        EPISODE,
        '{"v":1,"type":"episode","run_id":"run-é","slot":0,"agent_id":"agent\\"1","seq":3,"wall_time":1732790000.5,"episode":3,"return":23.0,"length":23,"terminated":true,"truncated":false,"global_step":372,"duration":0.21}',
    ),
    (
        SCALAR,
        '{"v":1,"type":"scalar","run_id":"run-é","slot":-1,"agent_id":"default","seq":0,"wall_time":1732790001.0,"tag":"losses/value_loss\\n","value":0.25,"step":512}',
    ),
    (
        STARTED,
        '{"v":1,"type":"run","run_id":"run-é","slot":-1,"agent_id":"default","seq":0,"wall_time":1732789999.0,"status":"started","argv":["ppo.py", "--env-id", "CartPole-v1", "\\u00fc"],"version":"0.1.0","pid":4242,"error":null,"exit_code":null}',
    ),
    (
        FAILED,
        '{"v":1,"type":"run","run_id":"run-é","slot":-1,"agent_id":"default","seq":1,"wall_time":1732789999.0,"status":"failed","argv":[],"version":"0.1.0","pid":4242,"error":"Error: x","exit_code":1}',
    ),
]

MESSAGES = [
    (
        STEP,
        "0a0672756e2dc3a910031a0764656661756c74202929000008bc11d2d9413003380740a801480261000000000000e0bf7001780c",
    ),
    (
        NESTED_ACTION,
        "0a0672756e2dc3a910031a0764656661756c74202929000008bc11d2d9413003380740a8015a115b302e32352c205b2d312c20322e355d5d6159f3f8c21f6ea5017001",
    ),
    (
        NO_ACTION,
        "0a0672756e2dc3a910031a0764656661756c74202929000008bc11d2d9413003380740a80161000000000000e0bf68017001",
    ),
    (
        FLOAT_ACTION,
        "0a0672756e2dc3a910031a0764656661756c74202929000008bc11d2d9413003380740a80151000000000000e03f7001780c",
    ),
    (
        FLAT_ACTION,
        "0a0672756e2dc3a910031a0764656661756c74202929000008bc11d2d9413003380740a8015a0f5b302e32352c202d312e302c20335d61000000000000e0bf7001780c",
    ),
    (
        EPISODE,
        "0a0672756e2dc3a91a076167656e742231200329000020bc11d2d94130033900000000000037404017480158f40261e17a14ae47e1ca3f",
    ),
]


@pytest.mark.parametrize(("record", "line"), LINES, ids=[str(i) for i in range(len(LINES))])
def test_the_strict_encoder_writes_exactly_the_v1_line(record: object, line: str) -> None:
    assert encode_record(record) == line  # type: ignore[arg-type]
    assert decode_record(line) == record


def test_the_batch_encoder_writes_the_same_bytes_as_the_strict_encoder() -> None:
    batched = [
        (r, line) for r, line in LINES if r is not NESTED_ACTION and type(r) is not RunRecord
    ]
    expected = "".join(line + "\n" for _, line in batched).encode("utf-8")
    assert encode_valid_batch([r for r, _ in batched]) == expected


@pytest.mark.parametrize(
    ("record", "hex_bytes"), MESSAGES, ids=[str(i) for i in range(len(MESSAGES))]
)
def test_the_protobuf_message_of_a_record_is_exactly_these_bytes(
    record: StepRecord | EpisodeRollup, hex_bytes: str
) -> None:
    message = step_message(record) if type(record) is StepRecord else episode_message(record)  # type: ignore[arg-type]
    assert message.SerializeToString().hex() == hex_bytes


def test_every_field_of_a_step_or_episode_reaches_its_protobuf_message() -> None:
    step = step_message(STEP)
    for name, value in STEP._asdict().items():
        if name != "action":
            assert getattr(step, name) == value, name
    assert step.WhichOneof("action") == "action_int" and step.action_int == STEP.action
    assert not step_message(NO_ACTION).HasField("frame_seq")
    assert step_message(NESTED_ACTION).action_json == "[0.25, [-1, 2.5]]"
    episode = episode_message(EPISODE)
    assert {name: getattr(episode, name) for name in EPISODE._fields} == EPISODE._asdict()
