"""Every metric /metrics exposes is in docs/operations.md's table, and the Grafana dashboard
asks only for metrics that exist (an in-process bridge's collector, parsed by prometheus_client)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gym_gui_bridge.server.app import Bridge
from gym_gui_bridge.web.frames import StreamStats
from gym_gui_bridge.web.metrics import PREFIX, BridgeCollector, registry_for

DOCS = Path(__file__).parents[2] / "docs"


def _exposed(tmp_path: Path) -> set[str]:
    bridge = Bridge(tmp_path / "db.sqlite", "127.0.0.1:0")
    bridge.start()
    try:
        collector = BridgeCollector(bridge, bridge.relay, StreamStats(1))
        text = generate_latest(registry_for(collector)).decode()
    finally:
        bridge.stop(grace=0.5)
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


def test_the_operations_table_lists_exactly_the_exposed_metrics(tmp_path: Path) -> None:
    exposed = _exposed(tmp_path)
    assert "gym_gui_bridge_records_stored_total" in exposed and "gym_gui_bridge_info" in exposed
    assert all(name.startswith(PREFIX) for name in exposed)
    table = set(
        re.findall(r"^\| `(gym_gui_bridge_\w+)` \|", (DOCS / "operations.md").read_text(), re.M)
    )
    assert table == exposed


def test_the_grafana_dashboard_asks_only_for_exposed_metrics(tmp_path: Path) -> None:
    exposed = _exposed(tmp_path)
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bgym_gui_bridge_\w+", target["expr"])
    }
    assert used and used <= exposed
