"""A worker for the browser-view tests: a ring of frames and a known set of records.

usage: web_worker.py RUN_ID HOST:PORT SPOOL_ROOT EPISODES [--slots N]

Creates the run's ring (``WIDTH`` x ``HEIGHT`` RGB) and publishes a frame every ``PERIOD_S``
while a reader watches it (as the real worker renders only then): a red field with a green
square whose position moves with the seq, HUD ``global_step`` = seq. Emits EPISODES episodes
per slot (return = episode index + slot) and one ``loss`` scalar per episode of slot 0 through
the emitter (with the token in $FASTLANE_BRIDGE_TOKEN, if set), prints ``ready put=N`` once they are all acknowledged, then serves frames until
stdin closes.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import numpy as np
from waits import wait_until

from cleanrl_worker.emitter.emitter import BridgeEmitter
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter
from gym_gui_bridge.protocol.records import EpisodeRollup, ScalarRecord

WIDTH, HEIGHT = 160, 120
PERIOD_S = 1 / 60  # publish rate while watched
IDLE_POLL_S = 0.05  # how often an unwatched writer looks again


def frame(seq: int) -> np.ndarray:
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[:, :, 0] = 200
    x = (seq * 3) % (WIDTH - 20)
    image[50:70, x : x + 20] = (0, 220, 0)
    return image


def publish_frames(run_id: str, stop: threading.Event) -> None:
    config = FastLaneConfig(width=WIDTH, height=HEIGHT, channels=3, capacity=4)
    with FastLaneWriter.create(run_id, config) as writer:
        seq = 0
        while not stop.is_set():
            if not writer.watched:
                stop.wait(IDLE_POLL_S)
                continue
            seq += 1
            writer.publish(frame(seq), FastLaneMetrics(last_reward=1.0, global_step=seq))
            stop.wait(PERIOD_S)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_id")
    parser.add_argument("address")
    parser.add_argument("spool")
    parser.add_argument("episodes", type=int)
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args()
    run_id = args.run_id
    stop = threading.Event()
    frames = threading.Thread(target=publish_frames, args=(run_id, stop), name="frames")
    frames.start()
    token = os.environ.get("FASTLANE_BRIDGE_TOKEN") or None
    emitter = BridgeEmitter(args.address, run_id, spool_root=args.spool, token=token)
    emitter.start()
    for episode in range(args.episodes):
        for slot in range(args.slots):
            emitter.put(
                EpisodeRollup(
                    run_id,
                    slot,
                    "default",
                    episode,
                    time.time(),
                    episode,
                    float(episode + slot),
                    10,
                    True,
                    False,
                    episode * 10,
                    0.01,
                )
            )
        emitter.put(
            ScalarRecord(
                run_id, -1, "default", episode, time.time(), "loss", 1.0 / (1 + episode), episode
            )
        )
    wait_until(lambda: emitter.stats().accepted >= emitter.stats().put, what="every ack")
    print(f"ready put={emitter.stats().put}", flush=True)
    sys.stdin.read()
    stop.set()
    frames.join()
    emitter.close(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
