/**
 * `npm run kafka:topics`: creates webhooks.orders / webhooks.disputes and their DLQs (names from the same env vars
 * as the services; KAFKA_TOPIC_PARTITIONS default 3, KAFKA_DLQ_PARTITIONS default = the same,
 * KAFKA_REPLICATION_FACTOR default: the broker's default). Safe to re-run.
 */
import { ConfigError, envReader } from '@payment-manager/shared';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { createKafkaClient, readKafkaSecurity } from '@payment-manager/shared/kafka-client';
import { retryWithBackoff } from '@payment-manager/shared/resilience';
import { ensureTopics, webhookTopics } from '../kafka/topics.ts';

parseCli({
  command: 'npm run kafka:topics --',
  summary: 'Creates the webhook topics and their dead-letter topics when missing (safe to repeat).',
  options: {},
  environment: {
    KAFKA_BROKERS: 'bootstrap list, e.g. 127.0.0.1:9092; required',
    KAFKA_ORDERS_TOPIC: 'default webhooks.orders (also KAFKA_DISPUTES_TOPIC, KAFKA_*_DLQ_TOPIC)',
    KAFKA_TOPIC_PARTITIONS: 'partitions of the main topics (default 3)',
    KAFKA_DLQ_PARTITIONS: 'partitions of the DLQ topics (default: as the main topics)',
    KAFKA_REPLICATION_FACTOR: "a positive integer, or -1 for the broker's default (default -1)",
    KAFKA_WAIT_SECONDS: 'how long to keep trying while the cluster is not reachable yet (default 0: one try)',
    KAFKA_SSL_CA_FILE: 'TLS like the services (also KAFKA_SSL, KAFKA_SSL_CA_PEM; docs/kafka.md#security)',
    KAFKA_SASL_MECHANISM: 'scram-sha-512 with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD(_FILE)',
  },
  examples: ['KAFKA_BROKERS=$(scripts/kafka.sh brokers --dir .data/test-services/kafka-1node) npm run kafka:topics'],
});
oneLineErrors('kafka:topics');

const read = envReader(process.env);
const brokers = read.list('KAFKA_BROKERS');
if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS is not set (e.g. KAFKA_BROKERS=127.0.0.1:9092)');
const replicationFactor = read.integer('KAFKA_REPLICATION_FACTOR', -1, -1, 1000);
const waitSeconds = read.integer('KAFKA_WAIT_SECONDS', 0, 0, 3600);
const security = readKafkaSecurity(process.env);
if (replicationFactor === 0)
  throw new ConfigError('KAFKA_REPLICATION_FACTOR must be a positive integer or -1, got "0"');

try {
  const topics = webhookTopics(process.env);
  const kafka = createKafkaClient({
    clientId: 'payment-manager-topics',
    brokers,
    security,
    overrides: { retry: { retries: 3, initialRetryTime: 200 } },
  });
  // A Job started together with the brokers waits for them here instead of crash-looping into the Job's back-off.
  const deadline = Date.now() + waitSeconds * 1000;
  const report = await retryWithBackoff(() => ensureTopics(kafka, topics, replicationFactor), {
    attempts: Number.POSITIVE_INFINITY,
    minDelayMs: 1_000,
    maxDelayMs: 5_000,
    shouldRetry: () => Date.now() < deadline,
    onFailure: (error, attempt, delayMs) => {
      if (delayMs > 0) process.stderr.write(`kafka:topics: try ${attempt} failed (${error.message}); trying again\n`);
    },
  });
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
