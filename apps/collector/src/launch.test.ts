/**
 * `npm run collector` (the README's remote-host command, the systemd unit, the DaemonSet) runs the collector as the
 * benchmarks measure it: the bin's bundle, not the TypeScript sources through tsx (a resident loader, ~35 MB), with
 * the node flags and variables of the bin's first line, which the benchmarks and npm start read (scripts/node-flags.mjs).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COLLECTOR_BIN, collectorLaunch } from '../scripts/node-flags.mjs';

const read = (p: string) => JSON.parse(fs.readFileSync(p, 'utf8')) as { scripts: Record<string, string>; bin?: Record<string, string> };

describe('collector launch', () => {
  it('npm run collector executes the bin (the bundle, with the node flags of its first line), as npm start and the benchmarks run it', () => {
    const appDir = path.resolve(__dirname, '..');
    const app = read(path.join(appDir, 'package.json'));
    const root = read(path.resolve(appDir, '..', '..', 'package.json'));
    expect(root.scripts.collector).toBe('npm run start --workspace @sextant/collector --');
    const bin = app.bin?.['sextant-collector'] ?? '';
    // executed directly (its shebang's flags apply), not through `node <bin>` (which would drop them)
    expect(app.scripts.start).toBe(bin);
    expect(path.resolve(appDir, bin)).toBe(COLLECTOR_BIN);
    expect(fs.statSync(COLLECTOR_BIN).mode & 0o111).not.toBe(0);
    // V8's young generation at 2 × 8 MB: the collector's resident set under 150 MB at flat-out connection churn
    expect(collectorLaunch().flags).toEqual(['--max-semi-space-size=8']);
    // one malloc arena for all its threads (not one per thread that allocates): ~10 MB less resident
    expect(collectorLaunch().env).toEqual({ MALLOC_ARENA_MAX: '1' });
  });

  it("the bin's first line, as the kernel runs it, starts node with the flags and variables launchers pass", () => {
    // What the kernel does with `#!/usr/bin/env -S <rest>` at the top of <script>: /usr/bin/env -S '<rest>' <script>
    const first = fs.readFileSync(COLLECTOR_BIN, 'utf8').split('\n', 1)[0]!;
    const [interpreter, option, rest] = first.slice(2).split(/ (-S) /);
    expect([interpreter, option]).toEqual(['/usr/bin/env', '-S']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-launch-'));
    const script = path.join(dir, 'print.mjs');
    fs.writeFileSync(script, 'console.log(JSON.stringify({ flags: process.execArgv, arena: process.env.MALLOC_ARENA_MAX }));');
    const out = execFileSync(interpreter!, [option!, rest!, script], {
      env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, MALLOC_ARENA_MAX: '8' },
      encoding: 'utf8',
    });
    fs.rmSync(dir, { recursive: true });
    const { flags, env } = collectorLaunch();
    expect(JSON.parse(out)).toEqual({ flags, arena: env.MALLOC_ARENA_MAX });
  });
});
