"""The envpool hook in one process, on real envpool pools: which pools it claims, the games it
records from their results (both of envpool's result formats), the watched slot's frames.

Runs where envpool is installed (the main test pass installs envpool 1.2.5). Older envpool
releases with gym (``env_type="gym"`` pools returning CleanRL's 4-tuple steps) take the same
tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from worker_helpers import segment_exists

from cleanrl_worker.errors import FastLaneSlotError
from cleanrl_worker.patches import envpool as envpool_hook
from cleanrl_worker.patches import hooked
from cleanrl_worker.settings.model import WorkerSettings
from gym_gui_bridge.fastlane import FastLaneReader
from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord

envpool = pytest.importorskip("envpool")

TASK = "Breakout-v5"  # 5 lives; a random game lasts ~150-250 steps
STEPS = 400


class ListRecorder:
    """What the tap needs of the slow lane's recorder, keeping the records in a list."""

    agent_id = "default"

    def __init__(self, steps: str = "watched", watched_slot: int = 1) -> None:
        self.steps = steps
        self.watched_slot = watched_slot
        self.records: list[Any] = []

    def emit(self, record: Any) -> None:
        self.records.append(record)

    def games(self) -> list[tuple[int, float, int]]:
        """(global_step, return, slot) of every recorded episode, in CleanRL's print order."""
        rollups = [r for r in self.records if isinstance(r, EpisodeRollup)]
        return sorted((r.global_step, r.ep_return, r.slot) for r in rollups)


@pytest.fixture
def hook(run_id: str) -> Iterator[tuple[WorkerSettings, ListRecorder]]:
    hooked._reset_for_tests()
    settings = WorkerSettings(run_id=run_id, slot=1)
    recorder = ListRecorder()
    envpool_hook.install(settings, recorder)
    yield settings, recorder
    envpool_hook.uninstall()
    hooked._reset_for_tests()


def _play(
    pool: Any, num_envs: int, steps: int = STEPS, lengths: list[int] | None = None
) -> list[tuple[int, float, int]]:
    """Random actions, CleanRL's way: the games a script prints (global_step, return, slot);
    each game's ``elapsed_step`` at its end goes to ``lengths``."""
    lengths = [] if lengths is None else lengths
    rng = np.random.default_rng(0)
    pool.reset()
    score = np.zeros(num_envs)
    printed = []
    for k in range(1, steps + 1):
        result = pool.step(rng.integers(0, pool.action_space.n, num_envs).astype(np.int32))
        info = result[-1]
        done = result[2] | result[3] if len(result) == 5 else result[2]
        score += info["reward"]
        for idx in range(num_envs):
            if done[idx] and info["lives"][idx] == 0:
                printed.append((k * num_envs, float(score[idx]), idx))
                lengths.append(int(info["elapsed_step"][idx]))
        score[info["terminated"].astype(bool)] = 0
    return printed


@pytest.mark.parametrize("make", ["make_gym_type", "make_gymnasium"])
def test_every_slots_games_are_recorded_as_the_script_counts_them(
    hook: tuple[WorkerSettings, ListRecorder], make: str
) -> None:
    _, recorder = hook
    options = {"num_envs": 3, "episodic_life": True, "reward_clip": True, "seed": 1}
    if make == "make_gym_type":
        pool = envpool.make(TASK, env_type="gym", **options)
    else:
        pool = envpool.make_gymnasium(TASK, **options)
    lengths: list[int] = []
    printed = _play(pool, 3, lengths=lengths)
    pool.close()
    assert {slot for _, _, slot in printed} == {0, 1, 2}, "a slot finished no game"
    assert recorder.games() == printed
    rollups = sorted(
        (r for r in recorder.records if isinstance(r, EpisodeRollup)),
        key=lambda r: (r.global_step, r.slot),
    )
    assert [r.length for r in rollups] == lengths  # steps of the game, resets left out
    assert hooked.current() == hooked.HookedVectorEnv("envpool", 3)


def test_clipped_rewards_and_lost_lives_change_no_stored_game(
    hook: tuple[WorkerSettings, ListRecorder],
) -> None:
    _, recorder = hook
    pool = envpool.make(
        "Asterix-v5", env_type="gym", num_envs=2, episodic_life=True, reward_clip=True, seed=3
    )
    printed = _play(pool, 2, steps=450)
    pool.close()
    assert printed and all(ret >= 50 for _, ret, _ in printed)  # raw scores: 50 per item
    assert recorder.games() == printed


def test_the_watched_slot_records_its_steps_and_tags_the_frames_it_published(
    hook: tuple[WorkerSettings, ListRecorder],
) -> None:
    settings, recorder = hook
    pool = envpool.make(TASK, env_type="gym", num_envs=2, seed=1)
    with_reader = None
    try:
        pool.reset()
        with_reader = FastLaneReader.attach(settings.run_id)
        for _ in range(60):
            with_reader.latest_frame()
            pool.step(np.ones(2, np.int32))
        frame = with_reader.latest_frame(only_new=False)
        assert frame is not None and with_reader.status().env_slot == 1
        if callable(getattr(type(pool), "_render_config", None)):  # envpool >= 1.0 renders
            assert frame.data.shape == (210, 160, 3)
            assert getattr(pool, "render_mode", None) is None  # restored after each frame
        else:
            assert frame.data.shape == (336, 336)
    finally:
        if with_reader is not None:
            with_reader.close()
        pool.close()
    assert not segment_exists(settings.run_id)  # the pool's close() removed the ring
    steps = [r for r in recorder.records if isinstance(r, StepRecord)]
    assert {s.slot for s in steps} == {1} and len(steps) == 60
    assert [s.step for s in steps[:3]] == [0, 1, 2] and steps[0].action == 1
    assert any(s.frame_seq is not None for s in steps)


def test_an_asynchronous_pool_draws_the_watched_observation(
    hook: tuple[WorkerSettings, ListRecorder],
) -> None:
    settings, recorder = hook
    pool = envpool.make_gymnasium(TASK, num_envs=3, batch_size=2, seed=1)
    pool.async_reset()
    with _attach_after(pool, settings.run_id) as reader:
        for _ in range(300):
            reader.latest_frame()
            _obs, _rew, _term, _trunc, info = pool.recv()
            pool.send(np.ones(len(info["env_id"]), np.int32), info["env_id"])
        frame = reader.latest_frame(only_new=False)
        assert frame is not None and frame.data.shape == (336, 336)  # 4 x 84 x 84, newest x4
    pool.close()
    rollups = [r for r in recorder.records if isinstance(r, EpisodeRollup)]
    assert all(r.length > 0 for r in rollups)


def _attach_after(pool: Any, run_id: str) -> FastLaneReader:
    """Receive batches until the watched slot's first result created the ring, then attach."""
    while not segment_exists(run_id):
        info = pool.recv()[-1]
        pool.send(np.ones(len(info["env_id"]), np.int32), info["env_id"])
    return FastLaneReader.attach(run_id)


def test_only_the_first_gym_or_gymnasium_pool_is_claimed(
    hook: tuple[WorkerSettings, ListRecorder],
) -> None:
    dm = envpool.make_dm(TASK, num_envs=2)
    assert hooked.current() is None  # dm_env pools are not read
    first = envpool.make_gym(TASK, num_envs=2)
    second = envpool.make(TASK, env_type="gymnasium", num_envs=4)
    assert hooked.current() == hooked.HookedVectorEnv("envpool", 2)
    assert "recv" in vars(first) and "recv" not in vars(second) and "recv" not in vars(dm)
    for pool in (dm, first, second):
        pool.close()


def test_a_slot_the_pool_does_not_have_is_refused_before_it_is_built(run_id: str) -> None:
    hooked._reset_for_tests()
    envpool_hook.install(WorkerSettings(run_id=run_id, slot=5), ListRecorder())
    try:
        with pytest.raises(
            FastLaneSlotError, match=r"0\.\.3 \(the script's envpool has num_envs=4"
        ):
            envpool.make(TASK, env_type="gym", num_envs=4)
        assert hooked.current() is None
    finally:
        envpool_hook.uninstall()
        hooked._reset_for_tests()


def test_uninstall_gives_envpool_its_own_functions_back(run_id: str) -> None:
    own = envpool.make
    envpool_hook.install(WorkerSettings(run_id=run_id), ListRecorder())
    assert envpool.make is not own
    envpool_hook.uninstall()
    assert envpool.make is own
