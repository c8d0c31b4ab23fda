'use client';
/**
 * Coverage transparency next to records (docs/l7-line-rate.md): the flows page's notice when the window's HTTP
 * records are a sample, the note while a live tail captures everything, and the map service panel's line.
 */
import { useQuery } from '@tanstack/react-query';
import { coverageLine, coverageNotice } from '../../src/client/coverage-text';
import { api } from '../../src/client/trpc';

interface CoverageQuery {
  /** What the counts are keyed by (the URL's range parameters, not times that move with the clock). */
  cacheKey: string;
  window: { since: number; until: number };
  includeSelf: boolean;
  service?: string;
  namespace?: string;
}

function useCoverage(q: CoverageQuery, enabled = true) {
  return useQuery({
    queryKey: ['coverage', q.cacheKey, q.includeSelf, q.service ?? null, q.namespace ?? null],
    queryFn: () => api.coverage.l7.query({ window: q.window, includeSelf: q.includeSelf, service: q.service, namespace: q.namespace }),
    enabled,
    staleTime: 30_000,
  });
}

/** Flows page, searching: one line when the window's HTTP records are sampled; nothing otherwise. */
export function CoverageNotice(props: CoverageQuery & { enabled: boolean }) {
  const q = useCoverage(props, props.enabled);
  const text = q.data ? coverageNotice(q.data) : null;
  if (!props.enabled || !text) return null;
  return (
    <span className="muted" role="note" data-testid="coverage-notice">
      {text}
    </span>
  );
}

/** Flows page, live: what the tail does to the collectors while it is open. */
export function LiveCaptureNote() {
  return (
    <span className="muted" role="note" data-testid="coverage-notice">
      Live tail: collectors record every HTTP exchange while it is open (from their next poll, within ~2 s); the filter decides what is
      shown here.
    </span>
  );
}

/** Map service panel: how many of the service's HTTP exchanges have records, and why. */
export function ServiceCoverage(props: CoverageQuery) {
  const q = useCoverage(props);
  const text = q.data ? coverageLine(q.data) : null;
  if (!text) return null;
  return (
    <p
      className="muted"
      data-testid="service-coverage"
      title="requests and errors above count every exchange; records are what the flows page lists"
    >
      {text}
    </p>
  );
}
