"""End-to-end tests tied to one gymnasium line are deselected (not skipped) on the other.

``@pytest.mark.gymnasium_line("1")`` runs a test only under gymnasium 1.x, ``("0.29")`` only
under 0.29: the suite runs once per line (scripts/test.sh), and a test that belongs to the other
line is reported as deselected there.
"""

from __future__ import annotations

import gymnasium
import pytest


def _line() -> str:
    major, minor = gymnasium.__version__.split(".")[:2]
    return major if major != "0" else f"0.{minor}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    line = _line()
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("gymnasium_line")
        (drop if marker is not None and marker.args[0] != line else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
