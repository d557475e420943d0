"""Run a script with the fast lane's ring failing: ``python with_ring_fault.py N SCRIPT [ARGS]``.

From the N-th frame on, every ``FastLaneWriter.publish`` of this process raises ``OSError``
(ENOSPC, as creating a segment on a full ``/dev/shm`` does). Everything else is real: the fast
lane was activated at interpreter start (FASTLANE=1) as for any script, and SCRIPT runs as
``__main__`` with ``sys.argv = [SCRIPT, *ARGS]``.
"""

from __future__ import annotations

import errno
import os
import runpy
import sys
from typing import Any

from gym_gui_bridge.fastlane.writer import FastLaneWriter

fail_from = int(sys.argv[1])
script = sys.argv[2]
original_publish = FastLaneWriter.publish
publishes = 0


def publish(self: FastLaneWriter, *args: Any, **kwargs: Any) -> int:
    global publishes
    publishes += 1
    if publishes >= fail_from:
        raise OSError(errno.ENOSPC, "No space left on device (injected)", self.name)
    return original_publish(self, *args, **kwargs)


FastLaneWriter.publish = publish
sys.argv = [script, *sys.argv[3:]]
sys.path[0] = os.path.dirname(os.path.abspath(script))
runpy.run_path(script, run_name="__main__")
