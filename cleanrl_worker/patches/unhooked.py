"""Notice a vector env the hooks cannot see, and say so in one line (never a silent run).

The hooks see gymnasium's ``SyncVectorEnv`` / ``AsyncVectorEnv`` and ``envpool.make``. A script
may train on something else: its own ``gymnasium.vector.VectorEnv`` subclass, a vector env
from another library, JAX envs. :func:`install` watches for two moments, whichever comes
first, and prints :func:`cleanrl_worker.patches.hooked.report_unseen`'s line then if no vector
env was hooked by that time:

- the first ``reset`` or ``step`` (or ``reset_async`` / ``step_async``, which gymnasium 0.29's
  wrappers call) of a ``gymnasium.vector.VectorEnv`` that none of the hooks
  built (not Sync/Async, not a vector wrapper, not an envpool pool); the line names its class.
  Checking there, not where it is constructed, lets a class that builds a gymnasium vector env
  inside (which the hooks then see) pass without a line. Until that call the instance carries
  attributes of its own for these methods, all removed at the first call of any;
- the script's first ``SummaryWriter.add_scalar`` (JAX envs and anything not a gymnasium
  vector env): CleanRL scripts build their envs before logging anything.

Neither patch costs anything once it has fired: the ``VectorEnv.__new__`` check is one lookup
per vector env built, and the ``add_scalar`` patch removes itself at its first call (when no
other patch wrapped it since).
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType
from typing import Any

from cleanrl_worker.patches import hooked, post_import

__all__ = ["install", "uninstall"]

_VECTOR_ENV_MODULE = "gymnasium.vector.vector_env"
#: Modules whose ``SummaryWriter.add_scalar`` marks the script's first scalar.
_WRITER_MODULES = ("torch.utils.tensorboard.writer", "tensorboardX.writer")
#: gymnasium's vector env classes the hooks build or that wrap another vector env.
_SEEN_CLASSES = (
    ("gymnasium.vector.sync_vector_env", "SyncVectorEnv"),
    ("gymnasium.vector.async_vector_env", "AsyncVectorEnv"),
    ("gymnasium.vector.vector_env", "VectorWrapper"),  # gymnasium 1.x
    ("gymnasium.vector.vector_env", "VectorEnvWrapper"),  # gymnasium 0.29
)
_MARK = "__cleanrl_fastlane_unhooked__"
#: The calls that mark a vector env's first use (``*_async``: gymnasium 0.29's wrappers call them).
_SHIMS = ("reset", "step", "reset_async", "step_async")


class _State:
    run_id = "fastlane"
    recording = True
    scalar_seen = False


def install(run_id: str, recording: bool) -> None:
    """Watch for unseen vector envs of run ``run_id`` from now on.

    Args:
        run_id: the run, named in the line.
        recording: whether the slow lane records (False with ``FASTLANE_ONLY``).
    """
    _State.run_id = run_id
    _State.recording = recording
    post_import.when_imported(_VECTOR_ENV_MODULE, _patch_vector_env)
    for name in _WRITER_MODULES:
        post_import.when_imported(name, _patch_writer)


def uninstall() -> None:
    """Undo :func:`install`: gymnasium's ``VectorEnv`` and the writers' ``add_scalar`` as they
    were (instances waiting for their first call still check it)."""
    post_import.discard(_VECTOR_ENV_MODULE, _patch_vector_env)
    cls = getattr(sys.modules.get(_VECTOR_ENV_MODULE), "VectorEnv", None)
    if cls is not None and _MARK in vars(cls):
        own = vars(cls)[_MARK]
        if own is None:
            delattr(cls, "__new__")
        else:
            cls.__new__ = own
        delattr(cls, _MARK)
    for name in _WRITER_MODULES:
        post_import.discard(name, _patch_writer)
        writer = getattr(sys.modules.get(name), "SummaryWriter", None)
        if writer is None:
            continue
        add_scalar = vars(writer).get("add_scalar")
        if add_scalar is not None and vars(add_scalar).get(_MARK):
            writer.add_scalar = add_scalar.__wrapped__
    _State.scalar_seen = False


def _report(subject: str) -> None:
    hooked.report_unseen(subject, _State.run_id, _State.recording)


# --- gymnasium VectorEnv subclasses ---------------------------------------------------------


def _patch_vector_env(module: ModuleType) -> None:
    cls = getattr(module, "VectorEnv", None)
    if cls is None or _MARK in vars(cls):
        return
    inherited = cls.__new__  # object.__new__ in gymnasium 0.29 and 1.x

    def __new__(kind: type, *args: Any, **kwargs: Any) -> Any:
        instance: Any
        if inherited is object.__new__:
            instance = inherited(kind)
        else:
            instance = inherited(kind, *args, **kwargs)
        if hooked.current() is None and not _seen(kind):
            _check_at_first_use(instance)
        return instance

    setattr(cls, _MARK, vars(cls).get("__new__"))  # the class's own __new__, if it had one
    cls.__new__ = staticmethod(__new__)


def _seen(kind: type) -> bool:
    """Whether a hook builds ``kind`` (or it wraps another vector env)."""
    if kind.__module__.split(".")[0] == "envpool":
        return True
    for module_name, class_name in _SEEN_CLASSES:
        known = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(known, type) and issubclass(kind, known):
            return True
    return False


def _check_at_first_use(instance: Any) -> None:
    try:
        attributes = vars(instance)
    except TypeError:  # no __dict__ (__slots__): cannot wait for its first call
        _report(f"{type(instance).__qualname__} is a vector env the fast lane cannot hook")
        return
    for name in _SHIMS:
        if callable(getattr(type(instance), name, None)):
            attributes[name] = _first_call(instance, attributes, name)


def _first_call(instance: Any, attributes: dict[str, Any], name: str) -> Any:
    def first(*args: Any, **kwargs: Any) -> Any:
        for shim in _SHIMS:
            attributes.pop(shim, None)
        if hooked.current() is None:
            _report(f"{type(instance).__qualname__} is a vector env the fast lane cannot hook")
        return getattr(instance, name)(*args, **kwargs)

    return first


# --- the first scalar -----------------------------------------------------------------------


def _patch_writer(module: ModuleType) -> None:
    cls = getattr(module, "SummaryWriter", None)
    original = getattr(cls, "add_scalar", None)
    if cls is None or original is None or getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def add_scalar(self: Any, *args: Any, **kwargs: Any) -> Any:
        if vars(cls).get("add_scalar") is add_scalar:
            cls.add_scalar = original  # nothing wrapped it since: leave the class as it was
        _first_scalar()
        return original(self, *args, **kwargs)

    setattr(add_scalar, _MARK, True)
    cls.add_scalar = add_scalar


def _first_scalar() -> None:
    if _State.scalar_seen:
        return
    _State.scalar_seen = True
    if hooked.current() is None:
        _report("the script logs scalars, but built no vector env the fast lane can hook")
