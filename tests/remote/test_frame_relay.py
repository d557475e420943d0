"""The frame relay in the bridge process: it reads a watched run's ring once per frame for all
its watches, gives each watch only the newest frame, and leaves the ring when nobody watches."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from waits import wait_until

from gym_gui_bridge.config.relay import RelayConfig
from gym_gui_bridge.fastlane import FastLaneConfig, FastLaneMetrics, FastLaneReader, FastLaneWriter
from gym_gui_bridge.relay import (
    FRAME_ENCODING_JPEG,
    FRAME_ENCODING_PNG,
    FrameRelay,
    RelayedFrame,
    RelayWatch,
    decode_frame,
)

SHAPE = (24, 32, 3)
FAST = RelayConfig(detach_s=0.2, attach_poll_s=0.05)


@pytest.fixture
def relay() -> Iterator[FrameRelay]:
    relay = FrameRelay(FAST)
    yield relay
    relay.close()


def _frame(seq: int) -> np.ndarray:
    return np.full(SHAPE, seq % 251, np.uint8)


def _writer(run_id: str, env_slot: int = 1) -> FastLaneWriter:
    return FastLaneWriter.create(
        run_id, FastLaneConfig(width=SHAPE[1], height=SHAPE[0], env_slot=env_slot)
    )


class _Worker:
    """Publishes frames whose pixels and HUD say their seq, as a watched worker does."""

    def __init__(self, writer: FastLaneWriter) -> None:
        self.writer = writer
        self.seq = 0

    def publish(self, count: int = 1) -> int:
        for _ in range(count):
            self.seq += 1
            metrics = FastLaneMetrics(global_step=self.seq, last_reward=float(self.seq))
            self.writer.publish(_frame(self.seq), metrics)
        return self.seq

    def next_frame(self, watch: RelayWatch) -> RelayedFrame:
        """Publish until ``watch`` gives a frame; return it."""

        def publish_and_take() -> RelayedFrame | None:
            self.publish()
            return watch.next(timeout_s=0.05)

        return wait_until(publish_and_take, what="a relayed frame")


def test_a_watch_of_a_run_without_a_ring_waits_then_gets_its_frames(
    relay: FrameRelay, run_id: str
) -> None:
    watch = relay.watch(run_id, fps=30, encoding=FRAME_ENCODING_PNG)
    assert watch.state == "waiting"
    assert watch.next(timeout_s=0.05) is None
    with _writer(run_id, env_slot=2) as writer:
        wait_until(lambda: watch.state == "live", what="the relay attaching")
        frame = _Worker(writer).next_frame(watch)
        assert frame.run_id == run_id and frame.env_slot == 2
        assert (frame.width, frame.height, frame.channels) == (32, 24, 3)
        assert frame.encoding == FRAME_ENCODING_PNG
        assert (decode_frame(frame.data) == _frame(frame.seq)).all()  # PNG: pixel-exact
        assert frame.metrics.global_step == frame.seq  # the HUD published with that frame
        message = frame.message()
        assert message.hud.global_step == frame.seq and message.seq == frame.seq
        assert message.env_slot == 2 and message.published_ns == frame.published_ns > 0
        assert message.relayed_ns >= message.published_ns
    watch.close()
    assert watch.state == "closed"


def test_the_ring_is_watched_only_while_a_watch_is_open(relay: FrameRelay, run_id: str) -> None:
    with _writer(run_id) as writer:
        probe = FastLaneReader.attach(run_id, announce=False)
        try:
            assert not probe.status().watched  # a relay with no watch reads nothing
            watch = relay.watch(run_id, fps=10)
            wait_until(lambda: probe.status().watched, what="the relay announcing itself")
            assert writer.watched and relay.viewers() == {run_id: 1}
            watch.close()
            assert relay.viewers() == {}
            wait_until(lambda: not probe.status().watched, what="the heartbeat lapsing")
            wait_until(lambda: not relay.stats()[run_id].attached, what="the relay detaching")
            assert not writer.watched and relay.stats()[run_id].state == "idle"
        finally:
            probe.close()


def test_a_watch_that_stops_reading_gets_the_newest_frame_not_a_backlog(
    relay: FrameRelay, run_id: str
) -> None:
    with _writer(run_id) as writer:
        worker = _Worker(writer)
        watch = relay.watch(run_id, fps=60)
        wait_until(lambda: watch.state == "live", what="the relay attaching")
        first = worker.next_frame(watch)
        newest = worker.publish(50)  # the watch reads none of these
        wait_until(lambda: relay.stats()[run_id].last_seq == newest, what="the relay's read")
        frame = watch.next(timeout_s=1.0)
        assert frame is not None and frame.seq == newest > first.seq + 1
        assert watch.next(timeout_s=0.1) is None  # nothing queued behind it
        watch.close()


def test_ten_watches_cost_one_ring_read_and_one_encoding_per_frame(
    relay: FrameRelay, run_id: str
) -> None:
    with _writer(run_id) as writer:
        worker = _Worker(writer)
        watches = [relay.watch(run_id, fps=60) for _ in range(10)]
        assert relay.viewers() == {run_id: 10}
        wait_until(lambda: watches[0].state == "live", what="the relay attaching")
        received: list[list[int]] = [[] for _ in watches]
        published = 0
        while min(len(r) for r in received) < 5:
            published = worker.publish()
            wait_until(lambda p=published: relay.stats()[run_id].last_seq == p, what="a read")
            for got, watch in zip(received, watches, strict=True):
                frame = watch.next(timeout_s=0.2)
                if frame is not None:
                    got.append(frame.seq)
        stats = relay.stats()[run_id]
        assert stats.frames_read <= published  # one ring read per frame, however many watch
        assert stats.frames_sent == sum(len(r) for r in received) >= 50
        distinct = {seq for r in received for seq in r}
        assert stats.encodes == len(distinct)  # same encoding and quality: encoded once
        for got in received:
            assert got == sorted(set(got))  # each watch: seq increasing, no frame twice
        for watch in watches:
            watch.close()


def test_each_encoding_is_made_once_per_frame(relay: FrameRelay, run_id: str) -> None:
    with _writer(run_id) as writer:
        worker = _Worker(writer)
        jpeg = relay.watch(run_id, fps=60, encoding=FRAME_ENCODING_JPEG, quality=50)
        png = relay.watch(run_id, fps=60, encoding=FRAME_ENCODING_PNG)
        wait_until(lambda: jpeg.state == "live", what="the relay attaching")
        seq = worker.publish()
        wait_until(lambda: relay.stats()[run_id].last_seq == seq, what="the relay's read")
        a, b = jpeg.next(timeout_s=1.0), png.next(timeout_s=1.0)
        assert a is not None and b is not None and a.seq == b.seq == seq
        assert a.data[:2] == b"\xff\xd8" and b.data[:4] == b"\x89PNG"
        assert relay.stats()[run_id].encodes == 2
        jpeg.close()
        png.close()


def test_a_closed_run_closes_its_watches_and_a_restarted_one_goes_live_again(
    relay: FrameRelay, run_id: str
) -> None:
    watch = relay.watch(run_id, fps=30)
    writer = _writer(run_id)
    wait_until(lambda: watch.state == "live", what="the relay attaching")
    writer.close()
    wait_until(lambda: watch.state == "closed", what="the watch seeing the run closed")
    with _writer(run_id, env_slot=3) as again:
        wait_until(lambda: watch.state == "live", what="the relay attaching to the new ring")
        frame = _Worker(again).next_frame(watch)
        assert frame.env_slot == 3
    watch.close()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"run_id": "a/b"}, "run id"),
        ({"run_id": "ok", "fps": 1000.0}, "fps in 1..60"),
        ({"run_id": "ok", "fps": 0.5}, "fps in 1..60"),
        ({"run_id": "ok", "fps": float("nan")}, "fps"),
        ({"run_id": "ok", "quality": 101}, "quality in 1..100"),
        ({"run_id": "ok", "encoding": 7}, "FrameEncoding"),
    ],
)
def test_a_bad_watch_request_is_refused_naming_the_value(
    relay: FrameRelay, kwargs: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match="Expected") as raised:
        relay.watch(**kwargs)  # type: ignore[arg-type]
    assert named in str(raised.value)
    assert relay.viewers() == {}


def test_defaults_come_from_the_relay_config(run_id: str) -> None:
    relay = FrameRelay(RelayConfig(default_fps=12.0, jpeg_quality=40))
    try:
        with relay.watch(run_id) as watch:
            assert (watch.fps, watch.quality) == (12.0, 40)
    finally:
        relay.close()
    with pytest.raises(ValueError, match="closed"):
        relay.watch(run_id)
