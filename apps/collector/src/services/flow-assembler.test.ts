import {
  SX_CLOSE_OPEN,
  SX_CLOSE_REFUSED,
  SX_DIR_SERVER,
  SX_TCP_ACK,
  SX_TCP_FIN,
  SX_TCP_RST,
  SX_TCP_SYN,
  type TcpConnEvent,
} from '@sextant/bpf';
import { decodeFlow, decodeFlowRows, FLOW_IX, IngestBatch, TCP_FLAGS, type PendingFlowRow } from '@sextant/shared';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Clock, FlowAssembler, KERNEL_TCP_FLAGS } from './flow-assembler';
import { IdentityResolver } from './identity';
import { ListenerTable } from './listeners';
import { prepareBatch } from './prepared-batch';
import { tcpCloseEvent } from '../testing/kernel-events';

// A real listener of this process, so that the client's record can name its server from /proc.
let listener: net.Server;
let port = 0;
beforeAll(async () => {
  listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});
afterAll(() => listener.close());

// A connection between two sockets of this host, as the kernel programs report its two ends at close.
function connection(clientPort: number, o: Partial<TcpConnEvent> = {}): { client: TcpConnEvent; server: TcpConnEvent } {
  const base = { totalRetrans: 1, tcpFlags: SX_TCP_SYN | SX_TCP_ACK | SX_TCP_FIN, saddr: '127.0.0.1', daddr: '127.0.0.1' };
  return {
    client: tcpCloseEvent({ ...base, sockId: BigInt(clientPort), sport: clientPort, dport: port, ...o }),
    server: tcpCloseEvent({
      ...base,
      sockId: BigInt(clientPort) + 1_000_000n,
      direction: SX_DIR_SERVER,
      sport: port,
      dport: clientPort,
      bytesAcked: 853,
      bytesReceived: 120,
      segsOut: 5,
      segsIn: 6,
      connectNs: 0,
      ...o,
    }),
  };
}

/** Rows as a collector built them (identities unresolved) → the flows they stand for. */
const decodePending = (rows: readonly PendingFlowRow[], nodeName: string) =>
  rows.map((r) => decodeFlow(r, r[FLOW_IX.sourceRef], r[FLOW_IX.destinationRef], nodeName));

function assembler(): FlowAssembler {
  return new FlowAssembler('node-a', new IdentityResolver({ nodeName: 'node-a' }), new ListenerTable(), new Clock(), {
    keepClosedIds: false,
  });
}

describe('FlowAssembler.tcpRows', () => {
  it('remembers a close for late L7 data only when the kernel says the socket may have records', () => {
    const a = new FlowAssembler('node-a', new IdentityResolver({ nodeName: 'node-a' }), new ListenerTable(), new Clock());
    // two client sockets to a remote server, closed: one with L7 records, one without (an aggregated exchange)
    const remote = { saddr: '10.77.0.1', daddr: '10.77.0.2', dport: 8080 };
    const withRecords = tcpCloseEvent({ ...remote, sockId: 0xffff888100000100n, sport: 40_010, l7Records: 1 });
    const without = tcpCloseEvent({ ...remote, sockId: 0xffff888100000900n, sport: 40_011, l7Records: 0 });
    const [r1, r2] = decodePending(a.tcpRows([withRecords, without]), 'node-a');
    const during = 1_001_000_000n; // within both connections' [start, end]
    expect(a.closedFlow(withRecords.sockId, during)?.id).toBe(r1!.id);
    expect(a.closedFlow(without.sockId, during)).toBeUndefined();
    expect(r2!.final).toBe(true);
  });

  it("counts a refused connect as its one dropped SYN, also when the socket sent more (a SYN answered by a dead server's TIME_WAIT)", () => {
    const refused = tcpCloseEvent({
      saddr: '127.0.0.1',
      daddr: '127.0.0.1',
      sockId: 0xffff888100000200n,
      sport: 40_020,
      dport: 1,
      closeReason: SX_CLOSE_REFUSED,
      tcpFlags: SX_TCP_SYN | SX_TCP_RST,
      segsOut: 3,
    });
    const [row] = assembler().tcpRows([refused]);
    expect(row![FLOW_IX.verdict]).toBe('DROPPED');
    expect(row![FLOW_IX.packetsSent]).toBe(1);
  });

  it('the kernel reports TCP flags in the bit order of the wire model', () => {
    expect([SX_TCP_SYN, SX_TCP_ACK, SX_TCP_FIN, SX_TCP_RST]).toEqual(
      ['SYN', 'ACK', 'FIN', 'RST'].map((f) => 1 << TCP_FLAGS.indexOf(f as 'SYN')),
    );
    expect(KERNEL_TCP_FLAGS).toBe(0b1111);
  });

  it('orients both ends of a local connection client → server, and names the client in the server record', () => {
    const a = assembler();
    const { client, server } = connection(40_001);
    // The server record first in the batch: the client one is still assembled first.
    const [fromServer, fromClient] = decodePending(a.tcpRows([server, client]), 'node-a');
    const clock = new Clock();
    for (const f of [fromServer, fromClient]) {
      expect(f).toMatchObject({
        nodeName: 'node-a',
        final: true,
        verdict: 'FORWARDED',
        l4Protocol: 'TCP',
        ipVersion: 4,
        isReply: false,
        localPeer: true,
        tcpFlags: ['SYN', 'ACK', 'FIN'],
        closeReason: 'CLOSED',
        srttUs: 42,
        retransmits: 1,
        // counters from the client's (the source's) point of view, whichever end reported them
        bytesSent: 120,
        bytesReceived: 853,
        packetsSent: 6,
        packetsReceived: 5,
        source: { ip: '127.0.0.1', port: 40_001, hostName: 'node-a', process: { pid: process.pid } },
        destination: { ip: '127.0.0.1', port, hostName: 'node-a', process: { pid: process.pid } },
      });
      expect(f!.endTime! - f!.time).toBeCloseTo(2.5, 6);
      expect(Math.abs(f!.time - clock.toEpochMs(1_000_000_000n))).toBeLessThan(50);
      expect(f!.dropReason).toBeUndefined();
    }
    expect(fromClient).toMatchObject({ trafficDirection: 'EGRESS', connectLatencyNs: 51_000 });
    expect(fromServer).toMatchObject({ trafficDirection: 'INGRESS' });
    expect(fromServer!.connectLatencyNs).toBeUndefined();
    expect(fromServer!.id).not.toBe(fromClient!.id);
    // A server record is named from a client record of the same addresses and ports that started with it:
    // not from one of the same client port to another server port, or from a minute earlier.
    const other = connection(40_009);
    const late = connection(40_009, { startNs: 61_000_000_000n, endNs: 61_000_100_000n }).server;
    const [elsewhere, stale] = decodePending(
      [...a.tcpRows([{ ...other.client, dport: port + 1 }, other.server]), ...a.tcpRows([other.client, late])].filter(
        (_, i) => i === 1 || i === 3,
      ),
      'node-a',
    );
    for (const f of [elsewhere, stale]) expect(f!.source).toEqual({ ip: '127.0.0.1', port: 40_009 });
  });

  it("names a local server with one identity in its own records and its clients', asking /proc once per read of it", () => {
    const identity = new IdentityResolver({ nodeName: 'node-a' });
    const a = new FlowAssembler('node-a', identity, new ListenerTable(), new Clock(), { keepClosedIds: false });
    const checks = vi.spyOn(identity, 'isRunning');
    const pid = { pid: process.pid, comm: 'node' };
    const named: string[] = [];
    const serverIdentities = new Set<unknown>();
    for (let i = 0; i < 200; i++) {
      const { client, server } = connection(41_000 + i, pid);
      const rows = a.tcpRows([client, server]);
      // the client's record (its destination) and the server's own (its destination too: Hubble's orientation)
      if (i > 0) for (const r of rows) serverIdentities.add(r[FLOW_IX.destinationRef]);
      for (const f of decodePending(rows, 'node-a')) named.push(`${f.source.port}>${f.destination.process?.pid}`);
    }
    // both ends of all 200 connections, the server named as its process by each, with one identity (once the port's
    // listener is known: from the first connection's server record)
    expect(named).toHaveLength(400);
    expect(new Set(named.map((n) => n.split('>')[1]))).toEqual(new Set([String(process.pid)]));
    expect(serverIdentities.size).toBe(1);
    expect(checks.mock.calls.length).toBeLessThanOrEqual(2);

    // a listener found dead (its remaining connections read after it exited): once its identity is read again (10 s
    // later), /proc is asked once, and the port keeps the name it was first known by
    const later = new IdentityResolver({ nodeName: 'node-a' });
    const b = new FlowAssembler('node-a', later, new ListenerTable(), new Clock(), { keepClosedIds: false });
    const deadChecks = vi.spyOn(later, 'isRunning').mockReturnValue(false);
    const first = decodePending(b.tcpRows(Object.values(connection(42_000, pid))), 'node-a')[0]!.destination;
    const clock = vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 11_000);
    try {
      for (let i = 1; i < 200; i++) {
        const { client, server } = connection(42_000 + i, pid);
        for (const f of decodePending(b.tcpRows([client, server]), 'node-a')) expect(f.destination).toEqual(first);
      }
    } finally {
      clock.mockRestore();
    }
    expect(deadChecks.mock.calls.length).toBeGreaterThan(0);
    expect(deadChecks.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('gives interim reports and the close of one socket one flow id, and a reused socket a new one', () => {
    const a = assembler();
    const open = connection(40_002, { final: 0, closeReason: SX_CLOSE_OPEN, tcpFlags: SX_TCP_SYN | SX_TCP_ACK }).client;
    const closed = connection(40_002, { tcpFlags: SX_TCP_SYN | SX_TCP_ACK | SX_TCP_RST }).client;
    const [r1, r2, r3] = decodePending([...a.tcpRows([open]), ...a.tcpRows([open]), ...a.tcpRows([closed])], 'node-a');
    expect(r1).toMatchObject({ final: false, closeReason: 'OPEN', tcpFlags: ['SYN', 'ACK'] });
    expect(r3).toMatchObject({ final: true, tcpFlags: ['SYN', 'ACK', 'RST'] });
    expect(new Set([r1!.id, r2!.id, r3!.id]).size).toBe(1);
    const [again] = decodePending(a.tcpRows([closed]), 'node-a');
    expect(again!.id).not.toBe(r1!.id);
  });

  it('a batch of rows sends each process identity once and parses into the flows it was built from', () => {
    const a = assembler();
    const events = Array.from({ length: 300 }, (_, i) => connection(41_000 + i)).flatMap((c) => [c.client, c.server]);
    const expected = decodePending(a.tcpRows(events), 'node-a');
    // the same records again, through the batch encoder (which takes the rows over)
    const b = assembler();
    const rows = b.tcpRows(events);
    const ids = rows.map((r) => r[FLOW_IX.id]);
    const body = prepareBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows: [], flowRows: rows }, { nodeName: 'node-a' }).body;
    const json = JSON.parse(body.toString());
    // Both ends are this test process, known from the records (pid, comm) and, for the client's server end, from the
    // listener table (pid alone), which names it as its own sockets do: one identity for 600 flows.
    expect(json.endpoints).toHaveLength(1);
    expect(json.endpoints.map((e: { process: { pid: number } }) => e.process.pid)).toEqual([process.pid]);
    expect(json.flowColumns.rows).toBe(600);
    const batch = IngestBatch.parse(json);
    const parsed = decodeFlowRows(batch.flows, batch.endpoints, batch.nodeName);
    expect(parsed.map((f) => f.id)).toEqual(ids);
    expect(parsed.map(({ id: _, time: _t, endTime: _e, ...f }) => f)).toEqual(expected.map(({ id: _, time: _t, endTime: _e, ...f }) => f));
  });
});

describe('a server killed before its connections were read', () => {
  /** A fake /proc with one `node server.js` process of package `name`, pid 4242 (cwd: its package). */
  function fakeProc(name: string): { procRoot: string; kill: () => void } {
    const procRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'proc-'));
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'app-'));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name }));
    const pidDir = path.join(procRoot, '4242');
    fs.mkdirSync(pidDir);
    fs.writeFileSync(path.join(pidDir, 'comm'), 'node\n');
    fs.writeFileSync(path.join(pidDir, 'cmdline'), 'node\0server.js\0');
    fs.symlinkSync(app, path.join(pidDir, 'cwd'));
    fs.symlinkSync('/usr/bin/node', path.join(pidDir, 'exe'));
    // Killed: a zombie's /proc keeps its comm, no cwd or executable.
    const kill = () => ['cwd', 'exe', 'cmdline'].forEach((f) => fs.rmSync(path.join(pidDir, f)));
    return { procRoot, kill };
  }

  const serverClose = (clientPort: number) =>
    tcpCloseEvent({
      direction: SX_DIR_SERVER,
      pid: 4242,
      comm: 'node',
      saddr: '10.77.0.2',
      sport: 9000,
      daddr: '10.77.0.9',
      dport: clientPort,
      sockId: BigInt(clientPort),
    });

  it('names its connections and L7 endpoint after the service its port was known by, not the comm left behind', () => {
    const proc = fakeProc('payments-svc');
    // processTtlMs 0: every record re-reads /proc, as a record read past the cache's lifetime does
    const identity = new IdentityResolver({ nodeName: 'node-a', procRoot: proc.procRoot, cgroupRoot: '/nonexistent', processTtlMs: 0 });
    const a = new FlowAssembler('node-a', identity, new ListenerTable(), new Clock(), { keepClosedIds: false });
    const local = { ip: '10.77.0.2', port: 9000, pid: 4242, comm: 'node' };
    const [alive] = decodePending(a.tcpRows([serverClose(50_001)]), 'node-a');
    expect(alive!.destination.service).toBe('payments-svc');
    proc.kill();
    // the resolver alone now says what the kernel's comm says
    expect(identity.localIdentity(local).service).toBe('node');
    const [dead] = decodePending(a.tcpRows([serverClose(50_002)]), 'node-a');
    expect(dead!.destination).toMatchObject({ service: 'payments-svc', port: 9000 });
    expect(a.localEndpoint(local, true).service).toBe('payments-svc');
    // a client socket of the same process is its own, not its port's listener
    expect(a.localEndpoint(local, false).service).toBe('node');
  });

  it('a new process on the port is named by its own name', () => {
    const first = fakeProc('payments-svc');
    const identity = new IdentityResolver({ nodeName: 'node-a', procRoot: first.procRoot, cgroupRoot: '/nonexistent', processTtlMs: 0 });
    const a = new FlowAssembler('node-a', identity, new ListenerTable(), new Clock(), { keepClosedIds: false });
    decodePending(a.tcpRows([serverClose(50_001)]), 'node-a');
    const other = (pid: number) => ({ ...serverClose(50_003), pid });
    // pid 4243, unknown to /proc: named by its comm, not by the dead pid's service
    const [next] = decodePending(a.tcpRows([other(4243)]), 'node-a');
    expect(next!.destination.service).toBe('node');
  });
});
