"""Each CleanRL family's wrapper stack, run as a user runs it: the store says what CleanRL says.

Every test runs one CleanRL-style script of tests/support/scripts (written for these tests, in
CleanRL's conventions) alone and with ``FASTLANE=1`` while a reader watches, and asserts
(``fidelity_helpers.check_fidelity``):

- the stored episodes are the script's own ``global_step=..., episodic_return=...`` lines:
  same count, same returns, same global_step, in the same order, every slot;
- the run recorded how the script counts global_step (``fastlane/global_step/<convention>``);
- frames flowed: one at the first reset, more while watched;
- stdout is what the script prints alone, and stderr gained nothing but the banner.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fidelity_helpers import check_episodes, check_fidelity, check_frames, run_family

pytestmark = pytest.mark.slow


def test_classic_control_ppo_loop(run_id: str, tmp_path: Path) -> None:
    run = run_family("cc_ppo.py", ["--num-envs=3"], tmp_path, run_id)
    check_fidelity(run, num_envs=3, convention="after_step")


def test_classic_control_dqn_loop(run_id: str, tmp_path: Path) -> None:
    run = run_family("cc_dqn.py", [], tmp_path, run_id)
    check_fidelity(run, num_envs=1, convention="loop_index")


def test_async_workers_take_the_convention_the_main_process_learned(
    run_id: str, tmp_path: Path
) -> None:
    # the slots record in the worker process; the script's scalars reach the main process
    run = run_family("cc_dqn.py", ["--async-envs"], tmp_path, run_id)
    check_episodes(run, num_envs=1, convention="loop_index")
    check_frames(run)


def test_continuous_control_with_normalized_and_clipped_rewards(
    run_id: str, tmp_path: Path
) -> None:
    run = run_family("continuous_ppo.py", ["--num-envs=2"], tmp_path, run_id)
    check_fidelity(run, num_envs=2, convention="after_step")
    # the recorded steps carry the raw rewards of Pendulum (<= 0, down to about -16.3)
    rewards = [s["reward"] for s in run.steps]
    assert max(rewards) <= 0.0 and min(rewards) < -1.0


def test_atari_lives_clipping_noop_fire_and_frame_skip(run_id: str, tmp_path: Path) -> None:
    run = run_family("atari_ppo.py", ["--num-envs=2"], tmp_path, run_id)
    check_fidelity(run, num_envs=2, convention="after_step")
    # a game of Breakout has 5 lives: the agent saw 5 episodes per stored one
    assert all(e["terminated"] for e in run.episodes)
    assert all(e["length"] > 100 for e in run.episodes)  # frames, not agent steps


@pytest.mark.gymnasium_line("1")  # jax is installed in the gymnasium 1.x venv only
def test_jax_dqn_loop(run_id: str, tmp_path: Path) -> None:
    run = run_family("dqn_jax_style.py", [], tmp_path, run_id)
    check_fidelity(run, num_envs=1, convention="loop_index")
