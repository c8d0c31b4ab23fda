/** Dashboard time series (rates, error ratio, p50/p95/p99), the per-topic panels and the known services list. */
import {
  dnsByRcode,
  dropsByReason,
  kafkaByTopic,
  listServices,
  serviceEndpointSignals,
  tcpHealth,
  timeSeries,
  topTalkers,
} from '@sextant/db';
import { z } from 'zod';
import { TimeSeriesInput, TimeWindow } from '../inputs';
import { router, userProcedure } from '../trpc';

export const PanelsInput = z.object({
  window: TimeWindow.prefault({}),
  stepSeconds: z.number().int().min(10).max(86_400).optional(),
  service: z.string().min(1).max(253).optional(),
  namespace: z.string().max(253).optional(),
});

export const dashboardsRouter = router({
  timeSeries: userProcedure.input(TimeSeriesInput).query(({ ctx, input }) =>
    timeSeries(ctx.db.pool, {
      ...input.window,
      stepSeconds: input.stepSeconds,
      service: input.service,
      namespace: input.namespace,
      direction: input.direction,
      protocols: input.protocols,
    }),
  ),

  /** DNS by rcode, Kafka by topic, TCP health, drops by reason and top talkers for one window. */
  panels: userProcedure.input(PanelsInput).query(async ({ ctx, input }) => {
    const q = { ...input.window, stepSeconds: input.stepSeconds, service: input.service, namespace: input.namespace };
    const [dns, kafka, tcp, drops, talkers] = await Promise.all([
      dnsByRcode(ctx.db.pool, q),
      kafkaByTopic(ctx.db.pool, q),
      tcpHealth(ctx.db.pool, q),
      dropsByReason(ctx.db.pool, q),
      topTalkers(ctx.db.pool, q),
    ]);
    return { dns, kafka, tcp, drops, talkers };
  }),

  /**
   * One service's endpoints (method + path template, DNS qtype, Kafka topic + api key) with rate, errors, p50/p95/p99,
   * and its HTTP exchanges (rollups) against its HTTP records: when records are a sample, HTTP rows are estimates.
   */
  endpoints: userProcedure
    .input(
      z.object({
        window: TimeWindow.prefault({}),
        service: z.string().min(1).max(253),
        namespace: z.string().max(253).default(''),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) =>
      serviceEndpointSignals(ctx.db.pool, { ...input.window, service: input.service, namespace: input.namespace, limit: input.limit }),
    ),

  services: userProcedure
    .input(z.object({ prefix: z.string().max(253).default(''), limit: z.number().int().min(1).max(500).default(50) }))
    .query(({ ctx, input }) => listServices(ctx.db.prisma, input)),
});
