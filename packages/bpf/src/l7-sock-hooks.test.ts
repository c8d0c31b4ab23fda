/**
 * Where L7 capture hooks the send/receive calls (sextant_l7_sock.bpf.h), on the real kernel: one python process
 * moves known requests and responses over two loopback connections with each of the eight captured syscalls, a
 * dup of a socket's fd, sendfile and splice into sockets, and request bytes written to a plain file. Every socket
 * call must come as exactly one record with that socket's inode (fstat of its fd), the syscall made, and exactly
 * the bytes moved; sendfile, splice and the file write come as none. The same for both hooks: the socket
 * tracepoints (default where the kernel has them) and the syscall tracepoints (the fallback).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { SX_L7_EGRESS, SX_L7_INGRESS, SX_PROTO_HTTP } from './generated/events';
import { BTF_KIND_TYPEDEF, loadAddon } from './native';
import { hasSockTracepoints } from './probe-options';
import type { SextantProbes } from './probes';
import { kernelMissing, openFullCapture, settle, type CapturedRecord } from './testing/kernel';

const noKernel = kernelMissing();
// sock_send_length / sock_recv_length came in Linux 6.3 (this machine: 6.18).
const [major = 0, minor = 0] = os.release().split('.').map(Number);
const sock63 = major > 6 || (major === 6 && minor >= 3);

const PY = `
import json, os, socket, tempfile
REQ = lambda p: ('GET %s HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n' % p).encode()
RES = lambda b: ('HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n%s' % (len(b), b)).encode()
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
port = srv.getsockname()[1]
a = socket.create_connection(('127.0.0.1', port)); b, _ = srv.accept()
c = socket.create_connection(('127.0.0.1', port)); d, _ = srv.accept()
f = tempfile.TemporaryFile()
os.write(a.fileno(), REQ('/write'))                      # write
os.read(b.fileno(), 4096)                                # read
os.write(f.fileno(), REQ('/file'))                       # a plain file: nothing
r = RES('writev')
os.writev(b.fileno(), [r[:17], r[17:]])                  # writev
os.readv(a.fileno(), [bytearray(17), bytearray(4096)])   # readv
c.send(REQ('/sendto'))                                   # sendto
d.recv(4096)                                             # recvfrom
r = RES('sendmsg')
d.sendmsg([r[:10], r[10:]])                              # sendmsg
c.recvmsg(4096)                                          # recvmsg
x = os.dup(a.fileno())
os.write(x, REQ('/dup'))                                 # write on a dup of a's fd
b.recv(4096)
os.sendfile(a.fileno(), f.fileno(), 0, len(REQ('/file'))) # sendfile: nothing
b.recv(4096)                                             # what it sent, read
pr, pw = os.pipe()
r = RES('splice')
os.write(pw, r)
os.splice(pr, b.fileno(), len(r))                        # splice: nothing
os.read(a.fileno(), 4096)
ino = lambda s: os.fstat(s.fileno()).st_ino
print(json.dumps({'pid': os.getpid(), 'a': ino(a), 'b': ino(b), 'c': ino(c), 'd': ino(d)}))
`;

// SX_SYS_* of sextant_l7.bpf.h (the header's syscall field)
const SYS = { read: 1, write: 2, readv: 3, writev: 4, recvfrom: 5, sendto: 6, recvmsg: 7, sendmsg: 8 } as const;
const REQ = (p: string) => `GET ${p} HTTP/1.1\r\nHost: t\r\n\r\n`;
const RES = (b: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\n\r\n${b}`;

let probes: SextantProbes | undefined;
afterEach(() => {
  probes?.close();
  probes = undefined;
});

const hooks = ['sock', 'syscalls'] as const;

describe.skipIf(noKernel)('L7 capture hooks', () => {
  it('uses the socket tracepoints on this kernel (6.3+, x86_64)', () => {
    expect(hasSockTracepoints()).toBe(process.arch === 'x64' && sock63);
  });

  it("finds types in the kernel's BTF through libbpf as they are: by name and kind, a made-up name never", () => {
    const addon = loadAddon()!;
    const names = ['btf_trace_sock_send_length', 'btf_trace_sock_recv_length', 'btf_trace_sextant_no_such_tracepoint'];
    const found = addon.btfHasTypes(names, BTF_KIND_TYPEDEF);
    // The truth from the raw BTF: a name in its string section (the tracepoints' typedefs have no namesakes).
    const raw = fs.readFileSync('/sys/kernel/btf/vmlinux');
    expect(found).toEqual(names.map((n) => raw.includes(`\0${n}\0`)));
    expect(found).toEqual([sock63, sock63, false]);
    // The kind counts: the typedef is not a struct, task_struct is; void (type id 0) and an empty list are nothing.
    const BTF_KIND_STRUCT = 4;
    expect(addon.btfHasTypes(['btf_trace_sock_send_length', 'task_struct', 'void'], BTF_KIND_STRUCT)).toEqual([false, true, false]);
    expect(addon.btfHasTypes([], BTF_KIND_TYPEDEF)).toEqual([]);
  });

  it.each(hooks)('%s: every socket call once, under its own socket, with its bytes; sendfile, splice and files never', async (l7Hooks) => {
    let recs: CapturedRecord[];
    ({ probes, recs } = openFullCapture(l7Hooks));
    const out = JSON.parse(execFileSync('python3', ['-c', PY]).toString()) as Record<'pid' | 'a' | 'b' | 'c' | 'd', number>;
    const expected = [
      ['a', SX_L7_EGRESS, SYS.write, REQ('/write')],
      ['b', SX_L7_INGRESS, SYS.read, REQ('/write')],
      ['b', SX_L7_EGRESS, SYS.writev, RES('writev')],
      ['a', SX_L7_INGRESS, SYS.readv, RES('writev')],
      ['c', SX_L7_EGRESS, SYS.sendto, REQ('/sendto')],
      ['d', SX_L7_INGRESS, SYS.recvfrom, REQ('/sendto')],
      ['d', SX_L7_EGRESS, SYS.sendmsg, RES('sendmsg')],
      ['c', SX_L7_INGRESS, SYS.recvmsg, RES('sendmsg')],
      ['a', SX_L7_EGRESS, SYS.write, REQ('/dup')],
      ['b', SX_L7_INGRESS, SYS.recvfrom, REQ('/dup')],
      ['b', SX_L7_INGRESS, SYS.recvfrom, REQ('/file')],
      ['a', SX_L7_INGRESS, SYS.read, RES('splice')],
    ] as const;
    const mine = () => recs.filter((r) => r.pid === out.pid);
    await settle(() => mine().length >= expected.length); // and any that must not come
    const got = mine();
    expect(got.map((r) => ({ ino: r.ino, direction: r.direction, syscall: r.syscall, protocol: r.protocol, data: r.data }))).toEqual(
      expected.map(([s, direction, syscall, data]) => ({ ino: BigInt(out[s]), direction, syscall, protocol: SX_PROTO_HTTP, data })),
    );
    // one struct sock per socket: four sockets, four ids
    const ids = new Map(got.map((r) => [r.ino, r.sockId]));
    expect(new Set(ids.values()).size).toBe(4);
  });
});
