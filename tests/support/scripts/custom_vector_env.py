"""A CleanRL-style loop on a vector env of its own, which no fast-lane hook can see.

``--kind subclass``: a ``gymnasium.vector.VectorEnv`` subclass stepping counters in numpy;
``--kind plain``: the same as a plain class (as JAX envs are: not a gymnasium vector env at all).
Every env's episode lasts ``5 + slot`` steps with reward 1; finished episodes are printed and
logged as ``charts/episodic_return``. The script ends with ``sys.exit(args.exit_code)``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import tyro
from torch.utils.tensorboard import SummaryWriter


@dataclass
class Args:
    kind: str = "subclass"
    """subclass (a gymnasium VectorEnv subclass) or plain (a class of its own)"""
    num_envs: int = 3
    """the number of parallel environments"""
    total_timesteps: int = 120
    """total environment steps (all envs together)"""
    exit_code: int = 0
    """the script's exit status"""


class CounterEnvs:
    """``num_envs`` counters; env i's episode ends after 5 + i steps (reward 1 per step)."""

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.limits = 5 + np.arange(num_envs)
        self.t = np.zeros(num_envs, np.int64)

    def reset(self, seed=None, options=None):
        self.t[:] = 0
        return self.t.astype(np.float32), {}

    def step(self, actions):
        self.t += 1
        terminated = self.t >= self.limits
        obs = self.t.astype(np.float32)
        self.t[terminated] = 0  # resets in the same step
        return obs, np.ones(self.num_envs), terminated, np.zeros(self.num_envs, bool), {}


class CounterVectorEnv(CounterEnvs, gym.vector.VectorEnv):
    """The counters as a gymnasium vector env (not Sync/Async: the hooks cannot build it)."""


if __name__ == "__main__":
    args = tyro.cli(Args)
    writer = SummaryWriter(f"runs/custom__{int(time.time())}")
    envs = (
        CounterVectorEnv(args.num_envs) if args.kind == "subclass" else CounterEnvs(args.num_envs)
    )
    envs.reset()
    returns = np.zeros(args.num_envs)
    global_step = 0
    while global_step < args.total_timesteps:
        global_step += args.num_envs
        _obs, reward, terminated, truncated, _info = envs.step(np.zeros(args.num_envs))
        returns += reward
        for idx in np.flatnonzero(terminated | truncated):
            print(f"global_step={global_step}, episodic_return={returns[idx]}")
            writer.add_scalar("charts/episodic_return", returns[idx], global_step)
            returns[idx] = 0
    writer.close()
    sys.exit(args.exit_code)
