/** The web server's environment, read once and validated (a comment per variable, coerced defaults). */
import { z } from 'zod';

const Env = z.object({
  /** PostgreSQL connection string (npm start sets it to the embedded database). */
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required: start Sextant with `npm start`, or set it'),
  /** Days of raw flows and L7 events kept. */
  SEXTANT_RETENTION_RAW_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  /** Days of minute/hour rollups kept. */
  SEXTANT_RETENTION_ROLLUP_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** How often the maintenance job runs (partitions, hour rollups, retention). */
  SEXTANT_MAINTENANCE_INTERVAL_MS: z.coerce.number().int().min(5_000).default(60_000),
});

export type WebEnv = z.infer<typeof Env>;

let cached: WebEnv | undefined;

export function webEnv(): WebEnv {
  if (!cached) {
    const parsed = Env.safeParse(process.env);
    if (!parsed.success)
      throw new Error(`invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    cached = parsed.data;
  }
  return cached;
}
