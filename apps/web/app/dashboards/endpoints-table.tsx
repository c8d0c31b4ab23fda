'use client';
/**
 * A service's endpoints over the window (method + path template, DNS query type, Kafka topic + api key):
 * requests/s, error %, p50/p95/p99, each row linking to exactly its flows. Answers "which endpoint is failing".
 */
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
      {q.data && q.data.length === 0 && <div className="empty">no L7 requests to this service in this window</div>}
      {q.data && q.data.length > 0 && (
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
            {q.data.map((e) => {
              const name = endpointName(e);
              return (
                <tr key={`${e.protocol}|${name}`} data-endpoint={name}>
                  <td>
                    <Link href={flowsLink(endpointQuery(serviceId, e), params)} style={{ color: 'inherit' }}>
                      {name}
                    </Link>
                  </td>
                  <td>{e.protocol}</td>
                  <td>{formatCount(e.requests)}</td>
                  <td>{formatRate(e.requestsPerSecond)}</td>
                  <td className={e.errors > 0 ? 'bad' : ''}>{(e.errorRatio * 100).toFixed(1)}</td>
                  <td>
                    {formatNs(e.p50Ns)} / {formatNs(e.p95Ns)} / {formatNs(e.p99Ns)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
