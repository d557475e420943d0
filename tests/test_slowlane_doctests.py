"""The slow lane's docstring examples run (package doctests are not collected by default)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gym_gui_bridge.records",
    "gym_gui_bridge.jsonl",
    "gym_gui_bridge.jsonl_decode",
    "gym_gui_bridge.log_ids",
    "gym_gui_bridge.throttle",
    "gym_gui_bridge.run_bus",
    "gym_gui_bridge.store.schema",
    "gym_gui_bridge.store.writes",
    "gym_gui_bridge.store.sink",
    "gym_gui_bridge.store.queries",
    "cleanrl_worker.recording",
    "cleanrl_worker.scalars",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
