#!/usr/bin/env bash
# `npm test`: every check and every test of every workspace, the same on a developer's machine and in CI.
# It first installs the real peers the tests drive (nginx, dnsmasq, dig, kcat, Prometheus, Chromium…) as
# root, or says which are missing; then lint, formatting (Prettier, the one formatter: `npm run format`
# fixes it), type checks and each workspace's vitest run (one at a time:
# the kernel tests observe the whole host). All workspaces run even when one fails; the closing line sums
# them ("N passed, N failed, N skipped") and a file that could not run counts as failed. Then the store's
# suites run again on a Citus coordinator + 2 workers (npm run test:citus), counted in the same line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh test || exit 1
node scripts/test-summary.mjs --clean
npm run lint || exit 1
npm run format:check || { echo "formatting differs from Prettier's: run npm run format" >&2; exit 1; }
npx tsc -p scripts/tsconfig.json || exit 1
npx turbo run typecheck test --concurrency=1 --continue
status=$?
# The store's suites once more on a Citus cluster (builds Citus once per machine: scripts/citus/test.sh).
npm run test:citus || status=1
node scripts/test-summary.mjs --citus || status=1
exit $status
