/**
 * The probes on the real kernel with real traffic on loopback: exact event counts against what the test
 * itself did, for TCP connections and listeners, and the probes' own lifecycle (loss counters, programs
 * attached and detached, ring size). Interim reports and UDP have files of their own. Skipped (with the
 * reason printed) only where eBPF cannot run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SX_CLOSE_CLOSED,
  SX_CLOSE_REFUSED,
  SX_CLOSE_RESET,
  SX_DIR_CLIENT,
  SX_DIR_SERVER,
  SX_HIST_TCP_CONNECT,
  SX_TCP_EVENT_SIZE,
} from './generated/events';
import { resolveRings } from './probe-options';
import { SextantProbes, type ProbeOptions, type TcpConnEvent } from './probes';
import { connectOnce, kernelMissing, listen, settle } from './testing/kernel';

const noKernel = kernelMissing();

let probes: SextantProbes;
const events: TcpConnEvent[] = [];
// A server that was listening before the probes were loaded.
let early: { port: number; close: () => void } | undefined;

beforeAll(async () => {
  if (noKernel) return;
  early = await listen((s) => s.on('data', () => s.end('ok')));
  probes = SextantProbes.open({ cgroupRoot: '/sys/fs/cgroup/unified' });
  probes.onTcpEvents((batch) => events.push(...batch));
});
afterAll(() => {
  probes?.close();
  early?.close();
});

describe.skipIf(noKernel)('TCP lifecycle', () => {
  it('reports exactly N client and N server connections with pids and byte counts', async () => {
    const srv = await listen((s) => s.on('data', (d) => s.end(`echo:${d}`)));
    const N = 25;
    for (let i = 0; i < N; i++) await connectOnce(srv.port, 'hello-sextant');
    const mine = () => events.filter((e) => e.dport === srv.port || e.sport === srv.port);
    await settle(() => mine().length >= 2 * N);
    srv.close();
    const clients = mine().filter((e) => e.direction === SX_DIR_CLIENT);
    const servers = mine().filter((e) => e.direction === SX_DIR_SERVER);
    expect(clients).toHaveLength(N);
    expect(servers).toHaveLength(N);
    for (const c of clients) {
      expect(c).toMatchObject({
        pid: process.pid,
        saddr: '127.0.0.1',
        daddr: '127.0.0.1',
        dport: srv.port,
        closeReason: SX_CLOSE_CLOSED,
        final: 1,
      });
      // Kernel accounting counts sequence space: payload plus at most SYN and FIN.
      expect(Number(c.bytesAcked)).toBeGreaterThanOrEqual(13);
      expect(Number(c.bytesAcked)).toBeLessThanOrEqual(15);
      expect(Number(c.bytesReceived)).toBeGreaterThanOrEqual(18);
      expect(Number(c.bytesReceived)).toBeLessThanOrEqual(20);
      expect(Number(c.connectNs)).toBeGreaterThan(0);
      expect(c.comm.length).toBeGreaterThan(0);
    }
    // The accepting side is attributed to the process listening on the port, not the softirq's task.
    for (const s of servers) expect(s).toMatchObject({ pid: process.pid, sport: srv.port, closeReason: SX_CLOSE_CLOSED });
    const hist = probes.readAndResetHistograms().filter((h) => h.remotePort === srv.port && h.kind === SX_HIST_TCP_CONNECT);
    expect(hist.reduce((a, h) => a + h.cnt.reduce((x, y) => x + y, 0), 0)).toBe(N);
  });

  it('reports an IPv4 client of a dual-stack server as IPv4 on both sides, and an IPv6 one as IPv6', async () => {
    const srv = await listen((s) => s.on('data', () => s.end('ok')), '::');
    await connectOnce(srv.port, 'v4');
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(srv.port, '::1', () => c.write('v6'));
      c.on('data', () => c.end());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
    const server = () => events.filter((e) => e.sport === srv.port && e.direction === SX_DIR_SERVER);
    await settle(() => server().length >= 2);
    srv.close();
    const byPeer = Object.fromEntries(server().map((e) => [e.daddr, e]));
    expect(Object.keys(byPeer).sort()).toEqual(['127.0.0.1', '::1']);
    // the server's socket is IPv6 (bound to ::); its IPv4 peer is v4-mapped in the kernel
    expect(byPeer['127.0.0.1']).toMatchObject({ family: 4, saddr: '127.0.0.1' });
    expect(byPeer['::1']).toMatchObject({ family: 6, saddr: '::1' });
  });

  it('knows who listens on a port: from listen() since load, older listeners once seeded, and forgets closed ones', async () => {
    const srv = await listen((s) => s.on('data', () => s.end('ok')));
    expect(probes.listener(srv.port)).toMatchObject({ family: 4, port: srv.port, pid: process.pid });
    expect(probes.listener(srv.port)?.comm.length).toBeGreaterThan(0);
    // Listening before the load: unknown to the kernel side, so the connections it accepts have no process...
    const port = early!.port;
    expect(probes.listener(port)).toBeUndefined();
    await connectOnce(port, 'before');
    const accepted = () => events.filter((e) => e.direction === SX_DIR_SERVER && e.sport === port);
    await settle(() => accepted().length >= 1);
    expect(accepted().map((e) => e.pid)).toEqual([0]);
    // ...until the collector seeds it (from /proc); what the kernel recorded itself is not overwritten.
    expect(
      probes.seedListeners([
        { family: 4, port, pid: process.pid, comm: 'seeded' },
        { family: 4, port: srv.port, pid: 1, comm: 'init' },
      ]),
    ).toBe(1);
    expect(probes.listener(srv.port)?.pid).toBe(process.pid);
    await connectOnce(port, 'after');
    await settle(() => accepted().length >= 2);
    expect(accepted().map((e) => [e.pid, e.comm])).toEqual([
      [0, ''],
      [process.pid, 'seeded'],
    ]);
    srv.close();
    await settle(() => probes.listener(srv.port) === undefined, 2_000);
    expect(probes.listener(srv.port)).toBeUndefined();
  });

  it('reports a refused connect, and not the drop of its SYN as well', async () => {
    const probe = await listen(() => {});
    const port = probe.port;
    probe.close(); // nothing listens there any more
    await new Promise((r) => setTimeout(r, 50));
    // From an IPv4 socket, and from an IPv6 one to the v4-mapped address (its SYN goes out as IPv4).
    await new Promise<void>((resolve) => net.connect(port, '127.0.0.1').on('error', () => resolve()));
    await new Promise<void>((resolve) => net.connect(port, '::ffff:127.0.0.1').on('error', () => resolve()));
    await settle(() => events.filter((e) => e.dport === port && e.direction === SX_DIR_CLIENT).length >= 2);
    const refused = events.filter((e) => e.dport === port && e.direction === SX_DIR_CLIENT);
    expect(refused).toHaveLength(2);
    for (const e of refused) expect(e).toMatchObject({ closeReason: SX_CLOSE_REFUSED, rstRecv: 1 });
    // The kernel dropped each SYN (NO_SOCKET) just before refusing it: the refused socket's close forgets
    // that drop, so the connect is one record.
    expect(probes.drainDrops().filter((d) => d.protocol === 6 && d.dstPort === port)).toEqual([]);
  });

  it('reports resets on both sides', async () => {
    const srv = await listen((s) => s.on('data', () => s.resetAndDestroy()));
    await new Promise<void>((resolve) => {
      const c = net.connect(srv.port, '127.0.0.1', () => c.write('x'));
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
    const mine = () => events.filter((e) => e.dport === srv.port || e.sport === srv.port);
    await settle(() => mine().length >= 2);
    srv.close();
    const client = mine().find((e) => e.direction === SX_DIR_CLIENT);
    const server = mine().find((e) => e.direction === SX_DIR_SERVER);
    expect(client).toMatchObject({ closeReason: SX_CLOSE_RESET, rstRecv: 1 });
    expect(server).toMatchObject({ closeReason: SX_CLOSE_RESET, rstSent: 1 });
  });
});

describe.skipIf(noKernel)('lifecycle', () => {
  it('counts nothing lost under this load and detaches every program on close', async () => {
    const c = probes.readCounters();
    expect(c.ringbufFull).toBe(0);
    expect(c.queueDroppedRecords).toBe(0);
    expect(c.events).toBeGreaterThan(0);
    const count = () =>
      (
        execFileSync('bpftool', ['prog', 'show'])
          .toString()
          .match(/name sx_inet_sock_se/g) ?? []
      ).length;
    const before = count();
    const extra = SextantProbes.open({});
    expect(count()).toBe(before + 1);
    extra.close();
    // the kernel frees a detached program after an RCU grace period: it may be listed for a moment
    await settle(() => count() === before);
    expect(count()).toBe(before);
  });

  it('sees nothing while paused, and exactly what happens once resumed, tracepoints and cgroup hooks alike', async () => {
    const links = () =>
      execFileSync('bpftool', ['link', 'show'])
        .toString()
        .match(/^\d+: /gm)?.length ?? 0;
    const before = links();
    const p = SextantProbes.open({ cgroupRoot: '/sys/fs/cgroup/unified', updateIntervalMs: 0, tls: false });
    const seen: TcpConnEvent[] = [];
    p.onTcpEvents((batch) => seen.push(...batch));
    const srv = await listen((s) => s.on('data', () => s.end('ok')));
    try {
      const attached = links() - before;
      expect(attached).toBeGreaterThan(5);
      expect(p.pause()).toBe(attached);
      await settle(() => links() === before);
      expect(links()).toBe(before);
      const N = 10;
      for (let i = 0; i < N; i++) await connectOnce(srv.port, 'paused');
      const mine = () => seen.filter((e) => e.dport === srv.port || e.sport === srv.port);
      await settle(() => mine().length > 0, 500);
      expect(mine()).toHaveLength(0);
      p.resume();
      expect(links() - before).toBe(attached);
      for (let i = 0; i < N; i++) await connectOnce(srv.port, 'resumed');
      await settle(() => mine().length >= 2 * N);
      expect(mine().filter((e) => e.direction === SX_DIR_CLIENT)).toHaveLength(N);
      expect(mine().filter((e) => e.direction === SX_DIR_SERVER)).toHaveLength(N);
    } finally {
      srv.close();
      p.close();
    }
  });

  it('sizes the TCP event ring as asked, and refuses a size the kernel would not take', () => {
    const ringSizes = () =>
      [
        ...execFileSync('bpftool', ['map', 'show'])
          .toString()
          .matchAll(/name sx_events .*\n.*max_entries (\d+)/g),
      ].map((m) => Number(m[1]));
    expect(ringSizes()).toContain(4 << 20); // the default, of the probes the other tests use
    const small = SextantProbes.open({ tcpRingMb: 1, l7: false, cgroupRoot: null, updateIntervalMs: 0 });
    try {
      expect(ringSizes()).toContain(1 << 20);
    } finally {
      small.close();
    }
    expect(() => SextantProbes.open({ tcpRingMb: 3 })).toThrow(/tcpRingMb must be a power of two/);
  });

  it('hands a backlog to JS in batches of at most 256 KiB, however much the ring holds', async () => {
    // One batch may wait towards JS: while this process is blocked the reader stops after it and the rest waits in
    // the ring (2 × 3,000 close events, ~0.9 MB). Read afterwards, it comes in bounded batches, not in one.
    const N = 3_000;
    const p = SextantProbes.open({ l7: false, cgroupRoot: null, updateIntervalMs: 0 });
    const batches: TcpConnEvent[][] = [];
    try {
      p.onTcpEvents((b) => batches.push(b), 1);
      const script = `const net = require('net');
        const s = net.createServer((c) => { c.resume(); c.end('ok'); }).listen(0, '127.0.0.1', async () => {
          process.stdout.write(String(s.address().port));
          for (let i = 0; i < ${N}; i++)
            await new Promise((r) => { const c = net.connect(s.address().port, '127.0.0.1', () => c.end('x')); c.resume(); c.on('close', r); });
          s.close();
        });`;
      const child = spawnSync(process.execPath, ['-e', script], { timeout: 60_000 });
      expect(child.status).toBe(0);
      const port = Number(child.stdout.toString());
      const mine = () => batches.flat().filter((e) => e.dport === port || e.sport === port).length;
      await settle(() => mine() >= 2 * N);
      expect(mine()).toBe(2 * N);
    } finally {
      p.close();
    }
    // a batch is handed over at the first record that takes it to 256 KiB
    const perBatch = Math.ceil((256 << 10) / (4 + SX_TCP_EVENT_SIZE));
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(perBatch);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil((2 * N) / perBatch));
  });

  it('sizes the L7 ring by mode unless asked (signals 4 MiB, full 16, hooks and L7 off 1), and refuses a size the kernel would not take', () => {
    const mb = (opts: ProbeOptions) => resolveRings(opts).l7RingBytes >> 20;
    expect([mb({}), mb({ l7Mode: 'signals' }), mb({ l7Mode: 'full' }), mb({ l7Mode: 'hooks' }), mb({ l7: false })]).toEqual([
      4, 4, 16, 1, 1,
    ]);
    expect(mb({ l7Mode: 'full', l7RingMb: 8 })).toBe(8);
    const l7Rings = () =>
      [
        ...execFileSync('bpftool', ['map', 'show'])
          .toString()
          .matchAll(/name sx_l7_events .*\n.*max_entries (\d+)/g),
      ].map((m) => Number(m[1]));
    // 2 MiB: a size no default and no other test uses, so that probes loaded by other tests meanwhile do not matter
    const p = SextantProbes.open({ l7RingMb: 2, cgroupRoot: null, updateIntervalMs: 0, tls: false });
    try {
      expect(l7Rings()).toContain(2 << 20);
    } finally {
      p.close();
    }
    expect(() => SextantProbes.open({ l7RingMb: 6 })).toThrow(/l7RingMb must be a power of two/);
  });

  it('loads none of the interim-report, UDP and L7 programs when they are off, and each of them when on', () => {
    const loaded = (name: string) =>
      (
        execFileSync('bpftool', ['prog', 'show'])
          .toString()
          .match(new RegExp(`name ${name}\\b`, 'g')) ?? []
      ).length;
    // bpftool prints the full names (from BTF); the kernel keeps 15 characters
    const names = [
      'sx_sweep_connections',
      'sx_sock_send_length',
      'sx_udp_sendmsg4',
      'sx_enter_write',
      'sx_enter_sendmmsg',
      'sx_inet_sock_set_state',
    ] as const;
    const count = () => Object.fromEntries(names.map((n) => [n, loaded(n)]));
    const before = count();
    const plus = (...on: (typeof names)[number][]) =>
      Object.fromEntries(names.map((n) => [n, (before[n] ?? 0) + (on.includes(n) ? 1 : 0)]));
    const expectLoaded = (opts: ProbeOptions, ...on: (typeof names)[number][]) => {
      const p = SextantProbes.open(opts);
      try {
        expect(count()).toEqual(plus(...on));
        // what the collector tells its user (this kernel has the socket tracepoints)
        expect(p.l7Hooks).toBe(opts.l7 === false ? null : (opts.l7Hooks ?? 'sock'));
      } finally {
        p.close();
      }
    };
    expectLoaded({ updateIntervalMs: 0, l7: false, cgroupRoot: null }, 'sx_inet_sock_set_state');
    // everything; L7 from the socket tracepoints that UDP shares, no syscall tracepoint (not even for the mmsg pair)
    expectLoaded({ cgroupRoot: '/sys/fs/cgroup/unified' }, ...names.filter((n) => n !== 'sx_enter_write' && n !== 'sx_enter_sendmmsg'));
    // L7 without UDP flows: the socket tracepoints still, not the cgroup hooks
    expectLoaded({ updateIntervalMs: 0, cgroupRoot: null }, 'sx_inet_sock_set_state', 'sx_sock_send_length');
    // the syscall fallback: every syscall tracepoint, no socket tracepoint without UDP flows
    expectLoaded(
      { updateIntervalMs: 0, cgroupRoot: null, l7Hooks: 'syscalls' },
      'sx_inet_sock_set_state',
      'sx_enter_write',
      'sx_enter_sendmmsg',
    );
  });
});
