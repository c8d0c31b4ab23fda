/** Kafka: an exchange is a request with its response, paired by correlation id; a non-zero error code is an error. */
import type { z } from 'zod';
import type { KafkaInfo } from '../flow';
import { compact, type L7ProtocolSpec } from './spec';

interface HubbleKafka {
  error_code?: number | string;
  api_version?: number | string;
  api_key?: string;
  correlation_id?: number | string;
  topic?: string;
}

export const kafkaProtocol: L7ProtocolSpec = {
  label: 'Kafka',
  transports: ['tcp'],
  summary: (e) => {
    const k = e.kafka;
    if (!k) return 'Kafka';
    const outcome = k.errorCode === undefined ? '' : k.errorCode === 0 ? ' → ok' : ` → error ${k.errorCode}`;
    return `Kafka ${k.apiKey}${k.topic ? ` ${k.topic}` : ''}${outcome}`;
  },
  statusClass: (e) => {
    const code = e.kafka?.errorCode;
    if (code === undefined) return 'none';
    return code === 0 ? 'ok' : 'error';
  },
  toHubble: (e) =>
    e.kafka &&
    compact({
      error_code: e.kafka.errorCode,
      api_version: e.kafka.apiVersion,
      api_key: e.kafka.apiKey,
      correlation_id: e.kafka.correlationId,
      topic: e.kafka.topic,
    }),
  fromHubble(k: HubbleKafka, ctx) {
    const kafka: z.input<typeof KafkaInfo> = {
      apiKey: k.api_key ?? '',
      apiVersion: Number(k.api_version ?? 0),
      correlationId: Number(k.correlation_id ?? 0),
    };
    if (k.topic) kafka.topic = k.topic;
    // protojson leaves error_code 0 out: a response without one succeeded.
    if (k.error_code || ctx.response) kafka.errorCode = Number(k.error_code ?? 0);
    return kafka;
  },
};
