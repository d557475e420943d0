"""PPO on Atari, CleanRL's ``ppo_atari.py`` loop and wrapper stack in miniature (for tests).

The stack is CleanRL's: ``RecordEpisodeStatistics`` right above ``gym.make``, then
``NoopResetEnv``, ``MaxAndSkipEnv``, ``EpisodicLifeEnv``, ``FireResetEnv``, ``ClipRewardEnv``
and the observation wrappers. The agent sees one episode per life and clipped rewards; the
printed ``episodic_return`` is the whole game's raw score. A tiny linear policy keeps it fast.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import tyro
from atari_wrappers import (
    ClipRewardEnv,
    EpisodicLifeEnv,
    FireResetEnv,
    GraySmall,
    MaxAndSkipEnv,
    NoopResetEnv,
)
from cleanrl_infos import finished_episodes, wait_for
from torch.distributions.categorical import Categorical
from torch.utils.tensorboard import SummaryWriter

try:  # ale-py >= 0.9 registers its envs on request (gymnasium 1.x)
    import ale_py

    gym.register_envs(ale_py)
except (ImportError, AttributeError):  # gymnasium 0.29: shimmy registers them
    pass


@dataclass
class Args:
    env_id: str = "BreakoutNoFrameskip-v4"
    """the id of the environment"""
    seed: int = 1
    """seed of the experiment"""
    num_envs: int = 2
    """the number of parallel environments"""
    num_steps: int = 128
    """steps per environment per rollout"""
    total_timesteps: int = 1536
    """total timesteps of the experiment"""
    learning_rate: float = 2.5e-4
    """the learning rate"""
    wait_for: str | None = None
    """start training once this file exists (lets a test attach a viewer first)"""
    logdir: str = "runs/atari_ppo"
    """TensorBoard folder"""


def make_env(env_id: str):
    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env = NoopResetEnv(env, noop_max=30)
        env = MaxAndSkipEnv(env, skip=4)
        env = EpisodicLifeEnv(env)
        if "FIRE" in env.unwrapped.get_action_meanings():
            env = FireResetEnv(env)
        env = ClipRewardEnv(env)
        env = GraySmall(env)
        return env

    return thunk


if __name__ == "__main__":
    args = tyro.cli(Args)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    writer = SummaryWriter(args.logdir)

    envs = gym.vector.SyncVectorEnv([make_env(args.env_id) for _ in range(args.num_envs)])
    obs_size = int(np.prod(envs.single_observation_space.shape))
    policy = nn.Linear(obs_size, int(envs.single_action_space.n))
    optimizer = torch.optim.Adam(policy.parameters(), lr=args.learning_rate)

    global_step = 0
    next_obs, _ = envs.reset(seed=args.seed)
    wait_for(args.wait_for)
    num_iterations = args.total_timesteps // (args.num_envs * args.num_steps)
    for _iteration in range(num_iterations):
        logprobs, rewards = [], []
        for _step in range(args.num_steps):
            global_step += args.num_envs
            x = torch.Tensor(next_obs).reshape(args.num_envs, -1) / 255.0
            probs = Categorical(logits=policy(x))
            action = probs.sample()
            logprobs.append(probs.log_prob(action))
            next_obs, reward, terminations, truncations, infos = envs.step(action.numpy())
            rewards.append(torch.tensor(reward, dtype=torch.float32))

            for _, r in finished_episodes(infos):
                print(f"global_step={global_step}, episodic_return={r}")
                writer.add_scalar("charts/episodic_return", r, global_step)

        # a policy-gradient step on the clipped rewards: enough for the loop's shape
        loss = -(torch.stack(logprobs) * torch.stack(rewards)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        writer.add_scalar("losses/policy_loss", loss.item(), global_step)

    envs.close()
    writer.close()
