"""Config files: the generated defaults.toml, what a file may hold, and how a refusal reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from config_helpers import KEYS
from worker_helpers import REPO, WAIT_S, clean_env

import gym_gui_bridge.config as config
from gym_gui_bridge.config.bridge import CreditConfig, RunBusConfig
from gym_gui_bridge.config.loader import load_config
from gym_gui_bridge.config.programs import BUNDLES, ServeConfig, ViewConfig, WorkerConfig, tables
from gym_gui_bridge.config.render import render_defaults
from gym_gui_bridge.config.spec import ConfigError
from gym_gui_bridge.config.store import SinkConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULTS = REPO / "configs" / "defaults.toml"


def test_committed_defaults_toml_is_the_generated_one() -> None:
    assert DEFAULTS.read_text() == render_defaults(), (
        "configs/defaults.toml is stale: run 'python -m gym_gui_bridge.config > "
        "configs/defaults.toml'"
    )


@pytest.mark.slow
def test_python_m_gym_gui_bridge_config_prints_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.config"],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=True,
    )
    assert result.stdout == render_defaults()


def test_defaults_toml_lists_every_key_a_program_reads_with_its_default() -> None:
    document = tomllib.loads(DEFAULTS.read_text())
    listed = {key: value for table in document.values() for key, value in table.items()}
    read = {key: entry for key, entry in KEYS.items() if entry.programs}
    assert set(listed) == set(read)
    for key, entry in read.items():
        assert listed[key] == getattr(entry.config(), entry.field), key
        assert key in document[entry.table], f"{key} listed outside [{entry.table}]"


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda b: b.PROGRAM)
def test_a_program_loads_its_own_tables_of_defaults_toml(tmp_path: Path, bundle: type) -> None:
    document = tomllib.loads(DEFAULTS.read_text())
    lines = []
    for name, _ in tables(bundle):
        lines.append(f"[{name}]")
        lines += [
            f"{key} = {value!r}"
            for key, value in document[name].items()
            if bundle.PROGRAM in KEYS[key].programs
        ]
    own = tmp_path / "own.toml"
    own.write_text("\n".join(lines) + "\n")
    assert load_config(own, bundle) == bundle()


def test_the_whole_defaults_toml_is_refused_naming_a_key_of_another_program() -> None:
    with pytest.raises(ConfigError, match=r"defaults\.toml: \w+ is not read by"):
        load_config(DEFAULTS, ViewConfig)


def test_the_operators_names_are_derived_from_the_definitions() -> None:
    assert config.RUNBUS_UI_PATH_QUEUE_SIZE == RunBusConfig().ui_path_queue_size == 512
    assert RunBusConfig().db_path_queue_size == config.RUNBUS_DB_PATH_QUEUE_SIZE
    assert config.DB_SINK_WRITER_QUEUE_SIZE == SinkConfig().writer_queue_size == 16384
    assert SinkConfig().batch_size == config.DB_SINK_BATCH_SIZE
    assert CreditConfig().initial == config.INITIAL_CREDITS
    assert CreditConfig().threshold == config.MIN_CREDITS_THRESHOLD


def test_keys_may_sit_in_any_table_as_files_of_earlier_versions_do(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text("[db_sink]\nDB_SINK_BATCH_SIZE = 512\n[runbus]\nINITIAL_CREDITS = 50\n")
    loaded = load_config(path, ServeConfig)
    assert (loaded.sink.batch_size, loaded.credits.initial) == (512, 50)
    assert loaded.bridge == ServeConfig().bridge  # the rest stays at the defaults


def test_an_integer_is_accepted_for_a_float_key(tmp_path: Path) -> None:
    path = tmp_path / "fps.toml"
    path.write_text("[frames]\nFASTLANE_FPS = 12\n")
    fps = load_config(path, WorkerConfig).frames.fps
    assert fps == 12.0 and isinstance(fps, float)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[sink]\nDB_SINK_BATCH_SIZE = 'big'\n",
            "DB_SINK_BATCH_SIZE: expected an integer >= 1, got 'big'",
        ),
        (
            "[sink]\nDB_SINK_BATCH_SIZE = 1.5\n",
            "DB_SINK_BATCH_SIZE: expected an integer >= 1, got 1.5",
        ),
        ("[sink]\nDB_SINK_BATCH_SIZE = 0\n", "DB_SINK_BATCH_SIZE: expected an integer >= 1, got 0"),
        (
            "[sink]\nDB_SINK_FLUSH_INTERVAL_S = true\n",
            "DB_SINK_FLUSH_INTERVAL_S: expected a number > 0, got True",
        ),
        (
            "[credits]\nMIN_CREDITS_THRESHOLD = 300\n",
            "MIN_CREDITS_THRESHOLD: expected <= INITIAL_CREDITS (200), got 300",
        ),
        (
            "[sink]\nDB_SINK_BATCH_SZE = 4\n",
            "DB_SINK_BATCH_SZE: unknown key (did you mean DB_SINK_BATCH_SIZE?)",
        ),
        (
            "[x]\nNOT_A_KEY = 1\n",
            "NOT_A_KEY: unknown key; the keys are listed in configs/defaults.toml",
        ),
        (
            "[bridge]\nGRPC_MAX_MESSAGE_BYTES = 1\n",
            "GRPC_MAX_MESSAGE_BYTES is a fixed limit of the record formats",
        ),
        (
            "[x]\nDEFAULT_DB_PATH = 'a.sqlite'\n",
            "DEFAULT_DB_PATH is a path, not a tunable: give FASTLANE_DB",
        ),
        (
            "[x]\nLIVE_STEP_QUEUE_SIZE = 8\n",
            "LIVE_STEP_QUEUE_SIZE is no longer a tunable: nothing used it",
        ),
        (
            "[sink]\nDB_SINK_BATCH_SIZE = 8\n[db_sink]\nDB_SINK_BATCH_SIZE = 9\n",
            "DB_SINK_BATCH_SIZE: given twice",
        ),
        ("[sink\n", "expected TOML, got: "),
    ],
)
def test_a_refused_file_names_itself_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_config(path, ServeConfig)
    assert str(refused.value).startswith(f"{path}: {message}")
    assert "\n" not in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.toml: expected a config file, found none"):
        load_config(tmp_path / "absent.toml", ServeConfig)


# --- the programs' exits on a refused file ---------------------------------------------------------


@pytest.mark.slow
def test_the_worker_stops_before_the_script_with_one_line_and_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[viewer]\nVIEWER_FPS = 30.0\n")
    result = subprocess.run(
        [sys.executable, "-c", "print('the script ran')"],
        env=clean_env(FASTLANE="1", FASTLANE_CONFIG=str(bad)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"cleanrl-fastlane: error: FASTLANE_CONFIG: {bad}: VIEWER_FPS is not read by the worker "
        "(FASTLANE_CONFIG / --fastlane-config); it is read by gym-gui-bridge view --config"
    ]
    assert result.stdout == ""  # the script never ran


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "view"])
def test_serve_and_view_refuse_with_one_line_and_status_2(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[recorder]\nRECORDER_BUFFER_LIMIT = 10\n")
    result = subprocess.run(
        [sys.executable, "-m", "gym_gui_bridge.cli", command, "--config", str(bad)],
        env=clean_env(QT_QPA_PLATFORM="offscreen"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and f"{bad}: RECORDER_BUFFER_LIMIT is not read by" in lines[0]
    assert not (tmp_path / "runs").exists()  # serve opened no database
