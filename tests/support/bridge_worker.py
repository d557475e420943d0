"""A worker that pushes a known set of records through the emitter at a steady pace.

usage: bridge_worker.py RUN_ID HOST:PORT SPOOL_ROOT STEPS RATE_HZ

Per step: one StepRecord (slot 0); every 10th step an EpisodeRollup (slot 0) and a scalar.
Prints the emitter's stats as one line of ``key=value`` at the end.
"""

from __future__ import annotations

import sys
import time

from cleanrl_worker.emitter.emitter import BridgeEmitter
from gym_gui_bridge.protocol.records import EpisodeRollup, ScalarRecord, StepRecord


def main() -> int:
    run_id, address, spool, steps, rate = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
        float(sys.argv[5]),
    )
    emitter = BridgeEmitter(address, run_id, spool_root=spool)
    emitter.start()
    start = time.monotonic()
    for i in range(steps):
        emitter.put(
            StepRecord(
                run_id,
                0,
                "default",
                i,
                time.time(),
                i // 10,
                i % 10,
                i,
                i % 2,
                1.0,
                i % 10 == 9,
                False,
            )
        )
        if i % 10 == 9:
            emitter.put(
                EpisodeRollup(
                    run_id,
                    0,
                    "default",
                    i // 10,
                    time.time(),
                    i // 10,
                    10.0,
                    10,
                    True,
                    False,
                    i,
                    0.01,
                )
            )
            emitter.put(ScalarRecord(run_id, -1, "default", i // 10, time.time(), "loss", 0.5, i))
        if rate > 0:
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    done = emitter.close(timeout=float(sys.argv[6]) if len(sys.argv) > 6 else 10.0)
    s = emitter.stats()
    print(
        f"done={done} put={s.put} dropped={s.dropped} spooled={s.spooled} accepted={s.accepted} "
        f"pending={s.pending} reconnects={s.reconnects}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
