import { Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import {
  createTopics,
  idempotentProducerSupported,
  kafkaAvailable,
  kafkaBrokers,
  uniqueGroupId,
  uniqueTopicNames,
} from '../src/kafka.ts';
import { eventually } from '../src/poll.ts';
import { describeWith } from '../src/services.ts';

it('unique topic names and group ids never repeat and follow the production pattern', () => {
  const first = uniqueTopicNames();
  const second = uniqueTopicNames();
  expect(first.orders).not.toBe(second.orders);
  expect(first.ordersDlq).toBe(`${first.orders}.dlq`);
  expect(first.disputes).toMatch(/\.webhooks\.disputes$/);
  expect(uniqueGroupId('api')).not.toBe(uniqueGroupId('api'));
});

describeWith(['kafka'], 'testkit: the run’s Kafka broker', () => {
  it('is reachable', () => {
    expect(kafkaAvailable()).toBe(true);
    expect(kafkaBrokers().length).toBeGreaterThan(0);
  });

  it('round-trips keyed messages with headers through a consumer group', async () => {
    const kafka = new Kafka({ clientId: 'testkit', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const topic = uniqueTopicNames().orders;
    await createTopics([topic]);
    const producer = kafka.producer({ idempotent: idempotentProducerSupported(), allowAutoTopicCreation: true });
    const consumer = kafka.consumer({ groupId: uniqueGroupId('testkit') });
    const received: Array<{ key: string; value: string; trace: string }> = [];
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: [
          { key: 'user-1', value: 'first', headers: { traceparent: 't-1' } },
          { key: 'user-1', value: 'second', headers: { traceparent: 't-2' } },
        ],
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.push({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            trace: message.headers?.traceparent?.toString() ?? '',
          });
        },
      });
      await eventually(() => expect(received).toHaveLength(2), { timeoutMs: 20_000 });
      expect(received).toEqual([
        { key: 'user-1', value: 'first', trace: 't-1' },
        { key: 'user-1', value: 'second', trace: 't-2' },
      ]);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  });
});
