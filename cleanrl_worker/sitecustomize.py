"""Startup hook for setups that put the ``cleanrl_worker`` folder itself on ``PYTHONPATH``.

``PYTHONPATH=/path/to/cleanrl_worker python ppo.py`` makes Python import this file as the
interpreter-wide ``sitecustomize``. Only one ``sitecustomize`` wins on ``sys.path``, so this one
first runs the one it shadows (the next ``sitecustomize`` on ``sys.path``, e.g. a distro's or a
virtualenv's), then calls the same cheap activation as the ``.pth`` hook. If the package is not
installed, the folder's parent is appended to ``sys.path`` so ``cleanrl_worker`` imports.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

__all__: list[str] = []

_HERE = os.path.dirname(os.path.abspath(__file__))


def _chain_shadowed() -> None:
    """Execute the next ``sitecustomize`` on ``sys.path`` after this file's folder."""
    paths = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", paths)
    if spec is None or spec.loader is None or spec.origin == __file__:
        return
    shadowed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shadowed)
    globals()["shadowed_sitecustomize"] = shadowed


def _activate() -> None:
    try:
        from cleanrl_worker.activation import activate_at_startup
    except ImportError:
        sys.path.append(os.path.dirname(_HERE))
        from cleanrl_worker.activation import activate_at_startup
    activate_at_startup()


_chain_shadowed()
_activate()
