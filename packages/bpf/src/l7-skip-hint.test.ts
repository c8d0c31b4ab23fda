/**
 * A socket classified as not ours (here NONE: a binary protocol) is skipped by its calls through its flag in socket
 * storage and the hint in front of it (the socket's cookie in a direct-mapped array, sextant_l7_sock.bpf.h). A TCP
 * socket disconnected (connect with AF_UNSPEC) and connected again to an HTTP server is another connection: its TCP
 * close drops the flag and the hint, and its HTTP exchange must be captured, from a thread with no TLS pairing state
 * (the calls the hint stops). The flag and its hint are made by a socket's fourth skipped call, not before (a
 * connection that makes fewer, as nginx's on a new connection per request, never allocates one), and go at its close.
 * Real kernel, python's sockets on loopback.
 */
import { execFileSync, spawn } from 'node:child_process';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { SX_L7_EGRESS, SX_L7_INGRESS, SX_PROTO_HTTP } from './generated/events';
import { hasSockTracepoints } from './probe-options';
import type { SextantProbes } from './probes';
import { kernelMissing, openFullCapture, settle, type CapturedRecord } from './testing/kernel';

const noKernel = kernelMissing();

const REQUEST = 'GET /after-reconnect HTTP/1.1\r\nHost: t\r\n\r\n';
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

const PY = `
import ctypes, json, os, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
binary = socket.socket(); binary.bind(('127.0.0.1', 0)); binary.listen()
http = socket.socket(); http.bind(('127.0.0.1', 0)); http.listen()
c = socket.socket()
c.connect(binary.getsockname()); p, _ = binary.accept()
for i in range(8):                                   # classified NONE, then skipped: its flag and hint
  m = b'\\x00\\x01\\x02\\x03 binary message %d \\x00' % i
  c.sendall(m)
  assert p.recv(100) == m
  p.sendall(m)
  assert c.recv(100) == m
unspec = struct.pack('H14x', socket.AF_UNSPEC)
assert libc.connect(c.fileno(), unspec, len(unspec)) == 0, ctypes.get_errno()   # disconnect: TCP close
c.connect(http.getsockname()); h, _ = http.accept()
c.sendall(${JSON.stringify(REQUEST)}.encode())
h.recv(1000)
h.sendall(${JSON.stringify(RESPONSE)}.encode())
assert c.recv(1000) == ${JSON.stringify(RESPONSE)}.encode()
print(json.dumps({'pid': os.getpid(), 'c': os.fstat(c.fileno()).st_ino}))
`;

// A loopback client's server, given up (not captured): its calls after the request are skipped. The script stops
// after each step until the test sends a line.
const STEPS = `
import json, socket, struct, sys
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
c = socket.socket(); c.connect(srv.getsockname()); h, _ = srv.accept()
c.sendall(${JSON.stringify(REQUEST)}.encode())
h.recv(1000)                                   # given up: a loopback client's server
h.sendall(${JSON.stringify(RESPONSE)}.encode())     # skipped call 1
c.recv(1000)
c.shutdown(socket.SHUT_WR)
assert h.recv(1000) == b''                     # 2
assert h.recv(1000) == b''                     # 3
cookie = struct.unpack('Q', h.getsockopt(socket.SOL_SOCKET, 57, 8))[0]   # SO_COOKIE
print(json.dumps({'cookie': str(cookie)}), flush=True); sys.stdin.readline()
assert h.recv(1000) == b''                     # 4: the flag and its hint
print('4', flush=True); sys.stdin.readline()
h.close(); c.close()                           # TCP close (h's FIN answered by c's ACK)
print('closed', flush=True); sys.stdin.readline()
`;

/** The hint slot of a socket cookie, read from the probes' map (the newest of that name: these probes'). */
function hintOf(cookie: bigint): bigint {
  const maps = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show']).toString()) as { id: number; name: string }[];
  const id = Math.max(...maps.filter((m) => m.name === 'sx_l7_skip_hint').map((m) => m.id));
  const key = Buffer.alloc(4);
  key.writeUInt32LE(Number(cookie & 0x3fffn));
  const out = JSON.parse(
    execFileSync('bpftool', ['-j', 'map', 'lookup', 'id', String(id), 'key', ...[...key].map((b) => String(b))]).toString(),
  ) as { value: string[] };
  return Buffer.from(out.value.map((b) => Number(b))).readBigUInt64LE();
}

let probes: SextantProbes | undefined;
afterEach(() => {
  probes?.close();
  probes = undefined;
});

describe.skipIf(noKernel)('skipped sockets', () => {
  it('a skipped socket disconnected and connected again to an HTTP server is captured', async () => {
    if (!hasSockTracepoints()) return; // the hint is on the socket tracepoints
    let recs: CapturedRecord[];
    ({ probes, recs } = openFullCapture('sock', { captureLoopbackServers: false }));
    const out = JSON.parse(execFileSync('python3', ['-c', PY]).toString()) as { pid: number; c: number };
    const mine = () => recs.filter((r) => r.pid === out.pid && r.ino === BigInt(out.c));
    await settle(() => mine().length >= 2);
    expect(mine().map(({ direction, protocol, data }) => ({ direction, protocol, data }))).toEqual([
      { direction: SX_L7_EGRESS, protocol: SX_PROTO_HTTP, data: REQUEST },
      { direction: SX_L7_INGRESS, protocol: SX_PROTO_HTTP, data: RESPONSE },
    ]);
  });

  it('gives a skipped socket its flag at its fourth skipped call, not before, and drops it at close', async () => {
    if (!hasSockTracepoints()) return;
    ({ probes } = openFullCapture('sock', { captureLoopbackServers: false }));
    const py = spawn('python3', ['-c', STEPS], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: py.stdout })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value);
    try {
      const cookie = BigInt((JSON.parse(await next()) as { cookie: string }).cookie);
      expect(hintOf(cookie)).not.toBe(cookie); // three skipped calls: counted, no flag
      py.stdin.write('\n');
      expect(await next()).toBe('4');
      expect(hintOf(cookie)).toBe(cookie); // the fourth made it
      py.stdin.write('\n');
      expect(await next()).toBe('closed');
      await settle(() => hintOf(cookie) !== cookie, 2_000, 0);
      expect(hintOf(cookie)).not.toBe(cookie); // its close dropped it
      py.stdin.write('\n');
    } finally {
      py.kill();
    }
  });
});
