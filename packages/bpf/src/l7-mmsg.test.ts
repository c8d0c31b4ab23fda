/**
 * sendmmsg / recvmmsg capture on the real kernel: one python process (libc's sendmmsg / recvmmsg through ctypes) moves
 * known DNS queries and answers between two connected UDP sockets on loopback, several messages per call, one of them
 * in two iovecs, vectors used again by later calls, a non-blocking recvmmsg that ends on EAGAIN, and a recvmmsg with a
 * timeout. Every message must come as exactly one record, under its own socket, with its own bytes and the call that
 * moved it. On the socket tracepoints (the default where the kernel has them) each message is counted per thread
 * (sextant_l7_sock.bpf.h, sx_l7_mmsg) and a recvmmsg with a timeout is not captured but counted; on the syscall
 * tracepoints (the fallback) each call's first two messages are captured at its exit.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SX_L7_EGRESS, SX_L7_INGRESS, SX_PROTO_DNS } from './generated/events';
import { hasSockTracepoints } from './probe-options';
import type { SextantProbes } from './probes';
import { kernelMissing, openFullCapture, settle, type CapturedRecord } from './testing/kernel';

const noKernel = kernelMissing();

const PRELUDE = `
import ctypes, json, os, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure): _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
class msghdr(ctypes.Structure): _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint32), ('iov', ctypes.POINTER(iovec)),
  ('iovlen', ctypes.c_size_t), ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t), ('flags', ctypes.c_int)]
class mmsghdr(ctypes.Structure): _fields_ = [('hdr', msghdr), ('len', ctypes.c_uint)]
class timespec(ctypes.Structure): _fields_ = [('sec', ctypes.c_long), ('nsec', ctypes.c_long)]
assert ctypes.sizeof(mmsghdr) == 64
keep = []
def name(n): return b''.join(bytes([len(p)]) + p for p in n.encode().split(b'.')) + b'\\0'
def query(i, n): return struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + name(n) + struct.pack('>HH', 1, 1)
def answer(i, n): return struct.pack('>HHHHHH', i, 0x8180, 1, 0, 0, 0) + name(n) + struct.pack('>HH', 1, 1)
def vector(n):
  v = (mmsghdr * n)(); keep.append(v); return v
def fill(v, msgs):
  for k, m in enumerate(msgs):
    parts = m if isinstance(m, list) else [m]
    iov = (iovec * len(parts))(); keep.append(iov)
    for j, p in enumerate(parts):
      b = ctypes.create_string_buffer(p, len(p)); keep.append(b)
      iov[j].base = ctypes.addressof(b); iov[j].len = len(p)
    v[k].hdr.iov = iov; v[k].hdr.iovlen = len(parts); v[k].len = 0
def receivers(v, n):
  for k in range(n):
    b = ctypes.create_string_buffer(512); keep.append(b)
    iov = (iovec * 1)(); keep.append(iov); iov[0].base = ctypes.addressof(b); iov[0].len = 512
    v[k].hdr.iov = iov; v[k].hdr.iovlen = 1
def call(f, fd, v, n, flags, *rest):
  r = f(fd, v, n, flags, *rest)
  if r < 0: raise OSError(ctypes.get_errno(), 'mmsg')
  return r
`;

const PY = `${PRELUDE}
MSG_WAITFORONE = 0x10000
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('127.0.0.1', 0))
a.connect(b.getsockname()); b.connect(a.getsockname())
qs = vector(3); rs = vector(4)
q3 = query(3, 'three.sextant.test')
fill(qs, [query(1, 'one.sextant.test'), query(2, 'two.sextant.test'), [q3[:12], q3[12:]]])
assert call(libc.sendmmsg, a.fileno(), qs, 3, 0) == 3                  # 3 queries, the third in two iovecs
receivers(rs, 4)
assert call(libc.recvmmsg, b.fileno(), rs, 3, 0, None) == 3            # blocking, all 3
ans = vector(2)
fill(ans, [answer(1, 'one.sextant.test'), answer(2, 'two.sextant.test')])
assert call(libc.sendmmsg, b.fileno(), ans, 2, 0) == 2
assert call(libc.recvmmsg, a.fileno(), rs, 4, socket.MSG_DONTWAIT, None) == 2  # 2 of 4, then EAGAIN
fill(qs, [query(4, 'four.sextant.test'), query(5, 'five.sextant.test'), query(6, 'six.sextant.test')])
assert call(libc.sendmmsg, a.fileno(), qs, 3, 0) == 3                  # the same vector and length again,
fill(qs, [query(8, 'eight.sextant.test'), query(9, 'nine.sextant.test'), query(10, 'ten.sextant.test')])
assert call(libc.sendmmsg, a.fileno(), qs, 3, 0) == 3                  # twice in a row
assert call(libc.recvmmsg, b.fileno(), rs, 3, 0, None) == 3            # and the receiver's twice in a row
assert call(libc.recvmmsg, b.fileno(), rs, 3, 0, None) == 3
fill(ans, [answer(4, 'four.sextant.test')])
assert call(libc.sendmmsg, b.fileno(), ans, 1, 0) == 1
assert call(libc.recvmmsg, a.fileno(), rs, 4, MSG_WAITFORONE, None) == 1  # 1, then EAGAIN
a.send(query(7, 'seven.sextant.test'))
t = timespec(2, 0)
assert call(libc.recvmmsg, b.fileno(), rs, 2, MSG_WAITFORONE, ctypes.byref(t)) == 1  # with a timeout
ino = lambda s: os.fstat(s.fileno()).st_ino
print(json.dumps({'pid': os.getpid(), 'a': ino(a), 'b': ino(b)}))
`;

// A stream's sendmmsg that sends a message in part ends there; the next call on the same vector starts at its first.
const PY_PARTIAL = `${PRELUDE}
import threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); srv.bind(('127.0.0.1', 0)); srv.listen()
a = socket.socket(); a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
a.connect(srv.getsockname()); b, _ = srv.accept()
v = vector(2)
big = b'POST /big HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 1000000\\r\\n\\r\\n' + b'x' * 1000000
fill(v, [big, b'GET /never HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'])
n = call(libc.sendmmsg, a.fileno(), v, 2, socket.MSG_DONTWAIT)
assert n == 1 and v[0].len < len(big), (n, v[0].len)                   # the first message in part, the call ends
def drain(n):
  while n > 0:
    n -= len(b.recv(min(n, 1 << 20)))
sent = v[0].len
drain(sent)
a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20); b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
t = threading.Thread(target=drain, args=(len(big) - sent,)); t.start()
a.sendall(big[sent:])                                                 # the rest of it, as a stream
t.join()
fill(v, [b'GET /one HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n', b'GET /two HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n'])
assert call(libc.sendmmsg, a.fileno(), v, 2, 0) == 2                  # the same vector: messages 0 and 1
print(json.dumps({'pid': os.getpid(), 'a': os.fstat(a.fileno()).st_ino}))
`;

// SX_SYS_* of sextant_l7.bpf.h (the header's syscall field)
const SYS = { sendto: 6, recvmmsg: 9, sendmmsg: 10 } as const;
const name = (n: string) =>
  Buffer.concat([...n.split('.').map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])), Buffer.from([0])]);
const dns = (id: number, flags: number, n: string) => {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, name(n), Buffer.from([0, 1, 0, 1])]).toString('latin1');
};
const Q = (id: number, n: string) => dns(id, 0x0100, `${n}.sextant.test`);
const A = (id: number, n: string) => dns(id, 0x8180, `${n}.sextant.test`);

let probes: SextantProbes | undefined;
afterEach(() => {
  probes?.close();
  probes = undefined;
});

type Side = 'a' | 'b';
type Expected = readonly [Side, number, number, string];

describe.skipIf(noKernel)('sendmmsg / recvmmsg capture', () => {
  it.each(['sock', 'syscalls'] as const)('%s: every message once, under its own socket, with its own bytes', async (l7Hooks) => {
    if (l7Hooks === 'sock' && !hasSockTracepoints()) return;
    let recs: CapturedRecord[];
    ({ probes, recs } = openFullCapture(l7Hooks));
    const timeoutsBefore = probes.readCounters().l7MmsgTimeout;
    const out = JSON.parse(execFileSync('python3', ['-c', PY]).toString()) as Record<'pid' | Side, number>;
    const E = SX_L7_EGRESS;
    const I = SX_L7_INGRESS;
    // each call's messages; the syscall tracepoints see a call's first two (SX_L7_MAX_MMSG)
    const calls: Expected[][] = [
      [
        ['a', E, SYS.sendmmsg, Q(1, 'one')],
        ['a', E, SYS.sendmmsg, Q(2, 'two')],
        ['a', E, SYS.sendmmsg, Q(3, 'three')],
      ],
      [
        ['b', I, SYS.recvmmsg, Q(1, 'one')],
        ['b', I, SYS.recvmmsg, Q(2, 'two')],
        ['b', I, SYS.recvmmsg, Q(3, 'three')],
      ],
      [
        ['b', E, SYS.sendmmsg, A(1, 'one')],
        ['b', E, SYS.sendmmsg, A(2, 'two')],
      ],
      [
        ['a', I, SYS.recvmmsg, A(1, 'one')],
        ['a', I, SYS.recvmmsg, A(2, 'two')],
      ],
      [
        ['a', E, SYS.sendmmsg, Q(4, 'four')],
        ['a', E, SYS.sendmmsg, Q(5, 'five')],
        ['a', E, SYS.sendmmsg, Q(6, 'six')],
      ],
      [
        ['a', E, SYS.sendmmsg, Q(8, 'eight')],
        ['a', E, SYS.sendmmsg, Q(9, 'nine')],
        ['a', E, SYS.sendmmsg, Q(10, 'ten')],
      ],
      [
        ['b', I, SYS.recvmmsg, Q(4, 'four')],
        ['b', I, SYS.recvmmsg, Q(5, 'five')],
        ['b', I, SYS.recvmmsg, Q(6, 'six')],
      ],
      [
        ['b', I, SYS.recvmmsg, Q(8, 'eight')],
        ['b', I, SYS.recvmmsg, Q(9, 'nine')],
        ['b', I, SYS.recvmmsg, Q(10, 'ten')],
      ],
      [['b', E, SYS.sendmmsg, A(4, 'four')]],
      [['a', I, SYS.recvmmsg, A(4, 'four')]],
      [['a', E, SYS.sendto, Q(7, 'seven')]],
      // the recvmmsg with a timeout: not captured on the socket tracepoints
      l7Hooks === 'sock' ? [] : [['b', I, SYS.recvmmsg, Q(7, 'seven')]],
    ];
    const expected = calls.flatMap((c) => (l7Hooks === 'sock' || c[0]?.[2] === SYS.sendto ? c : c.slice(0, 2)));
    const mine = () => recs.filter((r) => r.pid === out.pid);
    await settle(() => mine().length >= expected.length); // and any that must not come
    expect(mine().map(({ ino, direction, syscall, protocol, data }) => ({ ino, direction, syscall, protocol, data }))).toEqual(
      expected.map(([s, direction, syscall, data]) => ({ ino: BigInt(out[s]), direction, syscall, protocol: SX_PROTO_DNS, data })),
    );
    expect(probes.readCounters().l7MmsgTimeout - timeoutsBefore).toBe(l7Hooks === 'sock' ? 1 : 0);
  });

  it.each(['sock', 'syscalls'] as const)('%s: a stream message sent in part ends its sendmmsg', async (l7Hooks) => {
    if (l7Hooks === 'sock' && !hasSockTracepoints()) return;
    let recs: CapturedRecord[];
    ({ probes, recs } = openFullCapture(l7Hooks, { captureLoopbackServers: false }));
    const out = JSON.parse(execFileSync('python3', ['-c', PY_PARTIAL], { maxBuffer: 1 << 20 }).toString()) as Record<'pid' | 'a', number>;
    const mine = () =>
      recs.filter((r) => r.pid === out.pid && r.ino === BigInt(out.a) && r.direction === SX_L7_EGRESS && r.syscall === SYS.sendmmsg);
    await settle(() => mine().length >= 3);
    const starts = mine().map((r) => r.data.slice(0, r.data.indexOf('\r\n')));
    expect(starts).toEqual(['POST /big HTTP/1.1', 'GET /one HTTP/1.1', 'GET /two HTTP/1.1']);
  });
});
