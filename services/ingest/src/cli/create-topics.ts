/**
 * `npm run kafka:topics`: creates webhooks.orders / webhooks.disputes and their DLQs (names from the same env vars
 * as the services; KAFKA_TOPIC_PARTITIONS default 3, KAFKA_DLQ_PARTITIONS default = the same,
 * KAFKA_REPLICATION_FACTOR default: the broker's default). Safe to re-run.
 */
import { createKafkaClient, parseBrokerList } from '@payment-manager/shared/kafka-client';
import { ensureTopics, webhookTopics } from '../kafka/topics.ts';

const brokers = parseBrokerList(process.env.KAFKA_BROKERS);
if (brokers.length === 0) {
  process.stderr.write('kafka:topics: KAFKA_BROKERS is not set (e.g. KAFKA_BROKERS=localhost:9092)\n');
  process.exit(1);
}
const replicationFactor = Number(process.env.KAFKA_REPLICATION_FACTOR ?? '-1');
if (!Number.isInteger(replicationFactor) || replicationFactor === 0 || replicationFactor < -1) {
  process.stderr.write(
    `kafka:topics: KAFKA_REPLICATION_FACTOR must be a positive integer or -1, got "${process.env.KAFKA_REPLICATION_FACTOR}"\n`,
  );
  process.exit(1);
}

try {
  const topics = webhookTopics(process.env);
  const kafka = createKafkaClient({
    clientId: 'payment-manager-topics',
    brokers,
    overrides: { retry: { retries: 3, initialRetryTime: 200 } },
  });
  const report = await ensureTopics(kafka, topics, replicationFactor);
  for (const t of topics) {
    const state = report.created.includes(t.topic)
      ? 'created'
      : report.existing.includes(t.topic)
        ? 'exists '
        : 'missing';
    const partitions = report.partitions[t.topic];
    process.stdout.write(`${state}  ${t.topic}  partitions=${partitions ?? '-'} (wanted ${t.numPartitions})\n`);
  }
  if (report.adminUnavailable) {
    process.stdout.write(
      `note: the broker does not support topic creation through the admin API (${report.adminUnavailable}).\n` +
        '      Topics are created on first produce with the broker default partition count (librdkafka mock cluster: 4).\n',
    );
  }
} catch (err) {
  process.stderr.write(`kafka:topics failed: ${(err as Error).message}\n`);
  process.exit(1);
}
