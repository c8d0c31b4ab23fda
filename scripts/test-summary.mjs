// Sums the vitest JSON reports every workspace wrote during `npm test` and prints one closing line
// ("N passed, N failed, N skipped"). With --clean, removes stale reports before a run.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dirs = ['apps', 'packages', 'e2e'].flatMap((d) => {
  const p = path.join(root, d);
  if (!fs.existsSync(p)) return [];
  if (fs.existsSync(path.join(p, 'package.json'))) return [p];
  return fs.readdirSync(p).map((x) => path.join(p, x));
});
const reports = dirs.map((d) => path.join(d, '.vitest-report.json'));

if (process.argv.includes('--clean')) {
  for (const r of reports) fs.rmSync(r, { force: true });
  process.exit(0);
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const r of reports) {
  if (!fs.existsSync(r)) continue;
  const j = JSON.parse(fs.readFileSync(r, 'utf8'));
  passed += j.numPassedTests ?? 0;
  failed += j.numFailedTests ?? 0;
  skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  console.log(`${path.relative(root, path.dirname(r)).padEnd(20)} ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${(j.numPendingTests ?? 0) + (j.numTodoTests ?? 0)} skipped`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
