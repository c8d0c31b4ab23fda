export { appRouter, type AppRouter } from './root';
export { createContext, SESSION_COOKIE, type Context, type ServerDeps } from './context';
export { createCallerFactory } from './trpc';
export { checkHealth, type Health } from './health';
export { SEXTANT_VERSION } from './version';
export { ingestSignal } from './live';
export { metricsResponse, processMetrics, type MetricsResponse } from './metrics';
