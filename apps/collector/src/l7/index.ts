/** The L7 engine's public surface for the collector. */
export { L7Engine, L7OptionsSchema, DEFAULT_KEEP_HEADERS } from './engine';
export { L7ParseError } from './errors';
export { templatePath } from './http-path';
export { DEFAULT_REDACT_QUERY_PARAMS, QueryRedactor, REDACTED } from './redact';
export type { L7Chunk, L7Exchange, L7Options, L7Stats, HttpDetails, DnsDetails, KafkaDetails } from './types';
