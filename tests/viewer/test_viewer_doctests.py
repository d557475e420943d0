"""The ``>>>`` examples in the viewer's modules run (pytest collects doctests under tests/ only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gym_gui_bridge.viewer.availability",
    "gym_gui_bridge.viewer.hud",
    "gym_gui_bridge.viewer.frame_widget",
    "gym_gui_bridge.viewer.live_panel",
    "gym_gui_bridge.viewer.live_controller",
    "gym_gui_bridge.viewer.telemetry_source",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
