"""Per-step cost of FastLaneEnvWrapper on CartPole-v1, against the bare env in the same run.

Configurations, interleaved over rounds:

* ``bare``: ``gym.make("CartPole-v1", render_mode="rgb_array")``, no wrapper;
* ``unwatched``: wrapped, nobody reading (the usual case: the ring exists, nothing renders);
* ``watched``: wrapped, a reader in this process keeps the presence heartbeat fresh, so frames
  are rendered under the default budget (30 fps / 3% of wall time).

Usage: python bench/bench_wrapper_overhead.py [--rounds 5] [--steps 20000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import gymnasium as gym

from cleanrl_worker.fastlane.wrapper import FastLaneEnvWrapper
from gym_gui_bridge.fastlane import FastLaneReader


def _steps_per_second(env: gym.Env, steps: int, reader: FastLaneReader | None) -> float:
    env.reset(seed=0)
    start = time.perf_counter()
    for i in range(steps):
        _, _, terminated, truncated, _ = env.step(i % 2)
        if terminated or truncated:
            env.reset()
        if reader is not None and i % 200 == 0:
            reader.latest_frame()  # a viewer polls; cheap next to a step
    return steps / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    run_id = f"bench-wrapper-{os.getpid()}"
    rates: dict[str, list[float]] = {"bare": [], "unwatched": [], "watched": []}
    frames = 0
    for _ in range(args.rounds):
        bare = gym.make("CartPole-v1", render_mode="rgb_array")
        rates["bare"].append(_steps_per_second(bare, args.steps, None))
        bare.close()
        for mode in ("unwatched", "watched"):
            env = FastLaneEnvWrapper(gym.make("CartPole-v1", render_mode="rgb_array"), run_id, 0)
            env.reset(seed=0)
            reader = FastLaneReader.attach(run_id) if mode == "watched" else None
            rates[mode].append(_steps_per_second(env, args.steps, reader))
            if reader is not None:
                frames += env.frames_rendered
                reader.close()
            env.close()
    base = statistics.median(rates["bare"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(
            f"{name:10s} median {median:9.0f} steps/s  (min {min(values):.0f}, max "
            f"{max(values):.0f})  ratio to bare {median / base:.3f}"
        )
    print(f"frames rendered while watched: {frames} over {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
