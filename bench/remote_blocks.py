"""PPO's iteration time inside one training run, in alternating blocks of two conditions.

Sequential PPO runs on a shared 2-core machine differ by far more than the few percent to
resolve, so ``bench_remote_view.py sps-blocks`` switches the condition every ``block_s``
seconds inside one ``examples/ppo.py`` run and times each PPO iteration (the gap between two
``SPS:`` lines, 512 env steps) as the harness reads them. An iteration counts for a block only
if it starts ``settle_s`` or more after the switch and ends before the next one. Each B block is
paired with the mean of its neighbouring A blocks; the result is B / A of iteration time
(> 1: B is slower).
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["BlockResult", "run_blocks"]


@dataclass
class BlockResult:
    """Mean iteration seconds of each block, in order (A, B, A, B, ...), and the pairs."""

    names: tuple[str, str]
    blocks: list[tuple[str, float, int]] = field(default_factory=list)  # (name, mean s, n)

    def pairs(self) -> list[float]:
        """B / mean(neighbouring A) of iteration time, for each B block with an A on each side."""
        out = []
        for i in range(1, len(self.blocks) - 1):
            name, b, _ = self.blocks[i]
            if name == self.names[1] and self.blocks[i - 1][2] and self.blocks[i + 1][2]:
                a = (self.blocks[i - 1][1] + self.blocks[i + 1][1]) / 2
                if self.blocks[i][2]:
                    out.append(b / a)
        return out

    def summary(self) -> str:
        pairs = sorted(self.pairs())
        if not pairs:
            return "no complete pair"
        q = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else [pairs[0]] * 3
        boot = _bootstrap_median(pairs)
        a = [m for n, m, c in self.blocks if n == self.names[0] and c]
        b = [m for n, m, c in self.blocks if n == self.names[1] and c]
        return (
            f"{self.names[1]} / {self.names[0]} iteration time: {len(pairs)} pairs, median "
            f"{statistics.median(pairs):.4f} [p25 {q[0]:.4f}, p75 {q[2]:.4f}; 95% interval of "
            f"the median {boot[0]:.4f}, {boot[1]:.4f}]; medians of blocks "
            f"{1000 * statistics.median(a):.1f} / {1000 * statistics.median(b):.1f} ms"
        )


def _bootstrap_median(values: list[float], draws: int = 2000) -> tuple[float, float]:
    import random

    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return medians[int(0.025 * draws)], medians[int(0.975 * draws)]


def run_blocks(
    child: subprocess.Popen[str],
    names: tuple[str, str],
    switch: Callable[[str], None],
    block_s: float,
    settle_s: float,
    check: Callable[[], None] = lambda: None,
) -> BlockResult:
    """Alternate ``switch(names[0])`` / ``switch(names[1])`` every ``block_s`` until ``child``
    (printing ``SPS:`` once per iteration) ends; ``check()`` runs once per block."""
    assert child.stdout is not None
    marks: list[float] = []
    lock = threading.Lock()

    def follow() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("SPS:"):
                with lock:
                    marks.append(time.monotonic())

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    while True:  # wait for the training loop (the first iteration's line)
        with lock:
            if marks or child.poll() is not None:
                break
        time.sleep(0.05)
    spans: list[tuple[str, float, float]] = []
    index = 0
    while child.poll() is None:
        name = names[index % 2]
        switch(name)
        start = time.monotonic()
        while child.poll() is None and time.monotonic() - start < block_s:
            time.sleep(0.05)
        check()
        spans.append((name, start + settle_s, time.monotonic()))
        index += 1
    reader.join(10)
    result = BlockResult(names)
    for name, begin, end in spans:
        durations = [b - a for a, b in itertools.pairwise(marks) if a >= begin and b <= end]
        mean = statistics.mean(durations) if durations else 0.0
        result.blocks.append((name, mean, len(durations)))
    return result
