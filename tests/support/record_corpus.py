"""Malformed JSONL lines, each with the reason code the strict decoder must give."""

from __future__ import annotations

import json

from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.limits import JSONL_MAX_LINE_BYTES
from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord

__all__ = ["CORPUS", "EPISODE", "GOOD", "STEP", "replaced", "with_", "without"]

STEP = StepRecord(
    run_id="run-1",
    slot=0,
    agent_id="default",
    seq=5,
    wall_time=1700000000.0,
    episode=2,
    step=7,
    global_step=40,
    action=1,
    reward=1.0,
    terminated=False,
    truncated=False,
    frame_seq=12,
)
LINE = encode_record(STEP)
GOOD = json.loads(LINE)
EPISODE = EpisodeRollup(
    run_id="r",
    slot=0,
    agent_id="default",
    seq=0,
    wall_time=1.0,
    episode=0,
    ep_return=1.0,
    length=1,
    terminated=True,
    truncated=False,
    global_step=1,
    duration=0.5,
)
RUN = {
    "v": 1,
    "type": "run",
    "run_id": "r",
    "slot": -1,
    "agent_id": "a",
    "seq": 0,
    "wall_time": 1.0,
    "status": "started",
    "argv": [],
    "version": "0.1",
    "pid": 1,
    "error": None,
    "exit_code": None,
}


def with_(**changes: object) -> str:
    return json.dumps({**GOOD, **changes})


def replaced(line: str, old: str, new: str) -> str:
    """``line`` with the text ``old`` (which must be in it) replaced by ``new``."""
    assert old in line, (old, line)
    return line.replace(old, new)


def without(key: str) -> str:
    return json.dumps({k: v for k, v in GOOD.items() if k != key})


# (case id, line, expected reason code)
CORPUS: list[tuple[str, bytes | str, str]] = [
    ("empty line", "", "not_json"),
    ("whitespace only", "   \n", "not_json"),
    ("truncated json", LINE[:-10], "not_json"),
    ("trailing garbage", LINE + "x", "not_json"),
    ("plain text", "Epoch 3 loss=0.2", "not_json"),
    ("json array", "[1, 2, 3]", "not_object"),
    ("json number", "42", "not_object"),
    ("json string", '"step"', "not_object"),
    ("json null", "null", "not_object"),
    ("invalid utf-8", b'{"v":1,"type":"step","run_id":"\xff\xfe"}', "not_utf8"),
    ("too long", b'{"v":1,"pad":"' + b"a" * JSONL_MAX_LINE_BYTES + b'"}', "too_long"),
    ("too long str", '{"v":1,"pad":"' + "a" * JSONL_MAX_LINE_BYTES + '"}', "too_long"),
    ("missing version", without("v"), "bad_version"),
    ("version 2", with_(v=2), "bad_version"),
    ("version as string", with_(v="1"), "bad_version"),
    ("version as bool", with_(v=True), "bad_version"),
    ("unknown type", with_(type="frame"), "bad_type"),
    ("type not a string", with_(type=1), "bad_type"),
    ("missing reward", without("reward"), "missing_field"),
    ("missing run_id", without("run_id"), "missing_field"),
    ("unknown field", with_(render_payload="..."), "unknown_field"),
    ("duplicate key", LINE[:-1] + ',"seq":6}', "duplicate_key"),
    ("NaN reward", replaced(LINE, '"reward":1.0', '"reward":NaN'), "not_finite"),
    ("Infinity reward", replaced(LINE, '"reward":1.0', '"reward":Infinity'), "not_finite"),
    ("-Infinity wall_time", replaced(LINE, ":1700000000.0", ":-Infinity"), "not_finite"),
    ("overflowing float", replaced(LINE, '"reward":1.0', '"reward":1e999'), "not_finite"),
    ("reward as string", with_(reward="1.0"), "wrong_type"),
    ("seq as float", with_(seq=5.0), "wrong_type"),
    ("seq as bool", with_(seq=True), "wrong_type"),
    ("terminated as int", with_(terminated=0), "wrong_type"),
    ("negative seq", with_(seq=-1), "negative"),
    ("negative episode", with_(episode=-3), "negative"),
    ("slot below -1", with_(slot=-2), "negative"),
    ("seq beyond int64", with_(seq=2**63), "out_of_range"),
    ("empty run_id", with_(run_id=""), "bad_value"),
    ("run_id not a string", with_(run_id=7), "wrong_type"),
    ("action as object", with_(action={"a": 1}), "wrong_type"),
    ("action as bool", with_(action=True), "wrong_type"),
    ("action too deep", with_(action=[[[[[[[[[[1]]]]]]]]]]), "too_deep"),
    ("frame_seq as string", with_(frame_seq="12"), "wrong_type"),
    ("deeply nested json", "[" * 100000 + "]" * 100000, "not_json"),
    (
        "negative duration",
        json.dumps({**json.loads(encode_record(EPISODE)), "duration": -0.5}),
        "negative",
    ),
    ("run status unknown", json.dumps({**RUN, "status": "paused"}), "bad_value"),
    ("argv not strings", json.dumps({**RUN, "argv": [1]}), "wrong_type"),
]
