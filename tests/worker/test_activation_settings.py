"""Worker settings: one frozen object from flags, FASTLANE_* variables, old names and a TOML file;
every invalid value is an error naming where it came from."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from cleanrl_worker import settings
from cleanrl_worker.settings import SettingsError, load_settings, strip_fastlane_flags


@pytest.fixture(autouse=True)
def no_fastlane_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("FASTLANE", "GYM_GUI_FASTLANE", "CLEANRL_")):
            monkeypatch.delenv(name)


def test_defaults():
    s = load_settings(argv0="/x/ppo.py")
    assert (s.slot, s.fps, s.budget, s.video_mode, s.max_dim) == (0, 30.0, 0.03, "single", 0)
    assert (s.fastlane_only, s.steps, s.db, s.bridge) == (
        False,
        "watched",
        "runs/fastlane.sqlite",
        None,
    )
    assert s.run_id.startswith("ppo-") and s.run_id.endswith(f"-{__import__('os').getpid()}")


def test_settings_are_frozen_and_picklable():
    s = load_settings(argv0="ppo.py")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.slot = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(s)) == s


def test_variables_and_old_aliases(monkeypatch):
    monkeypatch.setenv("GYM_GUI_FASTLANE_SLOT", "3")
    monkeypatch.setenv("CLEANRL_RUN_ID", "old-name-run")
    monkeypatch.setenv("CLEANRL_FASTLANE_INTERVAL_MS", "50")
    monkeypatch.setenv("CLEANRL_FASTLANE_MAX_DIM", "128")
    monkeypatch.setenv("GYM_GUI_FASTLANE_VIDEO_MODE", "grid")
    monkeypatch.setenv("GYM_GUI_FASTLANE_GRID_LIMIT", "2")
    monkeypatch.setenv("GYM_GUI_FASTLANE_ONLY", "1")
    s = load_settings(argv0="ppo.py")
    assert (s.slot, s.run_id, s.fps, s.max_dim) == (3, "old-name-run", 20.0, 128)
    assert (s.video_mode, s.grid, s.fastlane_only) == ("grid", 2, True)
    assert dict(s.sources)["fps"] == "CLEANRL_FASTLANE_INTERVAL_MS"


def test_flags_beat_new_names_beat_old_names(monkeypatch):
    monkeypatch.setenv("GYM_GUI_FASTLANE_SLOT", "1")
    monkeypatch.setenv("FASTLANE_SLOT", "2")
    monkeypatch.setenv("CLEANRL_FASTLANE_INTERVAL_MS", "50")
    monkeypatch.setenv("FASTLANE_FPS", "12")
    assert load_settings(argv0="ppo.py").slot == 2
    assert load_settings(argv0="ppo.py").fps == 12.0
    assert load_settings({"--fastlane-slot": "3"}, argv0="ppo.py").slot == 3


def test_grid_size_implies_grid_mode(monkeypatch):
    monkeypatch.setenv("FASTLANE_GRID", "3")
    s = load_settings(argv0="ppo.py")
    assert (s.video_mode, s.grid, s.watched_slots) == ("grid", 3, (0, 1, 2))


def test_toml_file_overrides_the_default_budget(monkeypatch, tmp_path):
    config = tmp_path / "fast.toml"
    config.write_text("[frames]\nFASTLANE_FPS = 12.5\nFASTLANE_BUDGET = 0.01\n")
    monkeypatch.setenv("FASTLANE_CONFIG", str(config))
    s = load_settings(argv0="ppo.py")
    assert (s.fps, s.budget, s.config) == (12.5, 0.01, str(config))
    monkeypatch.setenv("FASTLANE_FPS", "5")
    assert load_settings(argv0="ppo.py").fps == 5.0  # a variable beats the file


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FASTLANE", "maybe", "FASTLANE: expected 1/0"),
        ("FASTLANE_SLOT", "two", "FASTLANE_SLOT: expected an integer >= 0, got 'two'"),
        ("FASTLANE_FPS", "0", "FASTLANE_FPS: expected a number > 0, got '0'"),
        ("FASTLANE_BUDGET", "1.5", "FASTLANE_BUDGET: expected a number > 0 and <= 1, got '1.5'"),
        ("FASTLANE_VIDEO_MODE", "movie", "FASTLANE_VIDEO_MODE: expected single | grid | off"),
        ("FASTLANE_GRID", "0", "FASTLANE_GRID: expected an integer in 1..64, got '0'"),
        ("FASTLANE_MAX_DIM", "-4", "FASTLANE_MAX_DIM: expected an integer in 0..4096"),
        ("FASTLANE_STEPS", "some", "FASTLANE_STEPS: expected watched | all | none"),
        ("FASTLANE_RUN_ID", "a/b", "FASTLANE_RUN_ID: expected a valid run id"),
        ("FASTLANE_BRIDGE", "localhost", "FASTLANE_BRIDGE: expected host:port"),
        ("FASTLANE_CONFIG", "/nonexistent.toml", "FASTLANE_CONFIG: /nonexistent.toml: expected a"),
        ("CLEANRL_FASTLANE_INTERVAL_MS", "-1", "CLEANRL_FASTLANE_INTERVAL_MS: expected a number"),
    ],
)
def test_invalid_values_name_their_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(argv0="ppo.py")
    assert str(caught.value).startswith(message)


def test_invalid_flag_values_name_the_flag():
    with pytest.raises(SettingsError, match=r"^--fastlane-slot: expected an integer >= 0"):
        load_settings({"--fastlane-slot": "x"}, argv0="ppo.py")
    with pytest.raises(SettingsError, match=r"^--fastlane-colour: unknown flag"):
        load_settings({"--fastlane-colour": "red"}, argv0="ppo.py")


def test_strip_removes_every_fastlane_flag_form_and_nothing_else():
    argv = [
        "ppo.py",
        "--env-id",
        "CartPole-v1",
        "--fastlane-slot",
        "2",
        "--fastlane-fps=15",
        "--fastlane-only",
        "--fastlane",
        "--seed",
        "3",
        "--fastlane-grid",
        "4",
        "--",
        "--fastlane-slot",
        "7",
    ]
    flags = strip_fastlane_flags(argv)
    assert argv == [
        "ppo.py",
        "--env-id",
        "CartPole-v1",
        "--seed",
        "3",
        "--",
        "--fastlane-slot",
        "7",
    ]
    assert flags == {
        "--fastlane-slot": "2",
        "--fastlane-fps": "15",
        "--fastlane-only": "true",
        "--fastlane": "true",
        "--fastlane-grid": "4",
    }


def test_a_value_flag_without_value_is_an_error():
    with pytest.raises(SettingsError, match="--fastlane-slot: expected a value"):
        strip_fastlane_flags(["ppo.py", "--fastlane-slot", "--seed", "1"])


def test_requested(monkeypatch):
    assert not settings.requested(["ppo.py", "--seed", "1"])
    assert settings.requested(["ppo.py", "--fastlane-slot=1"])
    assert not settings.requested(["ppo.py", "--fastlanes"])  # not one of ours
    monkeypatch.setenv("FASTLANE", "1")
    assert settings.requested(["ppo.py"])
    monkeypatch.setenv("FASTLANE", "0")
    assert not settings.requested(["ppo.py", "--fastlane-slot", "1"])
    monkeypatch.delenv("FASTLANE")
    monkeypatch.setenv("GYM_GUI_FASTLANE_ONLY", "1")
    assert settings.requested(["ppo.py"])
