/** Topics of spec §11.1. The DLQs are created at deploy time too (the spec's SHOULD), with 1 partition. */
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

/** The one Kafka version of the project (compose image apache/kafka:4.3.0, scripts/kafka.sh, Strimzi). */
export const KAFKA_VERSION = '4.3.0';

export const KAFKA_CLUSTER_NAME = 'payments';
/** Strimzi names the bootstrap Service `<cluster>-kafka-bootstrap`. */
export const KAFKA_BOOTSTRAP = `${KAFKA_CLUSTER_NAME}-kafka-bootstrap:9092`;
