'use client';
/** The connection drawer: its L4 record, the L7 exchanges on it, its TCP statistics and the raw JSON. */
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { flowStatusClass, l7StatusClass, l7Summary, statusTone } from '@sextant/shared';
import { formatNs } from '../../src/client/time-range';
import { api } from '../../src/client/trpc';

function KV({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <table className="kv">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}><th>{k}</th><td>{v}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

const tone = (t: 'bad' | 'warn' | 'ok') => (t === 'ok' ? '' : t);

const bytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export function FlowDrawer({ flowId, time, eventId, onClose }: { flowId: string; time: number; eventId: string | null; onClose: () => void }) {
  const q = useQuery({ queryKey: ['detail', flowId, time], queryFn: () => api.flows.detail.query({ flowId, time }) });
  const f = q.data?.flow;
  const ep = (e: { ip: string; port?: number; service?: string; namespace?: string; podName?: string; process?: { name: string; pid?: number } }) =>
    `${e.namespace ? `${e.namespace}/` : ''}${e.service ?? e.ip} (${e.ip}${e.port ? `:${e.port}` : ''}${e.process ? `, ${e.process.name}${e.process.pid !== undefined ? `[${e.process.pid}]` : ''}` : ''})`;
  return (
    <aside className="drawer" role="dialog" aria-label="connection detail">
      <div className="row drawer-head">
        <strong>Connection</strong>
        <span className="muted mono">{flowId}</span>
        <span className="spacer" />
        <button className="secondary" onClick={onClose} aria-label="close detail">close (Esc)</button>
      </div>
      {q.isLoading && <div className="empty">loading…</div>}
      {q.error && <div className="error">{q.error.message}</div>}
      {q.data && !f && q.data.l7.length === 0 && <div className="empty">This connection is no longer stored (retention) or was never reported.</div>}
      {f && (
        <section>
          <h4>L4 record</h4>
          <KV rows={[
            ['time', new Date(f.time).toISOString()],
            ['source', ep(f.source)],
            ['destination', ep(f.destination)],
            ['protocol', `${f.l4Protocol} / IPv${f.ipVersion}`],
            ['verdict', <span key="v" className={f.verdict === 'DROPPED' || f.verdict === 'ERROR' ? 'bad' : ''}>{f.verdict}{f.dropReason ? ` (${f.dropReason})` : ''}</span>],
            ['direction', `${f.trafficDirection}${f.isReply ? ', reply' : ''}`],
            ['node', f.nodeName],
          ]} />
        </section>
      )}
      {q.data && q.data.l7.length > 0 && (
        <section>
          <h4>L7 exchanges ({q.data.l7.length})</h4>
          <table className="compact">
            <thead><tr><th>time</th><th>exchange</th><th>latency</th></tr></thead>
            <tbody>
              {q.data.l7.map((e) => (
                <tr key={e.id} className={e.id === eventId ? 'selected' : ''}>
                  <td className="mono">{new Date(e.time).toLocaleTimeString([], { hour12: false })}</td>
                  <td className={tone(statusTone(l7StatusClass(e)))}>{l7Summary(e)}</td>
                  <td className="mono">{formatNs(e.latencyNs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {q.data?.tcp && (
        <section>
          <h4>TCP statistics</h4>
          <KV rows={[
            ['sent', `${bytes(q.data.tcp.bytesSent)} in ${q.data.tcp.packetsSent} segments`],
            ['received', `${bytes(q.data.tcp.bytesReceived)} in ${q.data.tcp.packetsReceived} segments`],
            ['retransmits', <span key="r" className={q.data.tcp.retransmits ? 'warn' : ''}>{q.data.tcp.retransmits}</span>],
            ['smoothed RTT', q.data.tcp.srttUs === null ? '–' : formatNs(q.data.tcp.srttUs * 1000)],
            ['connect latency', formatNs(q.data.tcp.connectLatencyNs)],
            ['close', <span key="c" className={tone(statusTone(flowStatusClass({ verdict: 'FORWARDED', closeReason: q.data.tcp.closeReason })))}>{q.data.tcp.closeReason}</span>],
            ['flags', q.data.tcp.tcpFlags.join(' ') || '–'],
            ['duration', q.data.tcp.durationMs === null ? 'open' : formatNs(q.data.tcp.durationMs * 1e6)],
            ['updates', String(q.data.tcp.updates)],
          ]} />
        </section>
      )}
      {q.data && (
        <section>
          <h4>Raw JSON</h4>
          <pre>{JSON.stringify({ flow: q.data.flow, l7: q.data.l7 }, null, 2)}</pre>
        </section>
      )}
    </aside>
  );
}
