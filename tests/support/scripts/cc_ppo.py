"""PPO on classic control, CleanRL's ``ppo.py`` loop in miniature (written for the tests).

CleanRL's conventions: one ``Args`` dataclass parsed by tyro, ``make_env`` thunks with
``RecordEpisodeStatistics`` right above ``gym.make``, ``SyncVectorEnv``, ``global_step +=
num_envs`` before each vector step, and one ``global_step=..., episodic_return=...`` line plus
``charts/episodic_return`` per finished episode.
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
from torch.distributions.categorical import Categorical
from torch.utils.tensorboard import SummaryWriter


@dataclass
class Args:
    env_id: str = "CartPole-v1"
    """the id of the environment"""
    seed: int = 1
    """seed of the experiment"""
    num_envs: int = 3
    """the number of parallel environments"""
    num_steps: int = 32
    """steps per environment per rollout"""
    total_timesteps: int = 1536
    """total timesteps of the experiment"""
    learning_rate: float = 2.5e-3
    """the learning rate"""
    gamma: float = 0.99
    """the discount factor"""
    gae_lambda: float = 0.95
    """the GAE lambda"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient"""
    wait_for: str | None = None
    """start training once this file exists (lets a test attach a viewer first)"""
    logdir: str = "runs/cc_ppo"
    """TensorBoard folder"""


def make_env(env_id: str):
    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        return env

    return thunk


class Agent(nn.Module):
    def __init__(self, obs_size: int, num_actions: int) -> None:
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(obs_size, 16), nn.Tanh(), nn.Linear(16, 1))
        self.actor = nn.Sequential(nn.Linear(obs_size, 16), nn.Tanh(), nn.Linear(16, num_actions))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        probs = Categorical(logits=self.actor(x))
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


if __name__ == "__main__":
    args = tyro.cli(Args)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    writer = SummaryWriter(args.logdir)

    # env setup
    envs = gym.vector.SyncVectorEnv([make_env(args.env_id) for _ in range(args.num_envs)])
    obs_size = int(np.prod(envs.single_observation_space.shape))
    agent = Agent(obs_size, int(envs.single_action_space.n))
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate)

    obs = torch.zeros((args.num_steps, args.num_envs, obs_size))
    actions = torch.zeros((args.num_steps, args.num_envs))
    logprobs = torch.zeros((args.num_steps, args.num_envs))
    rewards = torch.zeros((args.num_steps, args.num_envs))
    dones = torch.zeros((args.num_steps, args.num_envs))
    values = torch.zeros((args.num_steps, args.num_envs))

    global_step = 0
    next_obs, _ = envs.reset(seed=args.seed)
    next_obs = torch.Tensor(next_obs)
    next_done = torch.zeros(args.num_envs)
    wait_for(args.wait_for)
    num_iterations = args.total_timesteps // (args.num_envs * args.num_steps)

    for iteration in range(1, num_iterations + 1):
        frac = 1.0 - (iteration - 1.0) / num_iterations  # learning-rate annealing
        optimizer.param_groups[0]["lr"] = frac * args.learning_rate
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            next_obs, reward, terminations, truncations, infos = envs.step(action.numpy())
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs = torch.Tensor(next_obs)
            next_done = torch.Tensor(np.logical_or(terminations, truncations).astype(np.float32))

            for _, r in finished_episodes(infos):
                print(f"global_step={global_step}, episodic_return={r}")
                writer.add_scalar("charts/episodic_return", r, global_step)

        # bootstrap value and advantages (GAE)
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal, nextvalues = 1.0 - next_done, next_value
                else:
                    nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        # one epoch, one minibatch: enough for the loop's shape
        _, newlogprob, entropy, newvalue = agent.get_action_and_value(
            obs.reshape(-1, obs_size), actions.reshape(-1).long()
        )
        ratio = (newlogprob - logprobs.reshape(-1)).exp()
        adv = advantages.reshape(-1)
        pg_loss = torch.max(
            -adv * ratio, -adv * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
        ).mean()
        v_loss = 0.5 * ((newvalue.view(-1) - returns.reshape(-1)) ** 2).mean()
        loss = pg_loss + 0.5 * v_loss - 0.01 * entropy.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        writer.add_scalar("losses/value_loss", v_loss.item(), global_step)
        writer.add_scalar("losses/policy_loss", pg_loss.item(), global_step)

    envs.close()
    writer.close()
