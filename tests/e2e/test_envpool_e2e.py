"""``FASTLANE=1 python ppo_atari_envpool.py``: an envpool script, unmodified, end to end.

The script (tests/support/scripts/ppo_atari_envpool.py, CleanRL's conventions) builds its
vector env with ``envpool.make(..., env_type="gym", episodic_life=True, reward_clip=True)`` and
prints ``global_step=..., episodic_return=...`` for every finished game from its own
lives-aware statistics. The store must hold exactly those games, for every slot; the watched
slot must stream frames; stderr must gain the banner and nothing else.

Runs where envpool is installed (the main test pass installs envpool 1.2.5).
"""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from e2e_helpers import run_ppo, start_ppo
from waits import WAIT_S
from worker_helpers import SCRIPTS, attach_when_ready, segment_exists, watch_until

from gym_gui_bridge.store import queries
from gym_gui_bridge.store.schema import open_reader

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("envpool") is None, reason="envpool is not installed"
    ),
]

SCRIPT = SCRIPTS / "ppo_atari_envpool.py"
NUM_ENVS = 4
WATCHED = 1
STEPS = 1280  # 5 PPO iterations of 4 x 64 steps: every slot finishes a game of Asterix
_PRINTED = re.compile(r"^global_step=(\d+), episodic_return=(-?[\d.]+)$", re.MULTILINE)


def _args(*extra: str, steps: int = STEPS) -> list[str]:
    return [
        sys.executable,
        str(SCRIPT),
        f"--num-envs={NUM_ENVS}",
        f"--total-timesteps={steps}",
        *extra,
    ]


def _printed(stdout: str) -> list[tuple[int, float]]:
    return [(int(step), float(value)) for step, value in _PRINTED.findall(stdout)]


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """The script without the fast lane: what it prints by itself."""
    done = run_ppo(_args(), tmp_path_factory.mktemp("alone"))
    assert done.returncode == 0, done.stderr
    return done


def test_stored_games_equal_the_printed_returns_of_every_slot(
    alone: subprocess.CompletedProcess[str], run_id: str, tmp_path: Path
) -> None:
    db = tmp_path / "telemetry.sqlite"
    done = run_ppo(
        _args(),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_DB=str(db),
        FASTLANE_SLOT=str(WATCHED),
    )
    assert done.returncode == 0, done.stderr
    printed = _printed(done.stdout)
    assert printed == _printed(alone.stdout)  # the fast lane changed nothing in training

    conn = open_reader(db)
    try:
        episodes = queries.list_episodes(conn, run_id)
        steps = queries.list_steps(conn, run_id)
        scalars = queries.list_scalars(conn, run_id, tag="charts/episodic_return")
    finally:
        conn.close()
    stored = sorted(episodes, key=lambda row: (row["global_step"], row["slot"]))
    assert [(row["global_step"], float(row["return"])) for row in stored] == printed
    by_slot: dict[int, list[int]] = defaultdict(list)
    for row in stored:
        by_slot[row["slot"]].append(row["episode"])
    assert set(by_slot) == set(range(NUM_ENVS)), "a slot recorded no game"
    assert all(indexes == list(range(len(indexes))) for indexes in by_slot.values())
    assert all(float(row["return"]) >= 50 for row in stored)  # raw Asterix scores, not clipped

    assert {row["slot"] for row in steps} == {WATCHED}
    logged = sorted(row["value"] for row in scalars)
    assert logged == sorted(value for _, value in printed)

    added = done.stderr.splitlines()
    for line in alone.stderr.splitlines():
        added.remove(line)
    assert len(added) == 1 and added[0].startswith(f"cleanrl-fastlane: run {run_id}, slot 1")


def test_the_watched_slot_streams_envpool_frames(run_id: str, tmp_path: Path) -> None:
    from envpool.python.envpool import EnvPoolMixin

    renders = callable(getattr(EnvPoolMixin, "_render_config", None))  # envpool >= 1.0
    proc = start_ppo(
        _args(steps=10_000_000),
        tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=run_id,
        FASTLANE_DB=str(tmp_path / "telemetry.sqlite"),
        FASTLANE_SLOT="2",
    )
    try:
        with attach_when_ready(run_id) as reader:
            frame = watch_until(reader, lambda f: f.seq > 2)  # drawn because someone watches
            assert frame is not None, "no frame while watched"
            status = reader.status()
            assert status.env_slot == 2 and status.writer_pid == proc.pid
            assert frame.data.shape == ((210, 160, 3) if renders else (336, 336))
            assert frame.metrics.step_rate_hz > 0 and frame.metrics.frame_rate_hz > 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=WAIT_S)
    assert proc.returncode in (0, 130, -signal.SIGINT)
    assert not segment_exists(run_id)
