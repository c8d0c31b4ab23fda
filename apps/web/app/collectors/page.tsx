'use client';
import { useQueryClient } from '@tanstack/react-query';
import {
  EVENTS_PER_SECOND_NOTE,
  eventsPerSecondText,
  slowEdgesText,
  SLOW_EDGES_NOTE,
  spoolLoss,
  unparsedShare,
  UNPARSED_NOTE,
  type HealthReport,
} from '../../src/client/collector-health';
import { api } from '../../src/client/trpc';
import { NewCollectorToken } from './new-collector-token';
import { WorkloadCoverage } from './workload-coverage';
import { useAuthedQuery } from '../../src/client/use-authed-query';

function ago(ms: number | null): string {
  if (!ms) return 'never';
  const s = Math.round((Date.now() - ms) / 1000);
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

export default function CollectorsPage() {
  const qc = useQueryClient();
  const me = useAuthedQuery({ queryKey: ['me'], queryFn: () => api.auth.me.query() });
  const list = useAuthedQuery({ queryKey: ['collectors'], queryFn: () => api.collectors.list.query(), refetchInterval: 10_000 });
  return (
    <>
      <div className="panel">
        <strong>Collectors</strong>
        {list.error && <div className="error">{list.error.message}</div>}
        {list.data && list.data.length === 0 && (
          <div className="empty">No collector yet. Create a token below and run one on each host.</div>
        )}
        {list.data && list.data.length > 0 && (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th>name</th>
                  <th>host</th>
                  <th>last seen</th>
                  <th>version</th>
                  <th>kernel</th>
                  <th title={EVENTS_PER_SECOND_NOTE}>events/s ⓘ</th>
                  <th title={UNPARSED_NOTE}>unparsed ⓘ</th>
                  <th>lost events</th>
                  <th title="batches the server refused (4xx), kept in the collector's dead-letter file">dead letters</th>
                  <th>spool</th>
                  <th title={SLOW_EDGES_NOTE}>own slow thresholds ⓘ</th>
                  <th>eBPF</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.data.map((c) => {
                  const h = (c.health ?? {}) as HealthReport;
                  const unparsed = unparsedShare(c.health as HealthReport | null);
                  const spool = spoolLoss(c.health as HealthReport | null);
                  const stale = !c.lastSeenAt || Date.now() - c.lastSeenAt > 60_000;
                  return (
                    <tr key={c.id}>
                      <td>
                        {c.name}
                        {c.revokedAt ? <span className="muted"> (revoked)</span> : null}
                      </td>
                      <td>{c.hostname ?? '–'}</td>
                      <td className={stale ? 'warn' : 'ok'}>{ago(c.lastSeenAt)}</td>
                      <td>{c.version ?? '–'}</td>
                      <td>{c.kernel ?? '–'}</td>
                      <td className="num">{eventsPerSecondText(h)}</td>
                      <td className={`num ${unparsed.tone}`} title={unparsed.title}>
                        {unparsed.text}
                      </td>
                      <td className={h.lostEvents ? 'bad' : ''}>{h.lostEvents ?? '–'}</td>
                      <td
                        className={h.deadLetterBatches ? 'bad' : ''}
                        title={h.deadLetterBatches ? 'see dead-letter.jsonl in the collector spool directory' : undefined}
                      >
                        {h.deadLetterBatches ?? '–'}
                      </td>
                      <td className={spool.tone} title={spool.title}>
                        {h.spoolBytes ? `${(h.spoolBytes / 1024).toFixed(0)} KiB` : '0'}
                      </td>
                      <td className="num">{slowEdgesText(h)}</td>
                      <td>{h.ebpf ? (h.ebpf.available ? 'yes' : `no: ${h.ebpf.reason ?? ''}`) : '–'}</td>
                      <td>
                        {me.data?.role === 'admin' && !c.revokedAt && (
                          <button
                            className="secondary"
                            onClick={async () => {
                              await api.collectors.revoke.mutate({ id: c.id });
                              await qc.invalidateQueries({ queryKey: ['collectors'] });
                            }}
                          >
                            revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {list.data && list.data.length > 0 && (
          <p className="muted legend-note">
            <strong>events/s</strong>: {EVENTS_PER_SECOND_NOTE} <strong>unparsed</strong>: {UNPARSED_NOTE} Each row is the collector&apos;s
            last report (every few seconds while it runs); the page refreshes every 10 s and has no time range.
          </p>
        )}
      </div>
      <WorkloadCoverage />
      {me.data?.role === 'admin' && (
        <NewCollectorToken>
          <a href="/admin">all tokens →</a>
        </NewCollectorToken>
      )}
    </>
  );
}
