#!/usr/bin/env bash
# What every entry point (test-all, demo, bench) needs first: the system packages (scripts/install-system.sh),
# node_modules from the lock file when missing or older than it, and a fresh build of dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
