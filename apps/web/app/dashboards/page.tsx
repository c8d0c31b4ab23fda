'use client';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import Link from 'next/link';
import { Suspense } from 'react';
import { formatBytes, formatCount, formatNs, parseRange, withAbsoluteRange } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';
import { flowsLink, serviceFlags } from '../../src/client/url-state';
import { GrafanaExportButton } from '../../src/client/grafana-export-button';
import { dnsRcodeName, PERCENTILE_NOTE } from '@sextant/shared';
import { ChartPanel, LineChart, PALETTE, type Series } from './chart';
import { EndpointsTable } from './endpoints-table';

type Keyed = { key: string; total: number; points: { time: number; value: number | null; partial: boolean }[] };

// null (nothing recorded in the step) stays null: the chart draws a gap, not a zero.
const keyed = (series: Keyed[], perSecond: number): Series[] =>
  series.map((s, i) => ({
    label: `${s.key} (${formatCount(s.total)})`,
    colour: PALETTE[i % PALETTE.length] as string,
    points: s.points.map((p) => ({ t: p.time, v: p.value === null ? null : p.value / perSecond, partial: p.partial })),
  }));

function DashboardView() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const range = parseRange(params);
  const service = params.get('service') ?? undefined;
  const namespace = params.get('namespace') ?? undefined;
  const svcId = service ? (namespace ? `${namespace}/${service}` : service) : null;
  const win = { since: range.since, until: range.until };
  const ts = useAuthedQuery({
    queryKey: ['ts', params.toString()],
    queryFn: () => api.dashboards.timeSeries.query({ window: win, service, namespace, direction: 'inbound' }),
    refetchInterval: 30_000,
  });
  const panels = useAuthedQuery({
    queryKey: ['panels', params.toString()],
    queryFn: () => api.dashboards.panels.query({ window: win, service, namespace }),
    refetchInterval: 30_000,
  });
  const services = useAuthedQuery({
    queryKey: ['services'],
    queryFn: () => api.dashboards.services.query({ limit: 500 }),
    staleTime: 60_000,
  });
  const brush = (s: number, u: number) => router.push(`${pathname}?${withAbsoluteRange(params, s, u).toString()}`, { scroll: false });
  const pts = ts.data?.points ?? [];
  const base = svcId ? serviceFlags('to', svcId) : '';
  const link = (extra: string) => flowsLink([base, extra].filter(Boolean).join(' '), params);
  const common = { since: range.since, until: range.until, onBrush: brush, loading: ts.isLoading || panels.isLoading };
  const p = panels.data;
  const kind = svcId ? 'service' : 'overview';
  const grafana = (panel: 'requests' | 'errors' | 'latency' | 'bytes' | 'drops') => (
    <GrafanaExportButton dashboard={kind} panel={panel} service={service} namespace={namespace} label="Grafana" />
  );
  return (
    <>
      <div className="panel row">
        <strong>{svcId ? `Service ${svcId}` : 'Overview'}</strong>
        <select
          aria-label="service"
          value={svcId ?? ''}
          onChange={(e) => {
            const next = new URLSearchParams(params.toString());
            const s = services.data?.find((x) => (x.namespace ? `${x.namespace}/${x.name}` : x.name) === e.target.value);
            if (s) {
              next.set('service', s.name);
              next.set('namespace', s.namespace);
            } else {
              next.delete('service');
              next.delete('namespace');
            }
            router.push(`${pathname}?${next.toString()}`);
          }}
        >
          <option value="">overview (all services)</option>
          {svcId && !services.data?.some((x) => (x.namespace ? `${x.namespace}/${x.name}` : x.name) === svcId) && (
            <option value={svcId}>{svcId}</option>
          )}
          {services.data?.map((s) => {
            const id = s.namespace ? `${s.namespace}/${s.name}` : s.name;
            return (
              <option key={id} value={id}>
                {id}
              </option>
            );
          })}
        </select>
        <span className="muted">
          {range.label}
          {ts.data ? ` · step ${ts.data.stepSeconds} s` : ''} · drag across a chart to zoom
        </span>
        <span className="spacer" />
        <GrafanaExportButton dashboard={kind} service={service} namespace={namespace} />
        {svcId && <Link href={`/map?find=${encodeURIComponent(svcId)}&node=${encodeURIComponent(svcId)}`}>on the map →</Link>}
      </div>
      {(ts.error || panels.error) && <div className="panel error">{(ts.error ?? panels.error)?.message}</div>}
      {svcId && service && (
        <EndpointsTable
          serviceId={svcId}
          service={service}
          namespace={namespace ?? ''}
          since={range.since}
          until={range.until}
          params={params}
        />
      )}
      <div className="grid2">
        <LineChart
          {...common}
          title="Requests / s"
          extra={grafana('requests')}
          drill={link('')}
          format={(v) => v.toFixed(v < 10 ? 1 : 0)}
          series={[
            {
              label: 'requests',
              colour: 'var(--accent)',
              points: pts.map((x) => ({ t: x.time, v: x.requestsPerSecond, partial: x.partial })),
            },
          ]}
          note="L7 requests (HTTP, DNS, Kafka exchanges) per second, averaged over each step (the step in progress over its elapsed part); connections are counted apart"
        />
        <LineChart
          {...common}
          title="Error ratio"
          extra={grafana('errors')}
          drill={link('--http-status 5+')}
          format={(v) => `${+(v * 100).toPrecision(3)} %`}
          series={[{ label: 'errors', colour: 'var(--bad)', points: pts.map((x) => ({ t: x.time, v: x.errorRatio, partial: x.partial })) }]}
          note="error responses / L7 requests per step (HTTP 5xx, DNS failures, Kafka errors); a step without requests has no ratio (gap)"
        />
        <LineChart
          {...common}
          title="Connections / s"
          drill={link('--type trace --protocol tcp')}
          format={(v) => v.toFixed(v < 10 ? 1 : 0)}
          series={[
            {
              label: 'connections',
              colour: 'var(--accent)',
              points: pts.map((x) => ({ t: x.time, v: x.connectionsPerSecond, partial: x.partial })),
            },
            {
              label: 'failed (refused, reset, timed out)',
              colour: 'var(--bad)',
              points: pts.map((x) => ({
                t: x.time,
                v:
                  x.connectionErrors === null || x.connectionsPerSecond === null || !x.connections
                    ? null
                    : (x.connectionErrors / x.connections) * x.connectionsPerSecond,
                partial: x.partial,
              })),
            },
          ]}
          note="tcp/udp connections per second, apart from requests: a caller opening one connection per request shows here, not as twice the requests"
        />
        <LineChart
          {...common}
          title="Latency"
          note={PERCENTILE_NOTE}
          extra={grafana('latency')}
          drill={link('--type l7')}
          format={(v) => formatNs(v)}
          series={[
            { label: 'p50', colour: 'var(--ok)', points: pts.map((x) => ({ t: x.time, v: x.p50Ns, partial: x.partial })) },
            { label: 'p95', colour: 'var(--warn)', points: pts.map((x) => ({ t: x.time, v: x.p95Ns, partial: x.partial })) },
            { label: 'p99', colour: 'var(--bad)', points: pts.map((x) => ({ t: x.time, v: x.p99Ns, partial: x.partial })) },
          ]}
        />
        <LineChart
          {...common}
          title="TCP retransmits, resets, failed connects"
          drill={link('--protocol tcp')}
          format={(v) => formatCount(v)}
          series={
            p ? keyed(p.tcp.series, 1).map((s, i) => ({ ...s, colour: ['var(--warn)', 'var(--bad)', '#a371f7'][i] ?? s.colour })) : []
          }
        />
        <LineChart
          {...common}
          title="DNS queries by rcode"
          drill={link('--protocol dns')}
          format={(v) => formatCount(v)}
          series={
            p
              ? keyed(
                  p.dns.series.map((x) => ({ ...x, key: /^\d+$/.test(x.key) ? dnsRcodeName(Number(x.key)) : x.key })),
                  1,
                )
              : []
          }
        />
        <LineChart
          {...common}
          title="Kafka requests by topic"
          drill={link('--protocol kafka')}
          format={(v) => formatCount(v)}
          series={p ? keyed(p.kafka.series, 1) : []}
        />
        <LineChart
          {...common}
          title="Drops by reason (packets)"
          extra={grafana('drops')}
          drill={link('--verdict DROPPED')}
          format={(v) => formatCount(v)}
          series={p ? keyed(p.drops.series, 1) : []}
        />
        <ChartPanel title="Top talkers (bytes)" drill={link('')} extra={grafana('bytes')}>
          <div style={{ height: 180, overflow: 'auto' }}>
            {p && p.talkers.length === 0 && <div className="empty">no traffic in this window</div>}
            {!p && <div className="empty">loading…</div>}
            {p && p.talkers.length > 0 && (
              <table className="compact">
                <thead>
                  <tr>
                    <th>source → destination</th>
                    <th>proto</th>
                    <th>bytes</th>
                    <th>requests / connections</th>
                  </tr>
                </thead>
                <tbody>
                  {p.talkers.map((t) => (
                    <tr key={`${t.source}>${t.destination}>${t.protocol}`} className="clickable">
                      <td>
                        <Link
                          href={flowsLink(
                            `${serviceFlags('from', t.source)} ${serviceFlags('to', t.destination)} --protocol ${t.protocol}`,
                            params,
                          )}
                          style={{ color: 'inherit' }}
                        >
                          {t.source} → {t.destination}
                        </Link>
                      </td>
                      <td>{t.protocol}</td>
                      <td>{formatBytes(t.bytes)}</td>
                      <td>{t.connections ? `${formatCount(t.connections)} conn` : `${formatCount(t.requests)} req`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </ChartPanel>
      </div>
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
