import { randomBytes } from 'node:crypto';
import { KAFKA_PLAINTEXT, type KafkaSecurity, kafkajsSecurity } from '@payment-manager/shared/kafka-client';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../ingest/src/kafka/topics.ts';
import { requireKafkaBrokers, testServices } from './services.ts';

/**
 * The broker of a run is shared by all test files (in CI a real Apache Kafka node; librdkafka's mock cluster with
 * PM_TEST_KAFKA=mock). Every test therefore works on its own topics (created with `createTopics`) and groups.
 */

export function kafkaAvailable(): boolean {
  return testServices().kafkaBrokers !== null;
}

export function kafkaBrokers(): string[] {
  return requireKafkaBrokers();
}

/**
 * Whether clients may use the idempotent producer (`KAFKA_IDEMPOTENT_PRODUCER`): true on real Kafka, false on
 * librdkafka's mock cluster, which rejects it. Product defaults stay production-correct; only tests pass this.
 */
export function idempotentProducerSupported(): boolean {
  return !testServices().kafkaIsMockCluster;
}

function uniqueSuffix(): string {
  return `${process.pid}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export interface TopicNames {
  orders: string;
  disputes: string;
  ordersDlq: string;
  disputesDlq: string;
}

/** Fresh names following the production pattern (`webhooks.orders`, `webhooks.orders.dlq`, …). */
export function uniqueTopicNames(prefix = 'test'): TopicNames {
  const base = `${prefix}-${uniqueSuffix()}.webhooks`;
  return {
    orders: `${base}.orders`,
    disputes: `${base}.disputes`,
    ordersDlq: `${base}.orders.dlq`,
    disputesDlq: `${base}.disputes.dlq`,
  };
}

export function uniqueGroupId(name = 'group'): string {
  return `test-${name}-${uniqueSuffix()}`;
}

/**
 * Creates a test's topics the way production gets them: through the project's own `kafka:topics` code (admin
 * CreateTopics), DLQs included. The test brokers do not auto-create topics, so a test that skips this fails loudly.
 */
export async function createTopics(
  topics: TopicNames | string[],
  opts: { numPartitions?: number; replicationFactor?: number; brokers?: string[]; security?: KafkaSecurity } = {},
): Promise<void> {
  const names = Array.isArray(topics) ? topics : Object.values(topics);
  const kafka = new Kafka({
    clientId: 'testkit-topics',
    ...kafkajsSecurity(opts.security ?? KAFKA_PLAINTEXT),
    brokers: opts.brokers ?? kafkaBrokers(),
    logLevel: logLevel.NOTHING,
  });
  const report = await ensureTopics(
    kafka,
    names.map((topic) => ({ topic, numPartitions: opts.numPartitions ?? 3 })),
    opts.replicationFactor,
  );
  if (report.adminUnavailable && !testServices().kafkaIsMockCluster) {
    throw new Error(`the test broker refused CreateTopics: ${report.adminUnavailable}`);
  }
}
