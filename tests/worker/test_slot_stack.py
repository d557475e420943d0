"""Where the lanes go in a slot's stack: right above what gymnasium.make returned, below every
wrapper of the script, so the recorded episodes are the base env's with its raw rewards."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from cleanrl_worker.patches.slot_stack import SlotThunk, collecting_made_envs, splice_above
from cleanrl_worker.settings import load_settings
from cleanrl_worker.slowlane.episodes import EpisodeRecorderWrapper, VectorStepCounter
from cleanrl_worker.slowlane.global_step import GlobalStepClock, VectorStepCount
from gym_gui_bridge.protocol.records import EpisodeRollup, TelemetryEvent


class _LifeEveryThreeSteps(gym.Wrapper):  # type: ignore[type-arg]
    """Ends the agent's episode every 3 steps without ending the base env's (a 'life'): its
    reset after a lost life goes on from where the base env is."""

    def __init__(self, env: gym.Env) -> None:  # type: ignore[type-arg]
        super().__init__(env)
        self._t = 0
        self._real_done = True
        self._obs: Any = None

    def step(self, action: Any) -> Any:
        self._obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        self._real_done = terminated or truncated
        return self._obs, reward, terminated or self._t % 3 == 0, truncated, info

    def reset(self, **kwargs: Any) -> Any:
        if self._real_done:
            self._t = 0
            return self.env.reset(**kwargs)
        return self._obs, {}


class _Recorder:
    """The recorder's ``wrap`` and ``clock``, recording into a list."""

    def __init__(self, num_envs: int) -> None:
        self.records: list[TelemetryEvent] = []
        self.clock = GlobalStepClock.fixed(num_envs)

    def wrap(
        self,
        env: Any,
        slot: int,
        num_envs: int = 1,
        vector_steps: VectorStepCount | None = None,
        cell: str | None = None,
    ) -> EpisodeRecorderWrapper:
        return EpisodeRecorderWrapper(
            env,
            self.records.append,
            run_id="stack",
            slot=slot,
            num_envs=num_envs,
            vector_steps=vector_steps,
            clock=self.clock,
        )


def _chain(env: Any) -> list[type]:
    kinds = []
    while env is not None:
        kinds.append(type(env))
        env = vars(env).get("env")
    return kinds


def _script_thunk() -> gym.Env:  # type: ignore[type-arg]
    probe = gym.make("CartPole-v1")  # made to read a space, never returned
    probe.close()
    env = gym.make("CartPole-v1")
    env = gym.wrappers.RecordEpisodeStatistics(env)
    env = _LifeEveryThreeSteps(env)
    return gym.wrappers.TransformReward(env, lambda r: 10.0 * r)


def _settings() -> Any:
    return load_settings({}, video_mode="off", run_id="slot-stack")


def test_the_recorder_sits_under_the_script_wrappers_and_the_counter_on_top() -> None:
    recorder = _Recorder(num_envs=1)
    env = SlotThunk(_script_thunk, 0, 1, _settings(), watched=False, recorder=recorder)()
    kinds = _chain(env)
    assert kinds[0] is VectorStepCounter
    recorded = kinds.index(EpisodeRecorderWrapper)
    assert kinds.index(gym.wrappers.RecordEpisodeStatistics) == recorded - 1
    assert kinds.index(gym.wrappers.TransformReward) < recorded


def test_recorded_episodes_are_the_base_env_episodes_with_raw_rewards() -> None:
    recorder = _Recorder(num_envs=2)
    thunks = [
        SlotThunk(_script_thunk, k, 2, _settings(), watched=False, recorder=recorder)
        for k in range(2)
    ]
    envs = gym.vector.SyncVectorEnv(thunks)
    envs.reset(seed=3)
    seen: list[tuple[int, float, int]] = []  # what RecordEpisodeStatistics reported
    agent_episodes = 0
    for _ in range(300):
        _, rewards, terminated, truncated, infos = envs.step(np.zeros(2, dtype=np.int64))
        assert set(rewards.tolist()) <= {0.0, 10.0}  # the script's scaled rewards
        agent_episodes += int(np.sum(terminated | truncated))
        seen.extend(_statistics(infos))
    envs.close()
    episodes = [r for r in recorder.records if isinstance(r, EpisodeRollup)]
    assert seen and agent_episodes > len(episodes)
    assert sorted((e.slot, e.ep_return, e.length) for e in episodes) == sorted(seen)


def _statistics(infos: dict[str, Any]) -> list[tuple[int, float, int]]:
    final = infos.get("final_info")
    if final is not None and not isinstance(final, dict):  # gymnasium 0.29
        return [
            (k, float(np.asarray(i["episode"]["r"]).item()), int(np.asarray(i["episode"]["l"])[0]))
            for k, i in enumerate(final)
            if i and "episode" in i
        ]
    if "episode" in infos:  # gymnasium 1.x next-step autoreset
        episode, mask = infos["episode"], infos["_episode"]
        return [
            (int(k), float(episode["r"][k]), int(episode["l"][k])) for k in np.flatnonzero(mask)
        ]
    return []


def test_the_counter_counts_every_vector_step_under_the_installed_autoreset() -> None:
    recorder = _Recorder(num_envs=1)
    next_step = int(gym.__version__.split(".")[0]) >= 1
    env = SlotThunk(
        lambda: gym.make("CartPole-v1"),
        0,
        1,
        _settings(),
        watched=False,
        recorder=recorder,
        next_step_autoreset=next_step,
    )
    envs = gym.vector.SyncVectorEnv([env])
    envs.reset(seed=0)
    for _ in range(200):  # several episodes end, so several autoresets happen
        envs.step(np.zeros(1, dtype=np.int64))
    (counter,) = envs.envs
    assert isinstance(counter, VectorStepCounter) and counter.count.value == 200
    episodes = [r for r in recorder.records if isinstance(r, EpisodeRollup)]
    assert len(episodes) >= 5


def test_a_thunk_without_gymnasium_make_is_recorded_on_top() -> None:
    from gymnasium.envs.classic_control import CartPoleEnv

    recorder = _Recorder(num_envs=1)
    env = SlotThunk(CartPoleEnv, 0, 1, _settings(), watched=False, recorder=recorder)()
    assert _chain(env)[:3] == [VectorStepCounter, EpisodeRecorderWrapper, CartPoleEnv]


def test_splice_puts_the_wrapper_right_above_the_outermost_made_env() -> None:
    made: list[Any] = []
    original = gym.make
    with collecting_made_envs(made, "rgb_array"):
        env = gym.wrappers.RecordEpisodeStatistics(gym.make("CartPole-v1"))
    assert gym.make is original
    assert made[0].render_mode == "rgb_array"
    top, found = splice_above(env, made, gym.Wrapper)
    assert found and top is env and type(vars(env)["env"]) is gym.Wrapper
    assert vars(env)["env"].env is made[0]


def test_a_slot_in_the_vector_env_process_reads_its_count_and_gets_no_counter() -> None:
    recorder = _Recorder(num_envs=1)
    count = VectorStepCount()
    env = SlotThunk(
        lambda: gym.make("CartPole-v1"),
        0,
        1,
        _settings(),
        watched=False,
        recorder=recorder,
        vector_steps=count,
    )()
    assert _chain(env)[0] is EpisodeRecorderWrapper
    env.reset(seed=0)
    count.value = 41  # the vector env's 41st step
    terminated = truncated = False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(0)
    (episode,) = [r for r in recorder.records if isinstance(r, EpisodeRollup)]
    assert episode.global_step == 41  # GlobalStepClock.fixed(1): env_steps, n * 1


class _NoFpsEnv(gym.Env):  # type: ignore[type-arg]
    """Renders, but declares no render_fps: gymnasium's env checker warns at the first render."""

    metadata = {"render_modes": ["rgb_array"]}
    observation_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action: Any) -> Any:
        return np.zeros(1, np.float32), 0.0, False, False, {}

    def render(self) -> Any:
        return np.full((8, 8, 3), 200, np.uint8)


gym.register("SlotStackNoFps-v0", entry_point=_NoFpsEnv)


@pytest.mark.parametrize(
    "script_renders", [False, True], ids=["fast-lane-renders", "script-renders"]
)
def test_the_env_checker_warns_about_rendering_only_when_the_script_renders(
    script_renders: bool, run_id: str
) -> None:
    def thunk() -> gym.Env:  # type: ignore[type-arg]
        if script_renders:  # CleanRL's --capture-video
            return gym.make("SlotStackNoFps-v0", render_mode="rgb_array")
        return gym.make("SlotStackNoFps-v0")

    settings = load_settings({}, run_id=run_id)
    env = SlotThunk(thunk, 0, 1, settings, watched=True)()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            env.reset(seed=0)  # the fast lane's first frame
            if script_renders:
                env.render()
        assert bool(caught) == script_renders, [str(w.message) for w in caught]
    finally:
        env.close()
