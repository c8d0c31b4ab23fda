/**
 * What the kernel-cost benchmarks (bench-conn-state.ts, bench-l7-modes.ts) share: the programs' cumulative kernel
 * time from bpftool, and an HTTP/1.1 server and client on loopback in this process (so the BPF programs run in
 * this process's syscalls).
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

export interface ProgStat {
  id: number;
  name: string;
  run_time_ns?: number;
  run_cnt?: number;
}

/** Every loaded BPF program, with its cumulative kernel time (run_* need bpf_stats_enabled). */
export const allProgs = (): ProgStat[] => JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as ProgStat[];

export interface BenchHttp {
  /** n GETs of /bench (body "ok"), `concurrency` in flight; with keepAlive false a new TCP connection per request. */
  load(n: number): Promise<void>;
  close(): void;
  /** The loopback server's port. */
  port: number;
}

export async function startBenchHttp(opts: { concurrency: number; keepAlive: boolean }): Promise<BenchHttp> {
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;

  const get = (agent: http.Agent): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/bench', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
    });

  return {
    async load(n: number): Promise<void> {
      const agent = new http.Agent({ keepAlive: opts.keepAlive, maxSockets: opts.concurrency });
      let next = 0;
      await Promise.all(
        Array.from({ length: opts.concurrency }, async () => {
          while (next++ < n) await get(agent);
        }),
      );
      agent.destroy();
    },
    close: () => srv.close(),
    port,
  };
}
