#!/usr/bin/env bash
# Run pytest under gymnasium 0.29.1 (CleanRL's pin) and numpy 2, in the venv .venv-gym029.
#
#   scripts/test-gym029.sh                          # the whole suite (pytest's testpaths)
#   scripts/test-gym029.sh tests/e2e/test_ppo_example.py tests/worker/test_testing_envs.py
#   scripts/test-gym029.sh -m slow                  # any pytest arguments pass through
#
# Creates the venv if it is missing and (re)installs when pyproject.toml changed since the last
# install (a stamp file in the venv remembers its hash). The viewer, remote and record extras are
# installed too: pytest-qt (part of the test extra) needs Qt, and the bridge imports the relay;
# torch resolves to the local CPU wheel.
# numpy is what pip picks for gymnasium 0.29.1 today (2.x), as CleanRL users get it: numpy 2
# breaks some of gymnasium 0.29.1's own code (Pendulum's render, for one) and the suite shows
# the worker copes.
# Environment: GYM029_VENV (default .venv-gym029), PYTHON (default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${GYM029_VENV:-.venv-gym029}"
python="${PYTHON:-python3.11}"
stamp="$venv/.cleanrl-fastlane-installed"
# CleanRL's Atari pins for gymnasium 0.29.1; ale-py 0.8.1 ships no game ROMs: Breakout's is
# taken from a newer ale-py wheel on PyPI (those carry them) and imported with ale-import-roms
atari=("ale-py==0.8.1" "shimmy[atari]<1")
rom_wheel="ale-py==0.10.1"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1) gymnasium==0.29.1 numpy>=2 ${atari[*]} $rom_wheel"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
    # the same pip warnings scripts/setup.sh filters (configured index folders that are absent)
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check -e '.[train,test,viewer,remote,record]' \
        'gymnasium[classic-control]==0.29.1' 'numpy>=2' "${atari[@]}" 2>&1 \
        | { grep -v "^WARNING: Location" || true; }; then
        echo "gym029: installing into $venv failed (see the pip output above)" >&2
        exit 1
    fi
    roms="$(mktemp -d)"
    if ! { "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
               --only-binary=:all: "$rom_wheel" -d "$roms/wheel" 2>&1 \
               | { grep -v "^WARNING: Location" || true; }; } \
        || ! "$venv/bin/python" - "$roms" <<'PY'
import pathlib
import sys
import zipfile

folder = pathlib.Path(sys.argv[1])
(wheel,) = (folder / "wheel").glob("ale_py-*.whl")
with zipfile.ZipFile(wheel) as archive:
    (folder / "breakout.bin").write_bytes(archive.read("ale_py/roms/breakout.bin"))
PY
    then
        echo "gym029: could not get the Breakout ROM from $rom_wheel" >&2
        exit 1
    fi
    "$venv/bin/ale-import-roms" "$roms" >/dev/null
    rm -rf "$roms"
    echo "$wanted" > "$stamp"
fi

"$venv/bin/python" - <<'PY'
import sys

import gymnasium
import numpy
import torch

print(f"gym029 venv: python {sys.version.split()[0]}, gymnasium {gymnasium.__version__}, "
      f"numpy {numpy.__version__}, torch {torch.__version__}")
if gymnasium.__version__ != "0.29.1" or int(numpy.__version__.split(".")[0]) < 2:
    sys.exit("Expected gymnasium 0.29.1 and numpy>=2 in the gym029 venv")
PY

exec "$venv/bin/python" -m pytest "$@"
