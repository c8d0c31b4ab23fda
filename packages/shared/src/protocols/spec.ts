/**
 * What every L7 protocol defines once (one module per protocol beside this file, gathered by
 * ../l7-protocols.ts): its name, transports, one-line summary, status class, and its mapping to and from
 * Hubble's jsonpb `l7.<protocol>` object where Hubble has one.
 */
import type { L7Event } from '../flow';
import type { StatusClass } from '../status';

/** What a Hubble line says about the exchange around its protocol object. */
export interface HubbleImportContext {
  /** The line is an L7 RESPONSE (Hubble writes outcomes only on responses). */
  response: boolean;
  /** The line's L4 protocol. */
  transport: 'TCP' | 'UDP';
}

export interface L7ProtocolSpec {
  /** How people write it: 'HTTP', 'DNS', 'Kafka'. */
  label: string;
  /**
   * The transports it runs over: one, or both (then an exchange's own `transport` detail says which), so
   * that `--protocol tcp|udp` finds its exchanges.
   */
  transports: readonly ('tcp' | 'udp')[];
  /** The exchange in one line, as the flow table, the drawer and the CLI print it. */
  summary(e: L7Event): string;
  /** The exchange's status class (errors are `isErrorClass`'s). */
  statusClass(e: L7Event): StatusClass;
  /** Hubble's `l7.<protocol>` object for the exchange (protojson field names; zero values left out). */
  toHubble?(e: L7Event): Record<string, unknown> | undefined;
  /** The exchange's protocol details from Hubble's `l7.<protocol>` object (validated by HubbleLine). */
  fromHubble?(detail: object, ctx: HubbleImportContext): object | undefined;
}

/** protojson leaves zero values out: drop undefined, '', 0 and empty arrays. */
export function compact(o: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '' || v === 0 || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}
