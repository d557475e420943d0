"""Runs the ``>>>`` examples in the package docstrings (the README of each API)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gym_gui_bridge.fastlane.layout",
    "gym_gui_bridge.fastlane.config",
    "gym_gui_bridge.fastlane.writer",
    "gym_gui_bridge.fastlane.reader",
    "gym_gui_bridge.tunables",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
