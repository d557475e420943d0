"""A fast-lane writer in its own process, for the viewer tests and benchmark.

    python writer_process.py RUN_ID --width W --height H --channels C --color R,G,B[,A]
        [--color2 R,G,B] [--fps F] [--frames N] [--slot K]

Prints ``ready <pid>`` once the ring exists and the first frame is published, then publishes
solid-colour frames at ``--fps`` (with a counter in the HUD metrics) until ``--frames`` frames
were published (0 = forever) or it is killed; closes the ring on a normal exit. A line on stdin
reading ``color R,G,B`` changes the colour; ``pause`` / ``resume`` stop and restart publishing;
``exit`` (or EOF with --exit-on-eof) closes the ring and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import sys
import time

import numpy as np

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter


def _frame(height: int, width: int, channels: int, colour: list[int]) -> np.ndarray:
    if channels == 1:
        return np.full((height, width), colour[0], np.uint8)
    frame = np.empty((height, width, channels), np.uint8)
    frame[:] = np.array((colour + [255] * channels)[:channels], np.uint8)
    return frame


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_id")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--color", default="255,0,0")
    parser.add_argument("--color2", default="", help="colour of the right half (default: --color)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--frames", type=int, default=0)
    parser.add_argument("--slot", type=int, default=-1)
    parser.add_argument("--exit-on-eof", action="store_true")
    args = parser.parse_args()
    colour = [int(c) for c in args.color.split(",")]
    config = FastLaneConfig(args.width, args.height, args.channels, env_slot=args.slot)
    writer = FastLaneWriter.create(args.run_id, config)
    frame = _frame(args.height, args.width, args.channels, colour)
    if args.color2:
        right = _frame(
            args.height, args.width, args.channels, [int(c) for c in args.color2.split(",")]
        )
        frame[:, args.width // 2 :] = right[:, args.width // 2 :]
    selector = selectors.DefaultSelector()
    # stdin may be /dev/null or a file (not pollable): then the writer takes no commands
    with contextlib.suppress(PermissionError, ValueError):
        selector.register(sys.stdin, selectors.EVENT_READ)
    period = 1.0 / args.fps
    publishing = True
    count = 0
    next_at = time.monotonic()
    try:
        while args.frames == 0 or count < args.frames:
            if publishing:
                count += 1
                metrics = FastLaneMetrics(
                    last_reward=1.0,
                    rolling_return=float(count),
                    step_rate_hz=1000.0,
                    episode=count // 100,
                    episode_step=count % 100,
                    global_step=count,
                )
                writer.publish(frame, metrics)
                if count == 1:
                    print(f"ready {os.getpid()}", flush=True)
            next_at += period
            timeout = max(0.0, next_at - time.monotonic())
            if not selector.get_map():
                time.sleep(timeout)
            for _key, _ in selector.select(timeout) if selector.get_map() else ():
                line = sys.stdin.readline()
                if not line:
                    if args.exit_on_eof:
                        return 0
                    selector.unregister(sys.stdin)
                    continue
                command = line.split()
                if command[:1] == ["color"]:
                    colour = [int(c) for c in command[1].split(",")]
                    frame = _frame(args.height, args.width, args.channels, colour)
                elif command[:1] == ["pause"]:
                    publishing = False
                elif command[:1] == ["resume"]:
                    publishing = True
                elif command[:1] == ["exit"]:
                    return 0
            if next_at < time.monotonic() - period:  # fell behind: do not burst
                next_at = time.monotonic()
        return 0
    finally:
        writer.close()


if __name__ == "__main__":
    sys.exit(main())
