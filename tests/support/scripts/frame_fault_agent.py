"""A CleanRL-style script (tyro Args, make_env thunks, SyncVectorEnv, RecordEpisodeStatistics)
for the hostile frame tests: random actions until ``--total-timesteps`` are done and, if
``--stop-file`` is given, until that file exists (the test creates it once it has seen what it
waits for). Prints what CleanRL prints for every finished episode, and a last line with the
number of episodes each slot finished.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import tyro


@dataclass
class Args:
    env_id: str = "render_faults:RaiseAtFirst-v0"
    """the id of the environment"""
    seed: int = 1000
    """seed of the experiment (sub-env i is seeded seed + i)"""
    num_envs: int = 2
    """the number of parallel game environments"""
    total_timesteps: int = 200
    """total environment steps (all envs together), at least"""
    stop_file: str = ""
    """also keep stepping until this file exists ("" = do not wait)"""
    async_envs: bool = False
    """use gym.vector.AsyncVectorEnv (each slot in its own process) instead of SyncVectorEnv"""
    max_seconds: float = 240.0
    """stop waiting for the stop file after this long (a backstop for a test that died)"""


def make_env(env_id: str):
    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        return env

    return thunk


if __name__ == "__main__":
    args = tyro.cli(Args)
    thunks = [make_env(args.env_id) for _ in range(args.num_envs)]
    if args.async_envs:
        envs = gym.vector.AsyncVectorEnv(thunks)
    else:
        envs = gym.vector.SyncVectorEnv(thunks)
    envs.action_space.seed(args.seed)
    envs.reset(seed=args.seed)
    started = time.monotonic()
    finished = np.zeros(args.num_envs, dtype=np.int64)
    global_step = 0
    while global_step < args.total_timesteps or (
        args.stop_file
        and not os.path.exists(args.stop_file)
        and time.monotonic() - started < args.max_seconds
    ):
        global_step += args.num_envs
        _, _, terminations, truncations, _ = envs.step(envs.action_space.sample())
        ended = terminations | truncations
        finished += ended
        if args.stop_file:
            time.sleep(0.001)  # a few hundred steps a second while a test watches
        for slot in np.flatnonzero(ended):
            print(f"global_step={global_step}, slot={slot}, episode ended")
    envs.close()
    print("episodes per slot: " + " ".join(str(int(n)) for n in finished))
