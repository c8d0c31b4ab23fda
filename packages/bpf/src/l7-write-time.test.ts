/**
 * When a write is timed (sx_tcp_write_ns, sextant_l7_sock.bpf.h), on the real kernel: a write whose bytes all went
 * out by the TCP clock its transmission refreshed, any other by the clock. Each request record's time must lie inside
 * the write call as the writer saw it (python's CLOCK_MONOTONIC before and after: the clock bpf_ktime_get_ns reads):
 * - a request sent at once, and one held back by TCP_CORK (not sent, so the clock is read);
 * - a request written while 60 kB written before it are still queued, in a network namespace of the test's own whose
 *   loopback runs at MTU 1500 behind a 4 Mbit/s token bucket: that write transmits nothing, so the socket's TCP
 *   clock is its last transmission's or acknowledgement's, from before the call (taking it fails this case).
 * On both hooks (the syscall tracepoints time a write at its issue).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SX_L7_EGRESS } from './generated/events';
import { hasSockTracepoints } from './probe-options';
import type { SextantProbes } from './probes';
import { kernelMissing, openFullCapture, settle, type CapturedRecord } from './testing/kernel';

const noKernel = kernelMissing();

const PY = `
import json, os, socket, time
REQ = lambda p: ('GET %s HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n' % p).encode()
RES = b'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); s, _ = srv.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t = {}
def write(name, sock, data):
    t0 = time.monotonic_ns(); os.write(sock.fileno(), data); t[name] = [t0, time.monotonic_ns()]
write('sent', c, REQ('/sent'))
s.recv(4096); s.send(RES); c.recv(4096)
time.sleep(0.15)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
write('corked', c, REQ('/corked'))
time.sleep(0.05)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
s.recv(4096); s.send(RES); c.recv(4096)
print(json.dumps({'pid': os.getpid(), 't': t}))
`;

const PY_QUEUED = `
import json, os, socket, time
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); s, _ = srv.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
blob = b'x' * 60000
os.write(c.fileno(), b'POST /blob HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(blob) + blob)
time.sleep(0.03)
t0 = time.monotonic_ns()
os.write(c.fileno(), b'GET /queued HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n')
t = {'queued': [t0, time.monotonic_ns()]}
got = b''
while b'/queued' not in got[-200:]:
    d = s.recv(65536)
    if not d: break
    got += d
print(json.dumps({'pid': os.getpid(), 't': t}))
`;

/** Runs python code in a network namespace made for it: loopback at MTU 1500 behind a token bucket. */
function inSlowNamespace(code: string): string {
  const ns = `sxt-wt-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'mtu', '1500', 'up']);
    execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '4mbit', 'burst', '3000', 'limit', '200000']);
    return execFileSync('ip', ['netns', 'exec', ns, 'python3', '-c', code]).toString();
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

let probes: SextantProbes | undefined;
afterEach(() => {
  probes?.close();
  probes = undefined;
});

const hooks = hasSockTracepoints() ? (['sock', 'syscalls'] as const) : (['syscalls'] as const);

describe.skipIf(noKernel)('L7 write time', () => {
  it.each(hooks)('%s: a request written is timed inside its write call, sent at once or held by TCP_CORK', async (l7Hooks) => {
    let recs: CapturedRecord[];
    ({ probes, recs } = openFullCapture(l7Hooks));
    const out = JSON.parse(execFileSync('python3', ['-c', PY]).toString()) as {
      pid: number;
      t: Record<'sent' | 'corked', [number, number]>;
    };
    const requests = () => recs.filter((r) => r.pid === out.pid && r.direction === SX_L7_EGRESS && r.data.startsWith('GET '));
    await settle(() => requests().length >= 2);
    const byPath = new Map(requests().map((r) => [r.data.split(' ')[1], r.tsNs]));
    expect([...byPath.keys()].sort()).toEqual(['/corked', '/sent']);
    for (const [name, path] of [
      ['sent', '/sent'],
      ['corked', '/corked'],
    ] as const) {
      const [before, after] = out.t[name];
      const ts = Number(byPath.get(path));
      // python's monotonic_ns and the kernel's ktime are one clock; the record's time is within the call
      expect({ name, ts: ts >= before && ts <= after }).toEqual({ name, ts: true });
    }
  });

  it.each(hooks)('%s: a request written behind queued data is timed inside its write call', async (l7Hooks) => {
    let recs: CapturedRecord[];
    ({ probes, recs } = openFullCapture(l7Hooks));
    const out = JSON.parse(inSlowNamespace(PY_QUEUED)) as { pid: number; t: { queued: [number, number] } };
    const mine = () => recs.filter((r) => r.pid === out.pid && r.direction === SX_L7_EGRESS && r.data.startsWith('GET /queued'));
    await settle(() => mine().length >= 1);
    const [before, after] = out.t.queued;
    const ts = Number(mine()[0]!.tsNs);
    expect({ afterStart: ts >= before, beforeEnd: ts <= after }).toEqual({ afterStart: true, beforeEnd: true });
  });
});
