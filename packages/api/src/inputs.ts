/** Shared zod inputs of the query procedures (time windows, pagination). */
import { EpochMs, FlowQueryFilter } from '@sextant/shared';
import { z } from 'zod';

const MAX_WINDOW_MS = 400 * 86_400_000;

export const TimeWindow = z
  .object({
    /** Epoch milliseconds; defaults to one hour before `until`. (Bounded to year 9999, as every input time.) */
    since: EpochMs.optional(),
    /** Epoch milliseconds; defaults to now. */
    until: EpochMs.optional(),
  })
  .transform((w) => {
    const until = w.until ?? Date.now();
    const since = w.since ?? until - 3_600_000;
    return { since, until };
  })
  .refine((w) => w.since < w.until, { message: 'since must be before until', path: ['since'] })
  .refine((w) => w.until - w.since <= MAX_WINDOW_MS, { message: 'window longer than 400 days', path: ['since'] });

export const SearchFlowsInput = z.object({
  filter: FlowQueryFilter.default({ allow: [], deny: [] }),
  window: TimeWindow.prefault({}),
  limit: z.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional(),
  /** Also Sextant's own traffic (browser ↔ server, server ↔ PostgreSQL, collector → server); hidden by default. */
  includeSelf: z.boolean().default(false),
});

const names = z.array(z.string().min(1).max(253)).max(100).optional();

export const ServiceMapInput = z.object({
  window: TimeWindow.prefault({}),
  namespaces: names,
  protocols: names,
  errorsOnly: z.boolean().default(false),
  /** Also Sextant's own services and their edges; hidden by default. */
  includeSelf: z.boolean().default(false),
});

export const TimeSeriesInput = z.object({
  window: TimeWindow.prefault({}),
  stepSeconds: z.number().int().min(60).max(86_400).optional(),
  service: z.string().min(1).max(253).optional(),
  namespace: z.string().max(253).optional(),
  direction: z.enum(['inbound', 'outbound', 'either']).default('either'),
  protocols: names,
});
