"""A misbehaving worker for the proxy tests: garbage, a huge line, invalid UTF-8, valid JSONL
records, stderr, a partial last line, then a crash (exit code 3).

usage: proxy_child.py RUN_ID RECORDS HUGE_BYTES COPY_FILE

Everything written to stdout is also written to COPY_FILE, so a test can compare.
"""

from __future__ import annotations

import os
import sys

from gym_gui_bridge.protocol.jsonl import encode_record
from gym_gui_bridge.protocol.records import EpisodeRollup


def main() -> None:
    run_id, count, huge = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    copy = open(sys.argv[4], "wb")  # noqa: SIM115

    class _Tee:
        def write(self, data: bytes) -> None:
            sys.stdout.buffer.write(data)
            copy.write(data)

        def flush(self) -> None:
            sys.stdout.buffer.flush()
            copy.flush()

    out = _Tee()
    out.write(b"hello from the child\n")
    out.write(b"garbage {not json\n")
    out.write(b'{"v":1,"type":"episode","broken":true}\n')  # looks like a record, is not
    out.write(b"x" * huge + b"\n")
    out.write(b'{"v":1,' + b"y" * huge + b"\n")  # a record candidate far too long
    out.write(b"bad utf8 \xff\xfe\xfd\n")
    for i in range(count):
        rec = EpisodeRollup(
            run_id, i % 4, "default", i // 4, 1.0, i // 4, float(i), 10, True, False, i, 0.1
        )
        out.write(encode_record(rec).encode() + b"\n")
        if i % 100 == 0:
            out.write(f"progress {i}\n".encode())
            out.flush()
    sys.stderr.buffer.write(b"a warning on stderr \xff\n")
    sys.stderr.buffer.flush()
    out.write(b"partial last line without newline")
    out.flush()
    copy.close()
    os._exit(3)


if __name__ == "__main__":
    main()
