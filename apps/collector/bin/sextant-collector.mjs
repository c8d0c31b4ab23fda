#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=8
// Runs the collector in this same process, so signals — SIGKILL included — reach the process that owns the
// BPF programs. The first line (read by scripts/node-flags.mjs for launchers that start it with process.execPath)
// holds its resident set down: V8's young generation at 2 × 8 MB instead of 2 × 16 (8-10 MB less at a flat-out new
// connection per request, for ~1 us more of its CPU per connection; docs/scaling.md, session 24), and one glibc
// malloc arena for all its threads instead of one per thread that allocates, up to 8 per core (four more of ~3 MB
// each at that load; 10-13 MB less resident, the collector's CPU within the noise; session 25).
// It runs from a one-file bundle of its sources (rebuilt here when a source is newer, see scripts/bundle.mjs);
// when the bundle cannot be built, from the TypeScript sources through tsx's loader.
import { BUNDLE, buildBundle, bundleIsFresh } from '../scripts/bundle.mjs';

const err = bundleIsFresh() ? null : buildBundle();
if (err === null) {
  await import(BUNDLE);
} else {
  console.error(`[collector] running from TypeScript sources (bundle failed: ${err})`);
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/index.ts');
}
