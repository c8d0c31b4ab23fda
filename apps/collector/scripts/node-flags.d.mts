export const COLLECTOR_BIN: string;
/** What a launcher passes to start the collector bin with process.execPath: its shebang line's node flags and variables. */
export function collectorLaunch(): { flags: string[]; env: Record<string, string> };
