'use client';
/**
 * Collectors page: L7 decode coverage per workload over the last hour (issue 17) — for each service, how many of
 * its connections were decoded (cleartext, TLS via OpenSSL, TLS via Node) and how many were seen but not decoded.
 */
import { isDecodedClass, L7_COVERAGE_CLASSES, L7_COVERAGE_LABELS, type L7CoverageClass } from '@sextant/shared';
import { classParts, DECODE_COVERAGE_NOTE, decodedSummary } from '../../src/client/decode-coverage-text';
import { api } from '../../src/client/trpc';
import { useAuthedQuery } from '../../src/client/use-authed-query';

const HOUR = 3_600_000;
/** Column headers (the full label is the header's tooltip). */
const SHORT: Record<L7CoverageClass, string> = {
  cleartext: 'cleartext',
  'tls-openssl': 'TLS OpenSSL',
  'tls-node': 'TLS Node',
  'tls-undecoded': 'TLS not decoded',
  'http2-undecodable': 'HTTP/2 not decodable',
  'http2-midstream': 'HTTP/2 mid-stream',
  unrecognized: 'not recognized',
};

export function WorkloadCoverage() {
  const q = useAuthedQuery({
    queryKey: ['workload-coverage'],
    queryFn: () => {
      const until = Date.now();
      return api.coverage.workloads.query({ window: { since: until - HOUR, until } });
    },
    refetchInterval: 30_000,
  });
  const workloads = q.data?.workloads ?? [];
  return (
    <div className="panel" data-testid="workload-coverage">
      <strong>L7 decoding by workload</strong> <span className="muted">last hour</span>
      {q.error && <div className="error">{q.error.message}</div>}
      {q.data && workloads.length === 0 && <div className="empty">No connection with payload in the last hour.</div>}
      {workloads.length > 0 && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th>workload</th>
                <th>namespace</th>
                <th>decoded</th>
                {L7_COVERAGE_CLASSES.map((c) => (
                  <th key={c} className="num" title={L7_COVERAGE_LABELS[c]}>
                    {SHORT[c]}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {workloads.map((w) => (
                <tr
                  key={`${w.namespace}/${w.service}`}
                  data-workload={w.service}
                  title={classParts(w)
                    .map((p) => p.text)
                    .join('\n')}
                >
                  <td>{w.service}</td>
                  <td>{w.namespace || '–'}</td>
                  <td className={w.decoded === w.total ? 'ok' : 'warn'}>{decodedSummary(w)}</td>
                  {L7_COVERAGE_CLASSES.map((c) => (
                    <td key={c} className={`num ${w.connections[c] > 0 && !isDecodedClass(c) ? 'warn' : ''}`}>
                      {w.connections[c] > 0 ? w.connections[c].toLocaleString('en-US') : '–'}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted legend-note">{DECODE_COVERAGE_NOTE}</p>
    </div>
  );
}
