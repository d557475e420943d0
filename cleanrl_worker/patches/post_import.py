"""Run a function on a module right after it is imported, without importing it early.

The patches use this to change a class of the training script's libraries (gymnasium's vector
envs, TensorBoard's ``SummaryWriter``) whether the library is imported before or after the
fast lane is activated. :func:`when_imported` calls its hook at once when the module is
already in ``sys.modules``, and each time the module is executed later: first import, an
import after it was removed from ``sys.modules``, ``importlib.reload``. Hooks should therefore
be idempotent. An exception in a hook propagates out of the ``import`` statement.

How: one finder first on ``sys.meta_path`` looks at every import; for a module with hooks it
asks the finders after it for the module's spec and wraps the spec's loader, so the module is
created and executed by its usual loader and the hooks run right after. The module's
``__loader__`` and ``__spec__.loader`` are the usual loader again before it executes.

Hooks are per process: a process started with ``spawn`` or ``forkserver`` (an
``AsyncVectorEnv`` worker) has none unless it registers its own; a forked child inherits them.

Why not a library: ``wrapt.when_imported`` has the same shape, but importing ``wrapt`` also
imports ``asyncio``, ``inspect``, ``importlib.metadata`` and ``concurrent.futures`` (tens of
milliseconds before the script's first line when the script would not import them itself),
its hooks fire once only (a reloaded module comes back unpatched) and cannot be removed. This
module imports nothing beyond ``sys`` and ``threading``.

>>> import json
>>> seen = []
>>> def hook(module):
...     seen.append(module.__name__)
>>> when_imported("json", hook)  # already imported: runs now
>>> seen
['json']
>>> discard("json", hook)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

__all__ = ["Hook", "discard", "when_imported"]

Hook = Callable[[ModuleType], object]

_lock = threading.Lock()  # guards _hooks and the finder's place on sys.meta_path
_hooks: dict[str, list[Hook]] = {}  # module name -> hooks, in registration order


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` now if module ``name`` is imported, and after each later execution.

    Registering the same hook twice for one name keeps one registration (it still runs at once
    if the module is imported).
    """
    with _lock:
        hooks = _hooks.setdefault(name, [])
        if hook not in hooks:
            hooks.append(hook)
        if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
        module = sys.modules.get(name)
    if module is not None:
        hook(module)  # outside the lock: the hook may import (and so register) itself


def discard(name: str, hook: Hook) -> None:
    """Stop calling ``hook`` for ``name`` (what it patched stays patched); no error if absent.

    The finder leaves ``sys.meta_path`` with the last hook.
    """
    with _lock:
        hooks = _hooks.get(name, [])
        if hook in hooks:
            hooks.remove(hook)
        if not hooks:
            _hooks.pop(name, None)
        if not _hooks:
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def _run_hooks(module: ModuleType) -> None:
    with _lock:
        hooks = list(_hooks.get(module.__name__, ()))
    for hook in hooks:
        hook(module)


class _Finder:
    """The meta-path finder: finds hooked modules with the finders after it, wraps the loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in _hooks:  # every import of the process passes here: keep it cheap
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is None or isinstance(finder, _Finder):
                continue
            spec: ModuleSpec | None = find(fullname, path, target)
            if spec is None:
                continue
            loader = spec.loader
            if loader is not None and hasattr(loader, "exec_module"):
                spec.loader = _Loader(loader)  # type: ignore[assignment]
            return spec
        return None


class _Loader:
    """Creates and executes the module with the usual ``loader``, then runs the hooks."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader  # the module looks as if loaded the usual way
        if module.__spec__ is not None and module.__spec__.loader is self:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _run_hooks(module)

    def __getattr__(self, name: str) -> Any:  # get_code, get_source, is_package, ...
        return getattr(self._loader, name)
