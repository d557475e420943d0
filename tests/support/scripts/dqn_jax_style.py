"""DQN in JAX, CleanRL's ``dqn_jax.py`` loop in miniature (written for the tests).

CleanRL's JAX conventions: a ``SyncVectorEnv`` of one env, ``for global_step in range(...)``
around each vector step, a jitted update, actions and losses brought back to the host with
``jax.device_get`` before they reach the env and TensorBoard. The Q-network is a two-layer MLP
in plain ``jax.numpy`` (CleanRL uses flax and optax; the loop is what matters here).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import tyro
from cleanrl_infos import finished_episodes, wait_for
from torch.utils.tensorboard import SummaryWriter


@dataclass
class Args:
    env_id: str = "CartPole-v1"
    """the id of the environment"""
    seed: int = 1
    """seed of the experiment"""
    total_timesteps: int = 1500
    """total timesteps of the experiment"""
    learning_rate: float = 1e-2
    """the learning rate (plain SGD)"""
    buffer_size: int = 1000
    """the replay memory size"""
    gamma: float = 0.99
    """the discount factor"""
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
    logdir: str = "runs/dqn_jax_style"
    """TensorBoard folder"""


def make_env(env_id: str, seed: int):
    def thunk():
        env = gym.make(env_id)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env.action_space.seed(seed)
        return env

    return thunk


def init_params(key, obs_size: int, num_actions: int, hidden: int = 32):
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (obs_size, hidden)) / np.sqrt(obs_size),
        "b1": jnp.zeros(hidden),
        "w2": jax.random.normal(k2, (hidden, num_actions)) / np.sqrt(hidden),
        "b2": jnp.zeros(num_actions),
    }


def q_values(params, obs):
    hidden = jax.nn.relu(obs @ params["w1"] + params["b1"])
    return hidden @ params["w2"] + params["b2"]


def linear_schedule(start_e: float, end_e: float, duration: int, t: int) -> float:
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


if __name__ == "__main__":
    args = tyro.cli(Args)
    random.seed(args.seed)
    np.random.seed(args.seed)
    key = jax.random.PRNGKey(args.seed)
    writer = SummaryWriter(args.logdir)

    envs = gym.vector.SyncVectorEnv([make_env(args.env_id, args.seed)])
    obs_size = int(np.prod(envs.single_observation_space.shape))
    params = init_params(key, obs_size, int(envs.single_action_space.n))
    target_params = params

    @jax.jit
    def update(params, target_params, obs, actions, rewards, next_obs, dones):
        target = rewards + args.gamma * q_values(target_params, next_obs).max(axis=1) * (1 - dones)

        def mse(p):
            taken = q_values(p, obs)[jnp.arange(obs.shape[0]), actions]
            return ((taken - target) ** 2).mean(), taken

        (loss, taken), grads = jax.value_and_grad(mse, has_aux=True)(params)
        params = jax.tree_util.tree_map(lambda p, g: p - args.learning_rate * g, params, grads)
        return loss, taken, params

    memory = {
        "obs": np.zeros((args.buffer_size, obs_size), dtype=np.float32),
        "next": np.zeros((args.buffer_size, obs_size), dtype=np.float32),
        "act": np.zeros(args.buffer_size, dtype=np.int32),
        "rew": np.zeros(args.buffer_size, dtype=np.float32),
        "done": np.zeros(args.buffer_size, dtype=np.float32),
    }
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
            actions = np.array([envs.single_action_space.sample()])
        else:
            actions = jax.device_get(q_values(params, obs).argmax(axis=-1))

        next_obs, rewards, terminations, truncations, infos = envs.step(actions)

        for _, r in finished_episodes(infos):
            print(f"global_step={global_step}, episodic_return={r}")
            writer.add_scalar("charts/episodic_return", r, global_step)

        row = stored % args.buffer_size
        memory["obs"][row], memory["next"][row] = obs[0], next_obs[0]
        memory["act"][row], memory["rew"][row] = actions[0], rewards[0]
        memory["done"][row] = float(terminations[0])
        stored = global_step + 1
        obs = next_obs

        if global_step > args.learning_starts and global_step % args.train_frequency == 0:
            rows = np.random.randint(0, min(stored, args.buffer_size), args.batch_size)
            loss, taken, params = update(
                params,
                target_params,
                memory["obs"][rows],
                memory["act"][rows],
                memory["rew"][rows],
                memory["next"][rows],
                memory["done"][rows],
            )
            if global_step % 100 == 0:
                writer.add_scalar("losses/td_loss", jax.device_get(loss), global_step)
                writer.add_scalar("losses/q_values", jax.device_get(taken).mean(), global_step)
            if global_step % 100 == 0:
                target_params = params

    envs.close()
    writer.close()
