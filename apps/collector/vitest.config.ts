import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const shared = { testTimeout: 120_000, hookTimeout: 120_000 };

const here = path.dirname(fileURLToPath(import.meta.url));
const testFiles = (dir: string): string[] =>
  fs
    .readdirSync(path.join(here, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(`${dir}/${e.name}`) : e.name.endsWith('.test.ts') ? [`${dir}/${e.name}`] : []));
const all = testFiles('src');
/**
 * Files that never load eBPF programs nor start a collector: decoders, assemblers, shipper, spool, config. A test
 * in these folders that does must be named *.kernel.test.ts (as services/tls-hooks.kernel.test.ts).
 */
const unit = all.filter(
  (f) => (f.startsWith('src/l7/') || f.startsWith('src/services/') || f === 'src/env.test.ts') && !f.endsWith('.kernel.test.ts'),
);
/** Every other file (a new one elsewhere too): on the real kernel. */
const kernel = all.filter((f) => !unit.includes(f));

export default defineConfig({
  test: {
    globalSetup: ['../../packages/db/vitest.global-setup.ts'],
    projects: [
      // First the unit files, one at a time: two at a time saved ~20 s in CI, but some of them measure latency
      // through a user-space TCP tee against real clients' own clocks, which a second file's CPU moves by ms.
      { test: { ...shared, name: 'unit', include: unit, fileParallelism: false, sequence: { groupOrder: 0 } } },
      // Then the kernel-level tests, one file at a time: they observe the whole host, so never two of them at
      // once, nor one while a unit file runs.
      { test: { ...shared, name: 'kernel', include: kernel, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
