"""Every log id is logged by some component: an operator can meet each one, so each one that
``gym_gui_bridge.logs`` lists has a place in the code that writes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gym_gui_bridge import logs

ROOT = Path(logs.__file__).resolve().parent.parent
SOURCES = sorted(
    path
    for package in ("cleanrl_worker", "gym_gui_bridge")
    for path in (ROOT / package).rglob("*.py")
    if path.resolve() != Path(logs.__file__).resolve()
)
IDS = sorted(name for name in logs.__all__ if name.startswith("LOG_"))


def test_each_id_is_its_own_name() -> None:
    assert IDS and all(getattr(logs, name) == name for name in IDS)


@pytest.mark.parametrize("name", IDS)
def test_each_id_is_used_outside_the_logs_module(name: str) -> None:
    pattern = re.compile(rf"\b{name}\b")
    users = [p for p in SOURCES if pattern.search(p.read_text(encoding="utf-8"))]
    assert users, f"Expected a component that logs {name}, got none"
