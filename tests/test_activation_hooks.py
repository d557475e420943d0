"""The startup hooks: a .pth (and PEP 829 .start) at the root of site-packages, inert and cheap
without FASTLANE, a sitecustomize that chains to the one it shadows, and ``cleanrl_worker.auto``."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

from worker_helpers import WAIT_S, clean_env

import cleanrl_worker

PACKAGE_DIR = Path(cleanrl_worker.__file__).parent
CLI = str(Path(sys.executable).parent / "cleanrl-worker")
HEAVY = ("numpy", "gymnasium", "dataclasses", "typing", "cleanrl_worker.settings_model")


def _python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def test_pth_and_start_files_sit_at_the_root_of_site_packages():
    pth = _site_packages() / "cleanrl_fastlane.pth"
    start = _site_packages() / "cleanrl_fastlane.start"
    assert pth.read_text().strip().startswith("import cleanrl_worker.activation")
    entries = [
        line.strip()
        for line in start.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert entries == ["cleanrl_worker.activation:activate_at_startup"]
    assert callable(pkgutil.resolve_name(entries[0]))  # what Python 3.15+ calls


def test_hook_is_inert_and_imports_nothing_heavy_without_fastlane():
    code = "import sys, json; print(json.dumps(sorted(sys.modules)))"
    result = _python(code, "--seed", "1")
    import json

    loaded = set(json.loads(result.stdout))
    assert "cleanrl_worker.activation" in loaded  # the .pth line did run ...
    assert not loaded & set(HEAVY), loaded & set(HEAVY)  # ... and stopped at the lookups
    assert result.stderr == ""


def test_hook_runs_once_even_when_the_pth_line_runs_twice():
    code = "import cleanrl_worker.activation as a; a.activate_at_startup(); import sys; print(sys.argv)"
    result = _python(
        code, "--fastlane-slot", "1", "--keep", FASTLANE="1", FASTLANE_RUN_ID=f"once-{os.getpid()}"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['-c', '--keep']"
    assert result.stderr.count("cleanrl-fastlane: run") == 1


def test_child_of_an_active_run_does_not_start_a_run():
    code = "import cleanrl_worker.activation as a, sys; print(a.active_settings(), sys.argv)"
    result = _python(code, "--fastlane-slot", "1", FASTLANE="1", FASTLANE_ACTIVE_PID="1")
    assert result.stdout.strip().startswith("None")
    assert "cleanrl-fastlane" not in result.stderr


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
    result = _python(
        code,
        PYTHONPATH=os.pathsep.join([str(PACKAGE_DIR), str(other)]),
        FASTLANE="1",
        FASTLANE_RUN_ID=f"sitecustomize-{os.getpid()}",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "sitecustomize"]
    assert result.stderr.count("cleanrl-fastlane: run") == 1


def test_import_auto_activates_like_the_hook():
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
    result = _python(code, FASTLANE_SLOT="1", FASTLANE_RUN_ID=run_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", run_id]
    assert result.stderr.count("cleanrl-fastlane: run") == 1


def test_activate_with_settings_in_code():
    code = "from cleanrl_worker.activation import activate; print(activate(slot=2, fps=5).fps)"
    result = _python(code, FASTLANE_RUN_ID=f"code-{os.getpid()}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5.0"


def test_cli_settings_prints_resolved_values_and_errors():
    result = subprocess.run(
        [CLI, "settings", "--json", "--fastlane-slot", "3"],
        env=clean_env(CLEANRL_FASTLANE_INTERVAL_MS="50"),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert result.returncode == 0, result.stderr
    import json

    values = json.loads(result.stdout)
    assert (values["slot"], values["fps"]) == (3, 20.0)
    bad = subprocess.run(
        [CLI, "settings"],
        env=clean_env(FASTLANE_GRID="many"),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert bad.returncode == 2
    assert "FASTLANE_GRID: expected an integer" in bad.stderr
