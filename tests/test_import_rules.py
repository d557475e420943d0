"""Dependencies point one way: each part of the data flow imports only what sits below it.

Every import statement of both packages is read from the source (including imports inside
functions, which run later but still run), so a lazy import that breaks a rule is caught too.
Imports under ``if TYPE_CHECKING:`` are skipped: they never run. The rules are those of
docs/architecture.md ("Layout"); :data:`FORBIDDEN` is their checkable form.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import REPO

PACKAGES = ("cleanrl_worker", "gym_gui_bridge")
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6")
GRPC = ("grpc",)
SERVER = ("gym_gui_bridge.server",)
VIEWER = ("gym_gui_bridge.viewer",)
CLI = ("gym_gui_bridge.cli",)
STORE = ("gym_gui_bridge.store",)
BUS = ("gym_gui_bridge.bus",)

#: (importing package or module, prefixes of modules it must never import, why)
FORBIDDEN: list[tuple[str, tuple[str, ...], str]] = [
    ("cleanrl_worker", QT + SERVER + VIEWER, "the worker runs inside training: no Qt, no server"),
    (
        "cleanrl_worker.settings",
        STORE + BUS + GRPC + ("cleanrl_worker.slowlane",),
        "settings are resolved before anything starts",
    ),
    ("cleanrl_worker.activation", GRPC + STORE, "activation imports lanes only when asked"),
    (
        "gym_gui_bridge.protocol",
        STORE + SERVER + VIEWER + CLI + BUS + QT,
        "the protocol is what both sides share; it depends on nothing above it",
    ),
    (
        "gym_gui_bridge.fastlane",
        STORE + SERVER + VIEWER + CLI + BUS + QT + GRPC,
        "the ring is imported by the worker's hot path",
    ),
    (
        "gym_gui_bridge.config",
        STORE + SERVER + VIEWER + CLI + BUS + QT + GRPC,
        "configuration is read by every program",
    ),
    (
        "gym_gui_bridge.bus",
        STORE + SERVER + VIEWER + CLI + QT + GRPC,
        "the bus knows records, not where they go",
    ),
    (
        "gym_gui_bridge.store",
        SERVER + VIEWER + CLI + QT + GRPC,
        "the store is used by the worker (embedded) and the bridge alike",
    ),
    ("gym_gui_bridge.server", VIEWER + CLI + QT, "the bridge daemon runs headless"),
    (
        "gym_gui_bridge.relay",
        STORE + SERVER + VIEWER + CLI + BUS + QT + GRPC,
        "the frame relay reads rings and encodes frames; serving them is the server's",
    ),
    ("gym_gui_bridge.logs", ("gym_gui_bridge.", "cleanrl_worker"), "log ids are a leaf"),
    ("gym_gui_bridge.errors", ("gym_gui_bridge.", "cleanrl_worker"), "errors are a leaf"),
    ("gym_gui_bridge", ("cleanrl_worker",), "the bridge side never imports the worker"),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, imported module) of every import that can run, relative ones resolved."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if _is_type_checking_block(node):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from pkg import submodule`
                yield node.lineno, f"{target}.{alias.name}"
        stack.extend(ast.iter_child_nodes(node))


def _all_imports() -> list[tuple[str, int, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, target in _imports(tree, module, path.name == "__init__.py"):
                found.append((module, line, target))
    return found


IMPORTS = _all_imports()


def _within(name: str, prefix: str) -> bool:
    return name == prefix.rstrip(".") or name.startswith(prefix.rstrip(".") + ".")


def test_the_scan_sees_the_imports_it_must_judge() -> None:
    # the scan itself must work, or every rule below would pass vacuously
    modules = {module for module, _, _ in IMPORTS}
    assert {"cleanrl_worker.activation", "gym_gui_bridge.server.app"} <= modules
    targets = {target for _, _, target in IMPORTS}
    assert "grpc" in targets and "gym_gui_bridge.protocol.records" in targets
    assert any(t.startswith("PySide6") for t in targets)


@pytest.mark.parametrize(("owner", "forbidden", "why"), FORBIDDEN, ids=[r[0] for r in FORBIDDEN])
def test_dependencies_point_one_way(owner: str, forbidden: tuple[str, ...], why: str) -> None:
    broken = [
        f"{module}:{line} imports {target}"
        for module, line, target in IMPORTS
        if _within(module, owner) and any(_within(target, bad) for bad in forbidden)
    ]
    assert not broken, f"{owner} must not import {', '.join(forbidden)} ({why}):\n" + "\n".join(
        broken
    )


def test_qt_is_imported_only_under_the_viewer() -> None:
    broken = [
        f"{module}:{line} imports {target}"
        for module, line, target in IMPORTS
        if any(_within(target, qt) for qt in QT) and not _within(module, "gym_gui_bridge.viewer")
    ]
    assert not broken, "\n".join(broken)


def test_the_start_up_path_imports_only_what_the_interpreter_has_loaded() -> None:
    # the .pth line runs in every interpreter: until the fast lane is requested, the modules it
    # reaches may import nothing but os and sys (already loaded by site) at their top level
    light = {"cleanrl_worker.settings", "cleanrl_worker.activation"}
    top_level = {
        (module, node.lineno, alias.name)
        for module in light
        for node in ast.parse(_source_of(module)).body
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (module, node.lineno, node.module or "")
        for module in light
        for node in ast.parse(_source_of(module)).body
        if isinstance(node, ast.ImportFrom)
    }
    allowed = {"os", "sys", "__future__", "cleanrl_worker", "cleanrl_worker.settings"}
    assert {target for _, _, target in top_level} <= allowed, sorted(top_level)


def _source_of(module: str) -> str:
    path = REPO.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return path.read_text(encoding="utf-8")
