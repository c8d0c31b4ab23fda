// The node flags the collector runs with, from the one place they are written: its bin's first line
// (`#!/usr/bin/env -S node <flags>`), which `npm run collector`, the systemd unit and the DaemonSet run directly.
// Launchers that start it with process.execPath (npm start, the benchmarks, the tests' collector process) pass
// the same flags.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const COLLECTOR_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'sextant-collector.mjs');

/** The flags after `node` in the bin's shebang line. */
export function collectorNodeFlags() {
  const first = fs.readFileSync(COLLECTOR_BIN, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=\S+)?)*)$/.exec(first);
  if (!m) throw new Error(`${COLLECTOR_BIN}: first line is not '#!/usr/bin/env -S node [--flag...]': ${first}`);
  return m[1].split(' ').filter(Boolean);
}
