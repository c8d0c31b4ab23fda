#!/usr/bin/env bash
# `npm run test:citus`: the store's own suites — packages/db and the API suites that drive the store (ingest,
# idempotency, search, live tail, service map, dashboards, rollups, retention, Hubble import/export; list in
# packages/db/vitest.citus.config.ts) — against a Citus coordinator + 2 workers on loopback, with the same
# assertions as on one PostgreSQL (SEXTANT_TEST_CITUS=1 in packages/db/src/testing.ts). Builds Citus first
# when it is not installed (scripts/citus/build.sh, cached). The report goes to
# packages/db/.vitest-citus-report.json, which scripts/test-summary.mjs --citus adds to `npm test`'s closing line.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/citus/build.sh || exit 1
export SEXTANT_TEST_CITUS=1
unset DATABASE_URL
start=$(date +%s)
status=0
(cd packages/db && npx vitest run -c vitest.citus.config.ts --reporter=default --reporter=json \
  --outputFile.json="$PWD/.vitest-citus-report.json" "$@") || status=1
echo "[citus] store suites on Citus in $(($(date +%s) - start)) s"
exit $status
