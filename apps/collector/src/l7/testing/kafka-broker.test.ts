import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaTestBroker } from './kafka-broker';

describe('KafkaTestBroker (the fixture itself)', () => {
  it('auto-creates topics only when asked to, and serves stored batches back with their offsets', async () => {
    const auto = new KafkaTestBroker({ autoCreateTopics: true });
    const strict = new KafkaTestBroker();
    await Promise.all([auto.start(), strict.start()]);
    const client = (b: KafkaTestBroker) =>
      new Kafka({
        clientId: 'fixture-test',
        brokers: [`127.0.0.1:${b.port}`],
        logLevel: logLevel.NOTHING,
        retry: { retries: 1, initialRetryTime: 50 },
      });
    try {
      const producer = client(auto).producer();
      await producer.connect();
      const [first] = await producer.send({ topic: 'fresh', messages: [{ value: 'a' }, { value: 'b' }] });
      const [second] = await producer.send({ topic: 'fresh', messages: [{ value: 'c' }] });
      await producer.disconnect();
      expect([first?.errorCode, first?.baseOffset, second?.baseOffset]).toEqual([0, '0', '2']);
      expect(auto.logs.get('fresh')?.[0]?.map((b) => [b.baseOffset, b.nextOffset])).toEqual([
        [0n, 2n],
        [2n, 3n],
      ]);
      const strictProducer = client(strict).producer();
      await strictProducer.connect();
      const err = await strictProducer.send({ topic: 'fresh', messages: [{ value: 'a' }] }).catch((e: Error) => e);
      await strictProducer.disconnect();
      expect(String(err)).toMatch(/does not host this topic-partition/); // kafkajs' text for error 3
      expect(strict.logs.has('fresh')).toBe(false);
    } finally {
      await Promise.all([auto.stop(), strict.stop()]);
    }
  });
});
