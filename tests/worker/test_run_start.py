"""A run starts at the script's first vector env or first scalar, not at interpreter start:
worker processes still attach to it and lose none of their first records, a script without a
vector env is started by its first scalar, and a launcher that builds no vector env leaves each
training it starts to be a run of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest
from worker_helpers import RANDOM_AGENT, WAIT_S, clean_env

pytestmark = pytest.mark.slow  # every test here starts processes

EPISODE_LENGTH = 20  # slot_env:SlotPaint-v0


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=clean_env(**env), cwd=cwd, capture_output=True, text=True, timeout=WAIT_S * 2
    )


def _cli(*args: str, cwd: Path) -> list[dict[str, object]]:
    done = _run([sys.executable, "-m", "gym_gui_bridge.cli", *args, "--json"], cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("context", ["spawn", "fork"])
def test_worker_processes_attach_to_the_run_and_keep_their_first_episodes(
    tmp_path: Path, run_id: str, context: str
) -> None:
    result = _run(
        [sys.executable, str(RANDOM_AGENT), "--async-envs", "--mp-context", context],
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("cleanrl-fastlane: run ") == 1  # the workers start no run
    printed = int(result.stdout.split()[-2])  # "done: 400 steps, N episodes"
    episodes = _cli("episodes", run_id, "--db", "runs/fastlane.sqlite", cwd=tmp_path)
    by_slot: dict[int, list[int]] = defaultdict(list)
    for row in episodes:
        assert row["length"] == EPISODE_LENGTH
        by_slot[int(row["slot"])].append(int(row["episode"]))  # type: ignore[call-overload]
    assert sorted(by_slot) == [0, 1, 2, 3]
    assert all(sorted(found) == list(range(len(found))) for found in by_slot.values())
    assert len(episodes) == printed > 0
    (run,) = _cli("runs", "--db", "runs/fastlane.sqlite", cwd=tmp_path)
    assert (run["run_id"], run["status"]) == (run_id, "finished")


def test_a_script_without_a_vector_env_starts_its_run_at_the_first_scalar(
    tmp_path: Path, run_id: str
) -> None:
    script = tmp_path / "jax_style.py"
    script.write_text(
        textwrap.dedent(
            """
            from torch.utils.tensorboard import SummaryWriter
            writer = SummaryWriter("tb")
            print("before the first scalar")
            for step in range(3):
                writer.add_scalar("charts/episodic_return", 10.0 * step, step)
            writer.close()
            """
        )
    )
    result = _run([sys.executable, str(script)], tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 0, result.stderr
    unseen, banner = [line for line in result.stderr.splitlines() if "cleanrl-fastlane" in line]
    assert unseen.startswith("cleanrl-fastlane: the script logs scalars, but built no vector env")
    assert banner.startswith(f"cleanrl-fastlane: run {run_id}, no frames (no vector env")
    scalars = _cli("scalars", run_id, "--db", "runs/fastlane.sqlite", cwd=tmp_path)
    assert [(s["step"], s["value"]) for s in scalars] == [(0, 0.0), (1, 10.0), (2, 20.0)]
    (run,) = _cli("runs", "--db", "runs/fastlane.sqlite", cwd=tmp_path)
    assert run["status"] == "finished"


def test_a_script_that_fails_before_its_vector_env_adds_nothing_to_its_traceback(
    tmp_path: Path, run_id: str
) -> None:
    script = tmp_path / "train.py"
    script.write_text("import gymnasium\nraise ValueError('bad hyperparameters')\n")
    result = _run([sys.executable, str(script)], tmp_path, FASTLANE="1", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "ValueError: bad hyperparameters"
    assert "cleanrl-fastlane" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]


def test_a_launcher_without_a_vector_env_leaves_each_training_its_own_run(
    tmp_path: Path,
) -> None:
    launcher = tmp_path / "sweep.py"
    launcher.write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys
            for seed in (1, 2):
                subprocess.run(
                    [sys.executable, {str(RANDOM_AGENT)!r}, "--seed", str(seed),
                     "--total-timesteps", "80"],
                    check=True,
                )
            """
        )
    )
    result = _run([sys.executable, str(launcher)], tmp_path, FASTLANE="1")
    assert result.returncode == 0, result.stderr
    banners = [line for line in result.stderr.splitlines() if "cleanrl-fastlane" in line]
    assert len(banners) == 2 and all(
        b.startswith("cleanrl-fastlane: run random_agent-") for b in banners
    )
    runs = _cli("runs", "--db", "runs/fastlane.sqlite", cwd=tmp_path)
    assert len({r["run_id"] for r in runs}) == 2
    assert all(r["status"] == "finished" for r in runs)
