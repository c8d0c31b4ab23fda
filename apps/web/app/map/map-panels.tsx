'use client';
/**
 * The map's side panel contents: the edge list (default), a node's golden signals and top peers, an edge's
 * figures per protocol; each links to the matching flows (and a node to its dashboard) for the same time
 * range. Requests (L7 exchanges) and connections (tcp/udp) are shown apart, never added together.
 */
import { PERCENTILE_NOTE } from '@sextant/shared';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { edgeRows, protocolQuery, type MapEdge, type MapNode } from '../../src/client/map-model';
import { ServiceCoverage } from '../flows/coverage';
import { ServiceDecodeCoverage } from './decode-coverage';
import { formatBytes, formatCount, formatNs, formatRate } from '../../src/client/time-range';
import { flowsLink, serviceFlags } from '../../src/client/url-state';

/** Flows of an edge: its first (L7 first) protocol's records. */
export function edgeQuery(e: MapEdge): string {
  return protocolQuery(e, e.protocols[0]?.protocol ?? 'tcp');
}

const pct = (r: number) => `${(r * 100).toFixed(1)}`;

/** An edge's headline: its requests (L7), else its connections, else its drops. */
function headline(e: MapEdge): { count: string; err: string; bad: boolean } {
  if (e.kind === 'requests') return { count: `${formatCount(e.requests)} req`, err: pct(e.errorRatio), bad: e.errors > 0 };
  if (e.kind === 'connections')
    return { count: `${formatCount(e.connections)} conn`, err: pct(e.failureRatio), bad: e.connectionErrors > 0 };
  return { count: `${formatCount(e.drops)} drops`, err: '—', bad: true };
}

/** The 200 busiest edges, each a link to its flows. */
export function EdgesTable({ edges, rangeParams }: { edges: MapEdge[]; rangeParams: URLSearchParams }) {
  const router = useRouter();
  return (
    <>
      <h3 style={{ marginTop: 0 }}>
        Edges{' '}
        <span className="muted" style={{ fontWeight: 400, fontSize: 13 }}>
          by requests, then connections · click for flows
        </span>
      </h3>
      <table className="compact">
        <thead>
          <tr>
            <th>source → destination</th>
            <th>proto</th>
            <th>requests / connections</th>
            <th title="error responses / requests; for an edge without L7: failed connections / connections">err %</th>
            <th title={PERCENTILE_NOTE}>p95 ⓘ</th>
          </tr>
        </thead>
        <tbody>
          {edges.slice(0, 200).map((e) => {
            const h = headline(e);
            return (
              <tr key={e.id} className="clickable" onClick={() => router.push(flowsLink(edgeQuery(e), rangeParams))}>
                <td>
                  <Link href={flowsLink(edgeQuery(e), rangeParams)} style={{ color: 'inherit' }}>
                    {e.source} → {e.destination}
                  </Link>
                </td>
                <td>{e.protocol}</td>
                <td>{h.count}</td>
                <td className={h.bad ? 'bad' : ''}>{h.err}</td>
                <td>{formatNs(e.p95Ns)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function Stat({ k, v, bad, note }: { k: string; v: string; bad?: boolean; note?: string }) {
  return (
    <div className="stat" title={note}>
      <div className={`v${bad ? ' bad' : ''}`}>{v}</div>
      <div className="k">
        {k}
        {note && ' ⓘ'}
      </div>
    </div>
  );
}

export function NodePanel({
  node,
  edges,
  seconds,
  rangeParams,
  onClose,
  onPeer,
  mapWindow,
}: {
  node: MapNode;
  edges: MapEdge[];
  seconds: number;
  rangeParams: URLSearchParams;
  /** The map's window (its rollup bounds): the records-coverage line covers the same. */
  mapWindow?: { since: number; until: number };
  onClose: () => void;
  onPeer: (id: string) => void;
}) {
  const inbound = edges.filter((e) => e.destination === node.id && e.requests > 0);
  const peers = edges.filter((e) => e.source === node.id || e.destination === node.id).slice(0, 12);
  const worst = (k: 'p50Ns' | 'p95Ns' | 'p99Ns') =>
    inbound.reduce<number | null>((m, e) => (e[k] !== null && (m === null || (e[k] as number) > m) ? e[k] : m), null);
  const errIn = node.requestsIn ? node.errorsIn / node.requestsIn : null;
  const connErrIn = node.connectionsIn ? node.connectionErrorsIn / node.connectionsIn : null;
  const dash = new URLSearchParams(rangeParams.toString());
  dash.set('service', node.name);
  dash.set('namespace', node.namespace);
  return (
    <>
      <div className="row">
        <h3 style={{ margin: 0 }}>{node.id}</h3>
        <span className="spacer" />
        <button className="secondary" onClick={onClose}>
          close
        </button>
      </div>
      <div className="stat-grid">
        <Stat
          k="requests in / s"
          v={formatRate(node.requestsIn / seconds)}
          note="L7 exchanges received (HTTP, DNS, Kafka); connections are counted apart"
        />
        <Stat
          k="error rate in"
          v={errIn === null ? '—' : `${(errIn * 100).toFixed(2)} %`}
          bad={!!errIn}
          note="error responses / requests received"
        />
        <Stat k="p95 in (worst caller)" v={formatNs(worst('p95Ns'))} note={PERCENTILE_NOTE} />
        <Stat k="p99 in (worst caller)" v={formatNs(worst('p99Ns'))} note={PERCENTILE_NOTE} />
        <Stat k="requests out / s" v={formatRate(node.requestsOut / seconds)} />
        <Stat k="errors out" v={formatCount(node.errorsOut)} bad={node.errorsOut > 0} />
        <Stat k="connections in / s" v={formatRate(node.connectionsIn / seconds)} />
        <Stat
          k="failed connections in"
          v={connErrIn === null ? '—' : `${formatCount(node.connectionErrorsIn)} (${(connErrIn * 100).toFixed(1)} %)`}
          bad={node.connectionErrorsIn > 0}
          note="refused, reset or timed out"
        />
        {node.dropsIn + node.dropsOut > 0 && (
          <Stat k="dropped packets in / out" v={`${formatCount(node.dropsIn)} / ${formatCount(node.dropsOut)}`} bad />
        )}
      </div>
      {mapWindow && (
        <ServiceCoverage
          cacheKey={`${mapWindow.since}|${mapWindow.until}`}
          window={mapWindow}
          includeSelf={rangeParams.get('self') === '1'}
          service={node.name}
          namespace={node.namespace}
        />
      )}
      {mapWindow && (
        <ServiceDecodeCoverage
          cacheKey={`${mapWindow.since}|${mapWindow.until}`}
          window={mapWindow}
          includeSelf={rangeParams.get('self') === '1'}
          service={node.name}
          namespace={node.namespace}
        />
      )}
      <div className="row">
        <Link href={`/dashboards?${dash.toString()}`}>dashboard →</Link>
        <Link href={flowsLink(serviceFlags('to', node.id), rangeParams)}>inbound flows →</Link>
        <Link href={flowsLink(`${serviceFlags('to', node.id)} --http-status 5+`, rangeParams)}>inbound 5xx →</Link>
      </div>
      <h4>Top peers</h4>
      <table className="compact">
        <thead>
          <tr>
            <th>peer</th>
            <th>proto</th>
            <th>req/s</th>
            <th>err %</th>
            <th>conn/s</th>
            <th title={PERCENTILE_NOTE}>p95 ⓘ</th>
          </tr>
        </thead>
        <tbody>
          {peers.map((e) => {
            const peer = e.source === node.id ? e.destination : e.source;
            return (
              <tr key={e.id} className="clickable" onClick={() => onPeer(peer)}>
                <td>
                  {e.source === e.destination ? '↻ ' : e.source === node.id ? '→ ' : '← '}
                  {peer}
                </td>
                <td>{e.protocol}</td>
                <td>{e.requests ? formatRate(e.requestsPerSecond) : '—'}</td>
                <td className={e.errors > 0 ? 'bad' : ''}>{e.requests ? pct(e.errorRatio) : '—'}</td>
                <td>{e.connections ? formatRate(e.connectionsPerSecond) : '—'}</td>
                <td>{formatNs(e.p95Ns)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

/** One line of the map: every protocol on the pair, L7 first, each with its own unit, errors and flows. */
export function EdgePanel({ edge, rangeParams, onClose }: { edge: MapEdge; rangeParams: URLSearchParams; onClose: () => void }) {
  return (
    <>
      <div className="row">
        <h3 style={{ margin: 0 }}>
          {edge.source} → {edge.destination}
        </h3>
        <span className="spacer" />
        <button className="secondary" onClick={onClose}>
          close
        </button>
      </div>
      <p className="muted">
        {edge.protocol} · {formatBytes(edge.bytesSent)} sent / {formatBytes(edge.bytesReceived)} received
        {edge.retransmits > 0 ? ` · ${formatCount(edge.retransmits)} retransmits` : ''}
      </p>
      <div style={{ overflowX: 'auto' }}>
        <table className="compact edge-protocols">
          <thead>
            <tr>
              <th>proto</th>
              <th>count</th>
              <th>rate</th>
              <th>errors</th>
              <th title={PERCENTILE_NOTE}>p50 / p95 / p99 ⓘ</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {edgeRows(edge).map((r) => (
              <tr key={r.protocol} data-protocol={r.protocol}>
                <td>{r.protocol}</td>
                <td>
                  {formatCount(r.count)} {r.unit}
                </td>
                <td>{r.unit === 'dropped packets' ? '—' : formatRate(r.perSecond)}</td>
                <td className={r.errors > 0 ? 'bad' : ''}>
                  {r.unit === 'dropped packets' ? '—' : `${formatCount(r.errors)} ${r.errorsLabel} (${pct(r.errorRatio)} %)`}
                </td>
                <td title={r.latency ? `${r.latency} latency` : undefined}>
                  {r.latency
                    ? `${r.latency === 'connect' ? 'connect ' : ''}${formatNs(r.p50Ns)} / ${formatNs(r.p95Ns)} / ${formatNs(r.p99Ns)}`
                    : '—'}
                </td>
                <td>
                  <Link href={flowsLink(r.flows, rangeParams)}>flows →</Link>
                  {r.failingFlows && r.errors > 0 && (
                    <>
                      {' '}
                      <Link href={flowsLink(r.failingFlows, rangeParams)}>only 5xx →</Link>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
