// The node flags and environment the collector runs with, from the one place they are written: its bin's first line
// (`#!/usr/bin/env -S [NAME=value ...] node [--flag ...]`), which `npm run collector`, the systemd unit and the
// DaemonSet run directly. Launchers that start it with process.execPath (npm start, the benchmarks, the tests'
// collector process) pass the same flags and add the same variables to its environment.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const COLLECTOR_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'sextant-collector.mjs');

/**
 * What a launcher passes to start the bin with process.execPath, read from its shebang line: node's flags (after
 * `node`) and the variables set before `node`, as an environment to add.
 */
export function collectorLaunch() {
  const first = fs.readFileSync(COLLECTOR_BIN, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S((?: [A-Z_][A-Z0-9_]*=\S+)*) node((?: --[a-z0-9-]+(?:=\S+)?)*)$/.exec(first);
  if (!m) throw new Error(`${COLLECTOR_BIN}: first line is not '#!/usr/bin/env -S [NAME=value...] node [--flag...]': ${first}`);
  const words = (s) => s.split(' ').filter(Boolean);
  const env = Object.fromEntries(words(m[1]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { flags: words(m[2]), env };
}
