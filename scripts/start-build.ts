/** Whether apps/web must be (re)built: no build yet, or a source file newer than the last build. */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../packages/db/src/index';

const SOURCE_DIRS = ['apps/web', 'packages/api/src', 'packages/db/src', 'packages/shared/src'];
const SKIP = new Set(['node_modules', '.next', '.turbo', 'generated']);

function newestMtime(dir: string): number {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

export function webBuildIsStale(webDir: string): boolean {
  const buildId = path.join(webDir, '.next', 'BUILD_ID');
  if (!fs.existsSync(buildId)) return true;
  const built = fs.statSync(buildId).mtimeMs;
  return SOURCE_DIRS.some((d) => newestMtime(path.join(REPO_ROOT, d)) > built);
}
