"""SummaryWriter.add_scalar is mirrored into scalar records, in a real training-like process,
whether torch's tensorboard writer is imported after recording starts (import hook) or was
created before it (patched class), and before any env exists."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here starts processes

TIMEOUT_S = 240.0

SCRIPT = textwrap.dedent(
    """
    import sys
    run_id, db, logdir, order = sys.argv[1:5]
    if order == "writer-first":
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(logdir)
        writer.add_scalar("charts/before_recording", 1.0, 0)  # not recorded: too early
    from cleanrl_worker.slowlane import recorder as slowlane
    assert "torch" not in sys.modules or order == "writer-first", "start() imported torch"
    slowlane.start(run_id, db_path=db)
    if order == "recording-first":
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(logdir)
    import gymnasium as gym
    import torch
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(2)])
    envs.reset(seed=0)
    for step in range(5):
        envs.step(envs.action_space.sample())
        writer.add_scalar("losses/value_loss", torch.tensor(0.5 * step), step)
        writer.add_scalar("charts/SPS", 100 + step, global_step=step * 2)
    writer.close()
    """
)


@pytest.mark.parametrize("order", ["recording-first", "writer-first"])
def test_add_scalar_calls_land_in_the_scalars_table(tmp_path: Path, order: str) -> None:
    run_id, db = f"tb-{uuid.uuid4().hex[:8]}", tmp_path / "runs.sqlite"
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    subprocess.run(
        [sys.executable, str(script), run_id, str(db), str(tmp_path / "tb"), order],
        check=True,
        timeout=TIMEOUT_S,
        capture_output=True,
    )
    result = subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", "scalars", run_id, "--db", str(db), "--json"],
        check=True,
        timeout=TIMEOUT_S,
        capture_output=True,
        text=True,
    )
    scalars = [(s["tag"], s["value"], s["step"]) for s in json.loads(result.stdout)]
    assert scalars == [("charts/SPS", 100.0 + i, 2 * i) for i in range(5)] + [
        ("losses/value_loss", 0.5 * i, i) for i in range(5)
    ]
    assert list((tmp_path / "tb").iterdir()), "TensorBoard itself still writes its event file"


UNMIRRORABLE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from cleanrl_worker.slowlane import recorder as slowlane
    run_id, db, logdir = sys.argv[1:4]
    recorder = slowlane.start(run_id, db_path=db)
    from torch.utils.tensorboard import SummaryWriter
    writer = SummaryWriter(logdir)
    for step in range(12):
        writer.add_scalar("charts/episodic_return", np.array([-1.5]), step)  # mirrored
        writer.add_scalar("losses/nan", float("nan"), step)  # TensorBoard takes it, the store not
    print(recorder.stats()["scalar_mirror_failures"])
    writer.close()
    """
)


def test_calls_not_mirrored_are_counted_and_reported_once_at_the_end(tmp_path: Path) -> None:
    run_id, db = f"tb-{uuid.uuid4().hex[:8]}", tmp_path / "runs.sqlite"
    script = tmp_path / "train.py"
    script.write_text(UNMIRRORABLE)
    done = subprocess.run(
        [sys.executable, str(script), run_id, str(db), str(tmp_path / "tb")],
        timeout=TIMEOUT_S,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "12"
    lines = done.stderr.splitlines()
    assert all(line.startswith("LOG_RECORDER_SCALAR_MIRROR_FAILED ") for line in lines), lines
    assert [line.rsplit("(", 1)[-1] for line in lines[:2]] == ["1 so far)", "10 so far)"]
    assert len(lines) == 3 and "12 add_scalar call(s) were not mirrored" in lines[2]
    assert "first: add_scalar('losses/nan', ...): ValueError: Expected a finite number" in lines[2]
    result = subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", "summary", run_id, "--db", str(db), "--json"],
        check=True,
        timeout=TIMEOUT_S,
        capture_output=True,
        text=True,
    )
    scalars = {s["tag"]: s for s in json.loads(result.stdout)["scalars"]}
    assert scalars["fastlane/scalar_mirror_failures"]["last"] == 12.0
    assert scalars["charts/episodic_return"]["points"] == 12
    assert "losses/nan" not in scalars
