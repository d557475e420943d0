"""The recording wrapper on vector envs: every finished episode of every slot exactly once,
with the right return and length, under the installed gymnasium's autoreset (run these tests
on gymnasium 1.x and 0.29.1); steps of the watched slot; frame_seq from a frame source."""

from __future__ import annotations

import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from fixed_length_env import FixedLengthEnv, expected_return
from worker_helpers import SUPPORT

from cleanrl_worker.slowlane import recorder as slowlane
from cleanrl_worker.slowlane.episodes import EpisodeRecorderWrapper
from gym_gui_bridge.protocol.records import EpisodeRollup, StepRecord, TelemetryEvent
from gym_gui_bridge.store.queries import list_episodes, list_steps
from gym_gui_bridge.store.schema import open_reader

LENGTHS = (3, 4, 5)  # episode length of slot 0, 1, 2
VECTOR_STEPS = 61


def _run_vector(envs: Any, steps: int) -> np.ndarray:
    """Step ``envs`` and count, per slot, the episodes the script sees end."""
    envs.reset(seed=0)
    finished = np.zeros(envs.num_envs, dtype=int)
    for _ in range(steps):
        _, _, terminated, truncated, _ = envs.step(np.zeros(envs.num_envs, dtype=np.int64))
        finished += np.logical_or(terminated, truncated)
    envs.close()
    return finished


def _make(slot: int, records: list[TelemetryEvent], watched: int, truncate: bool = False) -> Any:
    def thunk() -> gym.Env:  # type: ignore[type-arg]
        return EpisodeRecorderWrapper(
            FixedLengthEnv(LENGTHS[slot], truncate=truncate),
            records.append,
            run_id="rec",
            slot=slot,
            record_steps=slot == watched,
            num_envs=len(LENGTHS),
        )

    return thunk


@pytest.mark.parametrize("truncate", [False, True], ids=["terminated", "truncated"])
def test_sync_vector_env_every_episode_of_every_slot_exactly_once(truncate: bool) -> None:
    records: list[TelemetryEvent] = []
    envs = gym.vector.SyncVectorEnv(
        [_make(s, records, watched=1, truncate=truncate) for s in range(3)]
    )
    finished = _run_vector(envs, VECTOR_STEPS)
    episodes = [r for r in records if isinstance(r, EpisodeRollup)]
    for slot, length in enumerate(LENGTHS):
        mine = [e for e in episodes if e.slot == slot]
        assert len(mine) == finished[slot] > 0
        assert [e.episode for e in mine] == list(range(len(mine)))
        assert [e.seq for e in mine] == list(range(len(mine)))
        assert all(e.length == length and e.ep_return == expected_return(length) for e in mine)
        assert all(e.truncated == truncate and e.terminated != truncate for e in mine)


def test_only_the_watched_slot_records_steps_numbered_within_episodes() -> None:
    records: list[TelemetryEvent] = []
    envs = gym.vector.SyncVectorEnv([_make(s, records, watched=1) for s in range(3)])
    _run_vector(envs, VECTOR_STEPS)
    steps = [r for r in records if isinstance(r, StepRecord)]
    assert {s.slot for s in steps} == {1}
    assert [s.seq for s in steps] == list(range(len(steps)))
    for s in steps:
        assert s.step == (s.seq % LENGTHS[1]) and s.episode == s.seq // LENGTHS[1]
        assert s.reward == s.step + 1 and s.terminated == (s.step == LENGTHS[1] - 1)
        assert s.global_step == (s.seq + 1) * len(LENGTHS) and s.frame_seq is None


class _FrameEveryOtherStep(gym.Wrapper):  # type: ignore[type-arg]
    """Stands in for FastLaneEnvWrapper: publishes a 'frame' on every other step."""

    def __init__(self, env: gym.Env) -> None:  # type: ignore[type-arg]
        super().__init__(env)
        self.last_frame_seq: int | None = None
        self._steps = 0

    def step(self, action: Any) -> Any:
        result = self.env.step(action)
        self._steps += 1
        if self._steps % 2 == 0:
            self.last_frame_seq = self._steps // 2
        return result


def test_frame_seq_comes_from_a_frame_source_below_the_wrapper() -> None:
    records: list[TelemetryEvent] = []
    env = EpisodeRecorderWrapper(
        _FrameEveryOtherStep(FixedLengthEnv(100)),
        records.append,
        run_id="f",
        slot=0,
        record_steps=True,
    )
    env.reset()
    for _ in range(6):
        env.step(0)
    assert [r.frame_seq for r in records] == [None, 1, None, 2, None, 3]  # type: ignore[union-attr]


def test_an_episode_cut_short_by_reset_is_not_a_finished_episode() -> None:
    records: list[TelemetryEvent] = []
    env = EpisodeRecorderWrapper(FixedLengthEnv(5), records.append, run_id="a", slot=0)
    env.reset()
    env.step(0)
    env.step(0)
    env.reset()
    for _ in range(5):
        env.step(0)
    assert [(r.episode, r.length) for r in records] == [(1, 5)]  # type: ignore[union-attr]
    assert env.abandoned == 1


@pytest.mark.parametrize("vector", ["sync", pytest.param("async", marks=pytest.mark.slow)])
def test_embedded_recorder_stores_every_episode_in_sqlite(tmp_path: Path, vector: str) -> None:
    path, run_id = tmp_path / "rec.sqlite", f"rec-{uuid.uuid4().hex[:8]}"
    recorder = slowlane.start(
        run_id,
        db_path=str(path),
        watched_slot=2,
        argv=["test"],
        mirror_scalars=False,
        install_handlers=False,
    )

    def make(slot: int) -> Any:
        return lambda: recorder.wrap(FixedLengthEnv(LENGTHS[slot]), slot, num_envs=len(LENGTHS))

    cls = gym.vector.SyncVectorEnv if vector == "sync" else gym.vector.AsyncVectorEnv
    finished = _run_vector(cls([make(s) for s in range(3)]), VECTOR_STEPS)
    assert recorder.close(timeout=60)

    conn = open_reader(path)
    episodes = list_episodes(conn, run_id)
    for slot, length in enumerate(LENGTHS):
        mine = [e for e in episodes if e["slot"] == slot]
        assert [e["episode"] for e in mine] == list(range(finished[slot]))
        assert all(e["length"] == length and e["return"] == expected_return(length) for e in mine)
    steps = list_steps(conn, run_id)
    assert {s["slot"] for s in steps} == {2} and len(steps) >= finished[2] * LENGTHS[2]
    status = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    assert status == ("finished",)
    conn.close()


def test_recorder_hands_records_over_without_close_within_the_flush_interval(
    tmp_path: Path,
) -> None:
    path, run_id = tmp_path / "live.sqlite", f"live-{uuid.uuid4().hex[:8]}"
    recorder = slowlane.start(
        run_id, db_path=str(path), mirror_scalars=False, install_handlers=False
    )
    env = recorder.wrap(FixedLengthEnv(3), 0)
    env.reset()
    for _ in range(3):
        env.step(0)
    assert recorder.flush(timeout=60)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM episodes WHERE run_id = ?", (run_id,)).fetchone() == (
        1,
    )
    conn.close()
    assert recorder.close(timeout=60)


SPAWN_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import gymnasium as gym
import numpy as np
from fixed_length_env import FixedLengthEnv
from cleanrl_worker.slowlane import recorder as slowlane

def main():
    recorder = slowlane.start(sys.argv[1], db_path=sys.argv[2], watched_slot=0, mirror_scalars=False)
    fns = [lambda k=k: recorder.wrap(FixedLengthEnv(3 + k), k, num_envs=2) for k in range(2)]
    envs = gym.vector.AsyncVectorEnv(fns, context="spawn")
    envs.reset(seed=0)
    finished = np.zeros(2, dtype=int)
    for _ in range(40):
        _, _, terminated, truncated, _ = envs.step(np.zeros(2, dtype=np.int64))
        finished += terminated | truncated
    envs.close()
    print(*finished)

if __name__ == "__main__":
    main()
"""


@pytest.mark.slow
def test_spawned_workers_record_their_own_slots(tmp_path: Path) -> None:
    import subprocess

    script = tmp_path / "spawn_train.py"
    script.write_text(SPAWN_SCRIPT.format(tests=str(SUPPORT)))
    path, run_id = tmp_path / "spawn.sqlite", f"spawn-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, str(script), run_id, str(path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    finished = [int(x) for x in result.stdout.split()]
    conn = open_reader(path)
    episodes = list_episodes(conn, run_id)
    for slot in range(2):
        mine = [e for e in episodes if e["slot"] == slot]
        assert [e["episode"] for e in mine] == list(range(finished[slot]))
        assert all(e["length"] == 3 + slot for e in mine)
    assert {s["slot"] for s in list_steps(conn, run_id)} == {0}
    conn.close()


def test_an_unwritable_database_is_a_clear_error_at_start(tmp_path: Path) -> None:
    from gym_gui_bridge.errors import StoreError

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="a-file"):
        slowlane.start("unwritable", db_path=str(blocker / "runs.sqlite"), install_handlers=False)
    assert slowlane.current() is None
