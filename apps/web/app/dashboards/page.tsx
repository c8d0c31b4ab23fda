'use client';
import { useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { formatNs, parseRange } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';
import { LineChart } from './chart';

function DashboardView() {
  const params = useSearchParams();
  const range = parseRange(params);
  const service = params.get('service') ?? undefined;
  const namespace = params.get('namespace') ?? undefined;
  const q = useAuthedQuery({
    queryKey: ['ts', params.toString()],
    queryFn: () => api.dashboards.timeSeries.query({ window: { since: range.since, until: range.until }, service, namespace, direction: 'inbound' }),
    refetchInterval: 30_000,
  });
  const pts = q.data?.points ?? [];
  return (
    <>
      <div className="panel row">
        <strong>{service ? `Service ${namespace ? `${namespace}/` : ''}${service}` : 'Overview'}</strong>
        <span className="muted">{range.label}{q.data ? ` · step ${q.data.stepSeconds} s` : ''}</span>
      </div>
      {q.error && <div className="panel error">{q.error.message}</div>}
      {q.isLoading && <div className="panel empty">loading…</div>}
      {q.data && pts.length === 0 && <div className="panel empty">No traffic in this window.</div>}
      {pts.length > 0 && (
        <div className="grid2">
          <LineChart title="Requests / s" format={(v) => v.toFixed(v < 10 ? 1 : 0)} series={[{ label: 'requests', colour: 'var(--accent)', points: pts.map((p) => ({ t: p.time, v: p.requestsPerSecond })) }]} />
          <LineChart title="Error ratio" format={(v) => `${(v * 100).toFixed(1)} %`} series={[{ label: 'errors', colour: 'var(--bad)', points: pts.map((p) => ({ t: p.time, v: p.errorRatio })) }]} />
          <LineChart title="Latency" format={(v) => formatNs(v)} series={[
            { label: 'p50', colour: 'var(--ok)', points: pts.map((p) => ({ t: p.time, v: p.p50Ns })) },
            { label: 'p95', colour: 'var(--warn)', points: pts.map((p) => ({ t: p.time, v: p.p95Ns })) },
            { label: 'p99', colour: 'var(--bad)', points: pts.map((p) => ({ t: p.time, v: p.p99Ns })) },
          ]} />
          <LineChart title="Bytes" format={(v) => `${(v / 1024).toFixed(0)} KiB`} series={[{ label: 'bytes', colour: 'var(--accent)', points: pts.map((p) => ({ t: p.time, v: p.bytes })) }]} />
        </div>
      )}
    </>
  );
}

export default function DashboardsPage() {
  return (
    <Suspense>
      <DashboardView />
    </Suspense>
  );
}
