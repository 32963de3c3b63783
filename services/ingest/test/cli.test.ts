/** The Kafka CLIs as operators run them (`npm run kafka:topics`, `npm run dlq:replay`), against the run's broker. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { kafkaBrokers, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { describeWith, testServices } from '@payment-manager/testkit/services';
import { describe, expect, it } from 'vitest';

function run(cli: string, args: string[], env: Record<string, string>) {
  const script = fileURLToPath(new URL(`../src/cli/${cli}.ts`, import.meta.url));
  return spawnSync(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

// Usage and configuration mistakes exit 2 in every tool and service (EXIT_USAGE, services/shared/src/cli.ts).
describe('CLI usage errors', () => {
  it('dlq:replay without --topic explains what is missing', () => {
    const result = run('dlq-replay', [], { KAFKA_BROKERS: '127.0.0.1:9' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--topic is required/);
  });

  it('dlq:replay refuses a topic without .dlq suffix unless --to is given', () => {
    const result = run('dlq-replay', ['--topic', 'webhooks.orders'], { KAFKA_BROKERS: '127.0.0.1:9' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/pass --to/);
  });

  it('kafka:topics without KAFKA_BROKERS says so', () => {
    const result = run('create-topics', [], {});
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/KAFKA_BROKERS is not set/);
  });
});

describeWith(['kafka'], 'kafka:topics against the run broker', () => {
  it('creates the four topics through the admin API (on the mock cluster: explains that it cannot)', () => {
    const topics = uniqueTopicNames('cli');
    const result = run('create-topics', [], {
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_ORDERS_TOPIC: topics.orders,
      KAFKA_DISPUTES_TOPIC: topics.disputes,
      KAFKA_ORDERS_DLQ_TOPIC: topics.ordersDlq,
      KAFKA_DISPUTES_DLQ_TOPIC: topics.disputesDlq,
    });
    expect(result.status, result.stderr).toBe(0);
    for (const topic of Object.values(topics)) expect(result.stdout).toContain(topic);
    if (testServices().kafkaIsMockCluster) {
      // The mock cluster lacks CreateTopics; the command says so instead of failing.
      expect(result.stdout).toMatch(/note: the broker does not support topic creation/);
    } else {
      for (const topic of Object.values(topics)) expect(result.stdout).toContain(`created  ${topic}  partitions=3`);
    }
  });
});
