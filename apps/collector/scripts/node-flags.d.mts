export const COLLECTOR_BIN: string;
/** The flags after `node` in the collector bin's shebang line. */
export function collectorNodeFlags(): string[];
/** The variables the collector bin's shebang line sets (before `node`), as an environment. */
export function collectorEnv(): Record<string, string>;
