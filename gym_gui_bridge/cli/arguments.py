"""Argument types the subcommands share, so every help text names a value the same way.

tyro shows a field's type as its placeholder (``STR``, ``{None}|INT``) and ends the help of an
option that defaults to ``None`` with ``(default: None)``. The aliases here name the placeholder
(``RUN_ID``, ``PATH``), and :func:`unset_means` says what leaving an option out does instead.
"""

from __future__ import annotations

from typing import Annotated, Any

import tyro

__all__ = ["DbPath", "RunId", "unset_means"]

#: The run a command reads, as the first positional argument.
RunId = Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="RUN_ID")]
#: A SQLite database file.
DbPath = Annotated[str, tyro.conf.arg(metavar="PATH")]


def unset_means(metavar: str, meaning: str) -> Any:
    """The marker of an optional value: placeholder ``metavar``, ``(default: <meaning>)``.

    Use it as ``slot: Annotated[int | None, unset_means("K", "every slot")] = None``.
    """
    return tyro.conf.arg(metavar=metavar, help_behavior_hint=f"(default: {meaning})")
