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
# Citus is built (once per machine, ~4-8 min of CPU on 2 cores) while the suites run, at idle CPU and I/O
# priority: the tests wait on timers, sockets and databases much of the time, and the build only gets those gaps
# (a test's process preempts it at once). Its log: .sextant/citus-build.log; test:citus waits for it.
mkdir -p .sextant
citus_build=""
if ! bash scripts/citus/build.sh --installed >/dev/null 2>&1; then
  ionice -c 3 nice -n 19 bash scripts/citus/build.sh >.sextant/citus-build.log 2>&1 &
  citus_build=$!
  echo "[citus] building in the background while the suites run (log: .sextant/citus-build.log)"
fi
npm run lint || exit 1
npm run format:check || { echo "formatting differs from Prettier's: run npm run format" >&2; exit 1; }
npx tsc -p scripts/tsconfig.json || exit 1
npx turbo run typecheck test --concurrency=1 --continue
status=$?
# The store's suites once more on a Citus cluster (after the background build above; scripts/citus/test.sh
# builds it itself when that failed, and shows why).
if [ -n "$citus_build" ]; then
  wait "$citus_build" || { echo "[citus] background build failed:" >&2; tail -40 .sextant/citus-build.log >&2; }
  cat .sextant/citus-build.log
fi
npm run test:citus || status=1
node scripts/test-summary.mjs --citus || status=1
exit $status
