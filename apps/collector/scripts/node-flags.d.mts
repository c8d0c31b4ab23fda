export const COLLECTOR_BIN: string;
/** The flags after `node` in the collector bin's shebang line. */
export function collectorNodeFlags(): string[];
