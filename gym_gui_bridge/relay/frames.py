"""A frame as the relay hands it out, and the shared read it is encoded from.

One ring read (:class:`SharedFrame`) is offered to every watch of the run; each watch asks it for
its own (encoding, quality), and each pair is encoded at most once, by the first watch that asks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gym_gui_bridge.fastlane.config import FastLaneFrame, FastLaneMetrics
from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.relay.codec import encode_frame

__all__ = ["RelayedFrame", "SharedFrame", "hud_message"]

_HUD_FIELDS = tuple(pb.FrameHud.DESCRIPTOR.fields_by_name)


def hud_message(metrics: FastLaneMetrics) -> pb.FrameHud:
    """The HUD fields of ``metrics`` that the FrameHud message has (copied by name)."""
    values = {name: getattr(metrics, name) for name in _HUD_FIELDS if hasattr(metrics, name)}
    return pb.FrameHud(**values)


@dataclass(frozen=True)
class RelayedFrame:
    """One encoded frame of a run, ready for the wire (:meth:`message`).

    ``published_ns`` is the worker's ``time.time_ns()`` at publish, ``relayed_ns`` the bridge's
    when it encoded the frame: their difference is the relay's share of the latency.
    """

    run_id: str
    seq: int
    width: int
    height: int
    channels: int
    env_slot: int
    generation: int
    encoding: int
    data: bytes = field(repr=False)
    metrics: FastLaneMetrics
    published_ns: int
    relayed_ns: int

    def message(self) -> pb.Frame:
        """The ``Frame`` message WatchFrames sends."""
        return pb.Frame(
            run_id=self.run_id,
            seq=self.seq,
            width=self.width,
            height=self.height,
            channels=self.channels,
            encoding=self.encoding,  # type: ignore[arg-type]
            data=self.data,
            hud=hud_message(self.metrics),
            published_ns=self.published_ns,
            relayed_ns=self.relayed_ns,
            env_slot=self.env_slot,
            generation=self.generation,
        )


class SharedFrame:
    """One frame read from a ring, encoded lazily, once per (encoding, quality).

    ``on_encode(seconds)`` is told what each encoding cost (the relay's statistics).
    """

    def __init__(
        self,
        run_id: str,
        frame: FastLaneFrame,
        env_slot: int,
        on_encode: Callable[[float], None],
    ) -> None:
        self.run_id = run_id
        self.frame = frame
        self.env_slot = env_slot
        self._on_encode = on_encode
        self._lock = threading.Lock()  # guards _encoded; held while encoding, so each key once
        self._encoded: dict[tuple[int, int], RelayedFrame] = {}

    @property
    def seq(self) -> int:
        return self.frame.seq

    def relayed(self, encoding: int, quality: int) -> RelayedFrame:
        """This frame encoded as asked (JPEG ``quality``; PNG ignores it)."""
        key = (encoding, quality if encoding == pb.FRAME_ENCODING_JPEG else 0)
        with self._lock:
            done = self._encoded.get(key)
            if done is not None:
                return done
            start = time.perf_counter()
            data = encode_frame(self.frame.data, encoding, key[1] or 75)
            self._on_encode(time.perf_counter() - start)
            f = self.frame
            done = RelayedFrame(
                run_id=self.run_id,
                seq=f.seq,
                width=f.width,
                height=f.height,
                channels=f.channels,
                env_slot=self.env_slot,
                generation=f.generation,
                encoding=encoding,
                data=data,
                metrics=f.metrics,
                published_ns=f.publish_ns,
                relayed_ns=time.time_ns(),
            )
            self._encoded[key] = done
            return done
