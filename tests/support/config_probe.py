"""Builds the worker's components from config files through the worker's own start-up code and
prints, for every key of the file's table, the value the component that uses it holds.

Usage: ``python config_probe.py WORKDIR < [[table, path], ...]`` (JSON on stdin); prints
``{path: {KEY: value}}`` (JSON). Runs in its own process: starting the slow lane installs exit
handlers and the SummaryWriter mirror, which must not leak into the test process.

Per table: ``ring`` / ``frames`` build the script's ``SyncVectorEnv`` through the vector-env
hook and reset it, which creates the ring, once with a single watched slot and once in grid mode
(values seen there are reported as ``"KEY (grid)"``);
``recorder`` / ``sink`` start the embedded slow lane as the start of a run does; ``emitter``
starts it with a bridge address (nothing listens there: the records stay in the spool).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from typing import Any

import gymnasium as gym

from cleanrl_worker import run_start, settings
from cleanrl_worker.patches import hooked, vector_env
from gym_gui_bridge.fastlane import FastLaneReader

NUM_ENVS = 6


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _resolve(path: str, **variables: str) -> Any:
    for name in [n for n in os.environ if n.startswith("FASTLANE")]:
        del os.environ[name]
    os.environ.update(FASTLANE_CONFIG=path, FASTLANE_RUN_ID=f"probe-{uuid.uuid4().hex[:8]}")
    os.environ.update(variables)
    return settings.load_settings({}, argv0="probe.py")


def _fast_lane(path: str) -> dict[str, Any]:
    single = _watched_vector_env(path, FASTLANE_VIDEO_MODE="single")
    grid = _watched_vector_env(path, FASTLANE_VIDEO_MODE="grid")
    single.pop("FASTLANE_GRID_DEFAULT")  # one watched slot: no grid
    return {**single, **{f"{key} (grid)": value for key, value in grid.items()}}


def _sidecar_keys(wrapper: Any) -> dict[str, Any]:
    """What the renderer sidecar of a single watched CartPole slot is started with (a grid has
    no sidecar)."""
    link = wrapper.sidecar
    if link is None:
        return {}
    return {
        "FASTLANE_SIDECAR_FPS": link._frames.sidecar_fps,
        "FASTLANE_SIDECAR_IDLE_S": link._frames.sidecar_idle_s,
        "FASTLANE_SIDECAR_FRAME_MS": link._frames.sidecar_frame_ms,
    }


def _watched_vector_env(path: str, **variables: str) -> dict[str, Any]:
    resolved = _resolve(path, **variables)
    vector_env.install(resolved)
    hooked._reset_for_tests()  # every file builds "the script's first vector env"
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * NUM_ENVS)
    try:
        envs.reset(seed=0)  # the first reset creates the ring
        wrapper = envs.envs[0]
        sink = wrapper._sink
        with FastLaneReader.attach(resolved.run_id, announce=False) as reader:
            capacity = reader.config.capacity  # from the ring's shared header
        return {
            "FASTLANE_CAPACITY": capacity,
            "FASTLANE_RATE_SMOOTHING": sink.writer._rate_smoothing,
            "FASTLANE_FPS": 1.0 / sink.budget._min_interval,
            "FASTLANE_BUDGET": sink.budget._share,
            "FASTLANE_RENDER_COST_SMOOTHING": sink.budget._smoothing,
            "FASTLANE_MAX_DIM": sink._max_dim,
            "FASTLANE_WATCH_POLL_S": sink._watch_poll_s,
            "FASTLANE_GRID_DEFAULT": getattr(sink, "tiles", None),
            "FASTLANE_RETURN_SMOOTHING": wrapper._return_smoothing,
            "FASTLANE_STEP_RATE_WINDOW_S": wrapper._rate_window_s,
            **_sidecar_keys(wrapper),
        }
    finally:
        envs.close()


def _embedded(path: str, workdir: str) -> dict[str, Any]:
    resolved = _resolve(path, FASTLANE_DB=os.path.join(workdir, "probe.sqlite"))
    recorder = run_start.start_recorder(resolved, ["probe.py"])
    try:
        sink, feed = recorder._sink.writer, recorder._sink.feed  # an EmbeddedSink
        pragma = lambda name: sink._conn.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        return {
            "RECORDER_BUFFER_LIMIT": feed._limit,
            "RECORDER_CLOSE_TIMEOUT_S": recorder.config.close_timeout_s,
            "RECORDER_BRIDGE_CHECK_TIMEOUT_S": recorder.config.bridge_check_timeout_s,
            "RECORDER_GLOBAL_STEP_HOLD": recorder.clock._hold_limit,
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
        }
    finally:
        recorder.close(timeout=30.0)


def _emitter(path: str, workdir: str) -> dict[str, Any]:
    resolved = _resolve(path, FASTLANE_BRIDGE=f"127.0.0.1:{_closed_port()}")
    os.chdir(workdir)  # the spool goes to ./runs/spool
    recorder = run_start.start_recorder(resolved, ["probe.py"])
    try:
        emitter = recorder._sink  # a BridgeEmitter
        spooler, shipper = emitter._spooler._config, emitter._shipper
        return {
            "EMITTER_BATCH_SIZE": shipper._batch_size,
            "EMITTER_BATCH_MAX_BYTES": shipper._config.batch_max_bytes,
            "EMITTER_QUEUE_SIZE": emitter.config.queue_size,
            "EMITTER_SEGMENT_BYTES": spooler.segment_bytes,
            "EMITTER_SPOOL_MAX_BYTES": spooler.spool_max_bytes,
            "EMITTER_FSYNC_INTERVAL_S": spooler.fsync_interval_s,
            "EMITTER_FLUSH_INTERVAL_S": spooler.flush_interval_s,
            "EMITTER_MAX_IN_FLIGHT": shipper._config.max_in_flight,
            "EMITTER_RECONNECT_MIN_S": shipper._config.reconnect_min_s,
            "EMITTER_RECONNECT_MAX_S": shipper._config.reconnect_max_s,
            "EMITTER_CLOSE_TIMEOUT_S": emitter.config.close_timeout_s,
            "EMITTER_LOG_INTERVAL_S": emitter._ledger.throttle._interval_s,
        }
    finally:
        recorder.close(timeout=0.2)  # no bridge: what is left stays in the spool


def main() -> None:
    workdir = sys.argv[1]
    seen: dict[str, dict[str, Any]] = {}
    for table, path in json.load(sys.stdin):
        if table in ("ring", "frames"):
            seen[path] = _fast_lane(path)
        elif table in ("recorder", "sink"):
            seen[path] = _embedded(path, workdir)
        elif table == "emitter":
            seen[path] = _emitter(path, workdir)
        else:
            raise SystemExit(f"Expected a table the worker reads, got {table!r}")
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
