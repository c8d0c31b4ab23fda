/**
 * A socket classified as not ours (here NONE: a binary protocol) is skipped by its calls through its flag in socket
 * storage and the hint in front of it (the socket's cookie in a direct-mapped array, sextant_l7_sock.bpf.h). A TCP
 * socket disconnected (connect with AF_UNSPEC) and connected again to an HTTP server is another connection: its TCP
 * close drops the flag and the hint, and its HTTP exchange must be captured, from a thread with no TLS pairing state
 * (the calls the hint stops). Real kernel, python's sockets on loopback.
 */
import { execFileSync } from 'node:child_process';
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
});
