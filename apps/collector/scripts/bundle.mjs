// Bundles the collector's TypeScript sources (and the workspace packages it imports) into one ES module with
// esbuild, so that a running collector carries no TypeScript loader: ~35 MB less resident memory and a
// faster start than compiling every module on the fly with tsx. The bundle is rebuilt (~0.1 s) whenever a
// source file or the lockfile is newer than it; `node scripts/bundle.mjs` builds it by hand.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const appRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(appRoot, '..', '..');
export const BUNDLE = path.join(appRoot, 'dist', 'sextant-collector.mjs');
const SOURCES = [
  path.join(appRoot, 'src'),
  path.join(repoRoot, 'packages', 'bpf', 'src'),
  path.join(repoRoot, 'packages', 'shared', 'src'),
];
const EXTRA = [path.join(repoRoot, 'package-lock.json'), path.join(appRoot, 'scripts', 'bundle.mjs')];

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mjs|js|json)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const dir of SOURCES) if (fs.existsSync(dir)) walk(dir);
  for (const f of EXTRA) if (fs.existsSync(f)) newest = Math.max(newest, fs.statSync(f).mtimeMs);
  return newest;
}

export function bundleIsFresh() {
  try {
    return fs.statSync(BUNDLE).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

/**
 * Builds the bundle (atomically: concurrent starts never see half a file); returns an error message or null.
 * `entry`, `outfile` and `aliases` (package → directory) build another tree's collector (bench:baseline).
 */
export function buildBundle({ entry = path.join(appRoot, 'src', 'index.ts'), outfile = BUNDLE, aliases = {} } = {}) {
  let esbuild;
  try {
    esbuild = path.join(path.dirname(createRequire(import.meta.url).resolve('esbuild/package.json')), 'bin', 'esbuild');
  } catch {
    return 'esbuild is not installed';
  }
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const tmp = `${outfile}.${process.pid}.tmp`;
  const r = spawnSync(
    esbuild,
    [
      entry,
      ...Object.entries(aliases).map(([pkg, dir]) => `--alias:${pkg}=${dir}`),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--keep-names',
      '--external:*.node',
      `--outfile=${tmp}`,
      '--log-level=error',
      // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
      "--banner:js=import { createRequire as __sextantRequire } from 'node:module'; const require = __sextantRequire(import.meta.url);",
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    return (r.stderr || r.error?.message || `esbuild exited ${r.status}`).trim();
  }
  fs.renameSync(tmp, outfile);
  return null;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const err = buildBundle();
  if (err) {
    console.error(`[collector] bundle failed: ${err}`);
    process.exit(1);
  }
  console.log(`[collector] bundled ${path.relative(process.cwd(), BUNDLE)}`);
}
