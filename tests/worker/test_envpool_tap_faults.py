"""A pool whose results the tap cannot read costs one line, never the script's call: the pool
answers as it would have, and the tap stops reading it. (A stand-in pool with a result format
envpool does not have: real pools are tested in test_envpool_hook.py.)"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cleanrl_worker.patches.envpool import EnvPoolTap
from cleanrl_worker.settings.model import WorkerSettings


class OddPool:
    """Steps 2 envs but answers ``step`` with 3 items, a format envpool never had."""

    config = {"num_envs": 2, "batch_size": 2}

    def __init__(self) -> None:
        self.received = 0

    def send(self, action: Any, env_id: Any = None) -> None:
        pass

    def recv(self, reset: bool = False, return_info: bool = True) -> Any:
        self.received += 1
        if reset:
            return np.zeros((2, 3), np.float32), {"env_id": np.arange(2)}
        return np.zeros((2, 3), np.float32), np.ones(2), {"env_id": np.arange(2)}

    def step(self, action: Any) -> Any:
        self.send(action)
        return self.recv(reset=False)

    def reset(self) -> Any:
        return self.recv(reset=True)

    def close(self) -> None:
        pass


def test_an_unknown_result_format_is_one_line_and_the_pool_answers_as_before(
    run_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = OddPool()
    settings = WorkerSettings(run_id=run_id, video_mode="off")
    tap = EnvPoolTap(
        pool,
        task_id="Odd-v0",
        settings=settings,
        num_envs=2,
        synchronous=True,
        watched=None,
        recorder=None,
    )
    pool.reset()
    results = [pool.step(np.zeros(2)) for _ in range(5)]
    assert all(len(result) == 3 for result in results) and pool.received == 6
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        "cleanrl-fastlane: warning: envpool Odd-v0: its results cannot be read (ValueError: "
        "Expected envpool's step result of 4 or 5 items, got 3 items); training continues "
        "without its episodes and frames"
    )
    assert not tap.working
