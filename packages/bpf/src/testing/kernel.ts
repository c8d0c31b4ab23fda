/**
 * Helpers of the probes' kernel tests: whether eBPF can run here (else the tests are skipped with the reason
 * printed; in CI that throws), loopback TCP servers and clients, and a bounded wait for events.
 */
import net from 'node:net';
import { missingPrerequisite } from '@sextant/shared/testing';
import { preflight } from '../preflight';
import { SextantProbes } from '../probes';

/** True when the kernel tests must be skipped here. */
export function kernelMissing(): boolean {
  const pf = preflight();
  return missingPrerequisite(pf.ok, `eBPF kernel tests: eBPF unavailable (${pf.ok ? '' : pf.reason})`);
}

export async function listen(handler: (s: net.Socket) => void, host = '127.0.0.1'): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, host, r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

/** One connection to 127.0.0.1:port that writes `payload` and ends at the first answer. */
export function connectOnce(port: number, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(payload));
    c.on('data', () => c.end());
    c.on('close', () => resolve());
    c.on('error', reject);
  });
}

/** Waits until `pred` holds or `ms` pass, then `strayMs` more for stragglers (events that must not come, too). */
export async function settle(pred: () => boolean, ms = 5_000, strayMs = 200): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !pred()) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, strayMs)); // and let stragglers arrive
}

/** An L7 record as the capture-hook tests compare them: the header fields they check and the bytes as latin1. */
export interface CapturedRecord {
  pid: number;
  ino: bigint;
  sockId: bigint;
  direction: number;
  syscall: number;
  protocol: number;
  /** the record header's time (CLOCK_MONOTONIC ns): a write's when it went out, a read's when its data arrived */
  tsNs: bigint;
  data: string;
}

/**
 * Probes in full mode on the given hooks, loopback servers captured too, every L7 record collected into the list
 * returned (close the probes when done).
 */
export function openFullCapture(
  l7Hooks: 'sock' | 'syscalls',
  opts: { captureLoopbackServers?: boolean } = {},
): { probes: SextantProbes; recs: CapturedRecord[] } {
  const recs: CapturedRecord[] = [];
  const probes = SextantProbes.open({
    l7Hooks,
    l7Mode: 'full',
    captureLoopbackServers: opts.captureLoopbackServers ?? true,
    cgroupRoot: null,
    updateIntervalMs: 0,
    tls: false,
  });
  probes.onL7Events((batch) => {
    for (const r of batch) {
      const h = r.header();
      recs.push({
        pid: h.pid,
        ino: h.sockIno,
        sockId: h.sockId,
        direction: h.direction,
        syscall: h.syscall,
        protocol: h.protocol,
        tsNs: h.tsNs,
        data: r.data().toString('latin1'),
      });
    }
  });
  return { probes, recs };
}
