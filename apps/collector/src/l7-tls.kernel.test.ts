/**
 * TLS on the real kernel, end to end (#17): real TLS peers (curl → nginx over HTTPS in front of the HTTP mix, node
 * https client and server, h2 over TLS, gRPC over TLS; testing/tls-peers.ts) with a self-signed certificate made at
 * test time, observed by the collector, shipped into PostgreSQL and compared with what the clients saw. Whatever
 * the plaintext capture does, the syscall path must never parse ciphertext: a TLS connection is a flow with no L7
 * record made from its encrypted bytes, while the cleartext hop behind nginx (nginx → the mix server) is recorded
 * exactly in the same run, so the capture demonstrably worked.
 */
import { describe, expect, it } from 'vitest';
import { HttpMix, type SequencePlan } from './testing/http-mix';
import { hasOpenssl, makeSelfSignedCert, type TlsCert } from './testing/tls-cert';
import {
  clientTlsArg,
  curlHttps,
  expectedStatus,
  GRPC_CLIENT,
  GRPC_SERVER,
  H2_CLIENT,
  H2_SERVER,
  nginxTlsServer,
  randomTlsPort,
  serverTlsArg,
} from './testing/tls-peers';
import { firstLine, kernelRig, output, settle } from './testing/kernel-rig';
import { missingPrerequisite } from '@sextant/shared/testing';

const rig = kernelRig('l7-tls');
const noOpenssl = !rig.skip && missingPrerequisite(hasOpenssl(), 'openssl is not installed (bash scripts/install-system-deps.sh test)');

// The known mix (HTTP mix server routes): 6 × 200, 2 × 503, 2 × 404, 1 POST 201, 1 slow 200 (after SLOW_ROUTE_MS).
const MIX: SequencePlan['sequence'] = [
  ['GET', '/ok'],
  ['GET', '/fail'],
  ['GET', '/ok'],
  ['GET', '/missing'],
  ['POST', '/items'],
  ['GET', '/ok'],
  ['GET', '/slow'],
  ['GET', '/ok'],
  ['GET', '/fail'],
  ['GET', '/missing'],
  ['GET', '/ok'],
  ['GET', '/ok'],
];
const MIX_ROWS = [
  { m: 'GET', p: '/fail', c: 503, n: 2 },
  { m: 'GET', p: '/missing', c: 404, n: 2 },
  { m: 'GET', p: '/ok', c: 200, n: 6 },
  { m: 'GET', p: '/slow', c: 200, n: 1 },
  { m: 'POST', p: '/items', c: 201, n: 1 },
];
const MIX_COUNTS = { 'GET /ok 200': 6, 'GET /fail 503': 2, 'GET /missing 404': 2, 'POST /items 201': 1, 'GET /slow 200': 1 };
const SLOW_ROUTE_MS = 150;

/** L7 records of exchanges whose server listens on `port`, by method, path and status. */
const recordsTo = (port: number) =>
  rig.rows(
    `SELECT http_method AS m, http_path AS p, http_code AS c, count(*)::int AS n FROM l7_events
      WHERE dst_port = $1 AND protocol = 'http' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [port],
  );
const anyRecordsTo = (port: number) => rig.count(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [port]);
/** Distinct connections from `process` to `port` (by client port: a same-host connection is a flow row for each end). */
const connectionsTo = (port: number, process: string) =>
  rig.count(`SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND src_process = $2 AND final`, [port, process]);

// h2: 24 requests started at once on one session (slow ones stay in flight 300 ms while the rest come and go).
const H2_PLAN: [string, string, string?][] = Array.from({ length: 24 }, (_, i) => {
  const kind = i % 6;
  if (kind === 0) return ['GET', '/slow'];
  if (kind === 1) return ['POST', '/items', `{"n":${i}}`];
  if (kind === 2) return ['GET', '/missing'];
  if (kind === 3) return ['DELETE', '/fail'];
  return ['GET', `/users/${i}`];
});
// gRPC: unary and server streaming, one call at a time on one channel; the status codes the server answers.
const GRPC_PLAN = [
  ['Get', 'a'],
  ['Get', 'missing'],
  ['List', 'abc'],
  ['Get', 'boom'],
  ['List', 'flaky'],
  ['Get', 'b'],
  ['List', ''],
];
const GRPC_CODES = [0, 5, 0, 13, 14, 0, 0];

let cert: TlsCert;
const certificate = (): TlsCert => (cert ??= makeSelfSignedCert(rig.file('cert')));

describe.skipIf(rig.skip || noOpenssl)('TLS on the real kernel', () => {
  it('curl → nginx over HTTPS and node https client → node https server: exchanges complete, connections recorded, nothing parsed from ciphertext', async () => {
    const tls = certificate();
    const upstream = new HttpMix();
    const https = new HttpMix(tls);
    rig.onClose(() => (upstream.close(), https.close()));
    const upstreamPort = await upstream.server(SLOW_ROUTE_MS);
    const httpsPort = await https.server(SLOW_ROUTE_MS);
    const tlsPort = randomTlsPort();
    await rig.nginx(nginxTlsServer(tls, tlsPort, upstreamPort));
    const c = await rig.startCollector({ l7Mode: 'full' });

    const curl = await curlHttps(tls, tlsPort, MIX);
    expect(curl.map((r) => [r.method, r.path, r.status])).toEqual(MIX.map(([m, p]) => [m, p, expectedStatus(m, p)]));
    const node = await https.client(httpsPort, { sequence: MIX });
    expect(node.counts).toEqual(MIX_COUNTS);

    // The cleartext hop behind nginx is recorded exactly: the capture worked in this run.
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'http'`, [upstreamPort], MIX.length);
    await rig.waitCount(`SELECT count(DISTINCT flow_id) AS n FROM flows WHERE dst_port = $1 AND final`, [httpsPort], 1);
    await rig.waitCount(`SELECT count(DISTINCT flow_id) AS n FROM flows WHERE dst_port = $1 AND final`, [tlsPort], 1);
    await settle();
    await c.stop();
    expect(await recordsTo(upstreamPort)).toEqual(MIX_ROWS);
    // One connection each (curl reuses its connection across its requests; the node agent keeps one alive).
    expect(await connectionsTo(tlsPort, 'curl')).toBe(1);
    expect(await connectionsTo(httpsPort, 'node')).toBe(1);
    // No L7 record from the encrypted bytes of either TLS connection.
    expect(await anyRecordsTo(tlsPort)).toBe(0);
    expect(await anyRecordsTo(httpsPort)).toBe(0);
  });

  it('h2 over TLS (24 streams in flight on one session) and gRPC over TLS: every call answered as planned, one connection each, nothing parsed from ciphertext', async () => {
    const tls = certificate();
    const h2Port = Number(await firstLine(rig.node(H2_SERVER, ['300', serverTlsArg(tls)])));
    const grpcPort = Number(await firstLine(rig.node(GRPC_SERVER, [serverTlsArg(tls)])));
    const c = await rig.startCollector({ l7Mode: 'full', l7CaptureBytes: 4096 });
    const h2 = JSON.parse(await output(rig.node(H2_CLIENT, [String(h2Port), JSON.stringify(H2_PLAN), clientTlsArg(tls)]))) as [
      number,
      number,
    ][];
    expect(h2.map(([code]) => code)).toEqual(H2_PLAN.map(([m, p]) => expectedStatus(m, p)));
    const grpc = JSON.parse(await output(rig.node(GRPC_CLIENT, [String(grpcPort), JSON.stringify(GRPC_PLAN), clientTlsArg(tls)])));
    expect(grpc).toEqual(GRPC_PLAN.map(([m, k], i) => [m, k, GRPC_CODES[i]]));
    await rig.waitCount(`SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND final`, [h2Port], 1);
    await rig.waitCount(`SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND final`, [grpcPort], 1);
    await settle();
    await c.stop();
    expect(await connectionsTo(h2Port, 'node')).toBe(1);
    expect(await connectionsTo(grpcPort, 'node')).toBe(1);
    expect(await anyRecordsTo(h2Port)).toBe(0);
    expect(await anyRecordsTo(grpcPort)).toBe(0);
  });
});
