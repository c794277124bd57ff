#!/usr/bin/env bash
# `npm run bench [-- FILTER]`: installs what is missing, builds, starts the services the benches talk to
# (dockerd, registries; scripts/services.sh) and runs bench/run.ts (every bench/*.bench.ts, or those matching FILTER).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
exec node --import tsx bench/run.ts "$@"
