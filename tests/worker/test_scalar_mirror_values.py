"""The add_scalar mirror reads every value CleanRL passes (Python and numpy numbers, one-element
arrays such as ``info["episode"]["r"]``, tensors with ``requires_grad``) without a warning,
counts what it cannot mirror, logs that count as it rises and reports the total at exit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from cleanrl_worker.patches import summary_writer as mirror
from gym_gui_bridge.logs import LOG_RECORDER_SCALAR_MIRROR_FAILED

PIP_TIMEOUT_S = 300
#: Run with numpy 1 first on the path: CleanRL's values through a real SummaryWriter.
NUMPY1_CHECK = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy, torch
    from torch.utils.tensorboard import SummaryWriter
    from cleanrl_worker.patches import summary_writer as mirror

    seen = []
    mirror.install(lambda *call: seen.append(call))
    writer = SummaryWriter(sys.argv[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        writer.add_scalar("charts/episodic_return", numpy.array([-797.5], numpy.float32), 200)
        writer.add_scalar("charts/episodic_length", numpy.array([200], numpy.int32), 200)
        writer.add_scalar("losses/td_loss", torch.tensor(0.25, requires_grad=True) * 1, 210)
        writer.add_scalar("charts/SPS", numpy.float64(1234.0), numpy.int64(210))
    writer.close()
    print(json.dumps({"numpy": numpy.__version__, "seen": seen, "failures": mirror.mirror_failures()}))
    """
)


@pytest.fixture
def seen() -> Iterator[list[tuple[str, float, int]]]:
    calls: list[tuple[str, float, int]] = []
    mirror.install(lambda tag, value, step: calls.append((tag, value, step)))
    try:
        yield calls
    finally:
        mirror.uninstall()


def _fake_writer() -> Any:
    module = types.ModuleType("fake_tensorboard_writer")

    class SummaryWriter:
        def add_scalar(self, tag: Any, scalar_value: Any, global_step: Any = None) -> str:
            return "written"

    module.SummaryWriter = SummaryWriter  # type: ignore[attr-defined]
    assert mirror.patch_module(module)
    return SummaryWriter()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.25, 0.25),
        (3, 3.0),
        (True, 1.0),
        (np.float32(-797.5), -797.5),
        (np.int64(7), 7.0),
        (np.array(2.5), 2.5),
        (np.array([-797.5], dtype=np.float32), -797.5),  # info["episode"]["r"] on 0.29.1
        (np.array([[4]], dtype=np.int32), 4.0),
        (torch.tensor(1.5, requires_grad=True) * 2, 3.0),  # a loss with its graph
        (torch.tensor([0.5], requires_grad=True) + 0, 0.5),
        (torch.tensor(9, dtype=torch.int64), 9.0),
    ],
    ids=lambda v: type(v).__name__,
)
def test_every_number_cleanrl_passes_is_read_without_a_warning(value, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's and torch's conversion warnings would raise
        assert mirror.scalar_value(value) == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (np.zeros(2), ValueError),
        (torch.zeros(2), RuntimeError),
        ("1.5", TypeError),
        (None, TypeError),
        (float("nan"), ValueError),
        (np.array([np.inf]), ValueError),
        (1 + 2j, TypeError),
    ],
    ids=repr,
)
def test_what_is_not_one_finite_number_is_refused(value, error):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error):
            mirror.scalar_value(value)


def test_calls_are_mirrored_with_their_step_and_the_scripts_result(seen):
    writer = _fake_writer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert writer.add_scalar("charts/episodic_return", np.array([-12.5]), 40) == "written"
        writer.add_scalar("losses/td_loss", torch.tensor(0.5, requires_grad=True) * 1, np.int64(7))
        writer.add_scalar("charts/SPS", 100)
    assert seen == [
        ("charts/episodic_return", -12.5, 40),
        ("losses/td_loss", 0.5, 7),
        ("charts/SPS", 100.0, 0),
    ]
    assert mirror.mirror_failures() == 0


def test_failures_are_counted_logged_as_they_rise_and_reported_once_at_exit(seen, caplog):
    writer = _fake_writer()
    caplog.set_level(logging.WARNING, logger=mirror.__name__)
    writer.add_scalar("good", 1.0, 1)
    for step in range(150):
        assert writer.add_scalar("charts/histogram_ish", np.zeros(3), step) == "written"
    writer.add_scalar("negative_step", 1.0, -1)
    assert mirror.mirror_failures() == 151
    logged = [r.getMessage() for r in caplog.records]
    assert [m.split("(")[-1] for m in logged] == ["1 so far)", "10 so far)", "100 so far)"]
    assert all(m.startswith(LOG_RECORDER_SCALAR_MIRROR_FAILED) for m in logged)
    caplog.clear()

    assert mirror.report_failures() == 151
    (line,) = [r.getMessage() for r in caplog.records]
    assert "151 add_scalar call(s) were not mirrored" in line
    assert "first: add_scalar('charts/histogram_ish', ...): ValueError" in line
    assert seen[0] == ("good", 1.0, 1)
    assert seen[-1] == (mirror.FAILURES_TAG, 151.0, 149)  # at the script's last valid step


def test_nothing_failed_nothing_reported(seen, caplog):
    _fake_writer().add_scalar("charts/SPS", 10, 1)
    assert mirror.report_failures() == 0
    assert caplog.records == [] and seen == [("charts/SPS", 10.0, 1)]


def test_a_real_summary_writer_stays_silent_and_writes_its_event_file(seen, tmp_path: Path):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        writer.add_scalar("charts/episodic_return", np.array([-797.1], np.float32), 200)
        writer.add_scalar("losses/td_loss", torch.tensor(0.25, requires_grad=True) * 1, 210)
    writer.close()
    assert seen == [
        ("charts/episodic_return", float(np.float32(-797.1)), 200),
        ("losses/td_loss", 0.25, 210),
    ]
    assert list(tmp_path.iterdir()), "TensorBoard itself still writes its event file"


@pytest.fixture(scope="session")
def numpy1_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding numpy 1 (pip's newest below 2), to put first on ``PYTHONPATH``."""
    target = tmp_path_factory.mktemp("numpy1")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "--no-deps", "--target", str(target), "numpy<2"],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    return target


@pytest.mark.slow  # pip and a Python process
def test_on_numpy_1_the_same_values_are_mirrored_without_a_warning(numpy1_path, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", NUMPY1_CHECK, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(numpy1_path)},
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    result = json.loads(done.stdout)
    assert result["numpy"].startswith("1."), result
    assert [tuple(call) for call in result["seen"]] == [
        ("charts/episodic_return", -797.5, 200),
        ("charts/episodic_length", 200.0, 200),
        ("losses/td_loss", 0.25, 210),
        ("charts/SPS", 1234.0, 210),
    ]
    assert result["failures"] == 0
