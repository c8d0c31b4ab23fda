#!/usr/bin/env node
// Runs the collector in this same process, so signals — SIGKILL included — reach the process that owns the
// BPF programs. It runs from a one-file bundle of its sources (rebuilt here when a source is newer, see
// scripts/bundle.mjs); when the bundle cannot be built, from the TypeScript sources through tsx's loader.
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
