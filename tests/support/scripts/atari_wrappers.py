"""Atari wrappers with the behaviour of the ones CleanRL imports from Stable-Baselines3.

Written for the tests from their documented behaviour (no code taken from either project):
random no-op starts, frame skipping with a max over the last two frames, a life lost ends the
agent's episode (not the game), FIRE after every reset in games that need it, rewards clipped to
their sign. Only :class:`EpisodicLifeEnv` and :class:`ClipRewardEnv` change what an episode or
a reward means to the agent; CleanRL's ``RecordEpisodeStatistics`` sits below all of them.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class NoopResetEnv(gym.Wrapper):
    """On reset, take a random number (1..noop_max) of no-op actions."""

    def __init__(self, env: gym.Env, noop_max: int = 30) -> None:
        super().__init__(env)
        self.noop_max = noop_max
        assert env.unwrapped.get_action_meanings()[0] == "NOOP"

    def reset(self, **kwargs: Any) -> Any:
        obs, info = self.env.reset(**kwargs)
        for _ in range(int(self.unwrapped.np_random.integers(1, self.noop_max + 1))):
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


class MaxAndSkipEnv(gym.Wrapper):
    """Repeat each action ``skip`` frames; sum the rewards, max-pool the last two frames."""

    def __init__(self, env: gym.Env, skip: int = 4) -> None:
        super().__init__(env)
        self._skip = skip
        self._frames = np.zeros(
            (2, *env.observation_space.shape), dtype=env.observation_space.dtype
        )

    def step(self, action: Any) -> Any:
        total = 0.0
        terminated = truncated = False
        info: dict[str, Any] = {}
        for i in range(self._skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            if i >= self._skip - 2:
                self._frames[i - (self._skip - 2)] = obs
            total += float(reward)
            if terminated or truncated:
                break
        return self._frames.max(axis=0), total, terminated, truncated, info


class EpisodicLifeEnv(gym.Wrapper):
    """A lost life ends the agent's episode; the game goes on until it is really over."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.lives = 0
        self.was_real_done = True

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.was_real_done = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> Any:
        if self.was_real_done:
            obs, info = self.env.reset(**kwargs)
        else:  # a life was lost: one no-op step instead of a reset
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        self.lives = self.env.unwrapped.ale.lives()
        return obs, info


class FireResetEnv(gym.Wrapper):
    """Press FIRE (then action 2) after a reset, for games that wait for it."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        assert env.unwrapped.get_action_meanings()[1] == "FIRE"

    def reset(self, **kwargs: Any) -> Any:
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(2)
        if terminated or truncated:
            obs, info = self.env.reset(**kwargs)
        return obs, info


class ClipRewardEnv(gym.RewardWrapper):
    """Rewards become their sign: -1, 0 or +1."""

    def reward(self, reward: Any) -> float:
        return float(np.sign(reward))


class GraySmall(gym.ObservationWrapper):
    """Gray, and every ``step``-th pixel in both directions (no OpenCV needed)."""

    def __init__(self, env: gym.Env, step: int = 5) -> None:
        super().__init__(env)
        self._step = step
        height, width = env.observation_space.shape[:2]
        shape = (len(range(0, height, step)), len(range(0, width, step)))
        self.observation_space = gym.spaces.Box(0, 255, shape, dtype=np.uint8)

    def observation(self, observation: Any) -> Any:
        small = observation[:: self._step, :: self._step]
        return small.mean(axis=2).astype(np.uint8)
