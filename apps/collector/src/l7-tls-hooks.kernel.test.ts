/**
 * TLS hooks' lifecycle on the real kernel (#17): the uprobes follow binary files, so a copy of the node binary is a
 * file the collector has never seen. A TLS server run from that copy after the collector started is found by the
 * hooks' /proc rescan and attached, and its clients' exchanges are decoded; once its processes exit the file is
 * detached; a copy listed in SEXTANT_TLS_EXCLUDE is
 * never hooked — its connections are flows without L7 records — while the same workload from the system node binary
 * in the same run is decoded exactly. Ground truth: what the HTTP mix client counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { missingPrerequisite } from '@sextant/shared/testing';
import { describe, expect, it } from 'vitest';
import type { Collector } from './collector';
import { HttpMix } from './testing/http-mix';
import { firstLine, kernelRig, settle } from './testing/kernel-rig';
import { hasOpenssl, makeSelfSignedCert, type TlsCert } from './testing/tls-cert';
import { MIX, MIX_COUNTS, MIX_ROWS, SLOW_ROUTE_MS } from './testing/tls-workloads';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('l7-tls-hooks');
const noOpenssl = !rig.skip && missingPrerequisite(hasOpenssl(), 'openssl is not installed (bash scripts/install-system-deps.sh test)');
/** Binary files the collector's TLS hooks are attached to now. */
const attachedFiles = (c: Collector): string[] => c.tls()!.attachedFiles();
/** New binaries are found by a /proc rescan: every 500 ms here (default 5 s). */
const SCAN_MS = 500;

let cert: TlsCert;
let lateNode: string;
/** The certificate, and a copy of the node binary (named node, as the hooks look for): another file, same symbols. */
function setup(): void {
  cert ??= makeSelfSignedCert(rig.file('cert'));
  if (!lateNode) {
    lateNode = path.join(rig.file('bin'), 'node');
    fs.mkdirSync(path.dirname(lateNode));
    fs.copyFileSync(fs.realpathSync(process.execPath), lateNode);
    fs.chmodSync(lateNode, 0o755);
  }
}

/** The HTTPS mix server run by `binary`; `mix()` runs the mix client (same binary) against it. */
async function serverFrom(binary: string): Promise<{ port: number; peers: HttpMix; mix(): Promise<void> }> {
  const peers = new HttpMix(cert, binary);
  rig.onClose(() => peers.close());
  const port = await peers.server(SLOW_ROUTE_MS);
  return { port, peers, mix: async () => expect((await peers.client(port, { sequence: MIX })).counts).toEqual(MIX_COUNTS) };
}

const recordsTo = (port: number) =>
  rig.rows(
    `SELECT http_method AS m, http_path AS p, http_code AS c, count(*)::int AS n FROM l7_events
      WHERE dst_port = $1 AND protocol = 'http' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [port],
  );
const sources = (port: number) =>
  rig.rows(`SELECT DISTINCT src_process AS process, tls FROM l7_events WHERE dst_port = $1 ORDER BY 1, 2`, [port]);
const connections = (port: number) => rig.count(`SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND final`, [port]);

describe.skipIf(rig.skip || noOpenssl)('TLS hooks follow binaries on the real kernel', () => {
  it('a node binary first run after the collector started is hooked and decoded; when its processes exit it is detached', async () => {
    setup();
    const c = await rig.startCollector({ l7Mode: 'full', tlsScanMs: SCAN_MS });
    expect(attachedFiles(c)).not.toContain(lateNode);
    // The server from the copy starts: a rescan finds it and attaches the file (its inode: every process of it).
    const { port, peers, mix } = await serverFrom(lateNode);
    const hooked = await waitFor(
      async () => attachedFiles(c),
      (files) => files.includes(lateNode),
      10_000,
    );
    expect(hooked).toContain(lateNode);
    await mix();
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND type = 'RESPONSE'`, [port], MIX.length);
    peers.close(); // the server exits too: nothing maps the copy any more
    const detached = await waitFor(
      async () => attachedFiles(c),
      (files) => !files.includes(lateNode),
      20_000,
    );
    await settle();
    await c.stop();
    expect(detached).not.toContain(lateNode);
    expect(await recordsTo(port)).toEqual(MIX_ROWS);
    expect(await sources(port)).toEqual([{ process: 'node', tls: 'node' }]);
  });

  /** Final connection rows to a port by L7 decode class (the client's row: a same-host server side has none). */
  const coverageOf = async (port: number) =>
    (
      (await rig.rows(
        `SELECT l7_coverage, count(*) AS n FROM flows WHERE dst_port = $1 AND final AND l7_coverage IS NOT NULL GROUP BY 1 ORDER BY 1`,
        [port],
      )) as { l7_coverage: string; n: string }[]
    ).map((r) => ({ l7_coverage: r.l7_coverage, n: Number(r.n) }));

  it('a binary in SEXTANT_TLS_EXCLUDE: its TLS connections are flows with no L7 record; the system node in the same run is decoded', async () => {
    setup();
    const c = await rig.startCollector({ l7Mode: 'full', tlsScanMs: SCAN_MS, tlsExclude: [lateNode] });
    const excluded = await serverFrom(lateNode);
    const decoded = await serverFrom(fs.realpathSync(process.execPath));
    // Two rescans at least: the excluded file's server was seen and left alone.
    const scans = c.tls()!.stats.scans;
    await waitFor(
      async () => c.tls()!.stats.scans,
      (n) => n >= scans + 2,
      10_000,
    );
    await excluded.mix();
    await decoded.mix();
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND type = 'RESPONSE'`, [decoded.port], MIX.length);
    await rig.waitCount(`SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND final`, [excluded.port], 1);
    expect(attachedFiles(c)).not.toContain(lateNode);
    expect(c.tls()!.stats.excludedFiles).toBe(1);
    await settle();
    await c.stop();
    expect(await recordsTo(decoded.port)).toEqual(MIX_ROWS);
    expect(await connections(excluded.port)).toBe(1);
    expect(await rig.count(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [excluded.port])).toBe(0);
    // What the per-workload coverage reads: the excluded workload's connection is TLS not decoded, the other's decoded.
    expect(await coverageOf(excluded.port)).toEqual([{ l7_coverage: 'tls-undecoded', n: 1 }]);
    expect(await coverageOf(decoded.port)).toEqual([{ l7_coverage: 'tls-node', n: 1 }]);
  });

  it('a node binary at a path that exists only in its own mount namespace (a container) is hooked through /proc/<pid>/root', async () => {
    setup();
    // The namespace: a tmpfs over an empty directory, holding a copy of node of its own (another inode than any file
    // hooked already). Outside it the directory stays empty.
    const dir = rig.file('ns');
    fs.mkdirSync(dir);
    const mountScript = 'mount -t tmpfs sextant-ns "$0" && cp "$1" "$0/node" && echo ready && exec sleep 120';
    const unshare = ['-m', '--propagation', 'private', 'sh', '-c', mountScript, dir, fs.realpathSync(process.execPath)];
    const holder = rig.spawn('unshare', unshare, { stdio: ['ignore', 'pipe', 'inherit'] });
    expect(await firstLine(holder)).toBe('ready');
    const inside = path.join(dir, 'node');
    expect(fs.existsSync(inside)).toBe(false);
    // The peers run that copy inside the namespace (a wrapper the mix spawns as its node binary).
    const wrapper = path.join(rig.file('wrap'), 'ns-node');
    fs.mkdirSync(path.dirname(wrapper));
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec nsenter -t ${holder.pid} -m ${inside} "$@"\n`, { mode: 0o755 });
    const c = await rig.startCollector({ l7Mode: 'full', tlsScanMs: SCAN_MS });
    const { port, peers, mix } = await serverFrom(wrapper);
    const hooked = await waitFor(
      async () => attachedFiles(c),
      (files) => files.includes(inside),
      10_000,
    );
    expect(hooked).toContain(inside);
    await mix();
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND type = 'RESPONSE'`, [port], MIX.length);
    await settle();
    await c.stop();
    peers.close();
    expect(await recordsTo(port)).toEqual(MIX_ROWS);
    expect(await sources(port)).toEqual([{ process: 'node', tls: 'node' }]);
  });
});
