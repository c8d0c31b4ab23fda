/**
 * The TLS kernel tests' workloads with their ground truth: known plans (an HTTP/1 mix, 24 h2 streams at once, gRPC
 * calls with OK and error statuses) run by the real TLS peers of testing/tls-peers.ts under a kernel rig, and
 * what each client reported. Servers start before the collector (as long-running services do); clients run after.
 */
import { expect } from 'vitest';
import { HttpMix, type ClientResult, type SequencePlan } from './http-mix';
import { firstLine, output, type KernelRig } from './kernel-rig';
import type { TlsCert } from './tls-cert';
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
  type CurlResult,
} from './tls-peers';

// The HTTP/1 mix (HTTP mix server routes): 6 × 200, 2 × 503, 2 × 404, 1 POST 201, 1 slow 200 (after SLOW_ROUTE_MS).
export const MIX: SequencePlan['sequence'] = [
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
/** The mix by method, path and status, as records grouped that way come out of SQL (ordered). */
export const MIX_ROWS = [
  { m: 'GET', p: '/fail', c: 503, n: 2 },
  { m: 'GET', p: '/missing', c: 404, n: 2 },
  { m: 'GET', p: '/ok', c: 200, n: 6 },
  { m: 'GET', p: '/slow', c: 200, n: 1 },
  { m: 'POST', p: '/items', c: 201, n: 1 },
];
export const MIX_COUNTS = { 'GET /ok 200': 6, 'GET /fail 503': 2, 'GET /missing 404': 2, 'POST /items 201': 1, 'GET /slow 200': 1 };
export const SLOW_ROUTE_MS = 150;

// h2: 24 requests started at once on one session (slow ones stay in flight H2_SLOW_MS while the rest come and go).
export const H2_PLAN: [string, string, string?][] = Array.from({ length: 24 }, (_, i) => {
  const kind = i % 6;
  if (kind === 0) return ['GET', '/slow'];
  if (kind === 1) return ['POST', '/items', `{"n":${i}}`];
  if (kind === 2) return ['GET', '/missing'];
  if (kind === 3) return ['DELETE', '/fail'];
  return ['GET', `/users/${i}`];
});
export const H2_SLOW_MS = 300;
// gRPC: unary and server streaming, one call at a time on one channel, and the status codes the server answers.
export const GRPC_PLAN = [
  ['Get', 'a'],
  ['Get', 'missing'],
  ['List', 'abc'],
  ['Get', 'boom'],
  ['List', 'flaky'],
  ['Get', 'b'],
  ['List', ''],
];
export const GRPC_CODES = [0, 5, 0, 13, 14, 0, 0];

export interface HttpsServers {
  /** The cleartext mix server nginx proxies to. */
  upstreamPort: number;
  /** nginx's TLS listener (libssl). */
  tlsPort: number;
  /** The node https mix server (node's built-in OpenSSL). */
  httpsPort: number;
}

/** Starts the HTTP mix (cleartext, behind nginx), nginx over TLS in front of it, and the node https mix server. */
export async function startHttpsServers(rig: KernelRig, cert: TlsCert): Promise<HttpsServers & { https: HttpMix }> {
  const upstream = new HttpMix();
  const https = new HttpMix(cert);
  rig.onClose(() => (upstream.close(), https.close()));
  const upstreamPort = await upstream.server(SLOW_ROUTE_MS);
  const httpsPort = await https.server(SLOW_ROUTE_MS);
  const tlsPort = randomTlsPort();
  await rig.nginx(nginxTlsServer(cert, tlsPort, upstreamPort));
  return { upstreamPort, tlsPort, httpsPort, https };
}

/** curl over HTTPS to nginx, then the node https client to the node server, each the mix on one connection; checks both got it. */
export async function runHttpsMix(
  cert: TlsCert,
  servers: HttpsServers & { https: HttpMix },
): Promise<{ curl: CurlResult[]; node: ClientResult }> {
  const curl = await curlHttps(cert, servers.tlsPort, MIX);
  expect(curl.map((r) => [r.method, r.path, r.status])).toEqual(MIX.map(([m, p]) => [m, p, expectedStatus(m, p)]));
  const node = await servers.https.client(servers.httpsPort, { sequence: MIX });
  expect(node.counts).toEqual(MIX_COUNTS);
  return { curl, node };
}

/** Starts the h2-over-TLS and gRPC-over-TLS servers (node processes). */
export async function startH2Servers(rig: KernelRig, cert: TlsCert): Promise<{ h2Port: number; grpcPort: number }> {
  const h2Port = Number(await firstLine(rig.node(H2_SERVER, [String(H2_SLOW_MS), serverTlsArg(cert)])));
  const grpcPort = Number(await firstLine(rig.node(GRPC_SERVER, [serverTlsArg(cert)])));
  return { h2Port, grpcPort };
}

/** Runs the h2 plan (all at once, one session) and the gRPC plan (one channel); checks every status; returns h2's [status, ns]. */
export async function runH2Plans(rig: KernelRig, cert: TlsCert, ports: { h2Port: number; grpcPort: number }): Promise<[number, number][]> {
  const h2 = JSON.parse(await output(rig.node(H2_CLIENT, [String(ports.h2Port), JSON.stringify(H2_PLAN), clientTlsArg(cert)]))) as [
    number,
    number,
  ][];
  expect(h2.map(([code]) => code)).toEqual(H2_PLAN.map(([m, p]) => expectedStatus(m, p)));
  const grpc = JSON.parse(await output(rig.node(GRPC_CLIENT, [String(ports.grpcPort), JSON.stringify(GRPC_PLAN), clientTlsArg(cert)])));
  expect(grpc).toEqual(GRPC_PLAN.map(([m, k], i) => [m, k, GRPC_CODES[i]]));
  return h2;
}
