/**
 * Sends the hostile cases to a server (a few at a time) while /api/health is polled, and reports each
 * answer, the worst health latency and the server's peak RSS (sampled by the caller's function).
 */
import type { HostileCase } from './hostile-cases';

export interface HostileResult {
  case: HostileCase;
  status: number;
  ms: number;
  body: string;
}

export interface HostileReport {
  results: HostileResult[];
  healthChecks: number;
  worstHealthMs: number;
  healthFailures: number;
  peakRssBytes: number;
}

function bodyOf(c: HostileCase): string | ReadableStream<Uint8Array> | undefined {
  if (c.body === undefined || typeof c.body === 'string') return c.body;
  // Large bodies are streamed chunked (no Content-Length) and produced only as fast as the server reads.
  const { bytes, fill } = c.body;
  const chunk = new Uint8Array(256 * 1024).fill(fill);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (sent >= bytes) return ctrl.close();
      sent += chunk.byteLength;
      ctrl.enqueue(chunk);
    },
  });
}

async function send(baseUrl: string, c: HostileCase, tokens: { collector: string; admin: string }): Promise<HostileResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (c.auth !== 'none') headers.authorization = `Bearer ${tokens[c.auth]}`;
  const t0 = performance.now();
  try {
    const res = await fetch(`${baseUrl}/api/trpc/${c.path}`, {
      method: c.method,
      headers,
      body: bodyOf(c),
      duplex: 'half',
      signal: AbortSignal.timeout(15_000),
    } as RequestInit);
    // A subscription that was accepted streams forever: its headers are the answer.
    const sse = res.headers.get('content-type')?.includes('text/event-stream');
    const body = sse ? (await res.body?.cancel(), '(event stream)') : await res.text();
    return { case: c, status: res.status, ms: performance.now() - t0, body: body.slice(0, 300) };
  } catch (err) {
    // A connection closed after a 413 can surface as a fetch error on the client side: status 0.
    return { case: c, status: 0, ms: performance.now() - t0, body: String((err as Error).cause ?? err).slice(0, 300) };
  }
}

export async function runHostile(
  baseUrl: string,
  cases: HostileCase[],
  tokens: { collector: string; admin: string },
  rss: () => number,
  concurrency = 4,
): Promise<HostileReport> {
  let running = true;
  let worstHealthMs = 0;
  let healthChecks = 0;
  let healthFailures = 0;
  let peakRssBytes = rss();
  const prober = (async () => {
    while (running) {
      const t0 = performance.now();
      const ok = await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(30_000) }).then(
        (r) => r.ok,
        () => false,
      );
      worstHealthMs = Math.max(worstHealthMs, performance.now() - t0);
      healthChecks++;
      if (!ok) healthFailures++;
      peakRssBytes = Math.max(peakRssBytes, rss());
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const results: HostileResult[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < cases.length) {
        const c = cases[next++] as HostileCase;
        results.push(await send(baseUrl, c, tokens));
        peakRssBytes = Math.max(peakRssBytes, rss());
      }
    }),
  );
  running = false;
  await prober;
  return { results, healthChecks, worstHealthMs, healthFailures, peakRssBytes };
}

/** Cases whose answer breaks the contract: a 5xx, a non-4xx for a 'reject' case, or no answer at all. */
export function violations(results: HostileResult[]): HostileResult[] {
  return results.filter((r) => {
    if (r.status === 0) return !(r.case.body && typeof r.case.body !== 'string'); // reset after an oversized body is fine
    if (r.status >= 500) return true;
    return r.case.expect === 'reject' && (r.status < 400 || r.status >= 500);
  });
}

export function statusCounts(results: HostileResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}
