"""Hostile records, as JSONL lines and as record objects, each with the reason code it must get.

``LINES``: what another process or a file may hand a decoder (each case one fault, on an
otherwise valid line). ``RECORDS``: records built in a process with values no decoder would
accept (what a training script can put into the embedded recorder). Shared by the decoder,
sink, bridge and ingest tests of tests/hostile/.
"""

from __future__ import annotations

import json

from record_corpus import LINE, RUN, replaced, with_
from record_factory import run, scalar, step

from gym_gui_bridge.protocol.limits import JSONL_MAX_LIST_ITEMS

__all__ = ["LINES", "RECORDS", "good_step_line"]


def good_step_line(run_id: str, seq: int) -> bytes:
    """A valid step line of ``run_id``, slot 0, ``seq`` (also its step index)."""
    return (
        json.dumps(
            {**json.loads(LINE), "run_id": run_id, "seq": seq, "step": seq},
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )


def _run_line(**changes: object) -> str:
    return json.dumps({**RUN, **changes})


_DEEP = "[" * 5000 + "]" * 5000


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


# (case id, line, reason code)
LINES: list[tuple[str, bytes | str, str]] = [
    ("action 2**63", with_(action=2**63), "out_of_range"),
    ("action -2**63-1", with_(action=-(2**63) - 1), "out_of_range"),
    ("2**63 inside a nested action", with_(action=[0.5, [1, 2**63]]), "out_of_range"),
    ("lone surrogate in run_id", replaced(LINE, '"run-1"', '"run-\\ud800"'), "bad_unicode"),
    (
        "lone surrogate in tag",
        json.dumps(scalar()._asdict() | {"v": 1, "type": "scalar", "tag": "\udc00"}),
        "bad_unicode",
    ),
    ("lone surrogate in error text", _run_line(status="failed", error="x\ud800"), "bad_unicode"),
    ("lone surrogate in argv", _run_line(argv=["ppo.py", "\udcff"]), "bad_unicode"),
    ("string action with a surrogate", with_(action="\ud800"), "wrong_type"),
    ("raw surrogate bytes", LINE.encode().replace(b"run-1", b"run-\xed\xa0\x80"), "not_utf8"),
    ("NaN reward", replaced(LINE, '"reward":1.0', '"reward":NaN'), "not_finite"),
    ("Infinity wall_time", replaced(LINE, ":1700000000.0", ":Infinity"), "not_finite"),
    ("NaN inside an action", with_(action=[1.0, float("nan")]), "not_finite"),
    (
        "400-digit integer reward",
        replaced(LINE, '"reward":1.0', '"reward":' + "9" * 400),
        "not_finite",
    ),
    ("400-digit integer wall_time", replaced(LINE, ":1700000000.0", ":" + "7" * 400), "not_finite"),
    ("5000-digit integer seq", replaced(LINE, '"seq":5', '"seq":' + "1" * 5000), "not_json"),
    ("action nested 5000 deep", replaced(LINE, '"action":1', '"action":' + _DEEP), "not_json"),
    ("field nested 5000 deep", LINE[:-1] + ',"extra":' + _DEEP + "}", "not_json"),
    ("action nested 9 deep", with_(action=[[[[[[[[[1]]]]]]]]]), "too_deep"),
    ("oversize action", with_(action=[0] * (JSONL_MAX_LIST_ITEMS + 1)), "too_big"),
    ("oversize argv", _run_line(argv=["a"] * (JSONL_MAX_LIST_ITEMS + 1)), "too_big"),
    ("seq as string", with_(seq="5"), "wrong_type"),
    ("slot 2**40", with_(slot=2**40), "out_of_range"),
    ("slot 2**31", with_(slot=2**31), "out_of_range"),
    ("exit_code 2**63", _run_line(status="failed", exit_code=2**63), "out_of_range"),
    ("pid below 0", _run_line(pid=-5), "negative"),
    ("truncated line", LINE[: len(LINE) // 2], "not_json"),
    ("garbled line", LINE.replace(":", "=", 3), "not_json"),
    ("binary garbage", bytes(b for b in range(256) if b != ord("\n")) * 4, "not_utf8"),
    ("NUL bytes", b"\x00" * 64, "not_json"),
    ("empty line", "", "not_json"),
    ("JSON array", "[1, 2, 3]", "not_object"),
]

# (case id, record, reason code): values a script may hand the embedded recorder
RECORDS: list[tuple[str, object, str]] = [
    ("action 2**63", step(action=2**63), "out_of_range"),
    ("action -2**63-1", step(action=-(2**63) - 1), "out_of_range"),
    ("2**63 inside a nested action", step(action=[[0.5], [2**63]]), "out_of_range"),
    ("lone surrogate in run_id", step(run_id="run-\ud800"), "bad_unicode"),
    ("lone surrogate in tag", scalar(tag="loss\udcff"), "bad_unicode"),
    ("lone surrogate in error text", run(status="failed", error="\ud800 boom"), "bad_unicode"),
    ("lone surrogate in argv", run(argv=("ppo.py", "--x=\udcff")), "bad_unicode"),
    ("string action", step(action="\ud800"), "wrong_type"),
    ("NaN scalar value", scalar(value=float("nan")), "not_finite"),
    ("infinite reward", step(reward=float("inf")), "not_finite"),
    ("NaN inside an action", step(action=[0.1, float("nan")]), "not_finite"),
    ("action nested 5000 deep", step(action=_nested(5000)), "too_deep"),
    ("oversize action", step(action=[0.0] * (JSONL_MAX_LIST_ITEMS + 1)), "too_big"),
    ("slot 2**40", step(slot=2**40), "out_of_range"),
    ("scalar step 2**64", scalar(step=2**64), "out_of_range"),
    ("negative seq", step(seq=-1), "negative"),
    ("empty tag", scalar(tag=""), "bad_value"),
    ("seq as string", step(seq="5"), "wrong_type"),
    ("unknown run status", run(status="paused"), "bad_value"),
    ("400-digit integer reward", step(reward=10**400), "not_finite"),
]
