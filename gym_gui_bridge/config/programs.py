"""Which program reads which table: one frozen bundle of component configs per program.

A bundle's fields are the tables the program reads, named as in TOML files; each holds the
config of one component. A table may be read by several programs (``[sink]``: the worker's
embedded sink and the bridge's).

>>> [name for name, _ in tables(ServeConfig)]
['run_bus', 'sink', 'bridge', 'live', 'credits', 'relay', 'web']
>>> ServeConfig().sink.batch_size
2048
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gym_gui_bridge.config.bridge import BridgeConfig, CreditConfig, LiveConfig, RunBusConfig
from gym_gui_bridge.config.fastlane import FrameConfig, RingConfig
from gym_gui_bridge.config.relay import RelayConfig
from gym_gui_bridge.config.slowlane import EmitterConfig, RecorderConfig
from gym_gui_bridge.config.spec import SERVE, VIEW, WORKER, Spec, specs
from gym_gui_bridge.config.store import SinkConfig
from gym_gui_bridge.config.viewer import LivePanelConfig, RemoteViewConfig, ViewerConfig
from gym_gui_bridge.config.web import WebConfig

__all__ = [
    "BUNDLES",
    "KeyEntry",
    "ServeConfig",
    "ViewConfig",
    "WorkerConfig",
    "key_index",
    "tables",
]


@dataclass(frozen=True)
class WorkerConfig:
    """What the worker reads from ``FASTLANE_CONFIG`` / ``--fastlane-config``. Picklable: the
    worker's settings carry it to vector-env processes."""

    PROGRAM: ClassVar[str] = WORKER

    ring: RingConfig = field(default_factory=RingConfig)
    frames: FrameConfig = field(default_factory=FrameConfig)
    recorder: RecorderConfig = field(default_factory=RecorderConfig)
    emitter: EmitterConfig = field(default_factory=EmitterConfig)
    sink: SinkConfig = field(default_factory=SinkConfig)


@dataclass(frozen=True)
class ServeConfig:
    """What ``gym-gui-bridge serve --config FILE`` reads."""

    PROGRAM: ClassVar[str] = SERVE

    run_bus: RunBusConfig = field(default_factory=RunBusConfig)
    sink: SinkConfig = field(default_factory=SinkConfig)
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    live: LiveConfig = field(default_factory=LiveConfig)
    credits: CreditConfig = field(default_factory=CreditConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    web: WebConfig = field(default_factory=WebConfig)


@dataclass(frozen=True)
class ViewConfig:
    """What ``gym-gui-bridge view --config FILE`` reads."""

    PROGRAM: ClassVar[str] = VIEW

    viewer: ViewerConfig = field(default_factory=ViewerConfig)
    live_panel: LivePanelConfig = field(default_factory=LivePanelConfig)
    remote_view: RemoteViewConfig = field(default_factory=RemoteViewConfig)


#: Every program's bundle, in the order the generated defaults.toml lists their tables.
BUNDLES: tuple[type[Any], ...] = (WorkerConfig, ServeConfig, ViewConfig)


def tables(bundle: type[Any]) -> Iterator[tuple[str, type[Any]]]:
    """(table name, config class) of every table ``bundle`` reads."""
    for table in dataclasses.fields(bundle):
        factory: Any = table.default_factory  # the config class itself
        yield table.name, factory


@dataclass(frozen=True)
class KeyEntry:
    """Where a TOML key lives and who reads it."""

    table: str
    config: type[Any]
    field: str
    spec: Spec
    kind: type
    programs: tuple[str, ...]


def key_index() -> dict[str, KeyEntry]:
    """Every tunable by its key, with the programs that read it from a file."""
    readers: dict[str, list[str]] = {}
    homes: dict[str, type[Any]] = {}
    for bundle in BUNDLES:
        for name, config in tables(bundle):
            readers.setdefault(name, []).append(bundle.PROGRAM)
            homes[name] = config
    index: dict[str, KeyEntry] = {}
    for name, config in homes.items():
        for item, spec in specs(config):
            programs = readers[name] if spec.read_by is None else spec.read_by
            assert spec.key not in index, f"{spec.key} declared twice"
            index[spec.key] = KeyEntry(
                name, config, item.name, spec, type(item.default), tuple(programs)
            )
    return index
