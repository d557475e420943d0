"""Every key of every table takes effect in the program that reads it, or is refused.

For each key: a file setting only that key to a value other than its default is loaded by each
program reading the key, which builds its components through its own start-up code (the
worker's settings, vector-env hook and slow lane; ``serve``'s bridge; ``view``'s window); the
component that uses the key must hold the file's value. The same file given to a program that
does not read the key is refused, naming the key.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tyro
from config_helpers import KEYS, SERVE_KEYS, VIEW_KEYS, WORKER_KEYS, write_config
from worker_helpers import SUPPORT, WAIT_S, clean_env

from cleanrl_worker.settings import SettingsError, load_settings
from gym_gui_bridge.cli import serve, view
from gym_gui_bridge.config.spec import SERVE, VIEW, WORKER, ConfigError
from gym_gui_bridge.web.server import WebServer


def test_the_programs_read_every_key_but_one() -> None:
    unread = sorted(key for key, entry in KEYS.items() if not entry.programs)
    assert unread == ["RUNBUS_UI_PATH_QUEUE_SIZE"]  # a RunBus default for code, see bridge.py
    assert set(WORKER_KEYS) | set(SERVE_KEYS) | set(VIEW_KEYS) == set(KEYS) - set(unread)


# --- the worker ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_worker_key_reaches_the_component_that_uses_it(tmp_path: Path) -> None:
    files = {key: write_config(tmp_path, key) for key in WORKER_KEYS}
    jobs = [[KEYS[key].table, str(path)] for key, (path, _) in files.items()]
    result = subprocess.run(
        [sys.executable, str(SUPPORT / "config_probe.py"), str(tmp_path)],
        input=json.dumps(jobs),
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_S * 4,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    for key, (path, value) in files.items():
        held = seen[str(path)]
        where = [name for name in (key, f"{key} (grid)") if name in held]
        assert where, f"{key}: the worker builds nothing that uses it"
        for name in where:
            assert math.isclose(held[name], value, rel_tol=1e-12), (
                f"{name}: {held[name]} != {value}"
            )


@pytest.mark.parametrize("key", WORKER_KEYS)
def test_a_worker_key_is_loaded_into_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    path, value = write_config(tmp_path, key)
    monkeypatch.setenv("FASTLANE_CONFIG", str(path))
    entry = KEYS[key]
    resolved = load_settings({}, argv0="ppo.py")
    assert getattr(getattr(resolved.tunables, entry.table), entry.field) == value
    shown = resolved.as_dict()  # what `cleanrl-worker settings` prints
    assert shown["tunables"].get(key, shown.get(entry.field)) == value


# --- gym-gui-bridge serve -------------------------------------------------------------------------


def _bridge_values(bridge: Any) -> dict[str, Any]:
    """What each component ``serve`` built holds, by key."""
    sink, bus, servicer = bridge.sink, bridge.bus, bridge.servicer
    pragma = lambda name: sink._conn.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    account = servicer.credits.open("run", "default", "probe")
    limits = bridge.config.bridge  # what StatusReporter and Bridge.stop read
    return {
        "RUNBUS_DB_PATH_QUEUE_SIZE": bus.config.db_path_queue_size,  # publish / ingest wait
        "RUNBUS_DURABLE_HARD_LIMIT": sink._subscription._hard_limit,
        "RUNBUS_GAP_LOG_INTERVAL_S": bus._throttle._interval_s,
        "DB_SINK_WRITER_QUEUE_SIZE": sink._subscription.maxsize,
        "DB_SINK_BATCH_SIZE": sink._batch_size,
        "DB_SINK_FLUSH_INTERVAL_S": sink._flush_interval_s,
        "DB_SINK_CHECKPOINT_PAGES": pragma("wal_autocheckpoint"),
        "DB_SINK_WAL_LIMIT_BYTES": pragma("journal_size_limit"),
        "DB_SINK_BUSY_TIMEOUT_S": pragma("busy_timeout") / 1000,
        "DB_SINK_MAX_RETRIES": sink.config.max_retries,
        "DB_SINK_RETRY_BACKOFF_S": sink.config.retry_backoff_s,
        "DB_SINK_RETRY_BACKOFF_MAX_S": sink.config.retry_backoff_max_s,
        "DB_SINK_QUEUE_PRESSURE": sink.config.queue_pressure,
        "DB_SINK_LOG_INTERVAL_S": sink._throttle._interval_s,
        "DB_SINK_STOP_TIMEOUT_S": sink.config.stop_timeout_s,
        "BRIDGE_ACK_TIMEOUT_S": servicer.config.ack_timeout_s,
        "BRIDGE_MAX_SUBSCRIBERS": servicer.subscriber_slots._most,
        "BRIDGE_MAX_PUBLISHERS": servicer.publish_slots._most,
        "BRIDGE_MAX_SUBSCRIBERS_PER_PEER": servicer.subscriber_slots._most_per_peer,
        "BRIDGE_MAX_PUBLISHERS_PER_PEER": servicer.publish_slots._most_per_peer,
        "BRIDGE_IDLE_TIMEOUT_S": servicer.config.idle_timeout_s,  # what each stream's end reads
        "BRIDGE_MAX_REJECTIONS_REPORTED": servicer.config.max_rejections_reported,
        "BRIDGE_LOG_INTERVAL_S": servicer._throttle._interval_s,
        "BRIDGE_STATUS_INTERVAL_S": limits.status_interval_s,
        "BRIDGE_STATUS_LOG_INTERVAL_S": limits.status_log_interval_s,
        "BRIDGE_STOP_GRACE_S": limits.stop_grace_s,
        "BRIDGE_QUARANTINE_PER_BATCH": servicer.config.quarantine_per_batch,  # publish reads it
        "BRIDGE_STARTUP_INGEST_S": limits.startup_ingest_s,  # what Bridge.start reads
        "LIVE_REPLAY_PAGE_ROWS": servicer.live.replay_page_rows,
        "LIVE_SUBSCRIBER_QUEUE_SIZE": servicer.live.subscriber_queue_size,
        "INITIAL_CREDITS": account.credits,
        "MIN_CREDITS_THRESHOLD": account._threshold,
        "CREDIT_RECOVERY_S": account._recovery_s,
        "RELAY_DETACH_S": bridge.relay.config.detach_s,  # what the relay's taps read
        "RELAY_DEFAULT_FPS": bridge.relay.config.default_fps,
        "RELAY_MAX_FPS": bridge.relay.config.max_fps,
        "RELAY_JPEG_QUALITY": bridge.relay.config.jpeg_quality,
        "RELAY_ATTACH_POLL_S": bridge.relay.config.attach_poll_s,
        "RELAY_MAX_WATCHES": servicer.watch_slots._most,
        "RELAY_MAX_WATCHES_PER_PEER": servicer.watch_slots._most_per_peer,
    }


def _web_values(web: WebServer | None) -> dict[str, Any]:
    """What the browser view (``serve --http``) holds of each [web] key."""
    assert web is not None and web.streams is not None
    return {
        "WEB_STREAM_FPS": web.streams._config.stream_fps,  # what each relay watch asks for
        "WEB_MAX_STREAMS": web.streams.stats._limit,
        "WEB_FRAME_WAIT_S": web.config.frame_wait_s,  # what the routes read
        "WEB_CURVE_PAGE_ROWS": web.config.curve_page_rows,
    }


def _serve_args(tmp_path: Path, config: Path) -> serve.ServeArgs:
    argv = [
        "--http",
        "127.0.0.1:0",
        "--config",
        str(config),
        "--db",
        str(tmp_path / "bridge.sqlite"),
        "--listen",
        "127.0.0.1:0",
        "--spool-dir",
        str(tmp_path / "spool"),
    ]
    return tyro.cli(serve.ServeArgs, args=argv)


@pytest.mark.parametrize("key", SERVE_KEYS)
def test_a_serve_key_reaches_the_component_that_uses_it(tmp_path: Path, key: str) -> None:
    path, value = write_config(tmp_path, key)
    args = _serve_args(tmp_path, path)
    bridge = serve.build_bridge(args)
    web = serve.build_web(args, bridge)
    bridge.start()
    try:
        held = {**_bridge_values(bridge), **_web_values(web)}
    finally:
        bridge.stop()
    assert held[key] == value


# --- refused by the programs that do not read it --------------------------------------------------


def _refusal(program: str, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The error ``program`` gives for the config file at ``path``."""
    if program == WORKER:
        monkeypatch.setenv("FASTLANE_CONFIG", str(path))
        with pytest.raises(SettingsError) as caught:
            load_settings({}, argv0="ppo.py")
        return str(caught.value)
    if program == SERVE:
        with pytest.raises(ConfigError) as refused:
            serve.build_bridge(_serve_args(tmp_path, path))
        return str(refused.value)
    args = tyro.cli(view.ViewArgs, args=["--config", str(path)])
    with pytest.raises(ConfigError) as refused:
        view.view_config(args)
    return str(refused.value)


@pytest.mark.parametrize(
    ("key", "program"),
    [(key, p) for key, e in KEYS.items() for p in (WORKER, SERVE, VIEW) if p not in e.programs],
)
def test_a_key_is_refused_by_a_program_that_does_not_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, program: str
) -> None:
    path, _ = write_config(tmp_path, key)
    message = _refusal(program, path, tmp_path, monkeypatch)
    assert str(path) in message and f"{key} is not read by" in message
    assert "\n" not in message
