/**
 * Applies prisma/migrations with `prisma migrate deploy` (the WASM schema engine, no network needed).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export async function migrateDatabase(databaseUrl: string, opts: { quiet?: boolean } = {}): Promise<void> {
  const prismaBin = path.join(REPO_ROOT, 'node_modules', '.bin', 'prisma');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(prismaBin, ['migrate', 'deploy'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      stdio: opts.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`prisma migrate deploy failed (exit ${code}):\n${output}`))));
  });
}
