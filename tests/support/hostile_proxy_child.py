"""A hostile worker for the proxy tests: binary garbage, lines that look like records and are
not (some of which have made decoders raise), invalid UTF-8, a huge line, valid records in
between, then a huge last line without newline; exit code 5.

usage: hostile_proxy_child.py RUN_ID RECORDS EXPECTED_FILE

Everything that is not a valid record is also appended to EXPECTED_FILE: what the proxy must
pass through, byte for byte. The number of record-looking lines that are not records is printed
on stderr as ``bad candidates N``.
"""

from __future__ import annotations

import os
import random
import sys

from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.records import StepRecord

_HUGE = 3 * 1024 * 1024  # beyond JSONL_MAX_LINE_BYTES


def main() -> None:
    run_id, count, expected_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    out, expected = sys.stdout.buffer, open(expected_path, "wb")  # noqa: SIM115
    rng = random.Random(12)
    good = encode_record(
        StepRecord(run_id, 0, "default", 0, 1.0, 0, 0, 0, 1, 0.5, False, False)
    ).encode()
    bad_candidates = [
        b'{"v":' + bytes(rng.randrange(256) for _ in range(300)).replace(b"\n", b"") + b"\n",
        good.replace(b'"action":1', b'"action":' + b"[" * 5000 + b"]" * 5000) + b"\n",
        good.replace(b'"reward":0.5', b'"reward":' + b"9" * 400) + b"\n",  # a float of 400 digits
        good.replace(b'"run_id":"', b'"run_id":"\xff\xfe') + b"\n",  # invalid UTF-8
        good.replace(b'"action":1', b'"action":"\\ud800"') + b"\n",  # a lone surrogate
        b'{"v":1}\n',
        b'  {"v" : 2, "type": "step"}\n',
    ]
    noise = [
        bytes(range(256)) * 40 + b"\n",  # binary, NUL bytes included
        b"\x00\x01\x02 no newline for a while " * 1000 + b"\n",
        b"plain text line\n",
        b"\xff\xfe\xfd invalid utf-8\n",
        b"[1, 2, 3]\n",  # JSON, not a record
        b'{"type": "step"}\n',  # a JSON object without "v" first: not a candidate
        b"\r\n",
        b"x" * _HUGE + b"\n",
    ]

    def emit(data: bytes, is_record: bool = False) -> None:
        out.write(data)
        if not is_record:
            expected.write(data)

    for i in range(count):
        if i % 7 == 0:
            emit(noise[(i // 7) % len(noise)])
        if i % 11 == 0:
            emit(bad_candidates[(i // 11) % len(bad_candidates)])
        record = StepRecord(run_id, 0, "default", i, 1.0, 0, i, i, i % 2, 0.5, False, False)
        emit(encode_record(record).encode() + b"\n", is_record=True)
    for line in bad_candidates:  # each at least once
        emit(line)
    emit(b'{"v":1,' + b"y" * _HUGE)  # a huge record candidate, the last line, no newline
    out.flush()
    expected.close()
    bad = sum(1 for i in range(count) if i % 11 == 0) + len(bad_candidates) + 1
    print(f"bad candidates {bad}", file=sys.stderr, flush=True)
    os._exit(5)


if __name__ == "__main__":
    main()
