'use client';
/**
 * The connection drawer: the exchange that was clicked (its detail block), the connection's other exchanges
 * a page at a time around it, the L4 record, TCP statistics and the raw JSON.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { flowStatusClass, L7_COVERAGE_LABELS, statusTone, type L7Event } from '@sextant/shared';
import { formatNs } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';
import { EXCHANGE_PAGE, Exchanges, KV } from './exchanges';

const tone = (t: 'bad' | 'warn' | 'ok') => (t === 'ok' ? '' : t);

const bytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export function FlowDrawer({
  flowId,
  time,
  eventId,
  onClose,
  onOpenExchange,
}: {
  flowId: string;
  time: number;
  eventId: string | null;
  onClose: () => void;
  /** Another exchange of the connection was picked in the drawer. */
  onOpenExchange: (e: L7Event) => void;
}) {
  const q = useQuery({ queryKey: ['detail', flowId, time], queryFn: () => api.flows.detail.query({ flowId, time }) });
  // The page of exchanges: the one holding the clicked exchange until the user pages away from it.
  const [paged, setPaged] = useState<{ key: string; offset: number } | null>(null);
  const pageKey = `${flowId}|${eventId}`;
  const offset = paged?.key === pageKey ? paged.offset : undefined;
  const ex = useQuery({
    queryKey: ['exchanges', flowId, time, eventId, offset],
    queryFn: () => api.drawer.exchanges.query({ flowId, time, eventId, offset, limit: EXCHANGE_PAGE }),
    placeholderData: keepPreviousData,
  });
  const f = q.data?.flow;
  const ep = (e: {
    ip: string;
    port?: number;
    service?: string;
    namespace?: string;
    podName?: string;
    process?: { name: string; pid?: number };
  }) =>
    `${e.namespace ? `${e.namespace}/` : ''}${e.service ?? e.ip} (${e.ip}${e.port ? `:${e.port}` : ''}${e.process ? `, ${e.process.name}${e.process.pid !== undefined ? `[${e.process.pid}]` : ''}` : ''})`;
  return (
    <aside className="drawer" role="dialog" aria-label="connection detail">
      <div className="row drawer-head">
        <strong>{eventId ? 'Exchange' : 'Connection'}</strong>
        <span className="muted mono">{flowId}</span>
        <span className="spacer" />
        <button className="secondary" onClick={onClose} aria-label="close detail">
          close (Esc)
        </button>
      </div>
      {(q.isLoading || ex.isLoading) && <div className="empty">loading…</div>}
      {q.error && <div className="error">{q.error.message}</div>}
      {ex.error && <div className="error">{ex.error.message}</div>}
      {q.data && ex.data && !f && ex.data.total === 0 && (
        <div className="empty">This connection is no longer stored (retention) or was never reported.</div>
      )}
      {ex.data && (
        <Exchanges page={ex.data} eventId={eventId} onOpen={onOpenExchange} onPage={(o) => setPaged({ key: pageKey, offset: o })} />
      )}
      {f && (
        <section>
          <h4>Connection (L4 record)</h4>
          <KV
            rows={[
              ['time', new Date(f.time).toISOString()],
              ['source', ep(f.source)],
              ['destination', ep(f.destination)],
              ['protocol', `${f.l4Protocol} / IPv${f.ipVersion}`],
              [
                'verdict',
                <span key="v" className={f.verdict === 'DROPPED' || f.verdict === 'ERROR' ? 'bad' : ''}>
                  {f.verdict}
                  {f.dropReason ? ` (${f.dropReason})` : ''}
                </span>,
              ],
              ['direction', `${f.trafficDirection}${f.isReply ? ', reply' : ''}`],
              ['node', f.nodeName],
              ...(f.l7Coverage ? [['L7 decoding', L7_COVERAGE_LABELS[f.l7Coverage]] as [string, string]] : []),
            ]}
          />
        </section>
      )}
      {q.data?.tcp && (
        <section>
          <h4>TCP statistics</h4>
          <KV
            rows={[
              ['sent', `${bytes(q.data.tcp.bytesSent)} in ${q.data.tcp.packetsSent} segments`],
              ['received', `${bytes(q.data.tcp.bytesReceived)} in ${q.data.tcp.packetsReceived} segments`],
              [
                'retransmits',
                <span key="r" className={q.data.tcp.retransmits ? 'warn' : ''}>
                  {q.data.tcp.retransmits}
                </span>,
              ],
              ['smoothed RTT', q.data.tcp.srttUs === null ? '–' : formatNs(q.data.tcp.srttUs * 1000)],
              ['connect latency', formatNs(q.data.tcp.connectLatencyNs)],
              [
                'close',
                <span key="c" className={tone(statusTone(flowStatusClass({ verdict: 'FORWARDED', closeReason: q.data.tcp.closeReason })))}>
                  {q.data.tcp.closeReason}
                </span>,
              ],
              ['flags', q.data.tcp.tcpFlags.join(' ') || '–'],
              ['duration', q.data.tcp.durationMs === null ? 'open' : formatNs(q.data.tcp.durationMs * 1e6)],
              ['updates', String(q.data.tcp.updates)],
            ]}
          />
        </section>
      )}
      {q.data && (
        <section>
          <h4>Raw JSON</h4>
          <pre>{JSON.stringify({ flow: q.data.flow, exchange: ex.data?.selected ?? undefined }, null, 2)}</pre>
        </section>
      )}
    </aside>
  );
}
