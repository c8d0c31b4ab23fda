/**
 * Settings of the HTTP edge (body limits, login throttling, query limits, proxy trust), read once from the
 * environment and validated; README's configuration section documents each one.
 */
import { z } from 'zod';

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

const Env = z.object({
  /**
   * Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy in front of Sextant. Off by default: a
   * client could otherwise pick its own address (escaping the per-address login throttle) or claim HTTPS.
   */
  SEXTANT_TRUST_PROXY: flag.default(false),
  /** Failed sign-ins per account within the window before further attempts get 429. */
  SEXTANT_LOGIN_MAX_FAILURES_ACCOUNT: z.coerce.number().int().min(1).max(10_000).default(10),
  /** Failed sign-ins per client address within the window before further attempts get 429. */
  SEXTANT_LOGIN_MAX_FAILURES_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(30),
  /** The throttling window, seconds. */
  SEXTANT_LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  /** Queries (and mutations) one user may have running at once; more wait in a short queue. */
  SEXTANT_USER_MAX_INFLIGHT: z.coerce.number().int().min(1).max(1000).default(4),
  /** Calls of one user waiting for a slot; beyond this they are refused with TOO_MANY_REQUESTS. */
  SEXTANT_USER_MAX_QUEUED: z.coerce.number().int().min(0).max(10_000).default(8),
});

export type EdgeConfig = z.infer<typeof Env>;

let cached: EdgeConfig | undefined;

export function parseEdgeConfig(env: Record<string, string | undefined>): EdgeConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success)
    throw new Error(`invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export function edgeConfig(): EdgeConfig {
  cached ??= parseEdgeConfig(process.env);
  return cached;
}

/** Tests set their own figures (the process environment is shared by every test of a file). */
export function setEdgeConfig(config: Partial<EdgeConfig>): void {
  cached = { ...edgeConfig(), ...config };
}
