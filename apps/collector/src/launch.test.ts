/**
 * `npm run collector` (the README's remote-host command, the systemd unit, the DaemonSet) runs the collector as the
 * benchmarks measure it: the bin's bundle, not the TypeScript sources through tsx (a resident loader, ~35 MB).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const read = (p: string) => JSON.parse(fs.readFileSync(p, 'utf8')) as { scripts: Record<string, string>; bin?: Record<string, string> };

describe('collector launch', () => {
  it('npm run collector runs the bin (the bundle), as npm start and the benchmarks do', () => {
    const app = read(path.resolve(__dirname, '..', 'package.json'));
    const root = read(path.resolve(__dirname, '..', '..', '..', 'package.json'));
    expect(root.scripts.collector).toBe('npm run start --workspace @sextant/collector --');
    expect(app.scripts.start).toBe(`node ${app.bin?.['sextant-collector']?.replace(/^\.\//, '')}`);
  });
});
