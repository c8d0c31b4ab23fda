#!/usr/bin/env -S node --max-semi-space-size=8
// Runs the collector in this same process, so signals — SIGKILL included — reach the process that owns the
// BPF programs. V8's young generation is held to 2 × 8 MB instead of 2 × 16 (the first line, read by
// scripts/node-flags.mjs for launchers that start it with process.execPath): 8-10 MB less resident at a flat-out
// new connection per request, for ~1 us more of its CPU per connection (docs/scaling.md, session 24).
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
