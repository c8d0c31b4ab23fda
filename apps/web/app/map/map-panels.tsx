'use client';
/**
 * The map's side panel contents: the edge list (default), a node's golden signals and top peers, an edge's
 * figures; each links to the matching flows (and a node to its dashboard) for the same time range.
 */
import { PERCENTILE_NOTE } from '@sextant/shared';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { MapEdge, MapNode } from '../../src/client/map-model';
import { formatBytes, formatCount, formatNs, formatRate } from '../../src/client/time-range';
import { flowsLink, serviceFlags } from '../../src/client/url-state';

export function edgeQuery(e: MapEdge): string {
  // A tcp/udp edge counts connections: its flows are the L3/L4 records (an http edge: its exchanges).
  const proto = e.protocol === 'tcp' || e.protocol === 'udp' ? `--type trace --protocol ${e.protocol}` : `--protocol ${e.protocol}`;
  return `${serviceFlags('from', e.source)} ${serviceFlags('to', e.destination)} ${proto}`;
}

/** The 200 busiest edges, each a link to its flows. */
export function EdgesTable({ edges, rangeParams }: { edges: MapEdge[]; rangeParams: URLSearchParams }) {
  const router = useRouter();
  return (
    <>
      <h3 style={{ marginTop: 0 }}>Edges <span className="muted" style={{ fontWeight: 400, fontSize: 13 }}>by requests · click for flows</span></h3>
      <table className="compact">
        <thead><tr><th>source → destination</th><th>proto</th><th>requests</th><th>err %</th><th title={PERCENTILE_NOTE}>p95 ⓘ</th></tr></thead>
        <tbody>
          {[...edges].sort((a, b) => b.requests - a.requests).slice(0, 200).map((e) => (
            <tr key={e.id} className="clickable" onClick={() => router.push(flowsLink(edgeQuery(e), rangeParams))}>
              <td><Link href={flowsLink(edgeQuery(e), rangeParams)} style={{ color: 'inherit' }}>{e.source} → {e.destination}</Link></td>
              <td>{e.protocol}</td><td>{e.requests}</td><td className={e.errorRatio > 0 ? 'bad' : ''}>{(e.errorRatio * 100).toFixed(1)}</td><td>{formatNs(e.p95Ns)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Stat({ k, v, bad, note }: { k: string; v: string; bad?: boolean; note?: string }) {
  return <div className="stat" title={note}><div className={`v${bad ? ' bad' : ''}`}>{v}</div><div className="k">{k}{note && ' ⓘ'}</div></div>;
}

export function NodePanel({ node, edges, seconds, rangeParams, onClose, onPeer }: {
  node: MapNode;
  edges: MapEdge[];
  seconds: number;
  rangeParams: URLSearchParams;
  onClose: () => void;
  onPeer: (id: string) => void;
}) {
  const inbound = edges.filter((e) => e.destination === node.id);
  const peers = edges.filter((e) => e.source === node.id || e.destination === node.id).sort((a, b) => b.requests - a.requests).slice(0, 12);
  const worst = (k: 'p50Ns' | 'p95Ns' | 'p99Ns') => inbound.reduce<number | null>((m, e) => (e[k] !== null && (m === null || (e[k] as number) > m) ? e[k] : m), null);
  const errIn = node.requestsIn ? node.errorsIn / node.requestsIn : 0;
  const dash = new URLSearchParams(rangeParams.toString());
  dash.set('service', node.name);
  dash.set('namespace', node.namespace);
  return (
    <>
      <div className="row"><h3 style={{ margin: 0 }}>{node.id}</h3><span className="spacer" /><button className="secondary" onClick={onClose}>close</button></div>
      <div className="stat-grid">
        <Stat k="requests in / s" v={formatRate(node.requestsIn / seconds)} />
        <Stat k="error rate in" v={`${(errIn * 100).toFixed(2)} %`} bad={errIn > 0} />
        <Stat k="p95 in (worst caller)" v={formatNs(worst('p95Ns'))} note={PERCENTILE_NOTE} />
        <Stat k="p99 in (worst caller)" v={formatNs(worst('p99Ns'))} note={PERCENTILE_NOTE} />
        <Stat k="requests out / s" v={formatRate(node.requestsOut / seconds)} />
        <Stat k="errors out" v={formatCount(node.errorsOut)} bad={node.errorsOut > 0} />
      </div>
      <div className="row">
        <Link href={`/dashboards?${dash.toString()}`}>dashboard →</Link>
        <Link href={flowsLink(serviceFlags('to', node.id), rangeParams)}>inbound flows →</Link>
        <Link href={flowsLink(`${serviceFlags('to', node.id)} --http-status 5+`, rangeParams)}>inbound 5xx →</Link>
      </div>
      <h4>Top peers</h4>
      <table className="compact">
        <thead><tr><th>peer</th><th>proto</th><th>req/s</th><th>err %</th><th title={PERCENTILE_NOTE}>p95 ⓘ</th></tr></thead>
        <tbody>
          {peers.map((e) => {
            const peer = e.source === node.id ? e.destination : e.source;
            return (
              <tr key={e.id} className="clickable" onClick={() => onPeer(peer)}>
                <td>{e.source === node.id ? '→ ' : '← '}{peer}</td><td>{e.protocol}</td><td>{formatRate(e.requestsPerSecond)}</td>
                <td className={e.errorRatio > 0 ? 'bad' : ''}>{(e.errorRatio * 100).toFixed(1)}</td><td>{formatNs(e.p95Ns)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

export function EdgePanel({ edge, rangeParams, onClose }: { edge: MapEdge; rangeParams: URLSearchParams; onClose: () => void }) {
  return (
    <>
      <div className="row"><h3 style={{ margin: 0 }}>{edge.source} → {edge.destination}</h3><span className="spacer" /><button className="secondary" onClick={onClose}>close</button></div>
      <p className="muted">{edge.protocol}</p>
      <div className="stat-grid">
        <Stat k="requests" v={formatCount(edge.requests)} />
        <Stat k="rate" v={formatRate(edge.requestsPerSecond)} />
        <Stat k="errors" v={`${formatCount(edge.errors)} (${(edge.errorRatio * 100).toFixed(1)} %)`} bad={edge.errors > 0} />
        <Stat k="p50 / p95 / p99" v={`${formatNs(edge.p50Ns)} / ${formatNs(edge.p95Ns)} / ${formatNs(edge.p99Ns)}`} note={PERCENTILE_NOTE} />
        <Stat k="bytes sent / received" v={`${formatBytes(edge.bytesSent)} / ${formatBytes(edge.bytesReceived)}`} />
        <Stat k="retransmits" v={formatCount(edge.retransmits)} bad={edge.retransmits > 0} />
      </div>
      <div className="row">
        <Link href={flowsLink(edgeQuery(edge), rangeParams)}>its {formatCount(edge.requests)} requests / flows →</Link>
        {edge.errors > 0 && <Link href={flowsLink(`${edgeQuery(edge)} --http-status 5+`, rangeParams)}>only 5xx →</Link>}
      </div>
    </>
  );
}
