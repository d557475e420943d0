"""Mirror ``SummaryWriter.add_scalar`` calls into scalar records, without importing torch.

The training script keeps writing TensorBoard as before; each ``add_scalar(tag, value, step)``
call is also handed to a callback (the recorder). The class method is patched, not an
instance, so a writer created before anything else (CleanRL creates it first) is covered.

Import order does not matter and nothing is imported early: if the writer module
(``torch.utils.tensorboard.writer`` or ``tensorboardX.writer``) is already loaded it is patched
at once, otherwise right after it is imported (:mod:`cleanrl_worker.patches.post_import`).

Only ``add_scalar`` is mirrored (not ``add_scalars``, histograms, images). A failing mirror
never fails the script's call: it is logged (``LOG_RECORDER_SCALAR_MIRROR_FAILED``) and counted.

>>> import types
>>> module = types.ModuleType("fake_writer")
>>> class SummaryWriter:
...     def add_scalar(self, tag, scalar_value, global_step=None, walltime=None):
...         return "written"
>>> module.SummaryWriter = SummaryWriter
>>> seen = []
>>> install(lambda tag, value, step: seen.append((tag, value, step)))
>>> patch_module(module)
True
>>> SummaryWriter().add_scalar("loss", 0.5, global_step=3), seen
('written', [('loss', 0.5, 3)])
>>> uninstall()
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from cleanrl_worker.patches import post_import
from gym_gui_bridge.logs import LOG_RECORDER_SCALAR_MIRROR_FAILED

__all__ = ["WRITER_MODULES", "install", "mirror_failures", "patch_module", "uninstall"]

_log = logging.getLogger(__name__)

#: Modules defining a ``SummaryWriter`` class whose ``add_scalar`` is mirrored.
WRITER_MODULES = ("torch.utils.tensorboard.writer", "tensorboardX.writer")
_MARK = "_fastlane_mirror"

ScalarCallback = Callable[[str, float, int], None]
_callback: ScalarCallback | None = None
_failures = 0


def mirror_failures() -> int:
    """``add_scalar`` calls that could not be mirrored (value not a number, ...)."""
    return _failures


def _mirror(tag: Any, value: Any, step: Any) -> None:
    global _failures
    callback = _callback
    if callback is None:
        return
    try:
        callback(str(tag), float(value), 0 if step is None else int(step))
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        _failures += 1
        if _failures == 1 or _failures % 1000 == 0:
            _log.warning(
                "%s add_scalar(%r, ...) not mirrored: %s (%d so far)",
                LOG_RECORDER_SCALAR_MIRROR_FAILED,
                tag,
                error,
                _failures,
            )


def patch_module(module: ModuleType) -> bool:
    """Patch ``module.SummaryWriter.add_scalar`` once; True if it is (now) patched."""
    cls = getattr(module, "SummaryWriter", None)
    original = getattr(cls, "add_scalar", None)
    if cls is None or original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    @functools.wraps(original)
    def add_scalar(
        self: Any, tag: Any, scalar_value: Any, global_step: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        result = original(self, tag, scalar_value, global_step, *args, **kwargs)
        _mirror(tag, scalar_value, global_step)
        return result

    setattr(add_scalar, _MARK, True)
    cls.add_scalar = add_scalar
    return True


def install(callback: ScalarCallback) -> None:
    """Mirror every ``add_scalar`` into ``callback(tag, value, step)`` from now on.

    Patches the writer modules already imported now, the others when they are imported.
    Idempotent: a second call only replaces the callback.
    """
    global _callback
    _callback = callback
    for name in WRITER_MODULES:
        post_import.when_imported(name, patch_module)


def uninstall() -> None:
    """Stop mirroring (patched classes stay patched but call nothing) and patching."""
    global _callback
    _callback = None
    for name in WRITER_MODULES:
        post_import.discard(name, patch_module)
