"""A worker process whose emitter a test drives, and whose disk it can spoil.

usage: spool_worker.py SETUP_JSON

``SETUP_JSON``: ``{"address", "run_id", "spool_root", "emitter": {EmitterConfig field: value},
"tmpfs": bytes or null, "fsize": bytes or null}``. With ``tmpfs`` the process (started under
``unshare -m``, so the mount is its own) mounts a tmpfs of that size on ``spool_root`` first;
with ``fsize`` it limits the size of every file it writes (RLIMIT_FSIZE, SIGXFSZ ignored: a
write past the limit falls short, then fails with EFBIG). Then it starts a
:class:`~cleanrl_worker.emitter.emitter.BridgeEmitter`, prints ``{"ready": ...}`` and answers
one JSON command per stdin line with one JSON line on stdout:

- ``{"op": "put", "n": N}``: put N step records (slot 0, seq counting on from 0).
- ``{"op": "stats"}``: the emitter's stats and this process's CPU seconds (``cpu``).
- ``{"op": "fill", "path": P, "leave": B}``: write zeros to the file P until the disk is full,
  then give back B bytes of it (``leave`` 0: the disk stays full).
- ``{"op": "idle", "seconds": S}``: do nothing for S seconds (the emitter's threads go on);
  ``cpu_share``: CPU seconds the process used per second meanwhile, ``batches`` sent meanwhile.
- ``{"op": "rmtree", "path": P}``, ``{"op": "chmod", "path": P, "mode": M}``.
- ``{"op": "flush", "timeout": T}`` / ``{"op": "close", "timeout": T}``: ``ok``, ``elapsed``
  and the stats; after ``close`` the process exits.
- ``{"op": "copy", "dest": D}``: copy the spool root's run folders to D (after ``close``: what
  it left, for a test that cannot see this process's tmpfs).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cleanrl_worker.emitter.emitter import BridgeEmitter
from gym_gui_bridge.config.slowlane import EmitterConfig
from gym_gui_bridge.protocol.records import StepRecord


def _fill(path: str, leave: int) -> int:
    """Zeros into ``path`` until ENOSPC, then ``leave`` bytes given back; bytes kept."""
    block = b"\0" * 4096
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        while True:
            try:
                if os.write(fd, block) < len(block):
                    break
            except OSError:
                break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - leave))
    finally:
        os.close(fd)
    return max(0, size - leave)


class Worker:
    def __init__(self, setup: dict[str, Any]) -> None:
        self.run_id = setup["run_id"]
        self.root = Path(setup["spool_root"])
        self.emitter = BridgeEmitter(
            setup["address"],
            self.run_id,
            spool_root=self.root,
            name=f"hostile-{os.getpid()}",
            config=EmitterConfig(**setup.get("emitter", {})),
        )
        self.emitter.start()
        self.seq = 0

    def stats(self) -> dict[str, Any]:
        times = os.times()
        return {**asdict(self.emitter.stats()), "cpu": times.user + times.system}

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        if op == "put":
            for _ in range(command["n"]):
                i = self.seq
                self.seq += 1
                self.emitter.put(
                    StepRecord(
                        self.run_id,
                        0,
                        "default",
                        i,
                        time.time(),
                        i // 10,
                        i % 10,
                        i,
                        i % 2,
                        1.0,
                        i % 10 == 9,
                        False,
                    )
                )
            return self.stats()
        if op == "stats":
            return self.stats()
        if op == "idle":
            before, start = self.stats(), time.monotonic()
            time.sleep(command["seconds"])
            after = self.stats()
            return {
                "cpu_share": (after["cpu"] - before["cpu"]) / (time.monotonic() - start),
                "batches": after["batches"] - before["batches"],
            }
        if op == "fill":
            return {"kept": _fill(command["path"], command["leave"])}
        if op == "rmtree":
            shutil.rmtree(command["path"])
            return {}
        if op == "chmod":
            os.chmod(command["path"], command["mode"])
            return {}
        if op in ("flush", "close"):
            start = time.monotonic()
            call = self.emitter.flush if op == "flush" else self.emitter.close
            ok = call(command["timeout"])
            return {"ok": ok, "elapsed": time.monotonic() - start, **self.stats()}
        if op == "copy":
            for folder in self.root.iterdir():
                if folder.is_dir():
                    shutil.copytree(folder, Path(command["dest"]) / folder.name)
            return {}
        raise ValueError(f"Expected a known op, got {op!r}")


def main() -> int:
    setup = json.loads(sys.argv[1])
    if setup.get("tmpfs"):
        os.makedirs(setup["spool_root"], exist_ok=True)
        size = f"size={setup['tmpfs']}"
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", size, "tmpfs", setup["spool_root"]], check=True
        )
    if setup.get("fsize"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (setup["fsize"], setup["fsize"]))
    worker = Worker(setup)
    print(json.dumps({"ready": True, "spool_dir": str(worker.emitter.spool_dir)}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        print(json.dumps(worker.handle(command)), flush=True)
        if command["op"] == "close":
            break
    for line in sys.stdin:  # after close: only copies
        print(json.dumps(worker.handle(json.loads(line))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
