"""``FASTLANE=1 python examples/ppo.py`` with no bridge: everything lands in SQLite, once.

SlotSignal's slot k plays episodes of exactly 5 + 3k steps with reward 1, so every stored
episode's return and length are known. The database is read back through the inspection CLI,
as a user (or a script) would.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
from e2e_helpers import (
    NUM_ENVS,
    SLOT_SIGNAL_CRASH,
    WATCHED,
    bridge_cli,
    check_episodes,
    check_watched_steps,
    episodes_stored,
    ppo_args,
    run_ppo,
    slot_length,
    start_ppo,
)
from waits import WAIT_S, wait_until
from worker_helpers import segment_exists

pytestmark = pytest.mark.slow


def test_every_episode_step_and_scalar_is_stored_exactly_once(run_id: str, tmp_path: Path) -> None:
    db = tmp_path / "telemetry.sqlite"
    done = run_ppo(
        ppo_args("--fastlane-slot", str(WATCHED), num_envs=NUM_ENVS, steps=1024),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_DB=str(db),
    )
    assert done.returncode == 0, done.stderr
    episodes = check_episodes(db, run_id)
    check_watched_steps(db, run_id, episodes)

    scalars = bridge_cli("scalars", run_id, "--db", str(db))
    tags = Counter(row["tag"] for row in scalars)
    assert {"charts/SPS", "losses/value_loss", "losses/policy_loss", "charts/learning_rate"} <= set(
        tags
    )
    # the script logs one charts/episodic_return per finished episode: the mirror saw each once
    assert tags["charts/episodic_return"] == len(episodes)
    returns = sorted(r["value"] for r in scalars if r["tag"] == "charts/episodic_return")
    assert returns == sorted(float(e["return"]) for e in episodes)

    (run,) = [r for r in bridge_cli("runs", "--db", str(db)) if r["run_id"] == run_id]
    assert run["status"] == "finished"

    summary = bridge_cli("summary", run_id, "--db", str(db))
    assert summary["run"]["status"] == "finished"
    per_slot = Counter(e["slot"] for e in episodes)
    for row in summary["slots"]:
        assert row["episodes"] == per_slot[row["slot"]]
        assert row["mean_return"] == row["recent_return"] == slot_length(row["slot"])
        assert row["steps_recorded"] == (
            len(bridge_cli("steps", run_id, "--db", str(db))) if row["slot"] == WATCHED else 0
        )
    assert {s["tag"] for s in summary["scalars"]} == set(tags)


def test_default_database_is_runs_fastlane_sqlite_in_the_working_directory(
    run_id: str, tmp_path: Path
) -> None:
    done = run_ppo(
        ppo_args("--fastlane-slot=1", steps=256), tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id
    )
    assert done.returncode == 0, done.stderr
    db = tmp_path / "runs" / "fastlane.sqlite"
    assert db.exists()
    assert bridge_cli("episodes", run_id, "--db", str(db))


def test_fastlane_only_records_nothing(run_id: str, tmp_path: Path) -> None:
    db = tmp_path / "telemetry.sqlite"
    done = run_ppo(
        ppo_args("--fastlane-only", steps=256),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_DB=str(db),
    )
    assert done.returncode == 0, done.stderr
    assert not db.exists()


def test_sigterm_mid_run_keeps_everything_and_closes_the_run(run_id: str, tmp_path: Path) -> None:
    db = tmp_path / "telemetry.sqlite"
    proc = start_ppo(
        ppo_args("--fastlane-slot", str(WATCHED), num_envs=NUM_ENVS, steps=10_000_000),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_DB=str(db),
    )
    try:
        wait_until(lambda: episodes_stored(db, run_id) >= 40, WAIT_S * 2, "40 stored episodes")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 143
    episodes = check_episodes(db, run_id)
    check_watched_steps(db, run_id, episodes)
    (run,) = [r for r in bridge_cli("runs", "--db", str(db)) if r["run_id"] == run_id]
    assert run["status"] == "failed" and run["exit_code"] == 143
    wait_until(lambda: not segment_exists(run_id), what="the ring's removal after SIGTERM")


def test_an_exception_mid_run_keeps_everything_and_fails_the_run(
    run_id: str, tmp_path: Path
) -> None:
    db = tmp_path / "telemetry.sqlite"
    done = run_ppo(
        ppo_args(
            "--fastlane-slot",
            str(WATCHED),
            env_id=SLOT_SIGNAL_CRASH,
            num_envs=NUM_ENVS,
            steps=100_000,
        ),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_DB=str(db),
    )
    assert done.returncode == 1
    assert "crash after 200 steps" in done.stderr
    episodes = check_episodes(db, run_id)
    check_watched_steps(db, run_id, episodes)
    (run,) = [r for r in bridge_cli("runs", "--db", str(db)) if r["run_id"] == run_id]
    assert run["status"] == "failed" and "crash after 200 steps" in (run["error"] or "")
    assert not segment_exists(run_id)
