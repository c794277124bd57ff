#!/usr/bin/env bash
# All tests, on a fresh machine (as root): installs what is missing, builds, starts dockerd and the three
# registries on loopback, then runs the unit and integration suites in one mocha run.
# The last line is the runner's summary: "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prepare.sh
npm run --silent typecheck
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"
export DS_INTEGRATION=1
npx mocha --timeout 180000 'test/**/*.test.ts' 'integration/**/*.test.ts'
