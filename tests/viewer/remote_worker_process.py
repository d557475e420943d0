"""A worker for the remote-viewing tests: frames into its ring, telemetry to a bridge.

    python remote_worker_process.py RUN_ID HOST:PORT SPOOL_ROOT --color R,G,B --color2 R,G,B

Publishes 600x400 RGB frames at 30 fps into the run's fast lane (the left half ``--color``, the
right half ``--color2``) and, through the emitter (token from FASTLANE_BRIDGE_TOKEN), a
``started`` run record, episodes of slots 0 and 1 (returns 10, 11, ... and 20, 21, ...) and a
``losses/loss`` scalar, a few per second. Prints ``ready <pid>`` once the first frame is
published; runs until killed, or until stdin closes when it is a pipe.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import sys
import time

import numpy as np

from cleanrl_worker.emitter.emitter import BridgeEmitter
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter
from gym_gui_bridge.protocol.records import EpisodeRollup, RunRecord, ScalarRecord

WIDTH, HEIGHT = 600, 400
FPS = 30.0
RECORDS_EVERY = 10  # frames between two rounds of episodes and a scalar


def _colour(text: str) -> list[int]:
    return [int(c) for c in text.split(",")]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_id")
    parser.add_argument("address")
    parser.add_argument("spool")
    parser.add_argument("--color", default="255,0,255")
    parser.add_argument("--color2", default="0,200,100")
    args = parser.parse_args()
    run_id = args.run_id
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    frame[:, : WIDTH // 2] = _colour(args.color)
    frame[:, WIDTH // 2 :] = _colour(args.color2)
    emitter = BridgeEmitter(
        args.address, run_id, spool_root=args.spool, token=os.environ.get("FASTLANE_BRIDGE_TOKEN")
    )
    emitter.start()
    started = RunRecord(
        run_id=run_id,
        slot=-1,
        agent_id="default",
        seq=0,
        wall_time=time.time(),
        status="started",
        argv=("remote_worker_process.py",),
        version="0",
        pid=os.getpid(),
    )
    emitter.put(started)
    writer = FastLaneWriter.create(run_id, FastLaneConfig(WIDTH, HEIGHT, 3, env_slot=0))
    selector = selectors.DefaultSelector()
    with contextlib.suppress(PermissionError, ValueError):  # /dev/null or a file: not pollable
        selector.register(sys.stdin, selectors.EVENT_READ)
    count = 0
    rounds = 0
    try:
        while True:
            count += 1
            writer.publish(frame, FastLaneMetrics(last_reward=1.0, rolling_return=float(count)))
            if count == 1:
                print(f"ready {os.getpid()}", flush=True)
            if count % RECORDS_EVERY == 1:
                now = time.time()
                for slot, base in ((0, 10.0), (1, 20.0)):
                    emitter.put(
                        EpisodeRollup(
                            run_id=run_id,
                            slot=slot,
                            agent_id="default",
                            seq=rounds,
                            wall_time=now,
                            episode=rounds,
                            ep_return=base + rounds,
                            length=10,
                            terminated=True,
                            truncated=False,
                            global_step=10 * (rounds + 1),
                            duration=0.1,
                        )
                    )
                emitter.put(
                    ScalarRecord(
                        run_id=run_id,
                        slot=-1,
                        agent_id="default",
                        seq=rounds,
                        wall_time=now,
                        tag="losses/loss",
                        value=1.0 / (rounds + 1),
                        step=rounds,
                    )
                )
                rounds += 1
            for _key, _ in selector.select(1.0 / FPS) if selector.get_map() else ():
                if not sys.stdin.readline():
                    return 0
            if not selector.get_map():
                time.sleep(1.0 / FPS)
    finally:
        writer.close()
        emitter.close()


if __name__ == "__main__":
    sys.exit(main())
