"""configs/defaults.toml lists every tunable of gym_gui_bridge.config.defaults with the same value."""

from __future__ import annotations

import sys
from pathlib import Path

from gym_gui_bridge.config.tunables import default_values, load_tunables

DEFAULTS = Path(__file__).resolve().parents[2] / "configs" / "defaults.toml"


def test_defaults_toml_matches_the_constants_module() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    document = tomllib.loads(DEFAULTS.read_text())
    in_file = {key: value for table in document.values() for key, value in table.items()}
    assert in_file == default_values()
    assert dict(load_tunables(DEFAULTS).values) == default_values()
