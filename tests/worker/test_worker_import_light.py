"""Importing the worker's recording pieces imports no SQLite sink, no gRPC, no Qt, no torch:
those are imported only when recording starts (and torch never by us)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test here starts processes

HEAVY = [
    "sqlite3",
    "grpc",
    "PySide6",
    "torch",
    "gym_gui_bridge.store.sink",
    "gym_gui_bridge.bus.run_bus",
]


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_worker_modules_import_nothing_heavy() -> None:
    assert (
        _loaded_after(
            "import cleanrl_worker, cleanrl_worker.slowlane.recorder, cleanrl_worker.slowlane.episodes, cleanrl_worker.patches.summary_writer"
        )
        == []
    )


def test_starting_the_recorder_loads_the_sink_but_not_torch_grpc_or_qt(tmp_path: object) -> None:
    loaded = _loaded_after(
        f"from cleanrl_worker.slowlane import recorder as slowlane\nslowlane.start('light', db_path={str(tmp_path) + '/x.sqlite'!r})"
    )
    assert (
        "sqlite3" in loaded
        and "torch" not in loaded
        and "grpc" not in loaded
        and "PySide6" not in loaded
    )
