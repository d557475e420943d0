"""Cost of ``FastLaneWriter.publish`` against a plain numpy copy into shared memory.

    python bench/bench_ring_publish.py [--rounds 7] [--seconds 0.4]

For each frame size the baseline copies the same frame into a shared-memory buffer with the same
number of slots, round-robin (the physical floor of any ring); the candidate is ``publish`` with
HUD metrics. Both run interleaved in this process, several rounds; the ratio of medians is
printed. Target: at most 1.5x for 400x600x3.
"""

from __future__ import annotations

import argparse
import os
import statistics
from multiprocessing import shared_memory

import numpy as np
from bench_helpers import RING_SIZES, time_per_call

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneWriter


def bench_size(shape: tuple[int, int, int], rounds: int, seconds: float) -> dict[str, float]:
    height, width, channels = shape
    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    config = FastLaneConfig(width=width, height=height, channels=channels)
    writer = FastLaneWriter.create(f"bench-{os.getpid()}-{width}x{height}", config)
    raw = shared_memory.SharedMemory(create=True, size=config.capacity * frame.nbytes)
    slots = [
        np.ndarray(shape, np.uint8, buffer=raw.buf, offset=i * frame.nbytes)
        for i in range(config.capacity)
    ]
    counter = [0]

    def plain_copy() -> None:
        counter[0] += 1
        np.copyto(slots[counter[0] % len(slots)], frame)

    metrics = FastLaneMetrics(last_reward=1.0, rolling_return=2.0, step_rate_hz=3.0)

    def publish() -> None:
        writer.publish(frame, metrics)

    copies, publishes = [], []
    try:
        for fn in (plain_copy, publish):  # warm both: page faults, caches
            time_per_call(fn, seconds / 4)
        for _ in range(rounds):
            copies.append(time_per_call(plain_copy, seconds))
            publishes.append(time_per_call(publish, seconds))
    finally:
        slots.clear()  # drop the views before the buffer is closed
        writer.close()
        raw.close()
        raw.unlink()
    copy_us = statistics.median(copies) * 1e6
    publish_us = statistics.median(publishes) * 1e6
    return {
        "copy_us": copy_us,
        "publish_us": publish_us,
        "ratio": publish_us / copy_us,
        "spread": (max(publishes) - min(publishes)) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.4, help="per measurement")
    args = parser.parse_args()
    print(
        f"{'frame':>14}  {'copy (us)':>10}  {'publish (us)':>12}  {'ratio':>6}  {'publish spread (us)':>19}"
    )
    for shape in RING_SIZES:
        r = bench_size(shape, args.rounds, args.seconds)
        label = "x".join(map(str, shape))
        print(
            f"{label:>14}  {r['copy_us']:>10.1f}  {r['publish_us']:>12.1f}  {r['ratio']:>6.2f}  {r['spread']:>19.1f}"
        )


if __name__ == "__main__":
    main()
