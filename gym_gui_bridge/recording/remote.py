"""``BridgeSource``: a run's frames relayed by the bridge of the machine it trains on.

The source opens one ``WatchFrames`` stream (the bridge's relay then reads the run's ring, and
the worker renders, only while such a stream is open) asking for JPEG frames at the recording's
frame rate. A background thread keeps the newest message; :meth:`BridgeSource.poll` decodes only
the frames the recording takes (PyAV's JPEG and PNG decoders: no other package is needed).

The stream stays open when the run stops (it would resume if the run came back), so the end of
the run is learnt from ``ListFastLanes``, asked once a second: the run has ended when its ring is
missing or its writer is gone on two looks in a row (one look may fall between two generations
of a ring that changed geometry).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from gym_gui_bridge.proto import trainer_pb2 as pb
from gym_gui_bridge.proto import trainer_pb2_grpc as pb_grpc
from gym_gui_bridge.recording.encoder import load_av
from gym_gui_bridge.recording.sources import SourceFrame
from gym_gui_bridge.server.channel import open_channel

__all__ = ["BridgeSource"]

#: JPEG quality asked of the relay (1-100): the video is re-encoded lossily anyway, and at 90
#: JPEG's own loss stays below H.264's while a 600x400 frame is a few tens of kB on the wire.
_JPEG_QUALITY = 90
#: How often the run's ring is looked up on the bridge to learn that the run ended (seconds).
_LIVENESS_INTERVAL_S = 1.0
#: Longest a ListFastLanes call may take before the look counts as failed (seconds).
_LIST_TIMEOUT_S = 2.0
#: Looks in a row that must miss the run's live ring before the run counts as ended.
_MISSES_TO_END = 2
#: How long closing waits for the stream's thread (seconds); cancelling ends it at once.
_JOIN_TIMEOUT_S = 2.0
_DECODERS = {pb.FRAME_ENCODING_JPEG: "mjpeg", pb.FRAME_ENCODING_PNG: "png"}


class BridgeSource:
    """The frames of ``run_id`` as the bridge at ``address`` relays them.

    Args:
        run_id: the run, on the bridge's machine.
        address: the bridge's HOST:PORT.
        fps: most frames per second the bridge is asked to send.
        token: the bridge's shared token, if it requires one.
        tls_ca: PEM file of the CA the bridge's TLS certificate is checked against.

    Raises:
        BridgeError: ``tls_ca`` cannot be read.
        EncoderUnavailableError: PyAV is not installed.
    """

    def __init__(
        self,
        run_id: str,
        address: str,
        *,
        fps: float,
        token: str | None = None,
        tls_ca: str | Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.address = address
        self._av = load_av()
        self._clock = clock
        self._channel = open_channel(address, token=token, tls_ca=tls_ca)
        self._stub = pb_grpc.TrainerServiceStub(self._channel)
        self._lock = threading.Lock()  # guards _newest, _ended, _received
        self._newest: pb.Frame | None = None
        self._received = 0
        self._ended = ""
        self._decoders: dict[int, Any] = {}
        self._next_look = 0.0
        self._misses = 0
        self.undecodable = 0  # frames that did not decode (skipped)
        request = pb.WatchRequest(
            run_id=run_id, fps=fps, encoding=pb.FRAME_ENCODING_JPEG, quality=_JPEG_QUALITY
        )
        self._call: Any = self._stub.WatchFrames(request)
        self._thread = threading.Thread(
            target=self._receive, name=f"record-watch-{run_id}", daemon=True
        )
        self._thread.start()

    @property
    def description(self) -> str:
        return f"run {self.run_id!r} on the bridge at {self.address}"

    def poll(self) -> SourceFrame | None:
        with self._lock:
            message, self._newest = self._newest, None
        if message is None:
            return None
        try:
            picture = self._decode(message)
        except (ValueError, self._av.FFmpegError):
            self.undecodable += 1  # a damaged frame: the recording repeats the previous one
            return None
        return SourceFrame(picture, message.seq, message.env_slot, message.generation)

    def ended(self) -> str:
        with self._lock:
            if self._ended or not self._received:
                return self._ended
        now = self._clock()
        if now >= self._next_look:
            self._next_look = now + _LIVENESS_INTERVAL_S
            self._look_up_run()
        with self._lock:
            return self._ended

    def waiting_for(self) -> str:
        return (
            f"the bridge at {self.address} relayed no frame of run {self.run_id!r} "
            "(gym-gui-bridge fastlanes on its machine lists the runs)"
        )

    def close(self) -> None:
        self._call.cancel()
        self._thread.join(_JOIN_TIMEOUT_S)
        self._channel.close()

    # --- the stream's thread ---------------------------------------------------------------

    def _receive(self) -> None:
        try:
            for message in self._call:
                with self._lock:
                    self._newest = message
                    self._received += 1
            why = "the bridge ended the stream"
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.CANCELLED:
                return  # we closed it
            why = f"the bridge stream failed: {error.code().name}: {error.details()}"
        with self._lock:
            self._ended = self._ended or why

    # --- helpers ---------------------------------------------------------------------------

    def _decode(self, message: pb.Frame) -> Any:
        codec = _DECODERS.get(message.encoding)
        if codec is None:
            raise ValueError(f"Expected a JPEG or PNG frame, got encoding {message.encoding}")
        decoder = self._decoders.get(message.encoding)
        if decoder is None:
            decoder = self._decoders[message.encoding] = self._av.CodecContext.create(codec, "r")
        pictures = decoder.decode(self._av.Packet(message.data))
        if not pictures:
            raise ValueError(f"frame {message.seq} of run {self.run_id!r} did not decode")
        return pictures[0].to_ndarray(format="rgb24")

    def _look_up_run(self) -> None:
        try:
            listing = self._stub.ListFastLanes(pb.ListFastLanesRequest(), timeout=_LIST_TIMEOUT_S)
        except grpc.RpcError:
            return  # the stream's own error (if the bridge is gone) says more
        live = any(
            lane.run_id == self.run_id and lane.writer_alive and lane.state == "live"
            for lane in listing.fastlanes
        )
        self._misses = 0 if live else self._misses + 1
        if self._misses >= _MISSES_TO_END:
            with self._lock:
                self._ended = self._ended or (
                    "its fast lane is closed or its writer is gone on the bridge's machine"
                )
