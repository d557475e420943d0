"""A recorded script that ends normally, raises, gets SIGTERM or Ctrl-C: everything recorded so
far is in the database and a finished/failed record closes the run (real processes)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from worker_helpers import SUPPORT

pytestmark = pytest.mark.slow  # every test here starts processes

TIMEOUT_S = 120.0
TESTS = str(SUPPORT)  # fixed_length_env.py

SCRIPT = textwrap.dedent(
    """
    import sys
    import gymnasium as gym
    import numpy as np
    sys.path.insert(0, {tests!r})
    from fixed_length_env import FixedLengthEnv
    from cleanrl_worker.slowlane import recorder as slowlane

    run_id, db, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    recorder = slowlane.start(run_id, db_path=db, watched_slot=0, mirror_scalars=False)
    envs = gym.vector.SyncVectorEnv(
        [lambda k=k: recorder.wrap(FixedLengthEnv(3 + k), k, num_envs=2) for k in range(2)]
    )
    envs.reset(seed=0)
    steps, finished = 0, np.zeros(2, dtype=int)
    while True:
        _, _, terminated, truncated, _ = envs.step(np.zeros(2, dtype=np.int64))
        finished += terminated | truncated
        steps += 1
        if steps == 200:
            print("ready", *finished, flush=True)
            if mode == "finish":
                break
            if mode == "raise":
                raise RuntimeError("diverged at step 200")
    """
)


def _start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[str], str, Path]:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(tests=TESTS))
    run_id, db = f"exit-{mode}-{uuid.uuid4().hex[:8]}", tmp_path / "runs.sqlite"
    proc = subprocess.Popen(
        [sys.executable, str(script), run_id, str(db), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, run_id, db


def _cli_json(*args: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _check_complete(run_id: str, db: Path, seen: list[int], exact: bool) -> dict[str, object]:
    """Every episode the script saw end is stored once, numbered from 0, with its length."""
    episodes = _cli_json("episodes", run_id, "--db", str(db))
    for slot, length in ((0, 3), (1, 4)):
        mine = [e for e in episodes if e["slot"] == slot]
        assert len(mine) == seen[slot] if exact else len(mine) >= seen[slot]
        assert [e["episode"] for e in mine] == list(range(len(mine)))
        assert all(e["length"] == length and e["return"] == length * (length + 1) / 2 for e in mine)
    steps = _cli_json("steps", run_id, "--db", str(db))
    assert {s["slot"] for s in steps} == {0}
    assert len(steps) >= 3 * len([e for e in episodes if e["slot"] == 0])
    (run,) = [r for r in _cli_json("runs", "--db", str(db)) if r["run_id"] == run_id]
    return run


@pytest.mark.parametrize(
    ("mode", "signum", "returncode", "status", "error"),
    [
        ("finish", None, 0, "finished", None),
        ("raise", None, 1, "failed", "RuntimeError: diverged at step 200"),
        ("loop", signal.SIGTERM, 128 + signal.SIGTERM, "failed", "terminated by SIGTERM"),
        ("loop", signal.SIGINT, 1, "failed", "KeyboardInterrupt"),
    ],
    ids=["normal-exit", "exception", "sigterm", "ctrl-c"],
)
def test_run_is_closed_and_flushed(
    tmp_path: Path, mode: str, signum: int | None, returncode: int, status: str, error: str | None
) -> None:
    proc, run_id, db = _start(tmp_path, mode)
    assert proc.stdout is not None
    word, *counts = proc.stdout.readline().split()
    assert word == "ready"
    if signum is not None:
        proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode in (
        returncode,
        -signal.SIGINT if signum == signal.SIGINT else returncode,
    ), stderr
    run = _check_complete(run_id, db, [int(c) for c in counts], exact=signum is None)
    assert run["status"] == status and run["error"] == error
    assert run["argv"][1:] == [run_id, str(db), mode]  # type: ignore[index]
