/**
 * TLS on the real kernel, end to end (#17): real TLS peers (curl → nginx over HTTPS in front of the HTTP mix, node
 * https client and server, h2 over TLS, gRPC over TLS; testing/tls-workloads.ts) with a self-signed certificate made
 * at test time, observed by the collector, shipped into PostgreSQL and compared with what the clients saw.
 * With plaintext capture (libssl and node uprobes): exact records per exchange, marked with where the plaintext came
 * from, in signals and full mode. Either way the syscall path never parses ciphertext: with capture off a TLS
 * connection is a flow with no L7 record, while the cleartext hop behind nginx is recorded exactly in the same run.
 */
import { missingPrerequisite } from '@sextant/shared/testing';
import { describe, expect, it } from 'vitest';
import { kernelRig, settle } from './testing/kernel-rig';
import { hasOpenssl, makeSelfSignedCert, type TlsCert } from './testing/tls-cert';
import {
  GRPC_CODES,
  GRPC_PLAN,
  H2_PLAN,
  H2_SLOW_MS,
  MIX,
  MIX_ROWS,
  runH2Plans,
  runHttpsMix,
  SLOW_ROUTE_MS,
  startH2Servers,
  startHttpsServers,
} from './testing/tls-workloads';
import { expectedStatus } from './testing/tls-peers';

const rig = kernelRig('l7-tls');
const noOpenssl = !rig.skip && missingPrerequisite(hasOpenssl(), 'openssl is not installed (bash scripts/install-system-deps.sh test)');

/** L7 records of exchanges whose server listens on `port`, by method, path, status, TLS source and sampling reason. */
const recordsTo = (port: number, tls = false) =>
  rig.rows(
    `SELECT http_method AS m, http_path AS p, http_code AS c, ${tls ? 'tls, sampling AS s,' : ''} count(*)::int AS n FROM l7_events
      WHERE dst_port = $1 AND protocol = 'http' GROUP BY ${tls ? '1, 2, 3, 4, 5' : '1, 2, 3'} ORDER BY ${tls ? '1, 2, 3, 4, 5' : '1, 2, 3'}`,
    [port],
  );
const anyRecordsTo = (port: number) => rig.count(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [port]);
/** Distinct connections from `process` to `port` (by client port: a same-host connection is a flow row for each end). */
const connectionsTo = (port: number, process: string) =>
  rig.count(`SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND src_process = $2 AND final`, [port, process]);
const finalConnections = `SELECT count(DISTINCT src_port) AS n FROM flows WHERE dst_port = $1 AND final`;

let cert: TlsCert;
const certificate = (): TlsCert => (cert ??= makeSelfSignedCert(rig.file('cert')));

describe.skipIf(rig.skip || noOpenssl)('TLS with plaintext capture off: nothing parsed from ciphertext', () => {
  it('curl → nginx over HTTPS and node https client → server: exchanges complete, one connection each, no L7 record from TLS bytes', async () => {
    const tls = certificate();
    const servers = await startHttpsServers(rig, tls);
    const c = await rig.startCollector({ l7Mode: 'full', tls: 'off' });
    await runHttpsMix(tls, servers);
    // The cleartext hop behind nginx is recorded exactly: the capture worked in this run.
    await rig.waitCount(
      `SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'http'`,
      [servers.upstreamPort],
      MIX.length,
    );
    await rig.waitCount(finalConnections, [servers.httpsPort], 1);
    await rig.waitCount(finalConnections, [servers.tlsPort], 1);
    await settle();
    await c.stop();
    expect(await recordsTo(servers.upstreamPort)).toEqual(MIX_ROWS);
    // One connection each (curl reuses its connection across its requests; the node agent keeps one alive).
    expect(await connectionsTo(servers.tlsPort, 'curl')).toBe(1);
    expect(await connectionsTo(servers.httpsPort, 'node')).toBe(1);
    expect(await anyRecordsTo(servers.tlsPort)).toBe(0);
    expect(await anyRecordsTo(servers.httpsPort)).toBe(0);
  });

  it('h2 over TLS (24 streams in flight on one session) and gRPC over TLS: every call answered, one connection each, no L7 record', async () => {
    const tls = certificate();
    const ports = await startH2Servers(rig, tls);
    const c = await rig.startCollector({ l7Mode: 'full', l7CaptureBytes: 4096, tls: 'off' });
    await runH2Plans(rig, tls, ports);
    await rig.waitCount(finalConnections, [ports.h2Port], 1);
    await rig.waitCount(finalConnections, [ports.grpcPort], 1);
    await settle();
    await c.stop();
    expect(await connectionsTo(ports.h2Port, 'node')).toBe(1);
    expect(await connectionsTo(ports.grpcPort, 'node')).toBe(1);
    expect(await anyRecordsTo(ports.h2Port)).toBe(0);
    expect(await anyRecordsTo(ports.grpcPort)).toBe(0);
  });
});

describe.skipIf(rig.skip || noOpenssl)('TLS plaintext capture on the real kernel', () => {
  /** edge_minute HTTP requests and errors into `port`'s service, after ingest (each exchange counted once). */
  const edgeTotals = async (service: string) =>
    (
      await rig.rows(
        `SELECT coalesce(sum(requests), 0)::int AS requests, coalesce(sum(errors), 0)::int AS errors FROM edge_minute
          WHERE dst_service = $1 AND protocol = 'http'`,
        [service],
      )
    )[0];

  it.each(['signals', 'full'] as const)(
    '%s mode: curl → nginx (libssl) and node https (node) — exact records by method, path and status, tls set, latencies bounded',
    async (mode) => {
      const tls = certificate();
      const servers = await startHttpsServers(rig, tls);
      const nginxService = `tls-nginx-${mode}`;
      const nodeService = `tls-node-${mode}`;
      // Every exchange recorded in signals mode too (budget far above the mix, nothing near the slow threshold).
      const c = await rig.startCollector({
        l7Mode: mode,
        l7RecordBudget: 100_000,
        l7SlowMs: 60_000,
        rules: [
          { service: nginxService, match: { port: servers.tlsPort } },
          { service: nodeService, match: { port: servers.httpsPort } },
        ],
      });
      const truth = await runHttpsMix(tls, servers);
      const responses = `SELECT count(*) AS n FROM l7_events WHERE dst_port = $1 AND protocol = 'http' AND type = 'RESPONSE'`;
      await rig.waitCount(responses, [servers.tlsPort], MIX.length);
      await rig.waitCount(responses, [servers.httpsPort], MIX.length);
      await settle();
      await c.stop();
      const expected = (source: string) =>
        MIX_ROWS.map(({ m, p, c, n }) => ({ m, p, c, tls: source, s: mode === 'full' ? null : c >= 500 ? 'error' : 'sampled', n }));
      expect(await recordsTo(servers.tlsPort, true)).toEqual(expected('openssl'));
      expect(await recordsTo(servers.httpsPort, true)).toEqual(expected('node'));
      // Nothing else on those connections: every record is a response, from the client's plaintext.
      const who = await rig.rows(
        `SELECT dst_port AS port, type, src_process, dst_service, count(*)::int AS n FROM l7_events WHERE dst_port IN ($1, $2) GROUP BY 1, 2, 3, 4 ORDER BY 1`,
        [servers.tlsPort, servers.httpsPort],
      );
      expect(who.toSorted((a, b) => a.port - b.port)).toEqual(
        [
          { port: servers.tlsPort, type: 'RESPONSE', src_process: 'curl', dst_service: nginxService, n: MIX.length },
          { port: servers.httpsPort, type: 'RESPONSE', src_process: 'node', dst_service: nodeService, n: MIX.length },
        ].toSorted((a, b) => a.port - b.port),
      );
      // Latency of the slow exchange, bounded by causality: at least the server's timer (libuv may fire up to 1 ms
      // early), at most what the client measured around it (curl's start stamp can come after its request reached
      // the socket: 1 % + 0.05 ms, as in the cleartext tests).
      const slow = async (port: number) =>
        Number((await rig.rows(`SELECT latency_ns FROM l7_events WHERE dst_port = $1 AND http_path = '/slow'`, [port]))[0]?.latency_ns);
      const curlSlow = truth.curl.find((r) => r.path === '/slow')!.firstByteSeconds * 1e9;
      const nginxSlow = await slow(servers.tlsPort);
      expect(nginxSlow).toBeGreaterThanOrEqual((SLOW_ROUTE_MS - 1) * 1e6);
      expect(nginxSlow).toBeLessThanOrEqual(curlSlow * 1.01 + 0.05e6);
      const nodeSlow = await slow(servers.httpsPort);
      expect(nodeSlow).toBeGreaterThanOrEqual((SLOW_ROUTE_MS - 1) * 1e6);
      expect(nodeSlow).toBeLessThanOrEqual(truth.node.slowNs[0]!);
      // Each exchange counted once in the rollups (by the kernel's aggregates or by its record), errors exact.
      expect(await edgeTotals(nginxService)).toEqual({ requests: MIX.length, errors: 2 });
      expect(await edgeTotals(nodeService)).toEqual({ requests: MIX.length, errors: 2 });
      // Every record joins its TLS connection's flow.
      const joined = await rig.count(
        `SELECT count(DISTINCT l.event_id) AS n FROM l7_events l JOIN flows f ON f.flow_id = l.flow_id WHERE l.dst_port IN ($1, $2)`,
        [servers.tlsPort, servers.httpsPort],
      );
      expect(joined).toBe(2 * MIX.length);
    },
  );

  it('h2 over TLS, 24 streams at once on one session, and gRPC over TLS: exact method, path, status and grpc-status per call', async () => {
    const tls = certificate();
    const ports = await startH2Servers(rig, tls);
    // Signals mode (the default): HTTP/2 sockets take the full path in it, every stream a record.
    const c = await rig.startCollector({ l7CaptureBytes: 4096 });
    const h2 = await runH2Plans(rig, tls, ports);
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [ports.h2Port], H2_PLAN.length);
    await rig.waitCount(`SELECT count(*) AS n FROM l7_events WHERE dst_port = $1`, [ports.grpcPort], GRPC_PLAN.length);
    await settle();
    await c.stop();
    const streams = await rig.rows(
      `SELECT (detail->>'streamId')::int AS s, http_method AS m, http_path AS p, http_code AS c, tls, detail->>'notDecodable' AS nd,
              latency_ns FROM l7_events WHERE dst_port = $1 ORDER BY 1`,
      [ports.h2Port],
    );
    expect(streams.map(({ latency_ns: _, ...r }) => r)).toEqual(
      H2_PLAN.map(([m, p], i) => ({ s: 2 * i + 1, m, p, c: expectedStatus(m, p), tls: 'node', nd: null })),
    );
    // Slow streams: at least the server's timer, at most what the client saw for that stream.
    streams.forEach((r, i) => {
      if (H2_PLAN[i]![1] !== '/slow') return;
      expect(Number(r.latency_ns)).toBeGreaterThanOrEqual((H2_SLOW_MS - 1) * 1e6);
      expect(Number(r.latency_ns)).toBeLessThanOrEqual(h2[i]![1]);
    });
    const calls = await rig.rows(
      `SELECT (detail->>'streamId')::int AS s, http_path AS p, detail->'grpc'->>'method' AS gm, (detail->'grpc'->>'status')::int AS gs, tls
         FROM l7_events WHERE dst_port = $1 ORDER BY 1`,
      [ports.grpcPort],
    );
    expect(calls).toEqual(GRPC_PLAN.map(([m], i) => ({ s: 2 * i + 1, p: `/test.Store/${m}`, gm: m, gs: GRPC_CODES[i], tls: 'node' })));
  });
});
