/**
 * TLS plaintext through uprobes on the real kernel (sextant_tls.bpf.h): a node TLS client and server (the node
 * binary's own OpenSSL, memory BIOs) and curl → nginx (libssl.so.3, socket BIOs) on loopback. The plaintext must
 * come exactly as sent, under the client's socket, with tls = node / openssl; the syscall path must send nothing
 * of the ciphertext, only one header-only TLS marker per socket.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite } from '@sextant/shared/testing';
import { SX_DIR_CLIENT, SX_L7_EGRESS, SX_L7_INGRESS, SX_PROTO_HTTP, SX_PROTO_TLS, SX_TLS_NODE, SX_TLS_OPENSSL } from './generated/events';
import { preflight } from './preflight';
import { SextantProbes } from './probes';

const pf = preflight();
const noKernel = missingPrerequisite(pf.ok, `eBPF kernel tests: eBPF unavailable (${pf.ok ? '' : pf.reason})`);
const LIBSSL = '/usr/lib/x86_64-linux-gnu/libssl.so.3';
const PYTHON = '/usr/bin/python3';
// Two requests on one connection through python's ssl module (SSL_write_ex / SSL_read_ex); nginx answers each in
// one record.
const PY_CLIENT = `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='127.0.0.1')
for p in ('/p', '/q'):
    s.sendall(('GET %s HTTP/1.1\\r\\nHost: shop.test\\r\\n\\r\\n' % p).encode())
    print(s.recv(4096).decode().split('\\r\\n\\r\\n', 1)[1], end='')
s.close()
`;

const has = (bin: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

interface Rec {
  pid: number;
  sockIno: bigint;
  sport: number;
  dport: number;
  direction: number;
  protocol: number;
  role: number;
  tls: number;
  capturedLen: number;
  data: string;
}

let probes: SextantProbes;
let dir: string;
const recs: Rec[] = [];

beforeAll(() => {
  if (noKernel) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'].concat([
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      `${dir}/key.pem`,
      '-out',
      `${dir}/cert.pem`,
    ]),
    { stdio: 'ignore' },
  );
  probes = SextantProbes.open({ l7Mode: 'full', updateIntervalMs: 0, selfPid: process.pid });
  probes.onL7Events((batch) => {
    for (const r of batch) {
      const h = r.header();
      recs.push({ ...h, sockIno: h.sockIno, data: r.data().toString('latin1') });
    }
  });
});
afterAll(() => {
  probes?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function runChild(cmd: string, args: string[]): Promise<{ pid: number; out: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve({ pid: c.pid!, out }) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

async function until(pred: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && !pred();) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300)); // and whatever should not come
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const REQ = (p: string) => `GET ${p} HTTP/1.1\r\nHost: shop.test\r\n\r\n`;
const RES = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

// One process: a TLS server answering each request, and a client sending two requests on one connection.
const NODE_PEERS = `
const tls = require('node:tls'); const fs = require('node:fs');
const [key, cert] = ['key', 'cert'].map((n) => fs.readFileSync(process.argv[1] + '/' + n + '.pem'));
const RES = ${RES.toString()};
const srv = tls.createServer({ key, cert }, (s) => s.on('data', (d) => s.write(RES('hello ' + d.toString().split(' ')[1]))));
srv.listen(0, '127.0.0.1', () => {
  const c = tls.connect({ port: srv.address().port, host: '127.0.0.1', ca: cert }, () => c.write(${JSON.stringify(REQ('/a'))}));
  let n = 0;
  c.on('data', () => (++n === 1 ? c.write(${JSON.stringify(REQ('/b'))}) : c.end()));
  c.on('close', () => { console.log(srv.address().port); srv.close(); });
});`;

describe.skipIf(noKernel)('TLS plaintext uprobes', () => {
  it('node client ↔ node server: the exact plaintext under the client socket, tls = node, no ciphertext', async () => {
    const a = probes.tlsProbes().attachFile(fs.realpathSync(process.execPath), 'node');
    try {
      const { pid, out } = await runChild(process.execPath, ['-e', NODE_PEERS, dir]);
      const port = Number(out.trim());
      const client = () => recs.filter((r) => r.pid === pid && r.dport === port);
      await until(() => client().length >= 5);
      const mine = recs.filter((r) => r.pid === pid && (r.dport === port || r.sport === port));
      const [marker, ...plain] = client();
      expect(marker).toMatchObject({ protocol: SX_PROTO_TLS, tls: 0, capturedLen: 0, direction: SX_L7_EGRESS, role: SX_DIR_CLIENT });
      expect(plain.map((r) => [r.direction, r.protocol, r.tls, r.sockIno, r.data])).toEqual([
        [SX_L7_EGRESS, SX_PROTO_HTTP, SX_TLS_NODE, marker!.sockIno, REQ('/a')],
        [SX_L7_INGRESS, SX_PROTO_HTTP, SX_TLS_NODE, marker!.sockIno, RES('hello /a')],
        [SX_L7_EGRESS, SX_PROTO_HTTP, SX_TLS_NODE, marker!.sockIno, REQ('/b')],
        [SX_L7_INGRESS, SX_PROTO_HTTP, SX_TLS_NODE, marker!.sockIno, RES('hello /b')],
      ]);
      // The server socket: its TLS marker only (a loopback client reports the exchange); nothing from a syscall
      // on either socket carries bytes.
      const server = mine.filter((r) => r.sport === port);
      expect(server.map((r) => [r.protocol, r.capturedLen, r.tls])).toEqual([[SX_PROTO_TLS, 0, 0]]);
      expect(mine.filter((r) => r.tls === 0 && r.capturedLen > 0)).toEqual([]);
    } finally {
      probes.tlsProbes().detach(a);
    }
  });

  // Debian's libssl.so.3 (3.0.x): SSL_read / SSL_write begin with `sub $0x18,%rsp`, which the kernel would single-step
  // on every call; both they and SSL_read_ex / SSL_write_ex wrap ssl_read_internal / ssl_write_internal, which are
  // probed instead (probe-sites.ts). curl and nginx call SSL_read / SSL_write, python's ssl SSL_read_ex /
  // SSL_write_ex: each exchange must come once, exactly.
  it.skipIf(!has('nginx') || !has('curl'))('curl → nginx through libssl.so.3 (SSL_read / SSL_write): tls = openssl', async () => {
    const a = probes.tlsProbes().attachFile(LIBSSL, 'openssl');
    expect([a.internal, a.singleStepped, a.undecoded]).toEqual([['read', 'write'], [], undefined]);
    const nginx = await startNginx();
    try {
      const url = (p: string) => `https://127.0.0.1:${nginx.port}${p}`;
      const { pid, out } = await runChild('curl', ['-s', '--cacert', `${dir}/cert.pem`, url('/x'), url('/y')]);
      expect(out).toBe('secret /x\nsecret /y\n');
      await expectExchanges(pid, nginx.port, ['/x', '/y']);
    } finally {
      nginx.stop();
      probes.tlsProbes().detach(a);
    }
  });

  it.skipIf(!has('nginx') || !has(PYTHON))(
    'python ssl → nginx through libssl.so.3 (SSL_read_ex / SSL_write_ex): tls = openssl',
    async () => {
      const a = probes.tlsProbes().attachFile(LIBSSL, 'openssl');
      const nginx = await startNginx();
      try {
        const { pid, out } = await runChild(PYTHON, ['-c', PY_CLIENT, String(nginx.port), `${dir}/cert.pem`]);
        expect(out).toBe('secret /p\nsecret /q\n');
        await expectExchanges(pid, nginx.port, ['/p', '/q']);
      } finally {
        nginx.stop();
        probes.tlsProbes().detach(a);
      }
    },
  );
});

/** nginx answering "secret <uri>" over TLS on a free loopback port. */
async function startNginx(): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const conf = path.join(dir, `nginx-${port}.conf`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join(' ');
  fs.writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${dir}/nginx-${port}.pid; error_log ${dir}/error.log; events { worker_connections 16; }
     http { access_log off; ${temp} server { listen 127.0.0.1:${port} ssl; ssl_certificate ${dir}/cert.pem;
     ssl_certificate_key ${dir}/key.pem; location / { return 200 "secret $uri\\n"; } } }`,
  );
  const nginx = spawn('nginx', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 50));
  return { port, stop: () => nginx.kill() };
}

/** The client's records: its TLS marker, then each path's request and response plaintext once, in order. */
async function expectExchanges(pid: number, port: number, paths: string[]): Promise<void> {
  const client = () => recs.filter((r) => r.pid === pid);
  await until(() => client().length >= 1 + 2 * paths.length);
  const [marker, ...plain] = client();
  expect(marker).toMatchObject({ protocol: SX_PROTO_TLS, tls: 0, capturedLen: 0, dport: port, role: SX_DIR_CLIENT });
  expect(plain.map((r) => [r.direction, r.protocol, r.tls, r.sockIno])).toEqual(
    paths.flatMap(() => [SX_L7_EGRESS, SX_L7_INGRESS]).map((d) => [d, SX_PROTO_HTTP, SX_TLS_OPENSSL, marker!.sockIno]),
  );
  expect(plain.map((r) => r.data.split('\r\n')[0])).toEqual(paths.flatMap((p) => [`GET ${p} HTTP/1.1`, 'HTTP/1.1 200 OK']));
  expect(plain.filter((_, i) => i % 2 === 1).map((r) => r.data.slice(r.data.indexOf('\r\n\r\n') + 4))).toEqual(
    paths.map((p) => `secret ${p}\n`),
  );
  // nginx's side of the connection: its marker, no bytes from a syscall (its one-byte peek included).
  const server = recs.filter((r) => r.sport === port);
  expect(server.map((r) => [r.protocol, r.capturedLen, r.tls])).toEqual([[SX_PROTO_TLS, 0, 0]]);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
