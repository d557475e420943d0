"""Every log id is its own name, is logged by some component, and is explained in
docs/operations.md, whose table names no id the code does not define."""

from __future__ import annotations

import re
from pathlib import Path

from gym_gui_bridge import logs

REPO = Path(__file__).resolve().parents[1]
OPERATIONS = REPO / "docs" / "operations.md"
SOURCES = [*(REPO / "gym_gui_bridge").rglob("*.py"), *(REPO / "cleanrl_worker").rglob("*.py")]
LOG_ID = re.compile(r"\bLOG_[A-Z_]+[A-Z]\b")


def _defined() -> set[str]:
    return {name for name in logs.__all__ if name.startswith("LOG_")}


def _table_rows() -> set[str]:
    """The ids in the first column of the log-id table."""
    return {
        m.group(1) for m in re.finditer(r"^\| `(LOG_[A-Z_]+)` \|", OPERATIONS.read_text(), re.M)
    }


def test_each_id_is_its_own_name() -> None:
    assert _defined() and all(getattr(logs, name) == name for name in _defined())


def test_every_log_id_has_a_row_in_the_operations_table() -> None:
    missing = _defined() - _table_rows()
    assert not missing, f"log ids without a row in docs/operations.md: {sorted(missing)}"


def test_the_docs_name_only_log_ids_that_exist() -> None:
    named = set(LOG_ID.findall(OPERATIONS.read_text()))
    unknown = named - _defined()
    assert not unknown, f"docs/operations.md names ids gym_gui_bridge.logs lacks: {sorted(unknown)}"


def test_every_log_id_is_logged_somewhere() -> None:
    used: set[str] = set()
    for path in SOURCES:
        if path.name != "logs.py":
            used |= set(LOG_ID.findall(path.read_text(encoding="utf-8")))
    unused = _defined() - used
    assert not unused, f"log ids defined in gym_gui_bridge/logs.py that nothing logs: {unused}"
