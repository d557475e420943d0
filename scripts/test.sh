#!/usr/bin/env bash
# Set everything up and run the whole check: lint, format check, type check, then the test suite
# twice: under the gymnasium of .venv, and under gymnasium 0.29.1 (CleanRL's pin, .venv-gym029).
# Both test passes always run; a summary of both comes last, and the exit status is non-zero if
# either failed (pytest's "no tests collected" counts as a failure).
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/setup.sh
VENV="${VENV:-.venv}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# Test-only packages of the main pass: the atari, jax and mujoco extras (the CleanRL-style Atari
# and JAX scripts of the end-to-end tests; the MuJoCo state renderer's tests) and envpool (wheels
# for Linux x86_64 only) for the envpool hook's tests. The gymnasium 0.29.1 pass leaves the envpool tests out (envpool 1.2.5's pools
# fail to close under gymnasium 0.29.1, with or without the fast lane).
ENVPOOL_TESTS=(tests/worker/test_envpool_hook.py tests/e2e/test_envpool_e2e.py)
test_only=(".[atari,jax,mujoco]")
if [[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]]; then
  test_only+=("envpool==1.2.5")
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${test_only[@]}" 2>&1 \
  | { grep -v "^WARNING: Location" || true; }

echo "== ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "== mypy"
"$VENV/bin/mypy"

# pytest's exit status in words (https://docs.pytest.org/en/stable/reference/exit-codes.html)
outcome() {
  case "$1" in
    0) echo "passed" ;;
    1) echo "FAILED: tests failed, or an error shown above" ;;
    2) echo "FAILED: interrupted" ;;
    3) echo "FAILED: internal error" ;;
    4) echo "FAILED: usage error" ;;
    5) echo "FAILED: no tests were collected" ;;
    *) echo "FAILED: exit status $1" ;;
  esac
}

main_name="gymnasium $("$VENV/bin/python" -c 'import gymnasium; print(gymnasium.__version__)') ($VENV)"
echo "== pytest, $main_name"
main_status=0
"$VENV/bin/pytest" -q "$@" || main_status=$?

# CleanRL pins gymnasium 0.29.1: the worker and the slow lane run again under it (the viewer,
# remote viewing, the browser view and recording do not touch gymnasium and run once, above).
gym029_name="gymnasium 0.29.1 (${GYM029_VENV:-.venv-gym029})"
echo "== pytest, $gym029_name"
gym029_status=0
bash scripts/test-gym029.sh -q --ignore=tests/viewer --ignore=tests/remote --ignore=tests/web \
  --ignore=tests/recording "${ENVPOOL_TESTS[@]/#/--ignore=}" "$@" \
  || gym029_status=$?

echo "== summary"
echo "pytest, $main_name: $(outcome "$main_status")"
echo "pytest, $gym029_name: $(outcome "$gym029_status")"
[ "$main_status" -eq 0 ] && [ "$gym029_status" -eq 0 ]
