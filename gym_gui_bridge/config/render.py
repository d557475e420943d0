"""``configs/defaults.toml``, generated from the configs' definitions.

``python -m gym_gui_bridge.config > configs/defaults.toml`` rewrites the file; a test checks the
committed file equals :func:`render_defaults`.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from gym_gui_bridge.config.programs import BUNDLES, key_index, tables
from gym_gui_bridge.config.spec import PROGRAM_NAMES, describe, specs

__all__ = ["render_defaults"]

_WIDTH = 100
_ROLE = re.compile(r":\w+:`~?(?:[\w.]+\.)?(\w+)`")  # :class:`~a.b.Name` -> Name

_HEADER = """\
# Every tunable of cleanrl-fastlane with its default. GENERATED from gym_gui_bridge/config/ by
# `python -m gym_gui_bridge.config > configs/defaults.toml`: change a default there, not here.
#
# To tune a program, write a file with only the keys you change, under their tables, and pass it:
{programs}
#
# A program refuses, naming the file and the key, any key it does not read (another program's,
# an unknown one, a fixed limit) and any value out of range. Variables and flags beat the file.
# See docs/configuration.md.
"""


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH - 2, initial_indent="# ", subsequent_indent="# ")


def _summary(config: type[Any]) -> str:
    """The first paragraph of the config class's docstring, as plain text."""
    paragraph = (config.__doc__ or "").split("\n\n")[0]
    return _ROLE.sub(r"\1", " ".join(paragraph.split())).replace("``", "")


def _value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def render_defaults() -> str:
    """The text of ``configs/defaults.toml``."""
    index = key_index()
    programs = []
    seen: dict[str, type[Any]] = {}
    readers: dict[str, list[str]] = {}
    for bundle in BUNDLES:
        names = []
        for name, config in tables(bundle):
            names.append(f"[{name}]")
            seen.setdefault(name, config)
            readers.setdefault(name, []).append(PROGRAM_NAMES[bundle.PROGRAM])
        programs.append(f"#   {PROGRAM_NAMES[bundle.PROGRAM]}: {' '.join(names)}")
    lines = [_HEADER.format(programs="\n".join(programs))]
    for name, config in seen.items():
        lines.append(f"[{name}]")
        lines.extend(_comment(f"{config.__name__}: {_summary(config)}"))
        lines.extend(_comment(f"Read by {' and '.join(readers[name])}."))
        for item, spec in specs(config):
            entry = index[spec.key]
            if not entry.programs:
                continue  # a default for code only, read from no file
            lines.append("")
            lines.extend(_comment(spec.doc))
            only = ""
            if spec.read_by is not None:
                only = f" Read by {', '.join(PROGRAM_NAMES[p] for p in entry.programs)} only."
            lines.extend(_comment(f"Accepted: {describe(spec, entry.kind)}.{only}"))
            lines.append(f"{spec.key} = {_value(item.default)}")
        lines.append("")
    return "\n".join(lines)
