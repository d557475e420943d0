"""DQN on classic control, CleanRL's ``dqn.py`` loop in miniature (written for the tests).

CleanRL's conventions: tyro ``Args``, a ``make_env`` thunk with ``RecordEpisodeStatistics``
above ``gym.make``, a ``SyncVectorEnv`` of one env, ``for global_step in range(...)`` around
each vector step (the step's global_step is the loop index), a print and
``charts/episodic_return`` per finished episode, ``losses/td_loss`` logged as the loss tensor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import tyro
from cleanrl_infos import finished_episodes, wait_for
from torch.utils.tensorboard import SummaryWriter


@dataclass
class Args:
    env_id: str = "CartPole-v1"
    """the id of the environment"""
    seed: int = 1
    """seed of the experiment"""
    num_envs: int = 1
    """the number of parallel environments"""
    async_envs: bool = False
    """step the envs in subprocesses (gym.vector.AsyncVectorEnv)"""
    total_timesteps: int = 1500
    """total timesteps of the experiment"""
    learning_rate: float = 2.5e-3
    """the learning rate"""
    buffer_size: int = 1000
    """the replay memory size"""
    gamma: float = 0.99
    """the discount factor"""
    target_network_frequency: int = 100
    """steps between two updates of the target network"""
    batch_size: int = 32
    """the batch size sampled from the replay memory"""
    start_e: float = 1.0
    """the starting epsilon"""
    end_e: float = 0.05
    """the ending epsilon"""
    exploration_fraction: float = 0.5
    """the fraction of total_timesteps it takes from start_e to end_e"""
    learning_starts: int = 200
    """timestep to start learning"""
    train_frequency: int = 4
    """the frequency of training"""
    wait_for: str | None = None
    """start training once this file exists (lets a test attach a viewer first)"""
    logdir: str = "runs/cc_dqn"
    """TensorBoard folder"""


def make_env(env_id: str, seed: int):
    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env.action_space.seed(seed)
        return env

    return thunk


class QNetwork(nn.Module):
    def __init__(self, obs_size: int, num_actions: int) -> None:
        super().__init__()
        self.network = nn.Sequential(nn.Linear(obs_size, 32), nn.ReLU(), nn.Linear(32, num_actions))

    def forward(self, x):
        return self.network(x)


def linear_schedule(start_e: float, end_e: float, duration: int, t: int) -> float:
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


if __name__ == "__main__":
    args = tyro.cli(Args)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    writer = SummaryWriter(args.logdir)

    vector = gym.vector.AsyncVectorEnv if args.async_envs else gym.vector.SyncVectorEnv
    envs = vector([make_env(args.env_id, args.seed + i) for i in range(args.num_envs)])
    obs_size = int(np.prod(envs.single_observation_space.shape))
    num_actions = int(envs.single_action_space.n)
    q_network = QNetwork(obs_size, num_actions)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=args.learning_rate)
    target_network = QNetwork(obs_size, num_actions)
    target_network.load_state_dict(q_network.state_dict())

    # a plain replay memory: one row per vector step of the single env
    memory_obs = np.zeros((args.buffer_size, obs_size), dtype=np.float32)
    memory_next = np.zeros((args.buffer_size, obs_size), dtype=np.float32)
    memory_act = np.zeros(args.buffer_size, dtype=np.int64)
    memory_rew = np.zeros(args.buffer_size, dtype=np.float32)
    memory_done = np.zeros(args.buffer_size, dtype=np.float32)
    stored = 0

    obs, _ = envs.reset(seed=args.seed)
    wait_for(args.wait_for)
    for global_step in range(args.total_timesteps):
        epsilon = linear_schedule(
            args.start_e,
            args.end_e,
            int(args.exploration_fraction * args.total_timesteps),
            global_step,
        )
        if random.random() < epsilon:
            actions = np.array([envs.single_action_space.sample() for _ in range(envs.num_envs)])
        else:
            q_values = q_network(torch.Tensor(obs))
            actions = torch.argmax(q_values, dim=1).numpy()

        next_obs, rewards, terminations, truncations, infos = envs.step(actions)

        for _, r in finished_episodes(infos):
            print(f"global_step={global_step}, episodic_return={r}")
            writer.add_scalar("charts/episodic_return", r, global_step)

        # gymnasium 0.29 hands the terminal observation in final_observation
        real_next_obs = next_obs.copy()
        final_obs = infos.get("final_observation")
        if final_obs is not None:
            for idx, trunc in enumerate(truncations):
                if trunc:
                    real_next_obs[idx] = final_obs[idx]
        row = stored % args.buffer_size
        memory_obs[row], memory_next[row] = obs[0], real_next_obs[0]
        memory_act[row], memory_rew[row] = actions[0], rewards[0]
        memory_done[row] = float(terminations[0])
        stored = global_step + 1
        obs = next_obs

        if global_step > args.learning_starts:
            if global_step % args.train_frequency == 0:
                rows = np.random.randint(0, min(stored, args.buffer_size), args.batch_size)
                with torch.no_grad():
                    target_max, _ = target_network(torch.from_numpy(memory_next[rows])).max(dim=1)
                    td_target = torch.from_numpy(memory_rew[rows]) + args.gamma * target_max * (
                        1 - torch.from_numpy(memory_done[rows])
                    )
                old_val = q_network(torch.from_numpy(memory_obs[rows]))
                old_val = old_val.gather(
                    1, torch.from_numpy(memory_act[rows]).view(-1, 1)
                ).squeeze()
                loss = F.mse_loss(td_target, old_val)

                if global_step % 100 == 0:
                    writer.add_scalar("losses/td_loss", loss, global_step)
                    writer.add_scalar("losses/q_values", old_val.mean().item(), global_step)

                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

            if global_step % args.target_network_frequency == 0:
                target_network.load_state_dict(q_network.state_dict())

    envs.close()
    writer.close()
