/**
 * Test helper: real HTTP clients (node http with keep-alive, curl, a raw socket pipelining) run together
 * with the TCP tee in a child process of their own, so that the test runner's work (vitest, GC, the engine)
 * cannot stall the client between the tee's read and the client's — the client's clock is the ground truth
 * for latency. The child prints the tee's recording and what each client sent and measured. Test use only.
 */
import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startChunkTee, type TeeEvent } from './tcp-tee';

export interface RequestSpec {
  method: string;
  target: string;
  body?: string;
  headers?: Record<string, string>;
}

export type ClientSpec =
  | { client: 'node-http'; requests: RequestSpec[] }
  | { client: 'curl'; targets: string[]; http10Targets: string[] }
  | { client: 'raw-pipeline'; targets: string[] };

export interface Measured {
  /** What the client saw: status and latency (request handed to the kernel → first response bytes). */
  status: number;
  latencyMs: number;
}

export interface ClientRun {
  teePort: number;
  events: TeeEvent[];
  measured: Measured[];
}

async function nodeHttp(port: number, requests: RequestSpec[]): Promise<Measured[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: Measured[] = [];
  for (const r of requests) {
    out.push(
      await new Promise<Measured>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: r.target, method: r.method, agent, headers: r.headers });
        let t0 = 0n;
        req.on('response', (res) => {
          const t1 = process.hrtime.bigint();
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, latencyMs: Number(t1 - t0) / 1e6 }));
        });
        req.on('error', reject);
        // The clock starts once the request is handed to the kernel, as a syscall capture sees it.
        req.on('finish', () => (t0 = process.hrtime.bigint()));
        req.end(r.body);
      }),
    );
  }
  agent.destroy();
  return out;
}

async function curl(port: number, targets: string[], http10Targets: string[]): Promise<Measured[]> {
  const run = promisify(execFile);
  const format = '%{http_code} %{time_pretransfer} %{time_starttransfer}\\n';
  const parse = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [code, pre, start] = l.split(' ').map(Number);
        return { status: code!, latencyMs: (start! - pre!) * 1000 };
      });
  const args = ['-s', '-w', format];
  for (const t of targets) args.push('-o', '/dev/null', `http://127.0.0.1:${port}${t}`);
  const out = targets.length ? parse((await run('curl', args)).stdout) : [];
  // Separate invocations: HTTP/1.0 connections close after one exchange.
  for (const t of http10Targets)
    out.push(...parse((await run('curl', ['-s', '--http1.0', '-w', format, '-o', '/dev/null', `http://127.0.0.1:${port}${t}`])).stdout));
  return out;
}

/** Writes all requests at once; splits the responses by Content-Length (not by the engine) as they come. */
async function rawPipeline(port: number, targets: string[]): Promise<Measured[]> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((r) => socket.once('connect', r));
  const out: Measured[] = [];
  let received = Buffer.alloc(0);
  let offset = 0;
  let started = false;
  let startedAt = 0;
  const t0 = process.hrtime.bigint();
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d) => {
      const now = Number(process.hrtime.bigint() - t0) / 1e6;
      received = Buffer.concat([received, d]);
      for (;;) {
        if (!started && offset < received.length) {
          started = true;
          startedAt = now; // this response's first byte came with this read
        }
        const headEnd = received.indexOf('\r\n\r\n', offset);
        if (headEnd < 0) break;
        const head = received.toString('latin1', offset, headEnd);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (received.length < headEnd + 4 + len) break;
        out.push({ status: Number(head.slice(9, 12)), latencyMs: startedAt });
        offset = headEnd + 4 + len;
        started = false;
      }
      if (out.length === targets.length) resolve();
    });
  });
  socket.write(targets.map((t) => `GET ${t} HTTP/1.1\r\nHost: pipe\r\n\r\n`).join(''));
  await done;
  socket.end();
  return out;
}

/** Runs one client spec through a fresh tee in front of `upstreamPort`, in the child process. */
async function runHere(upstreamPort: number, spec: ClientSpec, captureBytes?: number): Promise<ClientRun> {
  try {
    os.setPriority(-15); // root on the test machines: fewer stalls from other processes
  } catch {}
  // Warm the code paths (JIT, first connection) so that the measured exchanges do not carry them.
  const warm = await startChunkTee(upstreamPort);
  await nodeHttp(
    warm.port,
    Array.from({ length: 10 }, () => ({ method: 'GET', target: '/warm?size=10' })),
  );
  await rawPipeline(warm.port, ['/warm?size=1', '/warm?size=2']);
  await warm.close();

  const tee = await startChunkTee(upstreamPort, { captureBytes });
  let measured: Measured[];
  let connections: number;
  if (spec.client === 'node-http') {
    measured = await nodeHttp(tee.port, spec.requests);
    connections = 1;
  } else if (spec.client === 'curl') {
    measured = await curl(tee.port, spec.targets, spec.http10Targets);
    connections = (spec.targets.length ? 1 : 0) + spec.http10Targets.length;
  } else {
    measured = await rawPipeline(tee.port, spec.targets);
    connections = 1;
  }
  await tee.waitClosed(connections);
  await tee.close();
  return { teePort: tee.port, events: tee.events, measured };
}

type Wire = {
  teePort: number;
  measured: Measured[];
  events: (
    | { kind: 'close'; connId: string }
    | { kind: 'chunk'; connId: string; direction: 'egress' | 'ingress'; ts: string; data: string; totalLength: number }
  )[];
};

/** From the test: runs the client and the tee in a child process and returns what they recorded. */
export async function runClientInChild(upstreamPort: number, spec: ClientSpec, captureBytes?: number): Promise<ClientRun> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify({ upstreamPort, spec, captureBytes })],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`client child exited with ${code}`);
  const wire = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Wire;
  return {
    teePort: wire.teePort,
    measured: wire.measured,
    events: wire.events.map((e) =>
      e.kind === 'close'
        ? { kind: 'close', connId: BigInt(e.connId) }
        : {
            kind: 'chunk',
            chunk: {
              connId: BigInt(e.connId),
              transport: 'tcp',
              direction: e.direction,
              timestampNs: BigInt(e.ts),
              data: Buffer.from(e.data, 'base64'),
              totalLength: e.totalLength,
            },
          },
    ),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { upstreamPort, spec, captureBytes } = JSON.parse(process.argv[2]!) as {
    upstreamPort: number;
    spec: ClientSpec;
    captureBytes?: number;
  };
  const r = await runHere(upstreamPort, spec, captureBytes);
  const wire: Wire = {
    teePort: r.teePort,
    measured: r.measured,
    events: r.events.map((e) =>
      e.kind === 'close'
        ? { kind: 'close', connId: String(e.connId) }
        : {
            kind: 'chunk',
            connId: String(e.chunk.connId),
            direction: e.chunk.direction,
            ts: String(e.chunk.timestampNs),
            data: e.chunk.data.toString('base64'),
            totalLength: e.chunk.totalLength,
          },
    ),
  };
  process.stdout.write(JSON.stringify(wire));
}
