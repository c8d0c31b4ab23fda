/**
 * Test harness: the Debian Prometheus binary scraping one target every second, with a throw-away TSDB,
 * listening on a free loopback port; `query` runs PromQL over its HTTP API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusHarness {
  url: string;
  query(promql: string): Promise<PromSample[]>;
  /** Polls `promql` until `ok` accepts the result or `timeoutMs` passes; returns the last result. */
  waitFor(promql: string, ok: (r: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(target: { hostPort: string; path: string; bearer?: string }): Promise<PrometheusHarness> {
  // A missing peer is a failure with its cause, not an ENOENT from spawn.
  if (!existsSync(PROMETHEUS_BIN))
    throw new Error(`${PROMETHEUS_BIN} is not installed: run bash scripts/install-system-deps.sh test (npm test does)`);
  const dir = await mkdtemp(path.join(tmpdir(), 'sextant-prom-'));
  const port = await freePort();
  const auth = target.bearer ? `\n    authorization:\n      type: Bearer\n      credentials: ${JSON.stringify(target.bearer)}` : '';
  await writeFile(
    path.join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: sextant
    metrics_path: ${target.path}
    static_configs:
      - targets: [${JSON.stringify(target.hostPort)}]${auth}
`,
  );
  const proc: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;

  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
    return body.data?.result ?? [];
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  const waitFor = async (promql: string, ok: (r: PromSample[]) => boolean, timeoutMs = 20_000): Promise<PromSample[]> => {
    const end = Date.now() + timeoutMs;
    let last: PromSample[] = [];
    while (Date.now() < end) {
      last = await query(promql);
      if (ok(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    return last;
  };
  // Prometheus applies new targets a few seconds after start: wait for the first successful scrape, so
  // traffic sent afterwards is seen growing across scrapes.
  const up = await waitFor('up{job="sextant"}', (r) => r.length === 1 && r[0]?.value[1] === '1');
  if (up.length !== 1 || up[0]?.value[1] !== '1')
    throw new Error(`prometheus did not scrape ${target.hostPort}${target.path}: ${JSON.stringify(up)} ${stderr}`);

  return {
    url,
    query,
    waitFor,
    async close() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The single value of an instant vector with one series, or NaN. */
export function scalarOf(r: PromSample[]): number {
  return r.length === 1 && r[0] ? Number(r[0].value[1]) : Number.NaN;
}
