'use client';
/**
 * The drawer's exchange part: a detail block for the exchange that was clicked, then the connection's
 * exchanges a page at a time around it (the drawer.exchanges query, run by drawer.tsx). A row opens its exchange.
 */
import type { ReactNode } from 'react';
import { l7StatusClass, l7Summary, statusTone, type L7Event } from '@sextant/shared';
import { keptBecause } from '../../src/client/coverage-text';
import { exchangeFields, exchangeHeaders } from '../../src/client/exchange-fields';
import { formatNs } from '../../src/client/time-range';

export function KV({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <table className="kv">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ExchangeDetail({ e }: { e: L7Event }) {
  const headers = exchangeHeaders(e);
  return (
    <section aria-label="exchange detail" data-testid="exchange-detail">
      <h4>Exchange</h4>
      <div className={`exchange-summary ${statusTone(l7StatusClass(e)) === 'ok' ? '' : statusTone(l7StatusClass(e))}`}>{l7Summary(e)}</div>
      <KV
        rows={[
          ...exchangeFields(e).map((f): [string, ReactNode] => [
            f.label,
            <span key={f.label} className={f.tone ?? ''}>
              {f.value}
            </span>,
          ]),
          ...(keptBecause(e.sampling) ? [['kept because', keptBecause(e.sampling)] as [string, ReactNode]] : []),
        ]}
      />
      {e.http && (
        <>
          <h4>Headers ({headers.length}, kept after redaction)</h4>
          {headers.length ? (
            <KV rows={headers.map((x, i) => [`${x.key}${headers.findIndex((y) => y.key === x.key) === i ? '' : ` (${i})`}`, x.value])} />
          ) : (
            <div className="muted">none kept</div>
          )}
        </>
      )}
    </section>
  );
}

export interface ExchangePageView {
  selected: L7Event | null;
  items: L7Event[];
  offset: number;
  total: number;
}

export const EXCHANGE_PAGE = 25;

/** The clicked exchange's detail, then the page of the connection's exchanges around it; a row opens its exchange. */
export function Exchanges({
  page: d,
  eventId,
  onOpen,
  onPage,
}: {
  page: ExchangePageView;
  eventId: string | null;
  onOpen: (e: L7Event) => void;
  onPage: (offset: number) => void;
}) {
  const go = (to: number) => onPage(Math.max(0, Math.min(to, d.total - 1)));
  return (
    <>
      {d.selected && <ExchangeDetail e={d.selected} />}
      {eventId && !d.selected && <div className="muted">The exchange clicked is no longer stored (retention).</div>}
      {d.total > 0 && (
        <section aria-label="exchanges on this connection">
          <div className="row">
            <h4>
              {d.total === 1
                ? 'Exchange on this connection'
                : `Exchanges on this connection (${d.offset + 1}–${d.offset + d.items.length} of ${d.total})`}
            </h4>
            <span className="spacer" />
            {d.total > EXCHANGE_PAGE && (
              <>
                <button
                  type="button"
                  className="secondary small"
                  disabled={d.offset === 0}
                  onClick={() => go(d.offset - EXCHANGE_PAGE)}
                  aria-label="earlier exchanges"
                >
                  ‹ earlier
                </button>
                <button
                  type="button"
                  className="secondary small"
                  disabled={d.offset + d.items.length >= d.total}
                  onClick={() => go(d.offset + EXCHANGE_PAGE)}
                  aria-label="later exchanges"
                >
                  later ›
                </button>
              </>
            )}
          </div>
          <table className="compact">
            <thead>
              <tr>
                <th>time</th>
                <th>exchange</th>
                <th>latency</th>
              </tr>
            </thead>
            <tbody>
              {d.items.map((e) => {
                const t = statusTone(l7StatusClass(e));
                return (
                  <tr
                    key={e.id}
                    className={`clickable${e.id === eventId ? ' selected' : ''}`}
                    aria-selected={e.id === eventId}
                    tabIndex={0}
                    onClick={() => onOpen(e)}
                    onKeyDown={(k) => k.key === 'Enter' && onOpen(e)}
                  >
                    <td className="mono">{new Date(e.time).toLocaleTimeString([], { hour12: false })}</td>
                    <td className={t === 'ok' ? '' : t}>{l7Summary(e)}</td>
                    <td className="mono">{formatNs(e.latencyNs)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}
