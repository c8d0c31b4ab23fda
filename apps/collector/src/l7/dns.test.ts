import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { DnsInfo, mulberry32 } from '@sextant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsDetails, formatIpv6, looksLikeDnsQuery, parseDnsMessage } from './dns';
import { L7ParseError } from './errors';
import { freePort, splitFrames, startDnsTee } from './testing/udp-tee';

const run = promisify(execFile);
/** Every message captured from dig and dnsmasq, reused as fuzz seeds. */
const captured: Buffer[] = [];

/** A query for example.com A, as dig builds it (id 0x1234, RD). */
function query(name: string, type = 1, id = 0x1234): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1])]);
}

describe('parseDnsMessage on hand-built messages', () => {
  it('reads a query header and question', () => {
    const m = parseDnsMessage(query('example.com', 28));
    expect(m).toEqual({
      id: 0x1234,
      isResponse: false,
      opcode: 0,
      rcode: 0,
      truncated: false,
      questions: [{ name: 'example.com.', type: 'AAAA' }],
      answers: [],
    });
    expect(looksLikeDnsQuery(query('example.com'))).toBe(true);
  });

  it('reads a TTL with the top bit set as zero (RFC 2181 §8)', () => {
    const q = query('t.io');
    q[2] = 0x81;
    q[7] = 1; // ANCOUNT 1
    const a = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0xde, 0, 0x01, 0x2c, 0, 4, 10, 1, 2, 3]);
    expect(parseDnsMessage(Buffer.concat([q, a])).answers).toEqual([{ name: 't.io.', type: 'A', ttl: 0, data: '10.1.2.3' }]);
  });

  it('follows compression pointers in answers and names unknown types TYPEn', () => {
    const q = query('a.io', 99);
    q[2] = 0x81; // QR + RD
    q[3] = 0x83; // RA + NXDOMAIN
    q[7] = 2; // ANCOUNT 2
    const cname = Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 0x77, 0x77, 0x77, 0xc0, 12]);
    const a = Buffer.from([0xc0, 34, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 1, 2, 3]);
    const m = parseDnsMessage(Buffer.concat([q, cname, a]));
    expect(m.questions).toEqual([{ name: 'a.io.', type: 'TYPE99' }]);
    expect(m.rcode).toBe(3);
    expect(m.answers).toEqual([
      { name: 'a.io.', type: 'CNAME', ttl: 60, data: 'www.a.io.' },
      { name: 'www.a.io.', type: 'A', ttl: 30, data: '10.1.2.3' },
    ]);
    expect(looksLikeDnsQuery(Buffer.concat([q, cname, a]))).toBe(false);
  });

  it('rejects pointer loops, out-of-range pointers, long names and truncation with L7ParseError', () => {
    const loop = Buffer.concat([query('x'), Buffer.from([0xc0, 12])]);
    loop.writeUInt16BE(1, 6);
    loop[12] = 0xc0; // the question name now points at itself
    loop[13] = 12;
    expect(() => parseDnsMessage(loop)).toThrow(/pointer loop/);
    const far = query('x');
    far[12] = 0xc0;
    far[13] = 0xff;
    expect(() => parseDnsMessage(far)).toThrow(L7ParseError);
    expect(() => parseDnsMessage(query(Array(70).fill('abcd').join('.')))).toThrow(/longer than 255/);
    expect(() => parseDnsMessage(query('example.com').subarray(0, 20))).toThrow(/past the end/);
    expect(() => parseDnsMessage(Buffer.alloc(5))).toThrow(/header/);
  });

  it('keeps the complete answers of a message cut short in its answer section', () => {
    const q = query('a.io');
    q[2] = 0x81;
    q[7] = 2;
    const a1 = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 1, 2, 3]);
    const a2 = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 40, 0, 4, 10, 1, 2, 4]);
    const full = Buffer.concat([q, a1, a2]);
    expect(parseDnsMessage(full).answers.map((a) => a.data)).toEqual(['10.1.2.3', '10.1.2.4']);
    for (let cut = q.length; cut < full.length; cut++) {
      const expected = cut >= q.length + a1.length ? ['10.1.2.3'] : [];
      expect(parseDnsMessage(full.subarray(0, cut)).answers.map((a) => a.data)).toEqual(expected);
    }
  });

  it('formats IPv6 addresses in RFC 5952 form', () => {
    const b = (hex: string) => Buffer.from(hex, 'hex');
    expect(formatIpv6(b('fd000000000000000000000000000007'))).toBe('fd00::7');
    expect(formatIpv6(b('20010db8000000010000000000000001'))).toBe('2001:db8:0:1::1');
    expect(formatIpv6(b('00000000000000000000000000000000'))).toBe('::');
    expect(formatIpv6(b('20010db8000100010001000100010001'))).toBe('2001:db8:1:1:1:1:1:1');
  });
});

interface DigAnswer {
  name: string;
  ttl: number;
  type: string;
  data: string;
}
/** dig's own view of the exchange: the ground truth the captured bytes are checked against. */
function parseDigOutput(out: string): { id: number; status: string; answers: DigAnswer[]; tcp: boolean } {
  const header = /status: (\w+), id: (\d+)/g;
  let last: RegExpExecArray | null = null;
  for (let m = header.exec(out); m; m = header.exec(out)) last = m; // after a TC retry, the last header counts
  const section = out.split(';; ANSWER SECTION:\n')[1]?.split('\n\n')[0] ?? '';
  const answers = section
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name, ttl, , type, ...data] = l.split(/\s+/);
      return { name: name!, ttl: Number(ttl), type: type!, data: data.join(' ') };
    });
  return { id: Number(last?.[2]), status: last?.[1] ?? '', answers, tcp: /\(TCP\)/.test(out) };
}

const RCODES: Record<string, number> = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };

describe('dig against dnsmasq through a tee', () => {
  let dnsmasq: ChildProcess;
  let tee: Awaited<ReturnType<typeof startDnsTee>>;

  beforeAll(async () => {
    const port = await freePort();
    const txt = (c: string) => `--txt-record=big.test,${c.repeat(200)}`;
    dnsmasq = spawn('dnsmasq', [
      '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv',
      '--no-hosts', '--conf-file=/dev/null', '--pid-file=', '--local=/test/', '--local-ttl=300',
      '--address=/svc.test/10.1.2.3', '--host-record=web.test,10.0.0.7,fd00::7',
      '--host-record=multi.test,10.0.0.8', '--host-record=multi.test,10.0.0.9', '--cname=alias.test,web.test',
      '--mx-host=mx.test,mail.test,10', txt('a'), txt('b'), txt('c'),
    ], { stdio: ['ignore', 'ignore', 'pipe'] }); // prettier-ignore
    let log = '';
    dnsmasq.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!log.includes('cleared cache') && !log.includes('started')) {
      if (Date.now() > deadline || dnsmasq.exitCode !== null) throw new Error(`dnsmasq did not start: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    tee = await startDnsTee(port);
  });
  afterAll(async () => {
    await tee?.close();
    dnsmasq?.kill();
  });

  async function dig(...args: string[]) {
    const before = { udp: tee.udp.records.length, tcp: tee.tcp.records.length, conns: tee.tcp.connections() };
    const { stdout } = await run('dig', ['-p', String(tee.port), '@127.0.0.1', '+tries=1', '+time=5', ...args]);
    const udp = tee.udp.records.slice(before.udp);
    const tcpConns = Array.from({ length: tee.tcp.connections() - before.conns }, (_, i) => before.conns + i);
    const tcp = tcpConns.map((c) => ({
      queries: splitFrames(tee.tcp.stream(c, 'toServer'), 2),
      responses: splitFrames(tee.tcp.stream(c, 'toClient'), 2),
    }));
    captured.push(...udp.map((r) => r.data), ...tcp.flatMap((t) => [...t.queries, ...t.responses]));
    return { truth: parseDigOutput(stdout), udp, tcp };
  }

  function expectMatchesDig(response: ReturnType<typeof parseDnsMessage>, truth: ReturnType<typeof parseDigOutput>) {
    expect(response.id).toBe(truth.id);
    expect(response.rcode).toBe(RCODES[truth.status]);
    // Record data is decoded for A, AAAA, CNAME, PTR and NS only; other types keep their type alone.
    const decoded = (type: string) => ['A', 'AAAA', 'CNAME', 'PTR', 'NS'].includes(type);
    expect(response.answers.map((a) => ({ name: a.name, ttl: a.ttl, type: a.type, data: decoded(a.type) ? a.data : '' }))).toEqual(
      truth.answers.map((a) => ({ ...a, data: decoded(a.type) ? a.data : '' })),
    );
  }

  it('A with a CNAME chain over UDP', async () => {
    const { truth, udp } = await dig('alias.test', 'A');
    expect(udp.map((r) => r.direction)).toEqual(['toServer', 'toClient']);
    const q = parseDnsMessage(udp[0]!.data);
    const r = parseDnsMessage(udp[1]!.data);
    expect(looksLikeDnsQuery(udp[0]!.data)).toBe(true);
    expect(looksLikeDnsQuery(udp[1]!.data)).toBe(false);
    expect(q.questions).toEqual([{ name: 'alias.test.', type: 'A' }]);
    expectMatchesDig(r, truth);
    const details = dnsDetails(q, r, 'udp');
    expect(details).toEqual({
      query: 'alias.test',
      id: truth.id,
      qtypes: ['A'],
      rcode: 0,
      ips: ['10.0.0.7'],
      ttl: 300,
      cnames: ['web.test'],
      rrtypes: ['CNAME', 'A'],
      transport: 'udp',
    });
    expect(DnsInfo.parse(details)).toEqual(details);
  });

  it('AAAA and a multi-address A', async () => {
    const six = await dig('web.test', 'AAAA');
    const r6 = parseDnsMessage(six.udp[1]!.data);
    expectMatchesDig(r6, six.truth);
    expect(dnsDetails(parseDnsMessage(six.udp[0]!.data), r6, 'udp')).toMatchObject({ qtypes: ['AAAA'], ips: ['fd00::7'], ttl: 300 });
    const multi = await dig('multi.test', 'A');
    const rm = parseDnsMessage(multi.udp[1]!.data);
    expectMatchesDig(rm, multi.truth);
    expect(dnsDetails(parseDnsMessage(multi.udp[0]!.data), rm, 'udp').ips!.toSorted()).toEqual(['10.0.0.8', '10.0.0.9']);
    const wildcard = await dig('deep.svc.test', 'A');
    expect(dnsDetails(parseDnsMessage(wildcard.udp[0]!.data), parseDnsMessage(wildcard.udp[1]!.data), 'udp')).toMatchObject({
      query: 'deep.svc.test',
      ips: ['10.1.2.3'],
    });
  });

  it('PTR (reverse lookup) and MX', async () => {
    const ptr = await dig('-x', '10.0.0.7');
    const r = parseDnsMessage(ptr.udp[1]!.data);
    expectMatchesDig(r, ptr.truth);
    expect(r.questions).toEqual([{ name: '7.0.0.10.in-addr.arpa.', type: 'PTR' }]);
    expect(r.answers.map((a) => [a.type, a.data])).toEqual([['PTR', 'web.test.']]);
    const mx = await dig('mx.test', 'MX');
    const m = parseDnsMessage(mx.udp[1]!.data);
    expectMatchesDig(m, mx.truth);
    expect(dnsDetails(parseDnsMessage(mx.udp[0]!.data), m, 'udp')).toMatchObject({
      query: 'mx.test',
      qtypes: ['MX'],
      rrtypes: ['MX'],
      ips: [],
    });
  });

  it('NXDOMAIN', async () => {
    const { truth, udp } = await dig('nope.test', 'A');
    expect(truth.status).toBe('NXDOMAIN');
    const r = parseDnsMessage(udp[1]!.data);
    expectMatchesDig(r, truth);
    expect(dnsDetails(parseDnsMessage(udp[0]!.data), r, 'udp')).toEqual({
      query: 'nope.test',
      id: truth.id,
      qtypes: ['A'],
      rcode: 3,
      ips: [],
      cnames: [],
      rrtypes: [],
      transport: 'udp',
    });
  });

  it('TCP with +tcp', async () => {
    const { truth, udp, tcp } = await dig('+tcp', 'web.test', 'A');
    expect(udp).toEqual([]);
    expect(tcp).toHaveLength(1);
    const q = parseDnsMessage(tcp[0]!.queries[0]!);
    const r = parseDnsMessage(tcp[0]!.responses[0]!);
    expectMatchesDig(r, truth);
    expect(dnsDetails(q, r, 'tcp')).toMatchObject({
      query: 'web.test',
      id: truth.id,
      rcode: 0,
      ips: ['10.0.0.7'],
      ttl: 300,
      transport: 'tcp',
    });
  });

  it('TCP fallback after a truncated UDP answer', async () => {
    const { truth, udp, tcp } = await dig('+noedns', 'big.test', 'TXT');
    expect(truth.tcp).toBe(true);
    const truncated = parseDnsMessage(udp[1]!.data);
    expect(truncated.truncated).toBe(true);
    expect(truncated.questions).toEqual([{ name: 'big.test.', type: 'TXT' }]);
    expect(udp[1]!.data.length).toBeLessThanOrEqual(512);
    const full = parseDnsMessage(tcp[0]!.responses[0]!);
    expect(full.truncated).toBe(false);
    expectMatchesDig(full, truth);
    expect(full.answers.map((a) => a.type)).toEqual(['TXT', 'TXT', 'TXT']);
    expect(dnsDetails(parseDnsMessage(tcp[0]!.queries[0]!), full, 'tcp')).toMatchObject({
      qtypes: ['TXT'],
      rrtypes: ['TXT', 'TXT', 'TXT'],
      ttl: 300,
      ips: [],
    });
  });
});

describe('captures cut short', () => {
  it('every prefix of every real message past its questions parses to a prefix of its answers', () => {
    let prefixes = 0;
    for (const msg of captured) {
      const full = parseDnsMessage(msg);
      let questionsEnd = 12;
      while (questionsEnd <= msg.length) {
        try {
          if (parseDnsMessage(msg.subarray(0, questionsEnd)).questions.length === full.questions.length) break;
        } catch {
          // still inside the questions
        }
        questionsEnd++;
      }
      for (let cut = questionsEnd; cut <= msg.length; cut++) {
        const part = parseDnsMessage(msg.subarray(0, cut));
        expect(part.questions).toEqual(full.questions);
        expect(part.answers).toEqual(full.answers.slice(0, part.answers.length));
        prefixes++;
      }
    }
    expect(prefixes).toBeGreaterThan(1000);
  });
});

describe('fuzz', () => {
  it('only L7ParseError escapes parseDnsMessage for 120k random and mutated real messages, and the details fit DnsInfo', () => {
    const rand = mulberry32(4); // deterministic: a failing input can be reproduced
    const seeds = [query('example.com'), query('a.b.c.d.example.org', 28)];
    const resp = query('a.io');
    resp[7] = 2;
    seeds.push(
      Buffer.concat([
        resp,
        Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 0x77, 0x77, 0x77, 0xc0, 12]),
        Buffer.from([0xc0, 34, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 1, 2, 3]),
      ]),
    );
    expect(captured.length).toBeGreaterThanOrEqual(14); // the real captures above ran first
    seeds.push(...captured);
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 120_000; i++) {
      let input: Buffer;
      if (i % 3 === 0) {
        input = Buffer.alloc(Math.floor(rand() * 80));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(rand() * 256);
      } else {
        input = Buffer.from(seeds[i % seeds.length]!);
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
        if (rand() < 0.3) input = input.subarray(0, Math.floor(rand() * input.length));
      }
      try {
        const msg = parseDnsMessage(input);
        looksLikeDnsQuery(input);
        parsed++;
        // Whatever parses must make event details the shared schema accepts.
        const details = dnsDetails(msg, msg, 'udp');
        if (!DnsInfo.safeParse(details).success)
          throw new Error(`invalid DnsInfo ${JSON.stringify(details)} from ${input.toString('hex')}`);
      } catch (e) {
        if (!(e instanceof L7ParseError)) throw new Error(`non-L7ParseError on ${input.toString('hex')}: ${String(e)}`);
        rejected++;
      }
    }
    expect(parsed + rejected).toBe(120_000);
    expect(parsed).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });
});
