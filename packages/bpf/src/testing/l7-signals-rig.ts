/**
 * Rig of the L7 signals mode's kernel tests (l7-signals*.test.ts): probes in a chosen L7 mode with their records
 * collected, a loopback HTTP server with known answers and a keep-alive client, a known request mix, and the
 * kernel aggregates drained and counted per (method, status).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { SX_DIR_CLIENT } from '../generated/events';
import { SextantProbes, type L7AggregateRecord, type L7Mode } from '../probes';
import { settle as kernelSettle } from './kernel';

export const SLOW_NS = 800_000_000;
export const SLOW_DELAY_MS = 900;
export const BIG_BODY = 'x'.repeat(300_000);
export const comm = fs.readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim();

export interface Rec {
  kept: number;
  direction: number;
  role: number;
  protocol: number;
  sport: number;
  dport: number;
  sockIno: bigint;
  totalLen: number;
  xseq: number;
  text: string;
}

let open: SextantProbes | undefined;
let got: Rec[] = [];
const cleanups: (() => void)[] = [];

/** The probes the test started (start). */
export function probes(): SextantProbes {
  if (!open) throw new Error('l7-signals rig: start() first');
  return open;
}

/** Every L7 record the probes emitted since start, in arrival order. */
export const records = (): Rec[] => got;

/** Runs `fn` when the test ends (before the probes close). */
export const onCleanup = (fn: () => void): void => void cleanups.push(fn);

/** For afterEach: the test's servers and sockets closed, then its probes. */
export function stop(): void {
  for (const c of cleanups.splice(0)) c();
  open?.close();
  open = undefined;
}

/**
 * Probes in `l7Mode` with `budgetPerSec`, their L7 records collected, and an HTTP server on a loopback port:
 * /ok → 200, /fail → 503, /slow → 200 after SLOW_DELAY_MS, /hang → connection closed unanswered,
 * /big/<status> → that status with a 300 kB body. Returns its port and a keep-alive agent (4 sockets).
 */
export async function start(
  l7Mode: L7Mode,
  budgetPerSec: number,
  opts: { captureLoopbackServers?: boolean; recordAllUntilNs?: bigint; l7AggSlots?: number } = {},
) {
  got = [];
  open = SextantProbes.open({
    l7Mode,
    cgroupRoot: null,
    updateIntervalMs: 0,
    captureLoopbackServers: opts.captureLoopbackServers,
    l7AggSlots: opts.l7AggSlots,
  });
  open.setL7Config({ slowNs: SLOW_NS, recordAllUntilNs: opts.recordAllUntilNs ?? 0n, budgetPerSec });
  open.onL7Events((batch) => {
    for (const r of batch) {
      const h = r.header();
      got.push({ ...h, kept: r.kept, text: r.data().toString('latin1') });
    }
  });
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const kind = req.url?.split('/')[1];
      if (kind === 'fail') {
        res.statusCode = 503;
        res.end('unavailable');
      } else if (kind === 'slow') setTimeout(() => res.end('late'), SLOW_DELAY_MS);
      else if (kind === 'hang') req.socket.destroy();
      else if (kind === 'big') {
        res.statusCode = Number(req.url?.split('/')[2]);
        res.end(BIG_BODY);
      } else res.end('ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  cleanups.push(() => {
    agent.destroy();
    srv.closeAllConnections();
    srv.close();
  });
  return { port, agent };
}

export function request(port: number, agent: http.Agent, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** N GET /ok, M POST /fail (503), K GET /slow (200 after the slow threshold). */
export async function mix(port: number, agent: http.Agent, n: number, m: number, k: number): Promise<void> {
  const slow = Array.from({ length: k }, (_, i) => request(port, agent, 'GET', `/slow/${i}`));
  for (let i = 0; i < n; i++) expect(await request(port, agent, 'GET', `/ok/${i}`)).toBe(200);
  for (let i = 0; i < m; i++) expect(await request(port, agent, 'POST', `/fail/${i}`, 'payload')).toBe(503);
  expect(await Promise.all(slow)).toEqual(Array(k).fill(200));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `pred` holds (5 s at most), then 300 ms more for stragglers. */
export const settle = (pred: () => boolean): Promise<void> => kernelSettle(pred, 5_000, 300);

/** Both generations drained: everything aggregated so far. */
export async function drainAll(): Promise<L7AggregateRecord[]> {
  return [...(await probes().drainL7Aggregates()), ...(await probes().drainL7Aggregates())];
}

export const forPort = (aggs: L7AggregateRecord[], port: number, role: 'client' | 'server' = 'client') =>
  aggs.filter((a) => a.role === role && (role === 'client' ? a.rport : a.lport) === port);

/** Everything aggregated so far for one server port and role. */
export async function aggregates(port: number, role: 'client' | 'server' = 'client'): Promise<L7AggregateRecord[]> {
  return forPort(await drainAll(), port, role);
}

/** count per "METHOD status", summed over keys. */
export function counts(aggs: L7AggregateRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of aggs) out[`${a.method} ${a.status}`] = (out[`${a.method} ${a.status}`] ?? 0) + a.count;
  return out;
}

export const clientRecords = (port: number) => got.filter((r) => r.role === SX_DIR_CLIENT && r.dport === port);
export const requestLine = (r: Rec) => r.text.split('\r\n')[0];
