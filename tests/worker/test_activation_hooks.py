"""The startup hooks: a .pth (and PEP 829 .start) at the root of site-packages, inert and cheap
without FASTLANE, a sitecustomize that chains to the one it shadows, and ``cleanrl_worker.auto``."""

from __future__ import annotations

import builtins
import json
import os
import pkgutil
import subprocess
import sys
import sysconfig
import textwrap
import types
from pathlib import Path

import pytest
from worker_helpers import WAIT_S, clean_env

import cleanrl_worker
from cleanrl_worker import settings

PACKAGE_DIR = Path(cleanrl_worker.__file__).parent
CLI = str(Path(sys.executable).parent / "cleanrl-worker")
HEAVY = ("numpy", "gymnasium", "dataclasses", "typing", "cleanrl_worker.settings.model")


def _python(code: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -c CODE ARGS`` in ``cwd`` (a run it starts records into ``cwd``/runs/)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=clean_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def test_pth_and_start_files_sit_at_the_root_of_site_packages():
    pth = _site_packages() / "cleanrl_fastlane.pth"
    start = _site_packages() / "cleanrl_fastlane.start"
    lines = pth.read_text().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("import os, sys;")
    entries = [
        line.strip()
        for line in start.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert entries == ["_cleanrl_fastlane_hook:run"]
    assert callable(pkgutil.resolve_name(entries[0]))  # what Python 3.15+ calls


@pytest.mark.slow
def test_hook_is_inert_and_imports_nothing_without_fastlane(tmp_path):
    code = "import sys, json; print(json.dumps(sorted(sys.modules)))"
    result = _python(code, "--seed", "1", cwd=tmp_path)
    loaded = set(json.loads(result.stdout))
    assert not {m for m in loaded if m.startswith(("cleanrl_worker", "_cleanrl"))}
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert result.stderr == ""


CASES = [
    ({}, [], False),
    ({"FASTLANE": "0"}, [], False),
    ({"FASTLANE": " off "}, [], False),
    ({"FASTLANE": ""}, ["--seed", "1"], False),
    ({"FASTLANE": "1"}, [], True),
    ({"FASTLANE": "banana"}, [], True),  # reported as an error by the settings
    ({"FASTLANE_ONLY": "1"}, [], True),
    ({"GYM_GUI_FASTLANE_ONLY": "1"}, [], True),
    ({}, ["--fastlane-slot", "2"], True),
    ({"FASTLANE": "0"}, ["--fastlane-slot=2"], True),  # flags must still be stripped
]


@pytest.mark.parametrize(("env", "args", "wanted"), CASES)
def test_startup_prefilters_agree_and_never_hide_a_request(monkeypatch, env, args, wanted):
    import _cleanrl_fastlane_hook

    for name in ("FASTLANE", "FASTLANE_ONLY", "GYM_GUI_FASTLANE_ONLY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["ppo.py", *args])
    imported: list[str] = []

    def recording_import(name, *rest, **kwargs):
        if name.startswith("cleanrl_worker"):
            imported.append(name)
            return types.SimpleNamespace(
                activation=types.SimpleNamespace(activate_at_startup=lambda: None)
            )
        return builtins.__import__(name, *rest, **kwargs)

    line = (_site_packages() / "cleanrl_fastlane.pth").read_text()
    exec(line, {"__builtins__": {**vars(builtins), "__import__": recording_import}})
    assert bool(imported) == wanted  # the .pth line (Python <= 3.14)
    assert _cleanrl_fastlane_hook.maybe_wanted() == wanted  # the .start entry point (3.15+)
    assert wanted or not settings.requested()  # never filters out what the settings want


#: Python code that builds a vector env, which starts the run (and prints the run's line)
BUILD_A_VECTOR_ENV = (
    "import gymnasium as gym; gym.vector.SyncVectorEnv([lambda: gym.make('CartPole-v1')] * 2)"
)


@pytest.mark.slow
def test_hook_runs_once_even_when_the_pth_line_runs_twice(tmp_path):
    code = (
        "import cleanrl_worker.activation as a; a.activate_at_startup(); import sys; "
        f"print(sys.argv); {BUILD_A_VECTOR_ENV}"
    )
    result = _python(
        code,
        "--fastlane-slot",
        "1",
        "--keep",
        cwd=tmp_path,
        FASTLANE="1",
        FASTLANE_RUN_ID=f"once-{os.getpid()}",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['-c', '--keep']"
    assert result.stderr.count("cleanrl-fastlane: run") == 1


@pytest.mark.slow
def test_child_of_an_active_run_does_not_start_a_run(tmp_path):
    code = "import cleanrl_worker.activation as a, sys; print(a.active_settings(), sys.argv)"
    result = _python(
        code, "--fastlane-slot", "1", cwd=tmp_path, FASTLANE="1", FASTLANE_ACTIVE_PID="1"
    )
    assert result.stdout.strip().startswith("None")
    assert "cleanrl-fastlane" not in result.stderr


@pytest.mark.slow
def test_sitecustomize_chains_to_the_one_it_shadows_and_activates_once(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import sys\nsys.shadowed_sitecustomize_ran = True\n")
    code = textwrap.dedent(
        """
        import sys, sitecustomize
        print(getattr(sys, "shadowed_sitecustomize_ran", False), sitecustomize.__name__)
        """
    )
    code += BUILD_A_VECTOR_ENV
    result = _python(
        code,
        cwd=tmp_path,
        PYTHONPATH=os.pathsep.join([str(PACKAGE_DIR), str(other)]),
        FASTLANE="1",
        FASTLANE_RUN_ID=f"sitecustomize-{os.getpid()}",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "sitecustomize"]
    assert result.stderr.count("cleanrl-fastlane: run") == 1


@pytest.mark.slow
def test_import_auto_activates_like_the_hook(tmp_path):
    run_id = f"auto-{os.getpid()}"
    code = textwrap.dedent(
        """
        import os
        os.environ["FASTLANE"] = "1"  # after the startup hook saw it unset
        import cleanrl_worker.auto
        from cleanrl_worker.activation import active_settings
        print(active_settings().slot, active_settings().run_id)
        """
    )
    code += BUILD_A_VECTOR_ENV
    result = _python(code, cwd=tmp_path, FASTLANE_SLOT="1", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", run_id]
    assert result.stderr.count("cleanrl-fastlane: run") == 1


@pytest.mark.slow
def test_activate_with_settings_in_code(tmp_path):
    code = "from cleanrl_worker.activation import activate; print(activate(slot=2, fps=5).fps)"
    result = _python(code, cwd=tmp_path, FASTLANE_RUN_ID=f"code-{os.getpid()}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5.0"


@pytest.mark.slow
def test_cli_settings_prints_resolved_values_and_errors(tmp_path):
    result = subprocess.run(
        [CLI, "settings", "--json", "--fastlane-slot", "3"],
        env=clean_env(CLEANRL_FASTLANE_INTERVAL_MS="50"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert (values["slot"], values["fps"]) == (3, 20.0)
    bad = subprocess.run(
        [CLI, "settings"],
        env=clean_env(FASTLANE_GRID="many"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert bad.returncode == 2
    assert "FASTLANE_GRID: expected an integer" in bad.stderr


@pytest.mark.slow
def test_cli_help_describes_the_variables(tmp_path):
    result = subprocess.run(
        [CLI, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=WAIT_S
    )
    assert result.returncode == 0
    for name in ("FASTLANE_SLOT", "--fastlane-slot", "FASTLANE_VIDEO_MODE", "CLEANRL_RUN_ID"):
        assert name in result.stdout
