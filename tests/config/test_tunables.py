"""Constants, configs/defaults.toml and TOML overrides stay in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_gui_bridge.config.tunables import TunablesError, default_values, load_tunables

DEFAULTS_TOML = Path(__file__).resolve().parents[2] / "configs" / "defaults.toml"


def test_defaults_toml_lists_every_constant_with_its_default() -> None:
    loaded = load_tunables(DEFAULTS_TOML)
    assert dict(loaded.values) == default_values()
    text = DEFAULTS_TOML.read_text()
    for name in default_values():
        assert f"\n{name} = " in text, f"{name} missing from configs/defaults.toml"


def test_override_file_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        "[runbus]\nRUNBUS_UI_PATH_QUEUE_SIZE = 1024\n[fastlane_budget]\nFASTLANE_FPS = 15\n"
    )
    tunables = load_tunables(path)
    assert tunables.RUNBUS_UI_PATH_QUEUE_SIZE == 1024
    assert tunables.FASTLANE_FPS == 15.0 and isinstance(tunables.FASTLANE_FPS, float)
    assert tunables.DB_SINK_WRITER_QUEUE_SIZE == 16384
    assert tunables.source == str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[x]\nNOT_A_TUNABLE = 1\n", "unknown tunable 'NOT_A_TUNABLE'"),
        (
            "[x]\nRUNBUS_UI_PATH_QUEUE_SIZE = 'big'\n",
            "expected RUNBUS_UI_PATH_QUEUE_SIZE to be int",
        ),
        ("[x]\nRUNBUS_UI_PATH_QUEUE_SIZE = 1.5\n", "expected RUNBUS_UI_PATH_QUEUE_SIZE to be int"),
        ("[x]\nFASTLANE_FPS = true\n", "expected FASTLANE_FPS to be float"),
        ("[x]\nFASTLANE_FPS = -3\n", "expected FASTLANE_FPS >= 0"),
        ("[x\n", "not valid TOML"),
    ],
)
def test_bad_override_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(TunablesError, match=message):
        load_tunables(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TunablesError, match="no such tunables file"):
        load_tunables(tmp_path / "absent.toml")
