"""PPO for discrete-action gymnasium envs, one file, in the style of CleanRL's ``ppo.py``.

Written from scratch for this repository; it keeps CleanRL's flag names, its ``make_env``
thunks, its ``SyncVectorEnv`` and its TensorBoard tags, so whatever works on a CleanRL script
(``FASTLANE=1 python ppo.py --fastlane-slot 2``) can be shown on this one.

    python examples/ppo.py --env-id CartPole-v1 --total-timesteps 200000

Decisions, documented here because the script is meant to be read top to bottom:

- gymnasium 0.29.1 and 1.x: under 0.29 (and 1.x ``SAME_STEP``) a finished sub-env is reset in
  the same step and its episode statistics arrive in ``infos["final_info"]``; under 1.x's default
  ``NEXT_STEP`` autoreset they arrive in ``infos["episode"]`` with the mask ``infos["_episode"]``,
  and the step *after* an episode ends is a reset step whose action is ignored.
  :func:`finished_episodes` reads all three layouts; reset steps are left out of the PPO update.
- Threads: a 64-unit MLP gains nothing from intra-op parallelism, and extra threads fight the
  env for the CPU. ``--torch-threads 0`` (the default) sets 1 thread unless ``OMP_NUM_THREADS``
  is set, in which case torch's own default (which follows that variable) is kept.
- Truncation ends an episode like termination does (no bootstrapping), as CleanRL does.
- ``--track`` uses Weights & Biases only if ``wandb`` is installed (it is not a dependency of
  this project); otherwise it warns and goes on.
- Last line: ``summary: episodes=N last_mean_return=R SPS=S global_step=G`` (benchmarks parse it).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
import tyro
from torch.distributions.categorical import Categorical
from torch.utils.tensorboard import SummaryWriter


@dataclass
class Args:
    exp_name: str = os.path.basename(__file__)[: -len(".py")]
    """name of this experiment (part of the run name)"""
    seed: int = 1
    """seed of the experiment; sub-env i is seeded with seed + i"""
    torch_deterministic: bool = True
    """if toggled, sets `torch.backends.cudnn.deterministic`"""
    cuda: bool = True
    """if toggled, use CUDA when it is available"""
    track: bool = False
    """if toggled, track the run with Weights & Biases (needs `wandb`, not bundled)"""
    wandb_project_name: str = "cleanRL"
    """the Weights & Biases project name"""
    wandb_entity: str | None = None
    """the Weights & Biases entity (team)"""
    capture_video: bool = False
    """if toggled, record videos of sub-env 0 into videos/{run_name}"""
    async_envs: bool = False
    """if toggled, step the envs in subprocesses (gym.vector.AsyncVectorEnv)"""
    torch_threads: int = 0
    """torch CPU threads; 0 = 1 thread unless OMP_NUM_THREADS is set"""

    # Algorithm specific arguments
    env_id: str = "CartPole-v1"
    """the id of the environment"""
    total_timesteps: int = 500000
    """total timesteps of the experiment"""
    learning_rate: float = 2.5e-4
    """the learning rate of the optimizer"""
    num_envs: int = 4
    """the number of parallel environments"""
    num_steps: int = 128
    """the number of steps per environment in each rollout"""
    anneal_lr: bool = True
    """if toggled, the learning rate decays linearly to 0"""
    gamma: float = 0.99
    """the discount factor"""
    gae_lambda: float = 0.95
    """the lambda of generalized advantage estimation"""
    num_minibatches: int = 4
    """the number of minibatches per epoch"""
    update_epochs: int = 4
    """the number of epochs over each rollout"""
    norm_adv: bool = True
    """if toggled, advantages are normalized per minibatch"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient"""
    clip_vloss: bool = True
    """if toggled, the value loss is clipped like the policy ratio"""
    ent_coef: float = 0.01
    """the coefficient of the entropy bonus"""
    vf_coef: float = 0.5
    """the coefficient of the value loss"""
    max_grad_norm: float = 0.5
    """the maximum gradient norm"""
    target_kl: float | None = None
    """stop the epochs of an update early once approx_kl exceeds this"""

    # filled in at runtime
    batch_size: int = 0
    """the batch size (num_envs * num_steps), computed"""
    minibatch_size: int = 0
    """the minibatch size (batch_size // num_minibatches), computed"""
    num_iterations: int = 0
    """the number of iterations (total_timesteps // batch_size), computed"""


def make_env(env_id: str, idx: int, capture_video: bool, run_name: str) -> Callable[[], gym.Env]:
    def thunk() -> gym.Env:
        if capture_video and idx == 0:
            env = gym.make(env_id, render_mode="rgb_array")
            env = gym.wrappers.RecordVideo(env, f"videos/{run_name}")
        else:
            env = gym.make(env_id)
        return gym.wrappers.RecordEpisodeStatistics(env)

    return thunk


def next_step_autoreset(envs: gym.vector.VectorEnv) -> bool:
    """True if a finished sub-env is reset on the step after it ends (gymnasium 1.x default)."""
    mode = getattr(envs, "metadata", {}).get("autoreset_mode")
    if mode is None:
        return int(gym.__version__.split(".")[0]) >= 1
    return str(getattr(mode, "value", mode)) == "NextStep"


def finished_episodes(infos: dict[str, Any]) -> list[tuple[int, float, int]]:
    """(sub-env index, return, length) of every episode that ended in this vector step."""
    found: list[tuple[int, float, int]] = []
    final_info = infos.get("final_info")
    if isinstance(final_info, dict):  # gymnasium 1.x SAME_STEP: a dict of arrays
        episode, mask = final_info.get("episode"), final_info.get("_episode")
        if episode is not None and mask is not None:
            for i in np.flatnonzero(mask):
                found.append((int(i), float(episode["r"][i]), int(episode["l"][i])))
    elif final_info is not None:  # gymnasium 0.29: one dict (or None) per sub-env
        for index, info in enumerate(final_info):
            if info and "episode" in info:
                r, length = info["episode"]["r"], info["episode"]["l"]
                found.append((index, float(np.asarray(r).item()), int(np.asarray(length).item())))
    elif "episode" in infos:  # gymnasium 1.x NEXT_STEP: a dict of arrays, masked
        episode, mask = infos["episode"], infos["_episode"]
        for i in np.flatnonzero(mask):
            found.append((int(i), float(episode["r"][i]), int(episode["l"][i])))
    return found


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias_const: float = 0.0) -> nn.Linear:
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, obs_size: int, num_actions: int) -> None:
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_size, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_size, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, 64)),
            nn.Tanh(),
            layer_init(nn.Linear(64, num_actions), std=0.01),
        )

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def get_action_and_value(
        self, x: torch.Tensor, action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        probs = Categorical(logits=self.actor(x))
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


if __name__ == "__main__":
    args = tyro.cli(Args)
    args.batch_size = int(args.num_envs * args.num_steps)
    args.minibatch_size = int(args.batch_size // args.num_minibatches)
    args.num_iterations = args.total_timesteps // args.batch_size
    run_name = f"{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}"
    if args.track:
        try:
            import wandb
        except ImportError:
            print("warning: --track needs wandb (not bundled): running untracked", file=sys.stderr)
        else:
            wandb.init(
                project=args.wandb_project_name,
                entity=args.wandb_entity,
                sync_tensorboard=True,
                config=vars(args),
                name=run_name,
                save_code=True,
            )
    writer = SummaryWriter(f"runs/{run_name}")
    table = "\n".join(f"|{key}|{value}|" for key, value in vars(args).items())
    writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{table}")

    # ---- seeding and threads ------------------------------------------------------------------
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    elif "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")

    # ---- env setup ----------------------------------------------------------------------------
    thunks = [make_env(args.env_id, i, args.capture_video, run_name) for i in range(args.num_envs)]
    envs = (
        gym.vector.AsyncVectorEnv(thunks) if args.async_envs else gym.vector.SyncVectorEnv(thunks)
    )
    assert isinstance(envs.single_action_space, gym.spaces.Discrete), "only discrete actions"
    obs_shape = envs.single_observation_space.shape
    assert obs_shape is not None, "the observation space must have a shape"
    skip_reset_steps = next_step_autoreset(envs)

    agent = Agent(int(np.prod(obs_shape)), int(envs.single_action_space.n)).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # ---- rollout storage ----------------------------------------------------------------------
    obs = torch.zeros((args.num_steps, args.num_envs, *obs_shape)).to(device)
    actions = torch.zeros((args.num_steps, args.num_envs)).to(device)
    logprobs = torch.zeros((args.num_steps, args.num_envs)).to(device)
    rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)
    dones = torch.zeros((args.num_steps, args.num_envs)).to(device)
    values = torch.zeros((args.num_steps, args.num_envs)).to(device)
    valid = torch.ones((args.num_steps, args.num_envs)).to(device)  # 0 = NEXT_STEP reset step

    # ---- start the game -----------------------------------------------------------------------
    global_step = 0
    episode_count = 0
    recent_returns: deque[float] = deque(maxlen=20)
    start_time = time.time()
    next_obs_np, _reset_infos = envs.reset(seed=args.seed)
    next_obs = torch.Tensor(next_obs_np).to(device)
    next_done = torch.zeros(args.num_envs).to(device)

    for iteration in range(1, args.num_iterations + 1):
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / args.num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.learning_rate

        # ---- collect a rollout ----------------------------------------------------------------
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done
            valid[step] = 1.0 - next_done if skip_reset_steps else 1.0

            with torch.no_grad():
                action, logprob, _entropy, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            next_obs_np, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            next_done_np = np.logical_or(terminations, truncations)
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32).to(device).view(-1)
            next_obs = torch.Tensor(next_obs_np).to(device)
            next_done = torch.Tensor(next_done_np).to(device)

            for _env_index, episodic_return, episodic_length in finished_episodes(infos):
                episode_count += 1
                recent_returns.append(episodic_return)
                print(f"global_step={global_step}, episodic_return={episodic_return}")
                writer.add_scalar("charts/episodic_return", episodic_return, global_step)
                writer.add_scalar("charts/episodic_length", episodic_length, global_step)

        # ---- generalized advantage estimation -------------------------------------------------
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            lastgaelam = torch.zeros(args.num_envs).to(device)
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        # ---- flatten the batch, dropping reset steps ------------------------------------------
        b_obs = obs.reshape((-1, *obs_shape))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        b_inds = np.flatnonzero(valid.reshape(-1).cpu().numpy() > 0)

        # ---- optimize the policy and value networks -------------------------------------------
        clipfracs = []
        for _epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for mb_inds in np.array_split(b_inds, args.num_minibatches):
                _action, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions.long()[mb_inds]
                )
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()

                with torch.no_grad():
                    # two estimators of KL(old || new), see http://joschu.net/blog/kl-approx.html
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs.append(((ratio - 1.0).abs() > args.clip_coef).float().mean().item())

                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (
                        mb_advantages.std() + 1e-8
                    )

                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(
                    ratio, 1 - args.clip_coef, 1 + args.clip_coef
                )
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()

                newvalue = newvalue.view(-1)
                if args.clip_vloss:
                    v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                    v_clipped = b_values[mb_inds] + torch.clamp(
                        newvalue - b_values[mb_inds], -args.clip_coef, args.clip_coef
                    )
                    v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()

                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef

                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

            if args.target_kl is not None and approx_kl > args.target_kl:
                break

        y_pred, y_true = b_values[b_inds].cpu().numpy(), b_returns[b_inds].cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y

        # ---- record the iteration -------------------------------------------------------------
        sps = int(global_step / (time.time() - start_time))
        writer.add_scalar("charts/learning_rate", optimizer.param_groups[0]["lr"], global_step)
        writer.add_scalar("losses/value_loss", v_loss.item(), global_step)
        writer.add_scalar("losses/policy_loss", pg_loss.item(), global_step)
        writer.add_scalar("losses/entropy", entropy_loss.item(), global_step)
        writer.add_scalar("losses/old_approx_kl", old_approx_kl.item(), global_step)
        writer.add_scalar("losses/approx_kl", approx_kl.item(), global_step)
        writer.add_scalar("losses/clipfrac", np.mean(clipfracs), global_step)
        writer.add_scalar("losses/explained_variance", explained_var, global_step)
        print("SPS:", sps)
        writer.add_scalar("charts/SPS", sps, global_step)

    # ---- wrap up ------------------------------------------------------------------------------
    elapsed = time.time() - start_time
    envs.close()
    writer.close()
    mean_return = float(np.mean(recent_returns)) if recent_returns else float("nan")
    print(
        f"summary: episodes={episode_count} last_mean_return={mean_return:.2f} "
        f"(last {len(recent_returns)}) SPS={int(global_step / elapsed)} global_step={global_step}"
    )
