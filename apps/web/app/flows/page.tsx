'use client';
import type { FlowRecord } from '@sextant/db';
import { parseFilterText, type FlowFilter } from '@sextant/shared';
import { useInfiniteQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useState } from 'react';
import { formatNs, parseRange } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';

const FIELDS = [
  ['from', 'from service'],
  ['to', 'to service'],
  ['ip', 'ip (either side)'],
  ['status', 'http status (503, 5+)'],
  ['verdict', 'verdict'],
  ['protocol', 'protocol'],
] as const;

/** Filter state lives in the URL: `q` holds hubble observe flags; the fields map to the same semantics. */
function filterFromParams(p: URLSearchParams): { allow: FlowFilter[]; deny: FlowFilter[] } {
  const text = p.get('q')?.trim();
  if (text) return parseFilterText(text).filter;
  const base: FlowFilter = {};
  const list = (k: string) => p.get(k)?.split(',').map((s) => s.trim()).filter(Boolean);
  const from = list('from');
  const to = list('to');
  const status = list('status');
  const verdict = list('verdict');
  const protocol = list('protocol');
  if (from?.length) base.sourceService = from;
  if (to?.length) base.destinationService = to;
  if (status?.length) base.httpStatusCode = status;
  if (verdict?.length) base.verdict = verdict.map((v) => v.toUpperCase()) as FlowFilter['verdict'];
  if (protocol?.length) base.protocol = protocol as FlowFilter['protocol'];
  const ip = list('ip');
  const allow = ip?.length ? [{ ...base, sourceIp: ip }, { ...base, destinationIp: ip }] : Object.keys(base).length ? [base] : [];
  return { allow, deny: [] };
}

function summary(r: FlowRecord): { time: number; src: string; dst: string; proto: string; l7: string; verdict: string; latency: string } {
  if (r.kind === 'flow') {
    const f = r.flow;
    return {
      time: f.time,
      src: `${f.source.service ?? f.source.ip}${f.source.port ? `:${f.source.port}` : ''}`,
      dst: `${f.destination.service ?? f.destination.names?.[0] ?? f.destination.ip}:${f.destination.port ?? ''}`,
      proto: f.l4Protocol,
      l7: f.closeReason !== 'NONE' ? f.closeReason.toLowerCase() : '',
      verdict: f.verdict === 'DROPPED' ? `DROPPED ${f.dropReason ?? ''}` : f.verdict,
      latency: formatNs(f.connectLatencyNs),
    };
  }
  const e = r.event;
  const l7 = e.http ? `${e.http.method} ${e.http.path} → ${e.http.code ?? '…'}` : e.dns ? `${e.dns.query} rcode ${e.dns.rcode ?? '…'}` : e.kafka ? `${e.kafka.apiKey} ${e.kafka.topic ?? ''}` : '';
  return { time: e.time, src: e.source.service ?? e.source.ip, dst: `${e.destination.service ?? e.destination.ip}:${e.destination.port ?? ''}`, proto: e.protocol.toUpperCase(), l7, verdict: 'FORWARDED', latency: formatNs(e.latencyNs) };
}

function FlowsView() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const range = parseRange(params);
  const [draft, setDraft] = useState(() => Object.fromEntries(FIELDS.map(([k]) => [k, params.get(k) ?? ''])));
  const [detail, setDetail] = useState<FlowRecord | null>(null);
  let filter: { allow: FlowFilter[]; deny: FlowFilter[] } = { allow: [], deny: [] };
  let filterError: string | null = null;
  try {
    filter = filterFromParams(params);
  } catch (err) {
    filterError = (err as Error).message;
  }
  const [text, setText] = useState(params.get('q') ?? '');
  const q = useInfiniteQuery({
    queryKey: ['flows', params.toString()],
    enabled: filterError === null,
    queryFn: ({ pageParam }) => api.flows.search.query({ filter, window: { since: range.since, until: range.until }, limit: 200, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  const exportJson = () => {
    const blob = new Blob([rows.map((r) => JSON.stringify(r.kind === 'flow' ? r.flow : r.event)).join('\n')], { type: 'application/x-ndjson' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'sextant-flows.jsonl';
    a.click();
  };
  return (
    <>
      <form className="panel row" onSubmit={(e) => {
        e.preventDefault();
        const next = new URLSearchParams(params.toString());
        for (const [k] of FIELDS) {
          const v = draft[k]?.trim();
          if (v) next.set(k, v);
          else next.delete(k);
        }
        router.push(`${pathname}?${next.toString()}`);
      }}>
        {FIELDS.map(([k, label]) => (
          <input key={k} aria-label={label} placeholder={label} value={draft[k] ?? ''} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} style={{ width: 150 }} />
        ))}
        <button type="submit">Search</button>
        <button type="button" className="secondary" onClick={exportJson} disabled={!rows.length}>Export JSON</button>
        <span className="muted">{range.label}</span>
      </form>
      <form className="panel row" onSubmit={(e) => {
        e.preventDefault();
        const next = new URLSearchParams(params.toString());
        if (text.trim()) next.set('q', text.trim());
        else next.delete('q');
        router.push(`${pathname}?${next.toString()}`);
      }}>
        <input aria-label="hubble observe flags" placeholder="hubble observe flags, e.g. --to-service payments --http-status 5+ --not --verdict FORWARDED" value={text} onChange={(e) => setText(e.target.value)} style={{ flex: 1, fontFamily: 'monospace' }} />
        <button type="submit">Apply</button>
      </form>
      {filterError && <div className="panel error">{filterError}</div>}
      {q.error && <div className="panel error">{q.error.message}</div>}
      <div className="panel" style={{ minHeight: 400 }}>
        {q.isLoading ? <div className="empty">loading…</div> : rows.length === 0 ? <div className="empty">No flows match in this window.</div> : (
          <table>
            <thead><tr><th>time</th><th>source</th><th>destination</th><th>proto</th><th>L7 / outcome</th><th>verdict</th><th>latency</th></tr></thead>
            <tbody>
              {rows.map((r) => {
                const s = summary(r);
                return (
                  <tr key={r.kind === 'flow' ? r.flow.id : r.event.id} className="clickable" onClick={() => setDetail(r)}>
                    <td>{new Date(s.time).toLocaleTimeString()}</td><td>{s.src}</td><td>{s.dst}</td><td>{s.proto}</td>
                    <td className={/→ 5|reset|refused|timeout/.test(s.l7) ? 'bad' : ''}>{s.l7}</td><td className={s.verdict.startsWith('DROPPED') ? 'bad' : ''}>{s.verdict}</td><td>{s.latency}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {q.hasNextPage && <button className="secondary" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>Load more</button>}
      </div>
      {detail && (
        <div className="panel">
          <div className="row"><strong>Record</strong><span className="spacer" /><button className="secondary" onClick={() => setDetail(null)}>close</button></div>
          <pre>{JSON.stringify(detail.kind === 'flow' ? detail.flow : detail.event, null, 2)}</pre>
        </div>
      )}
    </>
  );
}

export default function FlowsPage() {
  return (
    <Suspense>
      <FlowsView />
    </Suspense>
  );
}
