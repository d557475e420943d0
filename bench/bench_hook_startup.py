"""What the installed startup hook costs an interpreter that does NOT use the fast lane.

Every Python start in an environment with cleanrl-fastlane installed runs the
``cleanrl_fastlane.pth`` import line. With FASTLANE unset it must cost "a few lookups".

Measured, in interleaved rounds (this machine is shared and noisy):

* ``pth-hook`` vs ``pth-empty``: ``python -S`` that imports ``site`` and calls
  ``site.addsitedir(D)`` on a directory holding only our ``.pth`` vs an empty directory. The
  difference is exactly the hook's cost (import of the tiny modules + the inert ``activate()``).
* ``python -c pass`` in this environment (hook installed) vs ``python -S -c pass`` (no site at
  all), for scale: what an interpreter start costs in the first place.
* ``activate()`` itself, in-process (the inert path: two env lookups and an argv scan).

Usage: python bench/bench_hook_startup.py [--rounds 5] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import timeit
from pathlib import Path

import cleanrl_worker

ROOT = str(Path(cleanrl_worker.__file__).resolve().parent.parent)
PTH = Path(sysconfig.get_paths()["purelib"]) / "cleanrl_fastlane.pth"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FASTLANE")}


def _time_once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=_env(), check=True)
    return time.perf_counter() - start


def _addsitedir_cmd(directory: str) -> list[str]:
    code = f"import sys; sys.path.insert(0, {ROOT!r}); import site; site.addsitedir({directory!r})"
    return [sys.executable, "-S", "-c", code]


def _hook_import_us(code: str = "pass") -> float:
    """Microseconds ``-X importtime`` charges to our modules when running ``python -c code``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            rows.append((len(name) - len(name.lstrip()), name.strip(), int(parts[1])))
    ours = [row for row in rows if row[1].startswith(("cleanrl_worker", "_cleanrl"))]
    if not ours:
        return 0.0
    depth = min(row[0] for row in ours)  # the modules the .pth line imported directly
    total = float(sum(cumulative for d, _, cumulative in ours if d == depth))
    return total


def _summary(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=10)
    return f"median {statistics.median(samples) * 1e3:7.2f} ms  (p10 {q[0] * 1e3:.2f}, p90 {q[-1] * 1e3:.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--runs", type=int, default=20, help="interpreter starts per config per round"
    )
    args = parser.parse_args()
    if not PTH.exists():
        print(f"no {PTH}: install the package first (pip install .)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as hooked:
        shutil.copy(PTH, hooked)
        configs = {
            "pth-empty": _addsitedir_cmd(empty),
            "pth-hook": _addsitedir_cmd(hooked),
            "python -S -c pass": [sys.executable, "-S", "-c", "pass"],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        samples: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(args.rounds):
            for name, cmd in configs.items():  # interleaved: drift hits every config alike
                samples[name] += [_time_once(cmd) for _ in range(args.runs)]
    for name, values in samples.items():
        print(f"{name:20s} {_summary(values)}")
    hook = statistics.median(samples["pth-hook"]) - statistics.median(samples["pth-empty"])
    base = statistics.median(samples["python -c pass"])
    print(
        f"hook cost (pth-hook - pth-empty): {hook * 1e3:+.2f} ms = {hook / base:+.1%} of `python -c pass`"
    )

    imports = [_hook_import_us() for _ in range(args.runs)]
    print(f"modules the .pth line imports with FASTLANE unset: {max(imports):.0f} us of imports")
    start_entry = [_hook_import_us("import _cleanrl_fastlane_hook") for _ in range(args.runs)]
    print(
        f"Python 3.15+ .start entry module import: median {statistics.median(start_entry):.0f} us"
        f" = {statistics.median(start_entry) / 1e6 / base:.2%} of `python -c pass`"
    )
    eager = [_hook_import_us("import cleanrl_worker.activation") for _ in range(args.runs)]
    print(
        f"(for comparison, importing cleanrl_worker.activation: median "
        f"{statistics.median(eager):.0f} us = {statistics.median(eager) / 1e6 / base:.2%})"
    )

    import _cleanrl_fastlane_hook

    per_call = min(timeit.repeat(_cleanrl_fastlane_hook.maybe_wanted, number=10_000, repeat=5))
    print(f"inert pre-filter (the .pth line's test) in-process: {per_call / 10_000 * 1e6:.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
