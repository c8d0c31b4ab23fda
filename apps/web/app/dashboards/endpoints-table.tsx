'use client';
/**
 * A service's endpoints over the window (method + path template, DNS query type, Kafka topic + api key):
 * requests/s, error %, p50/p95/p99, each row linking to exactly its flows. Answers "which endpoint is failing".
 * When the service's HTTP records are a sample (the kernel counts every exchange, keeps every error and slow one
 * and a budget of the rest), HTTP rows are estimates weighted to the exact totals: shown with "≈" and a note.
 */
import type { EndpointSignals } from '@sextant/db';
import { PERCENTILE_NOTE } from '@sextant/shared';
import Link from 'next/link';
import { endpointName, endpointQuery } from '../../src/client/endpoints';
import { formatCount, formatNs, formatRate } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';
import { flowsLink } from '../../src/client/url-state';

export function EndpointsTable({
  serviceId,
  service,
  namespace,
  since,
  until,
  params,
}: {
  serviceId: string;
  service: string;
  namespace: string;
  since: number;
  until: number;
  params: URLSearchParams;
}) {
  const q = useAuthedQuery({
    queryKey: ['endpoints', serviceId, since, until],
    queryFn: () => api.dashboards.endpoints.query({ window: { since, until }, service, namespace }),
    refetchInterval: 30_000,
  });
  return (
    <div className="panel">
      <h3 style={{ marginTop: 0 }}>
        Endpoints{' '}
        <span className="muted" style={{ fontWeight: 400, fontSize: 13 }}>
          requests received by {serviceId}, busiest first · click for its flows
        </span>
      </h3>
      {q.error && <div className="error">{q.error.message}</div>}
      {!q.data && !q.error && <div className="empty">loading…</div>}
      {q.data && q.data.endpoints.length === 0 && <div className="empty">no L7 requests to this service in this window</div>}
      {q.data && q.data.endpoints.length > 0 && (
        <table className="compact endpoints">
          <thead>
            <tr>
              <th>endpoint</th>
              <th>proto</th>
              <th>requests</th>
              <th>req/s</th>
              <th>err %</th>
              <th title={PERCENTILE_NOTE}>p50 / p95 / p99 ⓘ</th>
            </tr>
          </thead>
          <tbody>
            {q.data.endpoints.map((e) => {
              const name = endpointName(e);
              const approx = approxMark(e);
              return (
                <tr key={`${e.protocol}|${name}`} data-endpoint={name}>
                  <td>
                    <Link href={flowsLink(endpointQuery(serviceId, e), params)} style={{ color: 'inherit' }}>
                      {name}
                    </Link>
                  </td>
                  <td>{e.protocol}</td>
                  <td title={approx.title}>
                    {approx.mark}
                    {formatCount(e.estimated ? Math.round(e.requests) : e.requests)}
                  </td>
                  <td title={approx.title}>
                    {approx.mark}
                    {formatRate(e.requestsPerSecond)}
                  </td>
                  <td className={e.errors > 0 ? 'bad' : ''} title={approx.title}>
                    {approx.mark}
                    {(e.errorRatio * 100).toFixed(1)}
                  </td>
                  <td title={approx.title}>
                    {approx.mark}
                    {formatNs(e.p50Ns)} / {formatNs(e.p95Ns)} / {formatNs(e.p99Ns)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {q.data?.http.estimated && q.data.endpoints.some((e) => e.estimated) && (
        <div className="muted" data-testid="endpoints-estimate-note" style={{ fontSize: 12, marginTop: 6 }}>
          ≈ Requests per endpoint are estimated from sampled records ({formatCount(q.data.http.records)} of{' '}
          {formatCount(q.data.http.exchanges)} exchanges kept); errors are exact: every error is kept
        </div>
      )}
    </div>
  );
}

/** "≈ " and a tooltip for an estimated row: how many records stand behind it. */
function approxMark(e: Pick<EndpointSignals, 'estimated' | 'records' | 'recordShare'>): { mark: string; title?: string } {
  if (!e.estimated) return { mark: '' };
  return { mark: '≈ ', title: `estimated from ${e.records} records (${(e.recordShare * 100).toFixed(1)} % of its requests)` };
}
