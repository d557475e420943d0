"""Smoke tests of examples/ppo.py: the real script, in a subprocess, with a tiny budget.

None of these needs the fast lane: every ``FASTLANE*`` / ``GYM_GUI_*`` variable is removed from
the child's environment. The SlotSignal runs check that every episode is logged exactly once,
with the right return, under whichever gymnasium version is installed (0.29.1: same-step
autoreset, ``final_info``; 1.x: next-step autoreset, ``episode`` + ``_episode``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import gymnasium as gym
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "ppo.py"
RUN_TIMEOUT_S = 240
NUM_ENVS = 2
NUM_STEPS = 64
TOTAL_TIMESTEPS = 512
TINY_BUDGET = [
    f"--total-timesteps={TOTAL_TIMESTEPS}",
    f"--num-envs={NUM_ENVS}",
    f"--num-steps={NUM_STEPS}",
]
EXPECTED_TAGS = {
    "charts/episodic_return",
    "charts/episodic_length",
    "charts/learning_rate",
    "charts/SPS",
    "losses/value_loss",
    "losses/policy_loss",
    "losses/entropy",
    "losses/old_approx_kl",
    "losses/approx_kl",
    "losses/clipfrac",
    "losses/explained_variance",
}
SLOT_SIGNAL = "cleanrl_worker.testing.envs:SlotSignal-v0"
SLOT_BASE_SEED = 1000  # SlotSignal's default base_seed: sub-env i is slot i
SUMMARY = re.compile(r"^summary: episodes=(\d+) last_mean_return=(\S+) .* SPS=(\d+)", re.M)
NEXT_STEP_AUTORESET = int(gym.__version__.split(".")[0]) >= 1


def _clean_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FASTLANE", "GYM_GUI_", "CLEANRL_"))
    }
    env["OMP_NUM_THREADS"] = "1"
    return env


def run_ppo(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY_BUDGET, *args],
        cwd=workdir,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr}"
    return done


def read_scalars(workdir: Path) -> dict[str, list[float]]:
    event_files = list((workdir / "runs").glob("*/events.out.tfevents.*"))
    assert len(event_files) == 1, event_files
    accumulator = EventAccumulator(str(event_files[0]), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {
        tag: [e.value for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]
    }


def expected_slot_episodes() -> Counter[float]:
    """Episodes each SlotSignal slot finishes in TOTAL_TIMESTEPS, keyed by their return."""
    steps_per_env = TOTAL_TIMESTEPS // NUM_ENVS
    reset_steps = 1 if NEXT_STEP_AUTORESET else 0  # gymnasium 1.x spends a step on each reset
    expected: Counter[float] = Counter()
    for slot in range(NUM_ENVS):
        length = 5 + 3 * slot
        # episode n ends at env step n * (length + reset_steps) - reset_steps
        expected[float(length)] = (steps_per_env + reset_steps) // (length + reset_steps)
    return expected


def test_cartpole_run_prints_sps_and_writes_every_tensorboard_tag(tmp_path: Path) -> None:
    done = run_ppo(tmp_path)
    iterations = TOTAL_TIMESTEPS // (NUM_ENVS * NUM_STEPS)
    assert len(re.findall(r"^SPS: \d+$", done.stdout, re.M)) == iterations
    summary = SUMMARY.search(done.stdout)
    assert summary is not None, done.stdout[-500:]
    assert int(summary.group(1)) > 0
    assert int(summary.group(3)) > 0

    scalars = read_scalars(tmp_path)
    assert set(scalars) >= EXPECTED_TAGS
    returns, lengths = scalars["charts/episodic_return"], scalars["charts/episodic_length"]
    assert len(returns) == int(summary.group(1))
    assert returns == lengths  # CartPole pays 1.0 per step
    assert all(r >= 1 for r in returns)
    assert len(scalars["charts/SPS"]) == iterations


@pytest.mark.parametrize("vector", ["sync", "async"])
def test_slot_signal_returns_match_each_slots_known_length(tmp_path: Path, vector: str) -> None:
    extra = ["--async-envs"] if vector == "async" else []
    done = run_ppo(tmp_path, f"--env-id={SLOT_SIGNAL}", f"--seed={SLOT_BASE_SEED}", *extra)

    scalars = read_scalars(tmp_path)
    returns = scalars["charts/episodic_return"]
    assert returns == scalars["charts/episodic_length"]
    assert Counter(returns) == expected_slot_episodes()
    printed = re.findall(r"^global_step=\d+, episodic_return=(\S+)$", done.stdout, re.M)
    assert Counter(float(r) for r in printed) == expected_slot_episodes()


def test_unknown_flag_is_rejected_by_tyro(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--no-such-flag=1"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 2
    assert "--no-such-flag" in done.stderr
