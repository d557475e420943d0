#!/usr/bin/env bash
# Create .venv (Python 3.11 or newer >= 3.10) and install the project with every extra into it.
# A regular (non-editable) install, as users get it: the start-up hook (.pth) lands in
# site-packages. Safe to run again: it reinstalls the project from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON" ]; then
  echo "setup: no python3 found; install Python 3.11 first" >&2
  exit 1
fi
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' 2>/dev/null || {
  echo "setup: $PYTHON is older than 3.10" >&2
  exit 1
}

VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip 2>&1 \
    | { grep -v "^WARNING: Location" || true; }
fi
echo "setup: installing cleanrl-fastlane[all] into $VENV (first time: a few minutes)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check '.[all]' 2>&1 \
  | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c 'import cleanrl_worker, gym_gui_bridge' || {
  echo "setup: installation failed (see the pip output above)" >&2
  exit 1
}
