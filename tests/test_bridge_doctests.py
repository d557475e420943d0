"""The bridge's docstring examples run (package doctests are not collected by default)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gym_gui_bridge.spool",
    "gym_gui_bridge.wire",
    "gym_gui_bridge.client",
    "gym_gui_bridge.credit_manager",
    "gym_gui_bridge.server.app",
    "cleanrl_worker.spool_ledger",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
