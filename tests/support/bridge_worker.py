"""A worker that pushes a known set of records through the emitter at a steady pace.

usage: bridge_worker.py RUN_ID HOST:PORT SPOOL_ROOT STEPS RATE_HZ [CLOSE_TIMEOUT_S]
           [--pause-at STEP]

Per step: one StepRecord (slot 0); every 10th step an EpisodeRollup (slot 0) and a scalar.
RATE_HZ 0 puts as fast as possible. With ``--pause-at STEP`` it prints ``paused`` after putting
STEP steps and waits for a line on stdin before the rest. Before closing the emitter (waiting
up to CLOSE_TIMEOUT_S, default 10, for acknowledgements) it waits until every record is in the
spool, so a short close timeout leaves the spool complete. Prints the emitter's stats as one
line of ``key=value`` at the end.
"""

from __future__ import annotations

import argparse
import sys
import time

from waits import wait_until

from cleanrl_worker.emitter.emitter import BridgeEmitter
from gym_gui_bridge.protocol.records import EpisodeRollup, ScalarRecord, StepRecord


def _all_spooled(emitter: BridgeEmitter) -> bool:
    stats = emitter.stats()
    return stats.spooled + stats.dropped >= stats.put


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_id")
    parser.add_argument("address")
    parser.add_argument("spool")
    parser.add_argument("steps", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("close_timeout", type=float, nargs="?", default=10.0)
    parser.add_argument("--pause-at", type=int, default=-1)
    args = parser.parse_args()
    run_id, steps, rate = args.run_id, args.steps, args.rate
    emitter = BridgeEmitter(args.address, run_id, spool_root=args.spool)
    emitter.start()
    start = time.monotonic()
    for i in range(steps):
        if i == args.pause_at:
            print("paused", flush=True)
            sys.stdin.readline()
            start = time.monotonic() - i / rate if rate > 0 else start
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
    wait_until(lambda: _all_spooled(emitter), what="every record in the spool")
    done = emitter.close(timeout=args.close_timeout)
    s = emitter.stats()
    print(
        f"done={done} put={s.put} dropped={s.dropped} spooled={s.spooled} accepted={s.accepted} "
        f"pending={s.pending} reconnects={s.reconnects}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
