/**
 * Interim reports of long-lived TCP connections on the real kernel: an open connection that moved bytes is
 * reported once per interval by the sweep, with cumulative counts; an idle one never; none at all when off.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { SX_CLOSE_OPEN, SX_DIR_CLIENT } from './generated/events';
import { SextantProbes, type TcpConnEvent } from './probes';
import { kernelMissing, listen, settle } from './testing/kernel';

const noKernel = kernelMissing();

describe.skipIf(noKernel)('interim reports of long-lived connections', () => {
  it('reports open connections that moved bytes once per interval, from the sweep, and never idle ones', async () => {
    const sweeper = SextantProbes.open({ updateIntervalMs: 300, l7: false });
    const seen: TcpConnEvent[] = [];
    sweeper.onTcpEvents((batch) => seen.push(...batch));
    try {
      let server: net.Socket | undefined;
      const srv = await listen((s) => {
        server = s;
        s.on('data', (d) => s.write(d)); // echo
      });
      const client = net.connect(srv.port, '127.0.0.1');
      await new Promise<void>((r) => client.on('connect', () => r()));
      const echo = async (n: number) => {
        let got = 0;
        await new Promise<void>((r) => {
          const on = (d: Buffer) => {
            got += d.length;
            if (got >= n) {
              client.off('data', on);
              r();
            }
          };
          client.on('data', on);
          client.write(Buffer.alloc(n, 7));
        });
      };
      const mine = () => seen.filter((e) => e.sport === srv.port || e.dport === srv.port);
      // The sweep covers every connection of the host the probes saw, so other traffic on a busy machine is
      // reported too: this connection's reports are told apart per sweep by their time (the sweep's clock is
      // CLOCK_MONOTONIC, as process.hrtime's).
      const sweeps: { from: bigint; to: bigint; reported: number }[] = [];
      const sweep = () => {
        const from = process.hrtime.bigint();
        const reported = sweeper.sweepConnections();
        sweeps.push({ from, to: process.hrtime.bigint(), reported });
      };
      await echo(1000);
      sweep(); // younger than the interval: none
      await new Promise((r) => setTimeout(r, 350));
      sweep(); // client and server side
      sweep(); // just reported: none
      await new Promise((r) => setTimeout(r, 350));
      sweep(); // idle since: none
      await echo(500);
      await new Promise((r) => setTimeout(r, 350));
      sweep(); // client and server side
      await settle(() => mine().length >= 4, 2_000);
      client.end();
      server?.end();
      await settle(() => mine().filter((e) => e.final).length >= 2, 3_000);
      srv.close();
      const updates = mine().filter((e) => !e.final);
      const perSweep = sweeps.map((w) => updates.filter((u) => u.endNs >= w.from && u.endNs <= w.to).length);
      expect(perSweep).toEqual([0, 2, 0, 0, 2]);
      sweeps.forEach((w, i) => expect(w.reported).toBeGreaterThanOrEqual(perSweep[i]!)); // the sweep's own count includes them
      const closes = mine().filter((e) => e.final);
      expect(updates).toHaveLength(4);
      expect(closes).toHaveLength(2);
      const clientUpdates = updates.filter((e) => e.direction === SX_DIR_CLIENT);
      // cumulative; the kernel's acked count includes the SYN's sequence number
      expect(clientUpdates.map((e) => [Number(e.bytesAcked), Number(e.bytesReceived)])).toEqual([
        [1001, 1000],
        [1501, 1500],
      ]);
      for (const u of updates) expect(u).toMatchObject({ closeReason: SX_CLOSE_OPEN, pid: process.pid });
      // the close carries the same socket id and the totals
      const clientClose = closes.find((e) => e.direction === SX_DIR_CLIENT);
      expect(clientClose?.sockId).toBe(clientUpdates[0]?.sockId);
      expect(Number(clientClose?.bytesReceived)).toBeGreaterThanOrEqual(1500);
    } finally {
      sweeper.close();
    }
  });

  // The sweep reads the clock once, then walks the socket map: a connection made during the walk and met later in
  // it is younger than the sweep's clock, its age wrapped around below zero, and it was reported microseconds old
  // (about one run of the outage e2e in 15 stored 101 client ends for its 100 curls); thousands here, unfixed.
  it('never reports a connection younger than the sweep that meets it', async () => {
    const sweeper = SextantProbes.open({ updateIntervalMs: 30_000, l7: false });
    const seen: TcpConnEvent[] = [];
    sweeper.onTcpEvents((batch) => seen.push(...batch));
    // Connections from another process (on another CPU while this one runs the sweep): 5 a millisecond, each
    // writing and ending at the answer.
    const churn = `const net = require('net');
      const srv = net.createServer((s) => { s.on('data', () => s.end('ok')); s.on('error', () => {}); });
      srv.listen(0, '127.0.0.1', () => {
        const port = srv.address().port; console.log(port);
        setInterval(() => { for (let i = 0; i < 5; i++) { const c = net.connect(port, '127.0.0.1', () => c.write('hi'));
          c.on('data', () => c.end()); c.on('error', () => {}); } }, 1);
      });`;
    const child = spawn(process.execPath, ['-e', churn], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((r) => child.stdout?.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
      const end = Date.now() + 3_000;
      let sweeps = 0;
      let reported = 0; // by the sweeps themselves (the probes are 3 s old: nothing they know is 30 s old)
      while (Date.now() < end) {
        reported += sweeper.sweepConnections();
        sweeps++;
        await new Promise((r) => setTimeout(r, 2));
      }
      child.kill('SIGKILL');
      const mine = () => seen.filter((e) => e.sport === port || e.dport === port);
      await settle(() => false, 500);
      const closes = mine().filter((e) => e.final).length;
      expect(closes, 'the churn connected').toBeGreaterThan(1_000);
      expect(sweeps).toBeGreaterThan(100);
      expect(reported, 'interim reports made in the kernel').toBe(0);
      // none of them is older than the interval (the churn ran 3 s): no interim report
      expect(mine().filter((e) => !e.final)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      sweeper.close();
    }
  });

  it('does nothing when interim reports are off', () => {
    const lean = SextantProbes.open({ updateIntervalMs: 0, l7: false });
    try {
      expect(lean.sweepConnections()).toBe(0);
    } finally {
      lean.close();
    }
  });
});
