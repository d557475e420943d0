"""Run the ``>>>`` examples of package modules (pytest collects doctests under tests/ only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "cleanrl_worker.budget",
    "cleanrl_worker.frame_sinks",
    "cleanrl_worker.settings",
    "cleanrl_worker.settings_model",
    "cleanrl_worker.wrapper",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
