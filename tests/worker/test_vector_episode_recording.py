"""Episodes of every slot read from a vector env's batched results (what envpool hands the
script): reset results, lost lives, async batches, global_step, step records."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cleanrl_worker.slowlane.vector_episodes import VectorEpisodes
from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord

F, T = False, True


def _episodes(num_envs: int, **kwargs: Any) -> tuple[VectorEpisodes, list[Any]]:
    records: list[Any] = []
    episodes = VectorEpisodes(num_envs, records.append, run_id="vec", **kwargs)
    return episodes, records


def _rollups(records: list[Any]) -> list[tuple[int, int, float, int, int]]:
    return [
        (r.slot, r.episode, r.ep_return, r.length, r.global_step)
        for r in records
        if isinstance(r, EpisodeRollup)
    ]


def _step(
    episodes: VectorEpisodes,
    rewards: list[float],
    terminated: list[bool],
    truncated: list[bool] | None = None,
    env_ids: list[int] | None = None,
    **kwargs: Any,
) -> Any:
    ids = np.arange(len(rewards)) if env_ids is None else np.array(env_ids)
    trunc = np.zeros(len(rewards), bool) if truncated is None else np.array(truncated)
    return episodes.step(ids, np.array(rewards), np.array(terminated), trunc, **kwargs)


def test_the_result_after_a_done_is_a_reset_not_a_step() -> None:
    episodes, records = _episodes(2)
    episodes.reset(np.arange(2))
    _step(episodes, [1.0, 1.0], [F, F])
    _step(episodes, [1.0, 1.0], [T, F])  # slot 0 ends: 2 steps, return 2
    outcome = _step(episodes, [0.0, 1.0], [F, F])  # slot 0's reset result
    assert outcome.stepped.tolist() == [False, True]
    _step(episodes, [5.0, 1.0], [T, T])  # slot 0: one step after its reset; slot 1: four
    assert _rollups(records) == [(0, 0, 2.0, 2, 4), (0, 1, 5.0, 1, 8), (1, 0, 4.0, 4, 8)]


def test_a_lost_life_does_not_end_the_game_and_raw_rewards_are_summed() -> None:
    episodes, records = _episodes(1)
    episodes.reset(np.arange(1))
    lives = np.array([2])
    _step(episodes, [50.0], [F], lives=lives, game_over=np.array([F]))
    _step(episodes, [0.0], [T], lives=np.array([1]), game_over=np.array([F]))  # life lost
    _step(episodes, [0.0], [F], lives=np.array([1]), game_over=np.array([F]))  # its reset
    assert _rollups(records) == []
    _step(episodes, [100.0], [F], lives=np.array([1]), game_over=np.array([F]))
    _step(episodes, [0.0], [T], lives=np.array([0]), game_over=np.array([T]))  # game over
    assert _rollups(records) == [(0, 0, 150.0, 4, 5)]


def test_without_lives_every_done_ends_the_episode() -> None:
    episodes, records = _episodes(1)
    episodes.reset(np.arange(1))
    _step(episodes, [1.0], [T])
    assert _rollups(records) == [(0, 0, 1.0, 1, 1)]


def test_a_time_limit_ends_the_game_even_with_lives_left() -> None:
    episodes, records = _episodes(1)
    episodes.reset(np.arange(1))
    _step(episodes, [3.0], [F], [T], lives=np.array([3]), game_over=np.array([F]))
    [rollup] = [r for r in records if isinstance(r, EpisodeRollup)]
    assert (rollup.ep_return, rollup.truncated, rollup.terminated) == (3.0, True, False)


def test_async_batches_follow_env_id_and_count_every_result_in_global_step() -> None:
    episodes, records = _episodes(3)
    # an asynchronous pool: async_reset, then batches of 2 in any order; elapsed 0 = a reset
    _step(episodes, [0.0, 0.0], [F, F], env_ids=[2, 0], elapsed=np.array([0, 0]))
    _step(episodes, [0.0], [F], env_ids=[1], elapsed=np.array([0]))
    _step(episodes, [1.0, 2.0], [F, T], env_ids=[0, 2], elapsed=np.array([1, 1]))
    _step(episodes, [4.0, 1.0], [T, F], env_ids=[0, 1], elapsed=np.array([2, 1]))
    assert _rollups(records) == [(2, 0, 2.0, 1, 5), (0, 0, 5.0, 2, 7)]


def test_a_reset_in_the_middle_of_an_episode_abandons_it() -> None:
    episodes, records = _episodes(2)
    episodes.reset(np.arange(2))
    _step(episodes, [1.0, 1.0], [F, F])
    episodes.reset(np.arange(2))
    _step(episodes, [1.0, 1.0], [T, F])
    assert episodes.abandoned == 2
    assert _rollups(records) == [(0, 1, 1.0, 1, 4)]


def test_step_records_of_the_step_slots_carry_action_episode_step_and_frame() -> None:
    episodes, records = _episodes(2, step_slots={1})
    episodes.reset(np.arange(2))
    for k, done in enumerate([F, T, F, F]):
        episodes.sent(np.array([7, 10 + k]), None)
        outcome = _step(episodes, [1.0, 1.0], [F, done])
        episodes.record_steps(outcome, {1: 40 + k} if k == 3 else None)
    steps = [r for r in records if isinstance(r, StepRecord)]
    assert [(s.slot, s.episode, s.step, s.action, s.terminated) for s in steps] == [
        (1, 0, 0, 10, False),
        (1, 0, 1, 11, True),
        (1, 1, 0, 13, False),  # the third result (action 12) was the slot's reset: no step
    ]
    assert [s.frame_seq for s in steps] == [None, None, 43]
    assert [s.global_step for s in steps] == [2, 4, 8]
    assert [s.seq for s in steps] == [0, 1, 2]


def test_without_emit_the_bookkeeping_still_runs() -> None:
    episodes = VectorEpisodes(1, None, run_id="vec")
    episodes.reset(np.arange(1))
    outcome = _step(episodes, [2.0], [T])
    assert outcome.ended.tolist() == [True] and outcome.returns.tolist() == [2.0]
    assert episodes.finished == 1 and episodes.episode_of(0) == 1


def test_num_envs_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="Expected num_envs >= 1, got 0"):
        VectorEpisodes(0, None, run_id="vec")
