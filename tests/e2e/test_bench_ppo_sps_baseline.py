"""The SPS benchmark's ``baseline`` interpreter really runs without any ``.pth`` file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow  # every test here starts processes

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_ppo_sps.py"


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ppo_sps", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if str(BENCH.parent) not in sys.path:  # its sibling bench_helpers.py
        sys.path.insert(0, str(BENCH.parent))
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def test_baseline_skips_pth_files_but_still_finds_torch() -> None:
    bench = _load_bench()
    baseline = bench.probe_pth_effects("baseline", sys.executable)
    assert baseline["no_site"] == 1
    assert baseline["pth_paths_on_sys_path"] == []
    assert baseline["pth_imports_done"] == []
    assert baseline["cleanrl_worker_loaded"] == []
    assert baseline["torch"]
    bench.check_baseline_skips_pth(sys.executable)  # raises ModeUnavailable otherwise


def test_control_interpreter_processes_site() -> None:
    control = _load_bench().probe_pth_effects("unset", sys.executable)
    assert control["no_site"] == 0
