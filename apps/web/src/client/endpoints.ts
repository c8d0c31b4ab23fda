/**
 * A service's endpoints as the dashboard lists them: a name per endpoint (method + path template, DNS query
 * type, Kafka topic + api key) and the flow filter that lists exactly its exchanges towards the service.
 * Pure: tested without React.
 */
import type { EndpointSignals } from '@sextant/db';
import { quoteArg, serviceFlags } from './url-state';

export function endpointName(e: Pick<EndpointSignals, 'protocol' | 'method' | 'path' | 'qtype' | 'topic' | 'apiKey'>): string {
  if (e.protocol === 'http') return `${e.method ?? '?'} ${e.path ?? '?'}`;
  if (e.protocol === 'dns') return `DNS ${e.qtype ?? '(no qtype)'}`;
  if (e.protocol === 'kafka') return `${e.apiKey ?? '?'} ${e.topic ?? '(no topic)'}`;
  return e.protocol;
}

/** An anchored regular expression matching the paths of a template: `{param}` matches one path segment. */
export function pathTemplateRegex(template: string): string {
  const escaped = template.split(/\{[^}/]*\}/).map((part) => part.replace(/[.*+?^$()|[\]{}\\]/g, '\\$&'));
  return `^${escaped.join('[^/]+')}$`;
}

/**
 * Flags for the flows of one endpoint towards the service `serviceId` ("namespace/name"). DNS has no query
 * type flag: its filter lists the service's DNS exchanges.
 */
export function endpointQuery(serviceId: string, e: Pick<EndpointSignals, 'protocol' | 'method' | 'path' | 'topic'>): string {
  const parts = [serviceFlags('to', serviceId), `--protocol ${e.protocol}`];
  if (e.protocol === 'http') {
    if (e.method) parts.push(`--http-method ${quoteArg(e.method)}`);
    if (e.path) parts.push(`--http-path ${quoteArg(pathTemplateRegex(e.path))}`);
  }
  if (e.protocol === 'kafka' && e.topic) parts.push(`--kafka-topic ${quoteArg(e.topic)}`);
  return parts.join(' ');
}
