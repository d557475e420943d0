"""Post-import hooks: a hook sees a module right after it executes, however it gets imported
(already imported, first import, re-import, reload), and the module looks loaded as usual."""

from __future__ import annotations

import importlib
import importlib.machinery
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from cleanrl_worker.patches import post_import


@pytest.fixture
def module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh importable module ``name`` defining ``class Thing``, removed afterwards."""
    name = f"post_import_target_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text("class Thing:\n    patched = False\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _patch(module: ModuleType) -> None:
    module.Thing.patched = True


def test_a_module_imported_later_is_patched_before_the_importer_sees_it(module_name: str) -> None:
    post_import.when_imported(module_name, _patch)
    try:
        module = importlib.import_module(module_name)
        assert module.Thing.patched
        # loaded by the usual loader, as far as anyone looking at the module can tell
        assert isinstance(module.__loader__, importlib.machinery.SourceFileLoader)
        assert isinstance(module.__spec__.loader, importlib.machinery.SourceFileLoader)
    finally:
        post_import.discard(module_name, _patch)


def test_an_already_imported_module_is_patched_at_once(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert not module.Thing.patched
    post_import.when_imported(module_name, _patch)
    try:
        assert module.Thing.patched
    finally:
        post_import.discard(module_name, _patch)


def test_reload_and_reimport_are_patched_again(module_name: str) -> None:
    post_import.when_imported(module_name, _patch)
    try:
        module = importlib.import_module(module_name)
        first = module.Thing
        reloaded = importlib.reload(module)
        assert reloaded.Thing is not first and reloaded.Thing.patched
        del sys.modules[module_name]
        again = importlib.import_module(module_name)
        assert again.Thing is not first and again.Thing.patched
    finally:
        post_import.discard(module_name, _patch)


def test_hooks_run_in_order_once_per_execution_and_stop_when_discarded(module_name: str) -> None:
    calls: list[str] = []

    def first(module: ModuleType) -> None:
        calls.append("first")

    def second(module: ModuleType) -> None:
        calls.append("second")

    post_import.when_imported(module_name, first)
    post_import.when_imported(module_name, second)
    post_import.when_imported(module_name, first)  # a second registration is the same one
    importlib.import_module(module_name)
    assert calls == ["first", "second"]
    post_import.discard(module_name, first)
    post_import.discard(module_name, second)
    del sys.modules[module_name]
    importlib.import_module(module_name)
    assert calls == ["first", "second"]


@pytest.mark.slow
def test_the_finder_leaves_sys_meta_path_with_the_last_hook() -> None:
    code = (
        "import sys\n"
        "from cleanrl_worker.patches import post_import\n"
        "before = list(sys.meta_path)\n"
        "hook = lambda module: None\n"
        "post_import.when_imported('json', hook)\n"
        "post_import.when_imported('csv', hook)\n"
        "during = len(sys.meta_path)\n"
        "post_import.discard('json', hook)\n"
        "post_import.discard('csv', hook)\n"
        "print(during - len(before), sys.meta_path == before)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["1", "True"]


def test_an_exception_in_a_hook_fails_the_import(module_name: str) -> None:
    def broken(module: ModuleType) -> None:
        raise RuntimeError(f"cannot patch {module.__name__}")

    post_import.when_imported(module_name, broken)
    try:
        with pytest.raises(RuntimeError, match="cannot patch"):
            importlib.import_module(module_name)
        assert module_name not in sys.modules  # a failed import leaves nothing half-patched
    finally:
        post_import.discard(module_name, broken)
