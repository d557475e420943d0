"""Running examples/ppo.py as a user does, for the end-to-end tests.

``run_ppo(...)`` starts the real script in a subprocess, in a temporary working directory (so
its TensorBoard logs and the default telemetry database land there), with a clean environment
plus what the test asks for.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from worker_helpers import clean_env

REPO = Path(__file__).resolve().parents[2]
PPO = REPO / "examples" / "ppo.py"
SLOT_SIGNAL = "cleanrl_worker.testing.envs:SlotSignal-v0"
SLOT_SIGNAL_CRASH = "cleanrl_worker.testing.envs:SlotSignalCrash-v0"
BASE_SEED = 1000  # SlotSignal: sub-env i (seeded 1000 + i) is slot i
RUN_TIMEOUT_S = 300
NUM_ENVS = 4  # the end-to-end runs train on 4 envs
WATCHED = 2  # and watch slot 2


def slot_length(slot: int) -> int:
    """Episode length (= return) of SlotSignal's slot ``slot``."""
    return 5 + 3 * slot


def ppo_args(
    *extra: str, env_id: str = SLOT_SIGNAL, num_envs: int = 4, steps: int = 512
) -> list[str]:
    return [
        sys.executable,
        str(PPO),
        f"--env-id={env_id}",
        f"--seed={BASE_SEED}",
        f"--num-envs={num_envs}",
        "--num-steps=32",
        f"--total-timesteps={steps}",
        *extra,
    ]


def start_ppo(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args,
        cwd=str(cwd),
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_ppo(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=str(cwd),
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def bridge_cli(*args: str) -> Any:
    """``gym-gui-bridge ARGS --json`` parsed, or the failed process."""
    proc = subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_episodes(db: Path, run_id: str) -> list[dict[str, Any]]:
    """Every slot's episodes: right return and length, indexes 0..n-1, each exactly once."""
    episodes = bridge_cli("episodes", run_id, "--db", str(db))
    by_slot: dict[int, list[int]] = defaultdict(list)
    for row in episodes:
        assert row["return"] == row["length"] == slot_length(row["slot"]), row
        by_slot[row["slot"]].append(row["episode"])
    assert set(by_slot) == set(range(NUM_ENVS)), "a slot recorded no episode"
    for slot, indexes in by_slot.items():
        assert sorted(indexes) == list(range(len(indexes))), f"slot {slot}: gaps or duplicates"
    return episodes


def check_watched_steps(db: Path, run_id: str, episodes: list[dict[str, Any]]) -> None:
    steps = bridge_cli("steps", run_id, "--db", str(db))
    assert {row["slot"] for row in steps} == {WATCHED}  # FASTLANE_STEPS=watched by default
    per_episode: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in steps:
        per_episode[row["episode"]].append(row)
    finished = {e["episode"] for e in episodes if e["slot"] == WATCHED}
    length = slot_length(WATCHED)
    for episode in finished:
        rows = sorted(per_episode[episode], key=lambda r: r["step"])
        assert [r["step"] for r in rows] == list(range(length)), f"episode {episode} steps"
        assert all(r["reward"] == 1.0 for r in rows)
        assert [r["terminated"] for r in rows] == [False] * (length - 1) + [True]
        assert not any(r["truncated"] for r in rows)


def episodes_stored(db: Path, run_id: str) -> int:
    """Episodes of ``run_id`` in ``db`` right now, read-only; 0 while it does not exist yet."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            query = "SELECT count(*) FROM episodes WHERE run_id = ?"
            return int(conn.execute(query, (run_id,)).fetchone()[0])
    except sqlite3.Error:
        return 0
