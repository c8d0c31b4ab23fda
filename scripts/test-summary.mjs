// Sums the vitest JSON reports every workspace wrote during `npm test` and prints one closing line
// ("N passed, N failed, N skipped"). A test file that failed before or outside its tests (a beforeAll that
// threw, an import error, a missing prerequisite in CI) counts as a failure, and so does a workspace with a
// test script that wrote no report. With --clean, removes stale reports before a run. With --citus, also the
// store suites' run on Citus (scripts/citus/test.sh writes packages/db/.vitest-citus-report.json), its own
// line; a missing Citus report counts as a failure.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dirs = ['apps', 'packages', 'e2e'].flatMap((d) => {
  const p = path.join(root, d);
  if (!fs.existsSync(p)) return [];
  if (fs.existsSync(path.join(p, 'package.json'))) return [p];
  return fs.readdirSync(p).map((x) => path.join(p, x));
});
const withTests = dirs.filter((d) => {
  const pkg = path.join(d, 'package.json');
  return fs.existsSync(pkg) && Boolean(JSON.parse(fs.readFileSync(pkg, 'utf8')).scripts?.test);
});
const reportOf = (d) => path.join(d, '.vitest-report.json');
const CITUS_REPORT = '.vitest-citus-report.json';

if (process.argv.includes('--clean')) {
  for (const d of dirs) {
    fs.rmSync(reportOf(d), { force: true });
    fs.rmSync(path.join(d, CITUS_REPORT), { force: true });
  }
  process.exit(0);
}

let passed = 0;
let failed = 0;
let skipped = 0;
const runs = withTests.map((d) => ({ name: path.relative(root, d), report: reportOf(d) }));
if (process.argv.includes('--citus')) runs.push({ name: 'store on Citus', report: path.join(root, 'packages', 'db', CITUS_REPORT) });
for (const run of runs) {
  const name = run.name.padEnd(20);
  if (!fs.existsSync(run.report)) {
    failed++;
    console.log(`${name} wrote no test report: its test run did not complete`);
    continue;
  }
  const j = JSON.parse(fs.readFileSync(run.report, 'utf8'));
  // Files that failed without a failed test in them: the file itself could not run.
  const brokenFiles = (j.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  );
  const p = j.numPassedTests ?? 0;
  const f = (j.numFailedTests ?? 0) + brokenFiles.length;
  const s = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  passed += p;
  failed += f;
  skipped += s;
  console.log(`${name} ${p} passed, ${f} failed, ${s} skipped`);
  for (const b of brokenFiles) console.log(`  file failed: ${path.relative(root, b.name)}: ${(b.message ?? '').split('\n')[0]}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
