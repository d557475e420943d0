"""PPO for continuous actions in the style of CleanRL's ``ppo_continuous_action.py``, tiny.

Written from scratch for the tests. It keeps what matters to the fast lane: ``make_env``
thunks with CleanRL's wrapper stack for continuous control (FlattenObservation,
RecordEpisodeStatistics, ClipAction, NormalizeObservation, observation clipping,
NormalizeReward, reward clipping), a ``SyncVectorEnv``, float32 actions from torch, and
TensorBoard calls as CleanRL makes them: ``charts/episodic_return`` gets the episode statistics
as they come (on gymnasium 0.29.1 a shape-(1,) array), and one loss is logged as the tensor
itself, with its autograd graph (as CleanRL's dqn logs its ``td_loss``).

``--stop-file PATH`` keeps training past ``--total-timesteps`` until that file exists (tests
let the script finish once they saw what they wait for). Works on gymnasium 0.29.1 and 1.x.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import tyro
from torch.distributions.normal import Normal
from torch.utils.tensorboard import SummaryWriter

GYMNASIUM_1 = int(gym.__version__.split(".")[0]) >= 1


@dataclass
class Args:
    seed: int = 1
    """seed of the experiment"""
    env_id: str = "Pendulum-v1"
    """the id of the environment"""
    total_timesteps: int = 512
    """total timesteps of the experiment"""
    learning_rate: float = 3e-4
    """the learning rate of the optimizer"""
    num_envs: int = 2
    """the number of parallel game environments"""
    num_steps: int = 64
    """the number of steps to run in each environment per policy rollout"""
    gamma: float = 0.99
    """the discount factor gamma"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation"""
    update_epochs: int = 2
    """the K epochs to update the policy"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient"""
    vf_coef: float = 0.5
    """coefficient of the value function"""
    max_grad_norm: float = 0.5
    """the maximum norm for the gradient clipping"""
    stop_file: str = ""
    """keep training past total_timesteps until this file exists ("" = do not wait)"""
    max_seconds: float = 240.0
    """stop waiting for the stop file after this long"""


def make_env(env_id: str, gamma: float):
    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.FlattenObservation(env)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env = gym.wrappers.ClipAction(env)
        env = gym.wrappers.NormalizeObservation(env)
        clip = (lambda obs: np.clip(obs, -10, 10),)
        if GYMNASIUM_1:  # 1.x wants the transformed observation space too
            clip += (env.observation_space,)
        env = gym.wrappers.TransformObservation(env, *clip)
        env = gym.wrappers.NormalizeReward(env, gamma=gamma)
        env = gym.wrappers.TransformReward(env, lambda reward: np.clip(reward, -10, 10))
        return env

    return thunk


def finished_episodes(infos: dict[str, Any]) -> list[Any]:
    """The ``episode`` statistics of every sub-env whose episode ended in this step, as the
    vector env hands them over (0.29.1: ``final_info``; 1.x: arrays masked by ``_episode``)."""
    if "final_info" in infos and not isinstance(infos["final_info"], dict):
        return [info["episode"] for info in infos["final_info"] if info and "episode" in info]
    episode = infos.get("episode")
    if episode is None:
        return []
    return [{"r": episode["r"][i], "l": episode["l"][i]} for i in np.flatnonzero(infos["_episode"])]


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias_const: float = 0.0) -> nn.Linear:
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, envs: gym.vector.VectorEnv) -> None:
        super().__init__()
        obs_size = int(np.prod(envs.single_observation_space.shape))
        act_size = int(np.prod(envs.single_action_space.shape))
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_size, 32)), nn.Tanh(), layer_init(nn.Linear(32, 1), std=1.0)
        )
        self.actor_mean = nn.Sequential(
            layer_init(nn.Linear(obs_size, 32)),
            nn.Tanh(),
            layer_init(nn.Linear(32, act_size), std=0.01),
        )
        self.actor_logstd = nn.Parameter(torch.zeros(1, act_size))

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def get_action_and_value(self, x: torch.Tensor, action: torch.Tensor | None = None):
        mean = self.actor_mean(x)
        probs = Normal(mean, self.actor_logstd.expand_as(mean).exp())
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), probs.entropy().sum(1), self.critic(x)


if __name__ == "__main__":
    args = tyro.cli(Args)
    run_name = f"{args.env_id}__ppo_continuous__{args.seed}__{int(time.time())}"
    writer = SummaryWriter(f"runs/{run_name}")
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)

    # env setup
    envs = gym.vector.SyncVectorEnv(
        [make_env(args.env_id, args.gamma) for _ in range(args.num_envs)]
    )
    agent = Agent(envs)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # storage
    shape = (args.num_steps, args.num_envs)
    obs = torch.zeros(shape + envs.single_observation_space.shape)
    actions = torch.zeros(shape + envs.single_action_space.shape)
    logprobs, rewards, dones, values = (torch.zeros(shape) for _ in range(4))

    global_step = 0
    started = time.monotonic()
    next_obs, _ = envs.reset(seed=args.seed)
    next_obs, next_done = torch.Tensor(next_obs), torch.zeros(args.num_envs)
    num_iterations = args.total_timesteps // (args.num_envs * args.num_steps)
    iteration = 0
    while iteration < num_iterations or (
        args.stop_file
        and not os.path.exists(args.stop_file)
        and time.monotonic() - started < args.max_seconds
    ):
        iteration += 1
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
            values[step], actions[step], logprobs[step] = value.flatten(), action, logprob
            next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward).view(-1)
            next_obs, next_done = torch.Tensor(next_obs), torch.Tensor(next_done)
            for episode in finished_episodes(infos):
                print(f"global_step={global_step}, episodic_return={episode['r']}")
                writer.add_scalar("charts/episodic_return", episode["r"], global_step)
                writer.add_scalar("charts/episodic_length", episode["l"], global_step)

        # bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                nextnonterminal = 1.0 - (next_done if t == args.num_steps - 1 else dones[t + 1])
                nextvalues = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = (
                    delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                )
            returns = advantages + values

        # optimize the policy and value network on the whole batch
        b_obs = obs.reshape((-1, *envs.single_observation_space.shape))
        b_actions = actions.reshape((-1, *envs.single_action_space.shape))
        b_logprobs, b_advantages = logprobs.reshape(-1), advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        for _epoch in range(args.update_epochs):
            _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs, b_actions)
            ratio = (newlogprob - b_logprobs).exp()
            pg_loss = torch.max(
                -b_advantages * ratio,
                -b_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef),
            ).mean()
            v_loss = 0.5 * ((newvalue.view(-1) - b_returns) ** 2).mean()
            loss = pg_loss + v_loss * args.vf_coef
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
            optimizer.step()

        writer.add_scalar("losses/value_loss", v_loss.item(), global_step)
        writer.add_scalar("losses/policy_loss", pg_loss.item(), global_step)
        writer.add_scalar("losses/loss", loss, global_step)  # the tensor, with its graph
        writer.add_scalar(
            "charts/SPS", int(global_step / (time.monotonic() - started)), global_step
        )

    envs.close()
    writer.close()
