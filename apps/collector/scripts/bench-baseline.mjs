// npm run bench:baseline -- <git ref>: builds the collector of another commit into a bundle and prints its
// path, for `BENCH_BASELINE=<path> npm run bench:collector` (both versions in the same rounds, side by side).
// The baseline's own TypeScript (collector, packages/shared, packages/bpf sources) is bundled; at run time it
// loads this checkout's native addon and kernel programs, so compare commits that share the event layout.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle } from './bundle.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ref = process.argv[2];
if (!ref) {
  console.error('usage: npm run bench:baseline -- <git ref>');
  process.exit(2);
}
const git = (...args) => execFileSync('git', args, { cwd: repoRoot, maxBuffer: 256 << 20 });
const sha = git('rev-parse', '--verify', `${ref}^{commit}`).toString().trim();
// Inside the repository (ignored), so that its third-party imports resolve from this checkout's node_modules.
const dir = path.join(repoRoot, '.sextant', 'bench-baseline', sha.slice(0, 12));
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
const trees = ['apps/collector/src', 'packages/shared', 'packages/bpf/src', 'packages/bpf/package.json'];
execFileSync('tar', ['-x', '-C', dir], { input: git('archive', sha, ...trees) });
const outfile = path.join(dir, 'sextant-collector.mjs');
const err = buildBundle({
  entry: path.join(dir, 'apps', 'collector', 'src', 'index.ts'),
  outfile,
  aliases: {
    '@sextant/shared': path.join(dir, 'packages', 'shared', 'src', 'index.ts'),
    '@sextant/bpf': path.join(dir, 'packages', 'bpf', 'src', 'index.ts'),
  },
});
if (err) {
  console.error(`bench:baseline: bundling ${ref} failed: ${err}`);
  process.exit(1);
}
console.log(path.relative(process.cwd(), outfile));
