"""The run's global_step clock: it learns how the script counts from the script's scalars,
holds records until then, releases them mapped and in order, and tells worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cleanrl_worker.slowlane.global_step import (
    AFTER_STEP,
    ENV_STEPS,
    LOOP_INDEX,
    GlobalStepClock,
    cell_path,
)
from gym_gui_bridge.protocol.records import EpisodeRollup


def _episode(seq: int, n: int) -> EpisodeRollup:
    return EpisodeRollup("run", 0, "default", seq, 1.0, seq, 5.0, 5, True, False, n, 0.1)


class _Main:
    """A main-process clock on a vector env of ``num_envs`` whose step count the test sets."""

    def __init__(self, num_envs: int, hold_limit: int = 100) -> None:
        self.emitted: list[Any] = []
        self.announced: list[tuple[str, float, int]] = []
        self.steps = 0
        self.clock = GlobalStepClock(
            self.emitted.append,
            hold_limit=hold_limit,
            announce=lambda tag, value, step: self.announced.append((tag, value, step)),
        )
        self.clock.watch(num_envs, lambda: self.steps)


@pytest.mark.parametrize(
    ("convention", "logged_step", "mapped"),
    [(AFTER_STEP, 12, [4, 8, 12]), (LOOP_INDEX, 2, [0, 1, 2])],
    ids=["ppo-style", "dqn-style"],
)
def test_the_first_episodic_return_decides_and_releases_held_records_in_order(
    convention: str, logged_step: int, mapped: list[int]
) -> None:
    main = _Main(num_envs=4)
    for n in (1, 2, 3):
        main.clock.hold(_episode(n - 1, n), poll=True)
    main.steps = 3
    assert main.emitted == []  # nothing leaves before the script said how it counts
    main.clock.observe("charts/episodic_return", logged_step)
    assert main.clock.convention == convention
    assert [r.global_step for r in main.emitted] == mapped
    assert [r.seq for r in main.emitted] == [0, 1, 2]
    assert main.announced == [(f"fastlane/global_step/{convention}", 3.0, mapped[-1])]


def test_a_loss_logged_at_step_zero_or_at_another_count_decides_nothing() -> None:
    main = _Main(num_envs=2)
    main.steps = 1
    main.clock.observe("losses/td_loss", 0)  # n - 1 = 0, but a step-0 log proves nothing
    main.steps = 10
    main.clock.observe("charts/learning_rate", 7)  # neither 20 nor 9
    assert not main.clock.decided
    main.clock.observe("losses/value_loss", 20)
    assert main.clock.convention == AFTER_STEP


def test_scalars_before_the_first_vector_step_decide_nothing() -> None:
    main = _Main(num_envs=1)
    main.clock.observe("charts/episodic_return", 0)
    assert not main.clock.decided


def test_too_many_held_records_fall_back_to_env_steps() -> None:
    main = _Main(num_envs=3, hold_limit=2)
    main.steps = 2
    main.clock.hold(_episode(0, 1))
    main.clock.hold(_episode(1, 2))
    assert main.clock.convention == ENV_STEPS
    assert [r.global_step for r in main.emitted] == [3, 6]
    assert main.announced == [("fastlane/global_step/env_steps", 2.0, 6)]


def test_settle_releases_what_is_held_with_env_steps() -> None:
    main = _Main(num_envs=2)
    main.clock.hold(_episode(0, 5))
    main.clock.settle()
    assert [r.global_step for r in main.emitted] == [10]


def test_a_worker_follows_the_main_process_through_the_cell(tmp_path: Path) -> None:
    cell = str(tmp_path / "cell")
    main = _Main(num_envs=1)
    main.clock.watch(1, lambda: main.steps, cell)
    emitted: list[Any] = []
    worker = GlobalStepClock(emitted.append, hold_limit=100)
    worker.follow(1, cell)
    worker.hold(_episode(0, 4), poll=True)
    assert emitted == [] and not worker.decided
    main.steps = 7
    main.clock.observe("charts/episodic_return", 6)
    worker.hold(_episode(1, 7), poll=True)  # the next episode looks at the cell
    assert [r.global_step for r in emitted] == [3, 6]
    assert worker.convention == LOOP_INDEX


def test_a_worker_that_never_hears_settles_on_env_steps(tmp_path: Path) -> None:
    emitted: list[Any] = []
    worker = GlobalStepClock(emitted.append, hold_limit=100)
    worker.follow(2, str(tmp_path / "no-cell"))
    worker.hold(_episode(0, 4), poll=True)
    worker.settle()
    assert [r.global_step for r in emitted] == [8]


def test_the_cell_is_named_by_run_and_main_process() -> None:
    assert cell_path("r1", 10) != cell_path("r1", 11) != cell_path("r2", 10)
