/**
 * Two compiled objects, the same traffic: loads both at once (each attaches its own programs to the same tracepoints,
 * with its own maps and rings), drives real loopback traffic of every kind the connection tracking distinguishes, and
 * compares what each reported for it, record by record: TCP close and interim records (bytes, segments, RTT, flags,
 * directions, close reasons, resets, refused connects, processes, cgroups, addresses, L7 protocol/TLS marks), the
 * connect/RTT histograms' counts, and the drops. Timestamps are read by each program on its own and may differ by
 * microseconds: they are compared within a tolerance. Run once with L7 capture off and once in signals mode.
 * Exit status 1 on any difference. For changes to the connection-level programs (sx_inet_sock_set_state & co).
 * Root, real kernel: flock /tmp/sextant-kernel.lock npx tsx scripts/compare-conn-objects.ts <a.bpf.o> <b.bpf.o>
 */
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { SX_CLOSE_REFUSED } from '../src/generated/events';
import { SextantProbes } from '../src/probes';
import type { TcpConnEvent } from '../src/tcp-events';

const [A, B] = process.argv.slice(2);
if (!A || !B || !fs.existsSync(A) || !fs.existsSync(B)) throw new Error('usage: compare-conn-objects.ts <a.bpf.o> <b.bpf.o>');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TIME_FIELDS = new Set(['startNs', 'endNs', 'connectNs']);
const TIME_TOLERANCE_NS = 20_000_000n;

function listen(server: net.Server, host: string): Promise<number> {
  return new Promise((r) => server.listen(0, host, () => r((server.address() as AddressInfo).port)));
}

function request(host: string, port: number, path: string, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
  });
}

/** A raw TCP exchange: the client sends `send` bytes, the server answers `answer` bytes; then `how` ends it. */
function exchange(host: string, port: number, send: number, how: 'client-end' | 'client-reset' | 'server-reset'): Promise<void> {
  return new Promise((resolve) => {
    const c = net.connect(port, host, () => c.write(Buffer.alloc(send, 'q')));
    let got = 0;
    c.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= 100) {
        if (how === 'client-reset') c.resetAndDestroy();
        else if (how === 'client-end') c.end();
      }
    });
    c.on('error', () => undefined);
    c.on('close', () => resolve());
  });
}

function refused(host: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    const c = net.connect(port, host);
    c.on('error', () => resolve());
    c.on('connect', () => {
      c.destroy();
      resolve();
    });
  });
}

async function traffic(probes: SextantProbes[]): Promise<Set<number>> {
  const ports = new Set<number>();
  const web = http.createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? 10);
    req.resume();
    req.on('end', () => res.end(Buffer.alloc(size, 'r')));
  });
  const raw = net.createServer((s) => {
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got < 500) return;
      if (s.remotePort && s.remotePort % 3 === 0) s.resetAndDestroy();
      else s.end(Buffer.alloc(100 + (got % 900), 'a'));
    });
    s.on('error', () => undefined);
  });
  const web4 = await listen(web, '127.0.0.1');
  const raw4 = await listen(raw, '127.0.0.1');
  const web6 = http.createServer((req, res) => res.end('six'));
  const web6Port = await listen(web6, '::1');
  const gone = net.createServer();
  const closedPort = await listen(gone, '127.0.0.1');
  await new Promise((r) => gone.close(r));
  for (const p of [web4, raw4, web6Port, closedPort]) ports.add(p);

  for (let i = 0; i < 40; i++) await request('127.0.0.1', web4, `/?n=${(i * 997) % 20000}`, false); // new connection each
  const ka = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 20; i++) await request('127.0.0.1', web4, '/?n=10000', ka);
  await sleep(250); // interim reports of the idle keep-alive connection: it moved bytes since it was opened
  for (const p of probes) p.sweepConnections();
  await request('127.0.0.1', web4, '/?n=5000', ka);
  await sleep(250);
  for (const p of probes) p.sweepConnections();
  ka.destroy();
  for (let i = 0; i < 12; i++) await exchange('127.0.0.1', raw4, 500 + i * 37, i % 2 ? 'client-reset' : 'client-end');
  for (let i = 0; i < 8; i++) await refused('127.0.0.1', closedPort);
  for (let i = 0; i < 10; i++) await request('::1', web6Port, '/', false);
  await sleep(500); // the last FINs and closes
  for (const s of [web, raw, web6]) await new Promise((r) => s.close(r));
  await sleep(300);
  return ports;
}

const recKey = (e: TcpConnEvent) => `${e.sockId}|${e.saddr}:${e.sport}|${e.daddr}:${e.dport}|${e.kind}`;

function compareRecords(label: string, a: TcpConnEvent[], b: TcpConnEvent[]): string[] {
  const problems: string[] = [];
  const group = (xs: TcpConnEvent[]) => {
    const m = new Map<string, TcpConnEvent[]>();
    for (const e of [...xs].sort((x, y) => (x.startNs < y.startNs ? -1 : x.startNs > y.startNs ? 1 : 0))) {
      const k = recKey(e);
      m.set(k, [...(m.get(k) ?? []), e]);
    }
    return m;
  };
  const ga = group(a);
  const gb = group(b);
  for (const k of new Set([...ga.keys(), ...gb.keys()])) {
    const xa = ga.get(k) ?? [];
    const xb = gb.get(k) ?? [];
    if (xa.length !== xb.length) {
      problems.push(`${label} ${k}: ${xa.length} records in A, ${xb.length} in B`);
      continue;
    }
    xa.forEach((ea, i) => {
      const eb = xb[i] as unknown as Record<string, unknown>;
      for (const [f, va] of Object.entries(ea)) {
        const vb = eb[f];
        if (TIME_FIELDS.has(f)) {
          const d = BigInt(va as number | bigint) - BigInt(vb as number | bigint);
          if (d > TIME_TOLERANCE_NS || -d > TIME_TOLERANCE_NS) problems.push(`${label} ${k} #${i} ${f}: ${va} vs ${String(vb)}`);
        } else if (String(va) !== String(vb)) problems.push(`${label} ${k} #${i} ${f}: ${String(va)} vs ${String(vb)}`);
      }
    });
  }
  return problems;
}

async function run(l7: boolean): Promise<string[]> {
  const opts = { l7, l7Mode: 'signals' as const, cgroupRoot: null, updateIntervalMs: 100, tls: false };
  const pa = SextantProbes.open({ ...opts, objectPath: A });
  const pb = SextantProbes.open({ ...opts, objectPath: B });
  const ra: TcpConnEvent[] = [];
  const rb: TcpConnEvent[] = [];
  try {
    pa.onTcpEvents((batch) => ra.push(...batch));
    pb.onTcpEvents((batch) => rb.push(...batch));
    pa.readAndResetHistograms();
    pb.readAndResetHistograms();
    pa.drainDrops();
    pb.drainDrops();
    const ports = await traffic([pa, pb]);
    const ours = (e: TcpConnEvent) => ports.has(e.sport) || ports.has(e.dport);
    const label = l7 ? 'L7 signals' : 'L7 off';
    const a = ra.filter(ours);
    const b = rb.filter(ours);
    const problems = compareRecords(label, a, b);
    const hist = (p: SextantProbes) =>
      p
        .readAndResetHistograms()
        .filter((h) => ports.has(h.remotePort))
        .map((h) => `${h.remoteIp}:${h.remotePort} kind ${h.kind} count ${h.cnt.reduce((s, c) => s + c, 0)}`)
        .sort();
    const [ha, hb] = [hist(pa), hist(pb)];
    if (ha.join('\n') !== hb.join('\n')) problems.push(`${label} histograms: A [${ha.join('; ')}] B [${hb.join('; ')}]`);
    const drops = (p: SextantProbes) =>
      p
        .drainDrops()
        .filter((d) => ports.has(d.srcPort) || ports.has(d.dstPort))
        .map((d) => `${d.reasonName} ${d.srcIp}:${d.srcPort}>${d.dstIp}:${d.dstPort} x${d.count}`)
        .sort();
    const [da, db] = [drops(pa), drops(pb)];
    if (da.join('\n') !== db.join('\n')) problems.push(`${label} drops: A [${da.join('; ')}] B [${db.join('; ')}]`);
    const count = (xs: TcpConnEvent[], f: (e: TcpConnEvent) => boolean) => xs.filter(f).length;
    console.log(
      `${label}: ${a.length} records from A, ${b.length} from B on the test's ports (closes ${count(a, (e) => e.final === 1)}, ` +
        `interim ${count(a, (e) => e.final === 0)}, refused ${count(a, (e) => e.closeReason === SX_CLOSE_REFUSED)}, IPv6 ${count(a, (e) => e.family === 6)}, ` +
        `resets ${count(a, (e) => e.rstSent === 1 || e.rstRecv === 1)}, with L7 protocol ${count(a, (e) => e.l7Proto !== 0)}); ` +
        `histograms ${ha.length}, drops ${da.length}; all records on the host: A ${ra.length}, B ${rb.length}`,
    );
    return problems;
  } finally {
    pa.close();
    pb.close();
  }
}

const problems = [...(await run(false)), ...(await run(true))];
for (const p of problems) console.log(`DIFFERENT ${p}`);
console.log(problems.length ? `${problems.length} differences` : 'identical');
process.exit(problems.length ? 1 : 0);
