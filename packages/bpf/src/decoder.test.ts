import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bucketIndex } from '@sextant/shared';
import { missingPrerequisite } from '@sextant/shared/testing';
import { describe, expect, it } from 'vitest';
import { generate, parseHeader } from '../scripts/gen-decoder.mjs';
import { formatIp } from './addresses';
import { readTcpEvent, readTcpEvents } from './tcp-events';
import * as events from './generated/events';
import { OBJECT_PATH, PACKAGE_ROOT } from './native';

const header = fs.readFileSync(path.join(PACKAGE_ROOT, 'src', 'bpf', 'sextant_events.h'), 'utf8');
const hasClang = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v clang && command -v bpftool'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();
const noToolchain = missingPrerequisite(hasClang, 'clang and bpftool are not installed (npm ci installs them as root)');
const noObject = noToolchain || missingPrerequisite(fs.existsSync(OBJECT_PATH), `${OBJECT_PATH} is not built (npm rebuild @sextant/bpf)`);

describe('generated decoder', () => {
  it('is fresh: regenerating from the header gives the committed file', () => {
    const committed = fs.readFileSync(path.join(PACKAGE_ROOT, 'src', 'generated', 'events.ts'), 'utf8');
    expect(generate(header)).toBe(committed);
  });

  it.skipIf(noObject)('matches the compiled object BTF: every offset and size', () => {
    const btf = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', OBJECT_PATH], { maxBuffer: 64 << 20 }).toString()) as {
      types: { id: number; kind: string; name: string; size?: number; members?: { name: string; bits_offset: number }[] }[];
    };
    const { structs } = parseHeader(header) as { structs: { name: string; size: number; fields: { name: string; offset: number }[] }[] };
    let checked = 0;
    for (const s of structs) {
      const t = btf.types.find((x) => x.kind === 'STRUCT' && x.name === s.name);
      if (!t) continue; // a struct only user space reads as map key/value may be absent from a program's BTF
      expect(t.size, s.name).toBe(s.size);
      for (const f of s.fields) {
        const m = t.members?.find((x) => x.name === f.name);
        expect(m?.bits_offset, `${s.name}.${f.name}`).toBe(f.offset * 8);
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  it('decodes a record written at the generated offsets', () => {
    const b = Buffer.alloc(events.SX_TCP_EVENT_SIZE);
    const L = events.SX_TCP_EVENT_LAYOUT;
    b.writeBigUInt64LE(123n, L.sock_id?.offset);
    b.writeUInt32LE(4242, L.pid?.offset);
    b.writeUInt16LE(8080, L.dport?.offset);
    b.write('nginx', L.comm?.offset ?? 0, 'latin1');
    const e = events.decodeSxTcpEvent(b);
    expect(e).toMatchObject({ sockId: 123n, pid: 4242, dport: 8080, comm: 'nginx' });
  });
});

describe('the TCP event reader of the hot path', () => {
  it('reads every field as the generated decoder does, addresses as text, at any offset of a batch', () => {
    const L = events.SX_TCP_EVENT_LAYOUT;
    const size = events.SX_TCP_EVENT_SIZE;
    const batch = Buffer.alloc(4 + 3 * (size + 4));
    for (let i = 0; i < batch.length; i++) batch[i] = (i * 131 + 7) & 0xff; // every field non-zero
    const recs = [0, 1, 2].map((i) => 8 + i * (size + 4));
    const at = (r: number, f: string) => r + (L[f]?.offset ?? 0);
    batch[at(recs[0]!, 'family')] = 4;
    Buffer.from([10, 0, 0, 1]).copy(batch, at(recs[0]!, 'saddr'));
    batch.write('curl\0', at(recs[0]!, 'comm'), 'latin1');
    batch[at(recs[1]!, 'family')] = 6;
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]).copy(batch, at(recs[1]!, 'daddr')); // v4-mapped peer
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 2]).copy(batch, at(recs[1]!, 'saddr'));
    batch[at(recs[2]!, 'family')] = 6;
    for (const [i, r] of recs.entries()) {
      batch.writeBigUInt64LE(2n ** 52n + 12_345n * BigInt(i), at(r, 'bytes_acked')); // ~4.5 PB: still exact
      batch.writeBigUInt64LE(0x0102_0304_0506n + BigInt(i), at(r, 'bytes_received'));
      // (a small value, and values whose upper half is 0 but which are not small integers: the reader's two cases)
      batch.writeBigUInt64LE([48_211n, 0xffff_fff0n, 0x4000_0000n][i]!, at(r, 'connect_ns'));
    }
    for (const r of recs) {
      const generated = events.decodeSxTcpEvent(batch, r);
      const { saddr, daddr, family, ...rest } = readTcpEvent(batch, r);
      const { saddr: gs, daddr: gd, family: gf, ...grest } = generated;
      // counters and the connect latency are numbers in the hot path (exact below 2^53)
      expect({
        ...rest,
        bytesAcked: BigInt(rest.bytesAcked),
        bytesReceived: BigInt(rest.bytesReceived),
        connectNs: BigInt(rest.connectNs),
      }).toEqual(grest);
      const width = gf === 4 ? 4 : 6;
      expect([saddr, daddr]).toEqual([formatIp(gs, width), formatIp(gd, width)]);
      expect(family).toBe(gf === 4 || saddr.includes('.') ? 4 : 6);
    }
    expect(readTcpEvent(batch, recs[0]!)).toMatchObject({ family: 4, saddr: '10.0.0.1', comm: 'curl' });
    expect(readTcpEvent(batch, recs[1]!)).toMatchObject({ family: 4, saddr: '127.0.0.2', daddr: '127.0.0.1' });
    expect(readTcpEvent(batch, recs[2]!).family).toBe(6);
  });

  it('names the process from its 16 comm bytes each time, when names repeat, change or fill all 16 bytes', () => {
    const L = events.SX_TCP_EVENT_LAYOUT;
    const size = events.SX_TCP_EVENT_SIZE;
    // (more names than the reader's cache has slots, many sharing their first 8 or 12 bytes)
    const names = [
      'nginx',
      'wrk',
      'nginx',
      'a'.repeat(16),
      'wrk',
      'x',
      'wrk\0garbage',
      'wrk',
      ...Array.from({ length: 200 }, (_, i) => `worker-${i}`),
      ...Array.from({ length: 200 }, (_, i) => `abcdefghijkl${String(i).padStart(4, '0')}`),
    ];
    const batch = Buffer.alloc(names.length * size);
    names.forEach((n, i) => {
      batch[i * size + (L.family?.offset ?? 0)] = 4;
      batch.write(n.padEnd(16, '\0').slice(0, 16), i * size + (L.comm?.offset ?? 0), 'latin1');
    });
    for (let round = 0; round < 2; round++)
      expect(names.map((_, i) => readTcpEvent(batch, i * size).comm)).toEqual(names.map((n) => n.split('\0')[0]));
  });
});

describe('the TCP event batch reader', () => {
  it('leaves out interim reports that end before their connection started (a sweep older than the connection)', () => {
    const L = events.SX_TCP_EVENT_LAYOUT;
    const size = events.SX_TCP_EVENT_SIZE;
    // [sock id, start, end, final]: a sweep's report of a connection that connected during the sweep's walk (end, the
    // sweep's clock, before the start), a real interim report, and closes (one with a start after its end is still
    // a close: only interim reports are left out).
    const recs: [bigint, bigint, bigint, number][] = [
      [1n, 5_000n, 4_000n, 0],
      [2n, 5_000n, 35_000n, 0],
      [1n, 5_000n, 9_000n, 1],
      [3n, 7_000n, 6_000n, 1],
      [4n, 8_000n, 8_000n, 0],
    ];
    const batch = Buffer.alloc(recs.length * (4 + size));
    recs.forEach(([sock, start, end, final], i) => {
      const r = i * (4 + size);
      batch.writeUInt32LE(size, r);
      batch.writeBigUInt64LE(sock, r + 4 + (L.sock_id?.offset ?? 0));
      batch.writeBigUInt64LE(start, r + 4 + (L.start_ns?.offset ?? 0));
      batch.writeBigUInt64LE(end, r + 4 + (L.end_ns?.offset ?? 0));
      batch[r + 4 + (L.final?.offset ?? 0)] = final;
      batch[r + 4 + (L.family?.offset ?? 0)] = 4;
    });
    expect(readTcpEvents(batch, recs.length).map((e) => [e.sockId, e.startNs, e.endNs, e.final])).toEqual(recs.slice(1));
  });
});

describe('histogram bucket scheme in C equals the TypeScript one', () => {
  it.skipIf(noToolchain)('for 20k values including every power-of-two edge', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sx-hist-'));
    const values: bigint[] = [0n, 1n, 7n, 15n, 16n, 17n];
    for (let b = 1n; b < 50n; b++) for (const d of [-1n, 0n, 1n]) if ((1n << b) + d >= 0n) values.push((1n << b) + d);
    let x = 0x9e3779b97f4a7c15n;
    while (values.length < 20_000) {
      x ^= x << 13n;
      x &= (1n << 64n) - 1n;
      x ^= x >> 7n;
      x ^= x << 17n;
      x &= (1n << 64n) - 1n;
      values.push(x >> ((x % 50n) + 14n));
    }
    const src = path.join(dir, 'h.c');
    fs.writeFileSync(
      src,
      `#include <stdio.h>\n#include "sextant_hist.h"\nint main(void){unsigned long long v;while(scanf("%llu",&v)==1)printf("%u\\n",sextant_hist_bucket(v));return 0;}\n`,
    );
    execFileSync('cc', ['-O2', '-I', path.join(PACKAGE_ROOT, 'src', 'bpf'), src, '-o', path.join(dir, 'h')]);
    const out = execFileSync(path.join(dir, 'h'), { input: values.join('\n') })
      .toString()
      .trim()
      .split('\n')
      .map(Number);
    const mismatches = values.filter((v, i) => out[i] !== bucketIndex(Number(v)) && v < 2n ** 53n);
    expect(mismatches).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('address formatting', () => {
  it('formats IPv4, v4-mapped IPv6 (as IPv4) and IPv6 (RFC 5952), at an offset, the same on repeat', () => {
    const buf = Buffer.alloc(40);
    Buffer.from([10, 1, 2, 3]).copy(buf, 3);
    expect(formatIp(buf, 4, 3)).toBe('10.1.2.3');
    expect(formatIp(buf, 4, 3)).toBe('10.1.2.3');
    buf[6] = 254;
    expect(formatIp(buf, 4, 3)).toBe('10.1.2.254');
    const mapped = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
    expect(formatIp(mapped, 6)).toBe('127.0.0.1');
    const v6 = Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(formatIp(v6, 6)).toBe('2001:db8::1');
    expect(formatIp(Buffer.alloc(16), 6)).toBe('::');
  });
});
