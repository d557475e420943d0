"""Mirror ``SummaryWriter.add_scalar`` calls into scalar records, without importing torch.

The training script keeps writing TensorBoard as before; each ``add_scalar(tag, value, step)``
call is also handed to a callback (the recorder). The class method is patched, not an
instance, so a writer created before anything else (CleanRL creates it first) is covered.

Import order does not matter and nothing is imported early: if the writer module
(``torch.utils.tensorboard.writer`` or ``tensorboardX.writer``) is already loaded it is patched
at once, otherwise right after it is imported (:mod:`cleanrl_worker.patches.post_import`).

Only ``add_scalar`` is mirrored (not ``add_scalars``, histograms, images). The mirror never
changes what the script sees or prints: the script's call runs first and its result is
returned unchanged; values are read the way :func:`scalar_value` says, which emits no warning
on any numpy or torch version. A call that cannot be mirrored (a value that is not one finite
number, a negative step, a tag too long for a record) is counted, logged with its count
(``LOG_RECORDER_SCALAR_MIRROR_FAILED`` at the 1st, 10th, 100th, ... failure) and reported
once more at exit by :func:`report_failures`, with the total.

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
import math
import numbers
from collections.abc import Callable
from types import ModuleType
from typing import Any

from cleanrl_worker.patches import post_import
from gym_gui_bridge.logs import LOG_RECORDER_SCALAR_MIRROR_FAILED
from gym_gui_bridge.protocol.limits import JSONL_MAX_NAME_CHARS

__all__ = [
    "FAILURES_TAG",
    "WRITER_MODULES",
    "install",
    "mirror_failures",
    "patch_module",
    "report_failures",
    "scalar_value",
    "uninstall",
]

_log = logging.getLogger(__name__)

#: Modules defining a ``SummaryWriter`` class whose ``add_scalar`` is mirrored.
WRITER_MODULES = ("torch.utils.tensorboard.writer", "tensorboardX.writer")
#: Tag of the scalar that :func:`report_failures` records when some calls were not mirrored.
FAILURES_TAG = "fastlane/scalar_mirror_failures"
_MARK = "_fastlane_mirror"
#: A failure is logged when the count reaches a power of this base (1, 10, 100, ...).
_LOG_BASE = 10

ScalarCallback = Callable[[str, float, int], None]
_callback: ScalarCallback | None = None


class _Failures:
    """What did not mirror: the count, the first failure and the step of the last call."""

    count = 0
    next_log = 1  # the count at which the next line is logged
    first: str | None = None
    last_step = 0


def mirror_failures() -> int:
    """``add_scalar`` calls of this process that could not be mirrored (counted since start)."""
    return _Failures.count


def scalar_value(value: Any) -> float:
    """The one finite number ``value`` holds, read without a warning.

    Accepts what training scripts pass to ``add_scalar``: Python numbers, numpy scalars, numpy
    arrays with exactly one element (0-d or ``shape (1,)`` like CleanRL's
    ``info["episode"]["r"]``), and one-element tensors, also with ``requires_grad`` (read
    through ``detach()`` and ``item()``: torch is never imported here).

    Raises:
        TypeError: ``value`` is not a number.
        ValueError: ``value`` has more than one element or is not finite.

    >>> import numpy as np
    >>> scalar_value(np.array([-797.5], dtype=np.float32)), scalar_value(np.int64(3))
    (-797.5, 3.0)
    >>> scalar_value(np.zeros(2))
    Traceback (most recent call last):
    ...
    ValueError: can only convert an array of size 1 to a Python scalar
    """
    if type(value) is float:
        number: Any = value
    else:
        detach = getattr(value, "detach", None)
        if callable(detach):  # a tensor: no autograd warning, no graph kept alive
            value = detach()
        item = getattr(value, "item", None)
        number = item() if callable(item) else value
        if not isinstance(number, numbers.Real):
            raise TypeError(
                f"Expected a number, a one-element array or a one-element tensor, got "
                f"{type(value).__name__}"
            )
    result = float(number)
    if not math.isfinite(result):
        raise ValueError(f"Expected a finite number, got {result}")
    return result


def _step_value(step: Any) -> int:
    if step is None:
        return 0
    item = getattr(step, "item", None)
    number = item() if callable(item) else step
    if not isinstance(number, numbers.Real) or isinstance(number, bool):
        raise TypeError(f"Expected global_step to be an integer, got {type(step).__name__}")
    result = number if isinstance(number, int) else int(float(number))
    if result < 0:
        raise ValueError(f"Expected global_step >= 0, got {result}")
    return result


def _mirror(tag: Any, value: Any, step: Any) -> None:
    callback = _callback
    if callback is None:
        return
    try:
        name = str(tag)
        if not 0 < len(name) <= JSONL_MAX_NAME_CHARS:
            raise ValueError(f"Expected a tag of 1 to {JSONL_MAX_NAME_CHARS} characters")
        global_step = _step_value(step)
        _Failures.last_step = global_step  # where the failure count is recorded at exit
        callback(name, scalar_value(value), global_step)
    except Exception as error:  # a boundary: the script's call already succeeded; counted
        _count_failure(tag, error)


def _count_failure(tag: Any, error: Exception) -> None:
    failures = _Failures
    failures.count += 1
    if failures.first is None:
        failures.first = f"add_scalar({str(tag)[:80]!r}, ...): {type(error).__name__}: {error}"
    if failures.count >= failures.next_log:
        failures.next_log *= _LOG_BASE
        _log.warning(
            "%s add_scalar(%r, ...) not mirrored: %s: %s (%d so far)",
            LOG_RECORDER_SCALAR_MIRROR_FAILED,
            str(tag)[:80],
            type(error).__name__,
            error,
            failures.count,
        )


def report_failures() -> int:
    """At the end of a run: if calls were not mirrored, say how many in one line and record
    the count as the scalar :data:`FAILURES_TAG` (it shows in ``gym-gui-bridge summary``).

    Returns the count; 0 records and prints nothing.
    """
    failures = _Failures
    callback = _callback
    if not failures.count:
        return 0
    if callback is not None:
        callback(FAILURES_TAG, float(failures.count), failures.last_step)
    _log.warning(
        "%s %d add_scalar call(s) were not mirrored into the telemetry (first: %s); "
        "TensorBoard has them all",
        LOG_RECORDER_SCALAR_MIRROR_FAILED,
        failures.count,
        failures.first,
    )
    return failures.count


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
    """Stop mirroring (patched classes stay patched but call nothing) and patching; the
    failure count starts over."""
    global _callback
    _callback = None
    _Failures.count, _Failures.next_log, _Failures.first, _Failures.last_step = 0, 1, None, 0
    for name in WRITER_MODULES:
        post_import.discard(name, patch_module)
