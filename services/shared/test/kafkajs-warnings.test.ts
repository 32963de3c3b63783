/**
 * A Kafka client of ours starts without Node's TimeoutNegativeWarning (kafkajs 2.2.4 passes a negative delay to
 * setTimeout on the first request of every connection; services/shared/src/kafkajs-request-queue.ts fixes it).
 * A fresh process, as a service starts, connects an admin and a producer to the real broker; its stderr must carry
 * no warning at all.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeWith, requireKafkaBrokers } from '@payment-manager/testkit/services';
import { expect, it } from 'vitest';

const KAFKA_CLIENT = fileURLToPath(new URL('../src/kafka-client.ts', import.meta.url));

const CHILD = `
const { createKafkaClient } = await import(process.env.KAFKA_CLIENT);
const kafka = createKafkaClient({ clientId: 'warning-check', brokers: process.env.BROKERS.split(',') });
const admin = kafka.admin();
await admin.connect();
await admin.listTopics();
await admin.disconnect();
const producer = kafka.producer();
await producer.connect();
await producer.disconnect();
console.log('connected and disconnected');
`;

describeWith(['kafka'], 'kafkajs client start-up', () => {
  it('prints no TimeoutNegativeWarning (nor any other warning) when an admin and a producer connect', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '--trace-warnings', '-e', CHILD],
      {
        env: { ...process.env, KAFKA_CLIENT, BROKERS: requireKafkaBrokers().join(','), NODE_OPTIONS: '' },
        timeout: 60_000,
      },
    );
    expect(stdout).toContain('connected and disconnected');
    expect(stderr).not.toMatch(/Warning/);
  }, 90_000);
});
