"""Tunables of both lanes: their defaults and the TOML files that override them."""

from __future__ import annotations

__all__: list[str] = []
