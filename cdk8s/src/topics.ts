import { readFileSync } from 'node:fs';

/** Topics of docs/kafka.md#topics. The DLQs are created at deploy time too (as docs/kafka.md#topics recommends), with 1 partition. */
export interface TopicSpec {
  name: string;
  partitions: number;
}

export const KAFKA_TOPICS: readonly TopicSpec[] = [
  { name: 'webhooks.orders', partitions: 3 },
  { name: 'webhooks.disputes', partitions: 3 },
  { name: 'webhooks.orders.dlq', partitions: 1 },
  { name: 'webhooks.disputes.dlq', partitions: 1 },
];

/**
 * The one Kafka version of the project: deploy/kafka/VERSION, which scripts/kafka.sh, the testcontainers path and
 * compose's payment-manager/kafka image (npm run images) use too; Strimzi runs the same version.
 */
export const KAFKA_VERSION = readFileSync(new URL('../../deploy/kafka/VERSION', import.meta.url), 'utf8').trim();

export const KAFKA_CLUSTER_NAME = 'payments';
/** Strimzi names the bootstrap Service `<cluster>-kafka-bootstrap`; the standalone stack keeps that name. */
export const KAFKA_BOOTSTRAP_SERVICE = `${KAFKA_CLUSTER_NAME}-kafka-bootstrap`;
export const KAFKA_CLIENT_PORT = 9092;
export const KAFKA_BOOTSTRAP = `${KAFKA_BOOTSTRAP_SERVICE}:${KAFKA_CLIENT_PORT}`;

/**
 * Replication of the topics and of Kafka's internal topics for a cluster of `nodes`: at most 3 copies, and with
 * acks=all one replica may be down while writes still succeed; a single node can only require itself.
 */
export function kafkaReplication(nodes: number): { factor: number; minInSync: number } {
  const factor = Math.min(nodes, 3);
  return { factor, minInSync: Math.max(1, factor - 1) };
}
