"""Vector envs the hooks cannot see are named in one line at their first reset or step (or at
the script's first scalar), once; vector envs the hooks see, and wrappers, get no line."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from cleanrl_worker.patches import hooked, unhooked, vector_env
from cleanrl_worker.settings.model import WorkerSettings


class CounterVectorEnv(gym.vector.VectorEnv):
    """A vector env of its own (not Sync/Async)."""

    def __init__(self, num_envs: int = 2) -> None:
        self.num_envs = num_envs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        return np.zeros(self.num_envs), {}

    def step(self, actions: Any) -> Any:
        zeros = np.zeros(self.num_envs)
        return zeros, zeros, zeros.astype(bool), zeros.astype(bool), {}

    # gymnasium 0.29's vector wrappers reset through these
    def reset_async(self, seed: Any = None, options: Any = None) -> None:
        pass

    def reset_wait(self, seed: Any = None, options: Any = None) -> Any:
        return self.reset()


class HoldsASyncVectorEnv(CounterVectorEnv):
    """A vector env of its own that steps a gymnasium SyncVectorEnv inside (which is hooked)."""

    def __init__(self) -> None:
        super().__init__(2)
        self.inner = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * 2)


@pytest.fixture
def watching(run_id: str) -> Iterator[str]:
    hooked._reset_for_tests()
    unhooked.install(run_id, recording=True)
    yield run_id
    unhooked.uninstall()
    hooked._reset_for_tests()


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_a_vector_env_of_its_own_is_named_once_at_its_first_reset(
    watching: str, capsys: pytest.CaptureFixture[str]
) -> None:
    envs = CounterVectorEnv()
    assert _lines(capsys) == []  # not where it is built: it may still build a hooked one
    envs.reset(seed=0)
    envs.step(np.zeros(2))
    CounterVectorEnv().reset()
    [line] = _lines(capsys)
    assert line.startswith("cleanrl-fastlane: CounterVectorEnv is a vector env the fast lane")
    assert f"run {watching} gets no frames and no episodes" in line
    assert "add_scalar scalars and the run's start and end are still recorded" in line
    assert "reset" not in vars(envs) and "step" not in vars(envs)  # back to the class's own
    assert hooked.frames_expected() is False


def test_a_vector_env_that_builds_a_hooked_one_inside_gets_no_line(
    watching: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vector_env._Hook, "settings", None)  # unhooked again after the test
    vector_env.install(WorkerSettings(run_id=watching, video_mode="off"))
    envs = HoldsASyncVectorEnv()
    envs.reset()
    envs.inner.close()
    assert _lines(capsys) == []
    assert hooked.current() == hooked.HookedVectorEnv("SyncVectorEnv", 2)
    assert hooked.frames_expected() is True


def test_gymnasium_vector_envs_and_wrappers_get_no_line(
    watching: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrapper = getattr(gym.vector, "VectorWrapper", None) or gym.vector.VectorEnvWrapper
    envs = wrapper(gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * 2))
    envs.reset(seed=0)
    envs.close()
    assert _lines(capsys) == []  # no hook claimed it here (none installed): still no line
    wrapper(CounterVectorEnv()).reset()
    [line] = _lines(capsys)  # the env inside the wrapper is named, not the wrapper
    assert line.startswith("cleanrl-fastlane: CounterVectorEnv is a vector env")


def test_the_first_scalar_names_a_script_that_built_no_hooked_vector_env(
    watching: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class SummaryWriter:
        def add_scalar(self, tag: str, value: float, step: int | None = None) -> str:
            return "written"

    module = types.ModuleType("tensorboardX.writer")
    module.SummaryWriter = SummaryWriter  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tensorboardX.writer", module)
    unhooked.install(watching, recording=False)  # patches the writer module at once
    writer = SummaryWriter()
    assert writer.add_scalar("charts/x", 1.0, 1) == "written"
    assert writer.add_scalar("charts/x", 2.0, 2) == "written"
    [line] = _lines(capsys)
    assert "the script logs scalars, but built no vector env the fast lane can hook" in line
    assert line.endswith(f"run {watching} gets no frames, and nothing is recorded (FASTLANE_ONLY)")
    assert SummaryWriter.__dict__["add_scalar"].__name__ == "add_scalar"
    assert not getattr(SummaryWriter.add_scalar, "__wrapped__", None)  # the patch left


def test_nothing_is_said_once_a_vector_env_was_hooked(
    watching: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hooked.claim("envpool", 4)
    CounterVectorEnv().reset()
    assert _lines(capsys) == []


def test_uninstall_gives_vector_env_its_own_new_back(run_id: str) -> None:
    unhooked.install(run_id, recording=True)
    assert "__new__" in vars(gym.vector.VectorEnv)
    unhooked.uninstall()
    assert "__new__" not in vars(gym.vector.VectorEnv)
    assert "reset" not in vars(CounterVectorEnv())
