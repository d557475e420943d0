#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, format check, type check, tests.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh
VENV="${VENV:-.venv}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"
echo "== pytest (gymnasium $("$VENV/bin/python" -c 'import gymnasium; print(gymnasium.__version__)'))"
"$VENV/bin/pytest" -q "$@"

# CleanRL pins gymnasium 0.29.1: the worker and the slow lane run again under it (the viewer
# does not touch gymnasium and runs once, above).
echo "== pytest (gymnasium 0.29.1, .venv-gym029)"
bash scripts/test-gym029.sh -q --ignore=tests/viewer "$@"
