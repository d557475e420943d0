#!/usr/bin/env bash
# Set everything up and run the main job: train a small CleanRL-style PPO on CartPole with the
# fast lane on (slot 2 streams into shared memory; open `gym-gui-bridge view` in another terminal
# to watch), telemetry into the embedded SQLite database, and a summary at the end.
# Usage: bash scripts/quickstart.sh [extra ppo.py flags, e.g. --total-timesteps 200000]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${VENV:-.venv}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
RUN_ID="quickstart-$(date +%Y%m%d-%H%M%S)"
DB="${FASTLANE_DB:-runs/fastlane.sqlite}"

echo "== training examples/ppo.py (run id $RUN_ID, database $DB)"
FASTLANE=1 FASTLANE_DB="$DB" "$VENV/bin/python" examples/ppo.py \
  --env-id CartPole-v1 --num-envs 4 --total-timesteps 100000 \
  --fastlane-slot 2 --fastlane-run-id "$RUN_ID" "$@"

echo "== summary of $RUN_ID from $DB"
"$VENV/bin/gym-gui-bridge" summary "$RUN_ID" --db "$DB"
