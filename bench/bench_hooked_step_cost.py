"""Instructions the slow lane adds to one vector step of a hooked SyncVectorEnv (callgrind).

    python bench/bench_hooked_step_cost.py                       # this checkout's interpreter
    python bench/bench_hooked_step_cost.py --python OTHER/bin/python   # and another install

A 4-env ``SyncVectorEnv`` of a near-free env is stepped N times, bare or hooked as a run hooks
it (every slot's episodes recorded, slot 0's steps too, the global_step clock decided, records
handed to a no-op instead of a sink: the training thread's share only). Each configuration runs
under ``valgrind --tool=callgrind`` at two step counts; the difference divided by the extra steps
is the instructions per vector step, free of start-up costs. Instruction counts do not depend
on the machine's load, unlike wall time on a shared machine. The recording cost is hooked minus
bare, and with ``--python`` the same for another interpreter (e.g. the previous release's
install), with the ratio of the two costs. Needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

EPISODE_LENGTH = 200
NUM_ENVS = 4


def _child(mode: str, steps: int) -> None:
    import gymnasium as gym
    import numpy as np

    class Cheap(gym.Env):  # type: ignore[type-arg]
        observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        action_space = gym.spaces.Discrete(2)

        def __init__(self) -> None:
            self._obs = np.zeros(1, np.float32)
            self._t = 0

        def reset(self, *, seed: Any = None, options: Any = None) -> Any:
            self._t = 0
            return self._obs, {}

        def step(self, action: Any) -> Any:
            self._t += 1
            return self._obs, 1.0, self._t >= EPISODE_LENGTH, False, {}

    gym.register("BenchCheap-v0", entry_point=Cheap)
    recorder = None
    if mode == "hooked":
        from cleanrl_worker.patches import vector_env
        from cleanrl_worker.settings import load_settings
        from cleanrl_worker.slowlane import recorder as slowlane

        folder = tempfile.mkdtemp(prefix="bench-hooked-")
        recorder = slowlane.Recorder(
            "bench", db_path=os.path.join(folder, "x.sqlite"), steps="watched", watched_slot=0
        )
        recorder._put = lambda record: None  # the training thread's share only
        vector_env.install(load_settings({}, video_mode="off", run_id="bench", slot=0), recorder)
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("BenchCheap-v0", disable_env_checker=True) for _ in range(NUM_ENVS)]
    )
    clock = getattr(recorder, "clock", None)
    if clock is not None and not clock.decided:
        clock._decide("after_step")
    envs.reset(seed=0)
    actions = np.zeros(NUM_ENVS, dtype=np.int64)
    for _ in range(steps):
        envs.step(actions)


def _instructions(python: str, mode: str, steps: int) -> int:
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            python,
            __file__,
            "--child",
            mode,
            str(steps),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"Expected callgrind's 'Collected' line, got: {done.stderr[-500:]}")
    return int(match.group(1))


def _per_step(python: str, mode: str, low: int, high: int) -> float:
    return (_instructions(python, mode, high) - _instructions(python, mode, low)) / (high - low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="another interpreter to compare with (its install)")
    parser.add_argument("--low", type=int, default=1000, help="vector steps of the short run")
    parser.add_argument("--high", type=int, default=6000, help="vector steps of the long run")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    bare = _per_step(sys.executable, "bare", args.low, args.high)
    hooked = _per_step(sys.executable, "hooked", args.low, args.high)
    print(f"{NUM_ENVS}-env vector step, bare            {bare:>10,.0f} instructions")
    print(
        f"{NUM_ENVS}-env vector step, hooked          {hooked:>10,.0f} instructions "
        f"(recording adds {hooked - bare:,.0f}, {hooked / bare - 1:.1%})"
    )
    if args.python:
        other = _per_step(args.python, "hooked", args.low, args.high)
        print(
            f"{NUM_ENVS}-env vector step, hooked (--python) {other:>8,.0f} instructions "
            f"(recording adds {other - bare:,.0f})"
        )
        print(f"recording cost, this / --python      {(hooked - bare) / (other - bare):>10.2f}x")


if __name__ == "__main__":
    main()
