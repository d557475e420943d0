"""Cost of the reader side of the ring: ``FastLaneReader.latest_frame``.

    python bench/bench_ring_read.py [--rounds 7] [--seconds 0.4]

For each frame size a writer publishes one frame, then a reader (in this process) is timed on
two paths: ``idle``, a poll that finds nothing new (what a viewer pays between frames), and
``copy``, ``latest_frame(only_new=False)``, which copies the newest frame every call (a new
frame's cost). The baseline is a plain numpy copy of the same number of bytes. Both readers'
paths run interleaved with the baseline, several rounds; medians and the spread of the rounds
are printed. To compare two versions of the reader, run this script from each checkout in turn.
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np
from bench_helpers import RING_SIZES, time_per_call

from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneReader, FastLaneWriter


def bench_size(shape: tuple[int, int, int], rounds: int, seconds: float) -> dict[str, float]:
    height, width, channels = shape
    frame = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    config = FastLaneConfig(width=width, height=height, channels=channels)
    run_id = f"bench-read-{os.getpid()}-{width}x{height}"
    writer = FastLaneWriter.create(run_id, config)
    reader = FastLaneReader.attach(run_id)
    writer.publish(frame, FastLaneMetrics(last_reward=1.0, global_step=1))

    def plain_copy() -> None:
        np.copy(frame)

    def idle() -> None:
        reader.latest_frame()

    def copy() -> None:
        reader.latest_frame(only_new=False)

    paths = {"plain": plain_copy, "idle": idle, "copy": copy}
    times: dict[str, list[float]] = {key: [] for key in paths}
    try:
        for fn in paths.values():  # warm: page faults, caches
            time_per_call(fn, seconds / 4)
        for _ in range(rounds):
            for key, fn in paths.items():
                times[key].append(time_per_call(fn, seconds))
    finally:
        reader.close()
        writer.close()
    result: dict[str, float] = {}
    for key, values in times.items():
        result[f"{key}_us"] = statistics.median(values) * 1e6
        result[f"{key}_spread"] = (max(values) - min(values)) * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.4, help="per measurement")
    args = parser.parse_args()
    print(
        f"{'frame':>14}  {'plain copy (us)':>15}  {'idle poll (us)':>17}  "
        f"{'latest_frame copy (us)':>25}"
    )
    for shape in RING_SIZES:
        r = bench_size(shape, args.rounds, args.seconds)
        label = "x".join(map(str, shape))
        cells = [
            f"{r[f'{key}_us']:.2f} ±{r[f'{key}_spread'] / 2:.2f}"
            for key in ("plain", "idle", "copy")
        ]
        print(f"{label:>14}  {cells[0]:>15}  {cells[1]:>17}  {cells[2]:>25}")


if __name__ == "__main__":
    main()
