"""A CleanRL-style script (tyro Args, make_env thunks, vector env) that takes random actions.

The activation tests run it unmodified with FASTLANE set and ``--fastlane-*`` flags, exactly as
a user runs CleanRL's own scripts.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import tyro


@dataclass
class Args:
    env_id: str = "slot_env:SlotPaint-v0"
    """the id of the environment"""
    seed: int = 1
    """seed of the experiment"""
    num_envs: int = 4
    """the number of parallel game environments"""
    total_timesteps: int = 400
    """total environment steps (all envs together)"""
    async_envs: bool = False
    """use gym.vector.AsyncVectorEnv instead of SyncVectorEnv"""
    mp_context: str | None = None
    """multiprocessing start method of AsyncVectorEnv (fork, spawn, forkserver; None: default)"""
    capture_video: bool = False
    """build slot 0 with render_mode="rgb_array", as CleanRL does for RecordVideo"""
    min_seconds: float = 0.0
    """keep stepping at least this long (lets a reader in another process watch)"""
    step_sleep: float = 0.0
    """seconds to sleep after each vector step"""
    crash_at: int = -1
    """raise RuntimeError at this vector step (-1: never)"""
    sigint_at: int = -1
    """send SIGINT to itself at this vector step (-1: never)"""


def make_env(env_id: str, idx: int, capture_video: bool, run_name: str):
    def thunk():
        if capture_video and idx == 0:
            env = gym.make(env_id, render_mode="rgb_array")
        else:
            env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        return env

    return thunk


if __name__ == "__main__":
    args = tyro.cli(Args)
    run_name = f"{args.env_id}__{args.seed}__{int(time.time())}"
    thunks = [make_env(args.env_id, i, args.capture_video, run_name) for i in range(args.num_envs)]
    if args.async_envs:
        envs = gym.vector.AsyncVectorEnv(thunks, context=args.mp_context)
    else:
        envs = gym.vector.SyncVectorEnv(thunks)
    obs, _ = envs.reset(seed=args.seed)
    started = time.monotonic()
    step = 0
    episodes = 0
    while (
        step * args.num_envs < args.total_timesteps or time.monotonic() - started < args.min_seconds
    ):
        if step == args.crash_at:
            raise RuntimeError(f"crash requested at step {step}")
        if step == args.sigint_at:
            os.kill(os.getpid(), signal.SIGINT)
        actions = envs.action_space.sample()
        obs, rewards, terminations, truncations, infos = envs.step(actions)
        episodes += int(np.sum(terminations | truncations))
        step += 1
        if args.step_sleep:
            time.sleep(args.step_sleep)
    envs.close()
    print(f"done: {step * args.num_envs} steps, {episodes} episodes")
