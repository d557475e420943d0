"""PPO for continuous actions, CleanRL's ``ppo_continuous_action.py`` in miniature (for tests).

The wrapper stack is CleanRL's: ``RecordEpisodeStatistics`` right above ``gym.make``, then
``ClipAction``, ``NormalizeObservation``, ``TransformObservation`` (clip to [-10, 10]),
``NormalizeReward`` and ``TransformReward`` (clip to [-10, 10]): the agent learns from
normalized rewards while the printed ``episodic_return`` is the raw one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import tyro
from cleanrl_infos import finished_episodes, wait_for
from torch.distributions.normal import Normal
from torch.utils.tensorboard import SummaryWriter

GYMNASIUM_1 = int(gym.__version__.split(".")[0]) >= 1


@dataclass
class Args:
    env_id: str = "Pendulum-v1"
    """the id of the environment"""
    seed: int = 1
    """seed of the experiment"""
    num_envs: int = 2
    """the number of parallel environments"""
    num_steps: int = 64
    """steps per environment per rollout"""
    total_timesteps: int = 1664
    """total timesteps of the experiment"""
    learning_rate: float = 3e-4
    """the learning rate"""
    gamma: float = 0.99
    """the discount factor"""
    wait_for: str | None = None
    """start training once this file exists (lets a test attach a viewer first)"""
    logdir: str = "runs/continuous_ppo"
    """TensorBoard folder"""


def make_env(env_id: str, gamma: float):
    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.FlattenObservation(env)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env = gym.wrappers.ClipAction(env)
        env = gym.wrappers.NormalizeObservation(env)
        clip = lambda obs: np.clip(obs, -10, 10)  # noqa: E731
        if GYMNASIUM_1:  # 1.x asks for the transformed space (None: unchanged)
            env = gym.wrappers.TransformObservation(env, clip, None)
        else:
            env = gym.wrappers.TransformObservation(env, clip)
        env = gym.wrappers.NormalizeReward(env, gamma=gamma)
        env = gym.wrappers.TransformReward(env, lambda reward: np.clip(reward, -10, 10))
        return env

    return thunk


class Agent(nn.Module):
    def __init__(self, obs_size: int, action_size: int) -> None:
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(obs_size, 16), nn.Tanh(), nn.Linear(16, 1))
        self.actor_mean = nn.Sequential(
            nn.Linear(obs_size, 16), nn.Tanh(), nn.Linear(16, action_size)
        )
        self.actor_logstd = nn.Parameter(torch.zeros(1, action_size))

    def get_action_and_value(self, x, action=None):
        mean = self.actor_mean(x)
        probs = Normal(mean, self.actor_logstd.expand_as(mean).exp())
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), self.critic(x)


if __name__ == "__main__":
    args = tyro.cli(Args)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    writer = SummaryWriter(args.logdir)

    envs = gym.vector.SyncVectorEnv(
        [make_env(args.env_id, args.gamma) for _ in range(args.num_envs)]
    )
    obs_size = int(np.prod(envs.single_observation_space.shape))
    action_size = int(np.prod(envs.single_action_space.shape))
    agent = Agent(obs_size, action_size)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate)

    obs = torch.zeros((args.num_steps, args.num_envs, obs_size))
    actions = torch.zeros((args.num_steps, args.num_envs, action_size))
    rewards = torch.zeros((args.num_steps, args.num_envs))
    values = torch.zeros((args.num_steps, args.num_envs))

    global_step = 0
    next_obs, _ = envs.reset(seed=args.seed)
    next_obs = torch.Tensor(next_obs)
    wait_for(args.wait_for)
    num_iterations = args.total_timesteps // (args.num_envs * args.num_steps)
    for _iteration in range(num_iterations):
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            with torch.no_grad():
                action, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action

            next_obs, reward, terminations, truncations, infos = envs.step(action.numpy())
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs = torch.Tensor(next_obs)

            for _, r in finished_episodes(infos):
                print(f"global_step={global_step}, episodic_return={r}")
                writer.add_scalar("charts/episodic_return", r, global_step)

        # a value-regression step on the normalized rewards: enough for the loop's shape
        _, _, newvalue = agent.get_action_and_value(
            obs.reshape(-1, obs_size), actions.reshape(-1, action_size)
        )
        v_loss = 0.5 * ((newvalue.view(-1) - rewards.reshape(-1)) ** 2).mean()
        optimizer.zero_grad()
        v_loss.backward()
        optimizer.step()
        writer.add_scalar("losses/value_loss", v_loss.item(), global_step)

    envs.close()
    writer.close()
