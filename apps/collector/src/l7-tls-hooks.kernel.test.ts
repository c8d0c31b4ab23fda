/**
 * TLS hooks' lifecycle on the real kernel (#17): the uprobes follow binary files, so a copy of the node binary is a
 * file the collector has never seen. A TLS workload run from that copy after the collector started is decoded
 * (attached as it appears); once its processes exit the file is detached; a copy listed in SEXTANT_TLS_EXCLUDE is
 * never hooked — its connections are flows without L7 records — while the same workload from the system node binary
 * in the same run is decoded exactly. Ground truth: what the HTTP mix client counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { missingPrerequisite } from '@sextant/shared/testing';
import { describe, expect, it } from 'vitest';
import type { Collector } from './collector';
import { CollectorConfig } from './env';
import { HttpMix } from './testing/http-mix';
import { kernelRig, settle, type RigCollectorOptions } from './testing/kernel-rig';
import { hasOpenssl, makeSelfSignedCert, type TlsCert } from './testing/tls-cert';
import { MIX, MIX_COUNTS, MIX_ROWS, SLOW_ROUTE_MS } from './testing/tls-workloads';
import { waitFor } from './testing/wait-for';

const rig = kernelRig('l7-tls-hooks');
const noOpenssl = !rig.skip && missingPrerequisite(hasOpenssl(), 'openssl is not installed (bash scripts/install-system-deps.sh test)');
const tlsCaptureBuilt = 'tls' in (CollectorConfig.shape as Record<string, unknown>);
/** SEXTANT_TLS_EXCLUDE as a collector option (the TLS hooks' contract). */
const excluding = (paths: string[]): RigCollectorOptions => ({ tlsExclude: paths }) as unknown as RigCollectorOptions;
/** Binary files the collector's TLS hooks are attached to now (the hooks' health surface). */
const attachedFiles = (c: Collector): string[] =>
  (c as unknown as { tlsHooks: { attachedFiles(): string[] } }).tlsHooks.attachedFiles().map((f) => fs.realpathSync(f));

let cert: TlsCert;
let lateNode: string;
/** The certificate, and a copy of the node binary: another file (inode) with the same OpenSSL symbols. */
function setup(): void {
  cert ??= makeSelfSignedCert(rig.file('cert'));
  if (!lateNode) {
    lateNode = path.join(rig.file('bin'), 'node-late');
    fs.mkdirSync(path.dirname(lateNode));
    fs.copyFileSync(fs.realpathSync(process.execPath), lateNode);
    fs.chmodSync(lateNode, 0o755);
  }
}

/** The mix over HTTPS, server and client both run by `binary`; returns the server's port once the client got it all. */
async function mixFrom(binary: string): Promise<{ port: number; peers: HttpMix }> {
  const peers = new HttpMix(cert, binary);
  rig.onClose(() => peers.close());
  const port = await peers.server(SLOW_ROUTE_MS);
  expect((await peers.client(port, { sequence: MIX })).counts).toEqual(MIX_COUNTS);
  return { port, peers };
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

describe.skipIf(rig.skip || noOpenssl || !tlsCaptureBuilt)('TLS hooks follow binaries on the real kernel', () => {
  it('a node binary first run after the collector started is hooked and decoded; when its processes exit it is detached', async () => {
    setup();
    const c = await rig.startCollector({ l7Mode: 'full' });
    expect(attachedFiles(c)).not.toContain(lateNode);
    const { port, peers } = await mixFrom(lateNode);
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND type = 'RESPONSE'`, [port], MIX.length);
    expect(attachedFiles(c)).toContain(lateNode);
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
    expect(await sources(port)).toEqual([{ process: 'node-late', tls: 'node' }]);
  });

  it('a binary in SEXTANT_TLS_EXCLUDE: its TLS connections are flows with no L7 record; the system node in the same run is decoded', async () => {
    setup();
    const c = await rig.startCollector({ l7Mode: 'full', ...excluding([lateNode]) });
    const excluded = await mixFrom(lateNode);
    const decoded = await mixFrom(fs.realpathSync(process.execPath));
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND type = 'RESPONSE'`, [decoded.port], MIX.length);
    await rig.waitCount(`SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND final`, [excluded.port], 1);
    expect(attachedFiles(c)).not.toContain(lateNode);
    await settle();
    await c.stop();
    expect(await recordsTo(decoded.port)).toEqual(MIX_ROWS);
    expect(await connections(excluded.port)).toBe(1);
    expect(await rig.count(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [excluded.port])).toBe(0);
  });
});
