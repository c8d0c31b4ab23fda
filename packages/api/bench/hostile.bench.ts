/**
 * bench:hostile — the hostile-input cases (src/testing/hostile-cases.ts, with the heavy ones: 20,000 malformed
 * records) against the API in its own process, while /api/health is polled every 20 ms. Prints requests
 * tried, their answers, the worst health latency and the server's peak RSS (VmHWM), per round.
 * BENCH_ROUNDS (3), BENCH_CONCURRENCY (4), BENCH_HEAVY=0 sends 2,000 malformed records instead of 20,000.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, createCollectorToken, createUser, login } from '@sextant/db';
import { hostileCases } from '../src/testing/hostile-cases';
import { runHostile, statusCounts, violations } from '../src/testing/hostile-runner';
import { fmt, startBenchPostgres } from './bench-db';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

function procKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return Number(m?.[1] ?? 0) * 1024;
}

const pgh = await startBenchPostgres();
try {
  const url = await pgh.createDatabase('bench_hostile');
  const db = connect(url, { poolSize: 2 });
  const { token: collector } = await createCollectorToken(db.prisma, 'bench-hostile');
  await createUser(db.prisma, 'bench@example.com', 'bench password 123', 'admin');
  const session = await login(db.prisma, 'bench@example.com', 'bench password 123');
  if (!session) throw new Error('sign-in failed');
  const server = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'ingest-server.ts'), {
    env: { ...process.env, DATABASE_URL: url, NODE_ENV: 'production', SEXTANT_LOGIN_MAX_FAILURES_ADDRESS: '100000' },
    execArgv: ['--import', 'tsx'],
  });
  const serverUrl = await new Promise<string>((resolve) => server.on('message', (m: { url?: string }) => m.url && resolve(m.url)));
  const pid = server.pid as number;
  const idle = procKb(pid, 'VmRSS');
  const cases = hostileCases({ heavy: process.env.BENCH_HEAVY !== '0' });
  console.log(
    `bench:hostile — ${cases.length} requests per round, ${CONCURRENCY} at a time, ${ROUNDS} rounds; server idle RSS ${fmt(idle / 2 ** 20)} MiB`,
  );
  let broken = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const t0 = performance.now();
    const r = await runHostile(serverUrl, cases, { collector, admin: session.token }, () => procKb(pid, 'VmRSS'), CONCURRENCY);
    const slowest = [...r.results].sort((a, b) => b.ms - a.ms)[0];
    const bad = violations(r.results);
    broken += bad.length;
    console.log(
      `round ${round}: ${r.results.length} requests in ${fmt((performance.now() - t0) / 1000, 1)} s, answers ${JSON.stringify(statusCounts(r.results))}, ` +
        `slowest ${slowest?.case.name} ${fmt(slowest?.ms ?? 0)} ms; health ${r.healthChecks} checks, worst ${fmt(r.worstHealthMs, 1)} ms, failed ${r.healthFailures}; ` +
        `server RSS peak sampled ${fmt(r.peakRssBytes / 2 ** 20)} MiB, VmHWM ${fmt(procKb(pid, 'VmHWM') / 2 ** 20)} MiB` +
        `; connection closed without an answer: ${
          r.results
            .filter((x) => x.status === 0)
            .map((x) => x.case.name)
            .join(', ') || 'none'
        }` +
        (bad.length ? `; CONTRACT BROKEN: ${bad.map((b) => `${b.case.name} → ${b.status}`).join(', ')}` : ''),
    );
  }
  server.kill('SIGTERM');
  await db.close();
  if (broken) process.exitCode = 1;
} finally {
  await pgh.stop();
}
