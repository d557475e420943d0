"""Runs the ``>>>`` examples in the package docstrings (the README of each API).

Every module of both packages whose source holds an example is collected, so a new module's
examples run without being listed here.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import cleanrl_worker
import gym_gui_bridge

#: importing these has side effects (they activate the worker); they hold no examples
_SIDE_EFFECT_MODULES = {"cleanrl_worker.auto", "cleanrl_worker.sitecustomize"}


def _modules_with_examples() -> list[str]:
    names = []
    for package in (cleanrl_worker, gym_gui_bridge):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name in _SIDE_EFFECT_MODULES:
                continue
            spec = importlib.util.find_spec(info.name)
            if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
                continue
            with open(spec.origin, encoding="utf-8") as handle:
                if ">>> " in handle.read():
                    names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_the_core_modules_have_examples() -> None:
    expected = {
        "gym_gui_bridge.fastlane.writer",
        "gym_gui_bridge.fastlane.reader",
        "cleanrl_worker.fastlane.wrapper",
    }
    assert expected <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
