import { randomBytes } from 'node:crypto';
import { requireKafkaBrokers, testServices } from './services.ts';

/**
 * The broker of a run is shared by all test files (and in CI it is librdkafka's mock cluster, which cannot create
 * topics through the admin API but creates them on first produce). Every test therefore works on its own topics
 * and consumer groups.
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
