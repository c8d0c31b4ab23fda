'use client';
/** Map service panel: which of the service's connections were decoded, by class (issue 17). */
import { useQuery } from '@tanstack/react-query';
import { DECODE_COVERAGE_NOTE, decodeCoverageLine } from '../../src/client/decode-coverage-text';
import { api } from '../../src/client/trpc';

export function ServiceDecodeCoverage(props: {
  cacheKey: string;
  window: { since: number; until: number };
  includeSelf: boolean;
  service: string;
  namespace: string;
}) {
  const q = useQuery({
    queryKey: ['decode-coverage', props.cacheKey, props.includeSelf, props.service, props.namespace],
    queryFn: () =>
      api.coverage.workloads.query({
        window: props.window,
        includeSelf: props.includeSelf,
        service: props.service,
        namespace: props.namespace,
      }),
    staleTime: 30_000,
  });
  const text = decodeCoverageLine(q.data?.workloads[0]);
  if (!text) return null;
  return (
    <p className="muted" data-testid="service-decode-coverage" title={DECODE_COVERAGE_NOTE}>
      {text}
    </p>
  );
}
