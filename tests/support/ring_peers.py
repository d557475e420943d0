"""Peer processes for the ring tests: ``python ring_peers.py ROLE RUN_ID [ARGS]``.

Roles:
  writer RUN_ID SECONDS      publish seq-patterned frames as fast as possible, then close
  hold RUN_ID                create a ring, publish one frame, print "ready", sleep until killed
  reader RUN_ID READS        read READS frames (re-reading allowed), verify each, print a JSON report
  attach-exit RUN_ID         attach, read one frame, exit (without closing: process exit only)

A frame with seq ``n`` is filled with ``n % 251`` and carries metrics whose ``global_step`` is
``n`` and ``last_reward`` is ``float(n)``: any mix of two frames, or metrics of another frame,
is detectable.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from waits import WAIT_S

from gym_gui_bridge.fastlane import (
    FastLaneConfig,
    FastLaneMetrics,
    FastLaneReader,
    FastLaneWriter,
)

SHAPE = (96, 128, 3)


def frame_value(seq: int) -> int:
    return seq % 251


def writer(run_id: str, seconds: float) -> None:
    config = FastLaneConfig(width=SHAPE[1], height=SHAPE[0], channels=3, capacity=2)
    frames = [np.full(SHAPE, value, np.uint8) for value in range(251)]
    with FastLaneWriter.create(run_id, config) as out:
        print("ready", flush=True)
        deadline = time.monotonic() + seconds
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            out.publish(
                frames[frame_value(seq)], FastLaneMetrics(last_reward=float(seq), global_step=seq)
            )
        print(json.dumps({"published": seq}), flush=True)


def hold(run_id: str) -> None:
    out = FastLaneWriter.create(run_id, FastLaneConfig(width=8, height=4))
    out.publish(np.full((4, 8, 3), 9, np.uint8))
    print("ready", flush=True)
    time.sleep(600)


def reader(run_id: str, reads: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            source = FastLaneReader.attach(run_id)
            break
        except FileNotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    good = torn = mismatched = 0
    seqs: set[int] = set()
    with source:
        while good + torn + mismatched < reads and time.monotonic() < deadline:
            frame = source.latest_frame(only_new=False)
            if frame is None:
                continue
            value = frame_value(frame.seq)
            if not (frame.data == value).all():
                torn += 1
            elif frame.metrics.global_step != frame.seq or frame.metrics.last_reward != frame.seq:
                mismatched += 1
            else:
                good += 1
            seqs.add(frame.seq)
    print(json.dumps({"good": good, "torn": torn, "mismatched": mismatched, "distinct": len(seqs)}))


def attach_exit(run_id: str) -> None:
    source = FastLaneReader.attach(run_id)
    frame = source.latest_frame()
    print("frame" if frame is not None else "none", flush=True)
    # no close(): the process simply exits, as a crashed or careless viewer would


if __name__ == "__main__":
    role, run = sys.argv[1], sys.argv[2]
    if role == "writer":
        writer(run, float(sys.argv[3]))
    elif role == "hold":
        hold(run)
    elif role == "reader":
        reader(run, int(sys.argv[3]))
    elif role == "attach-exit":
        attach_exit(run)
    else:
        raise SystemExit(f"unknown role {role!r}")
