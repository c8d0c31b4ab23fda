/**
 * The native ring reader hands JS at most maxQueuedBatches per turn of the event loop, however far behind JS is: with a queue of
 * batches, Node ran them back to back (up to 1,000 per turn) while timers and I/O waited — the collector's flushes
 * and sends stopped and its heap grew with the backlog. Real kernel, real loopback connections made by a child
 * process while this process's batch callback is slow; every event still arrives.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { SX_DIR_CLIENT } from './generated/events';
import { SextantProbes, type TcpConnEvent } from './probes';
import { kernelMissing, settle } from './testing/kernel';

const noKernel = kernelMissing();
let probes: SextantProbes | undefined;
afterAll(() => probes?.close());

/** A child process that opens and closes `n` loopback connections to a server of its own; resolves with its port. */
function churn(n: number): Promise<number> {
  const script = `
    const net = require('node:net');
    const srv = net.createServer((s) => s.on('data', () => s.end('ok'))).listen(0, '127.0.0.1', async () => {
      const port = srv.address().port;
      console.log(port);
      for (let i = 0; i < ${n}; i++)
        await new Promise((r) => { const c = net.connect(port, '127.0.0.1', () => c.write('x')); c.on('data', () => c.end()); c.on('close', r); });
      srv.close();
    });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.on('error', reject);
  });
}

describe.skipIf(noKernel)('ring reader and the event loop', () => {
  it('delivers at most maxQueuedBatches (2) in a turn while the callback is slow, and loses no event', async () => {
    probes = SextantProbes.open({ l7: false });
    let turns = 0;
    let running = true;
    const turn = () => {
      turns++;
      if (running) setImmediate(turn);
    };
    turn();
    const seenAtTurn: number[] = [];
    const events: TcpConnEvent[] = [];
    probes.onTcpEvents((batch) => {
      seenAtTurn.push(turns);
      events.push(...batch);
      const until = performance.now() + 150; // a JS side far slower than the kernel
      while (performance.now() < until);
    }, 2);
    const N = 3000;
    const port = await churn(N);
    const clients = () => events.filter((e) => e.dport === port && e.direction === SX_DIR_CLIENT && e.final);
    await settle(() => clients().length >= N, 30_000);
    running = false;
    expect(clients()).toHaveLength(N);
    // Batches queued up behind the slow callback (the reader is behind) …
    expect(seenAtTurn.length).toBeGreaterThan(4);
    // … and still at most 2 of them ran in one turn of the loop.
    const perTurn = new Map<number, number>();
    for (const t of seenAtTurn) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(2);
    expect(perTurn.size).toBeGreaterThan(1);
  }, 60_000);
});
