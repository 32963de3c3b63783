/** Topic provisioning for compose and local runs (docs/kafka.md#topics); Kubernetes uses KafkaTopic resources instead. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

export interface TopicsReport {
  created: string[];
  existing: string[];
  /** Set when the broker cannot create topics (e.g. librdkafka's mock cluster); they appear on first produce. */
  adminUnavailable: string | null;
  partitions: Record<string, number | null>;
}

export function webhookTopics(env: Record<string, string | undefined>): TopicSpec[] {
  const partitions = Number(env.KAFKA_TOPIC_PARTITIONS ?? '3');
  const dlqPartitions = Number(env.KAFKA_DLQ_PARTITIONS ?? String(partitions));
  for (const [name, value] of [
    ['KAFKA_TOPIC_PARTITIONS', partitions],
    ['KAFKA_DLQ_PARTITIONS', dlqPartitions],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${name} must be a positive integer, got "${env[name]}"`);
  }
  const topic = (name: string, fallback: string) => env[name]?.trim() || fallback;
  return [
    { topic: topic('KAFKA_ORDERS_TOPIC', 'webhooks.orders'), numPartitions: partitions },
    { topic: topic('KAFKA_DISPUTES_TOPIC', 'webhooks.disputes'), numPartitions: partitions },
    { topic: topic('KAFKA_ORDERS_DLQ_TOPIC', 'webhooks.orders.dlq'), numPartitions: dlqPartitions },
    { topic: topic('KAFKA_DISPUTES_DLQ_TOPIC', 'webhooks.disputes.dlq'), numPartitions: dlqPartitions },
  ];
}

/** Creates missing topics; already existing ones are left alone and reported with their partition count. */
const RETRIABLE_METADATA_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/** Polls metadata until every partition of the topics has a leader, i.e. producers can write to them. */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (!RETRIABLE_METADATA_ERRORS.has((err as { type?: string }).type ?? '')) throw err;
    }
    if (Date.now() >= deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function ensureTopics(
  kafka: Kafka,
  topics: TopicSpec[],
  replicationFactor = -1,
  leaderTimeoutMs = 30_000,
): Promise<TopicsReport> {
  const admin = kafka.admin();
  await admin.connect();
  const report: TopicsReport = { created: [], existing: [], adminUnavailable: null, partitions: {} };
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    report.existing = topics.filter((t) => existing.has(t.topic)).map((t) => t.topic);
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          // kafkajs waits only through LEADER_NOT_AVAILABLE; a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION
          // until the new topic reaches its metadata cache, so the wait for leaders is ours (below).
          waitForLeaders: false,
          topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions, replicationFactor })),
        });
        report.created = missing.map((t) => t.topic);
        await waitForLeaders(admin, report.created, leaderTimeoutMs);
      } catch (err) {
        const error = err as Error & { type?: string };
        // The mock cluster answers no controller ("Broker 0 not found"); some managed brokers forbid CreateTopics.
        if (
          error.name === 'KafkaJSBrokerNotFound' ||
          error.type === 'CLUSTER_AUTHORIZATION_FAILED' ||
          error.type === 'UNSUPPORTED_VERSION'
        ) {
          report.adminUnavailable = error.message;
        } else {
          throw err;
        }
      }
    }
    const known = new Set(await admin.listTopics());
    const present = topics.map((t) => t.topic).filter((t) => known.has(t));
    for (const t of topics) report.partitions[t.topic] = null;
    if (present.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: present });
      for (const t of metadata.topics) report.partitions[t.name] = t.partitions.length;
    }
  } finally {
    await admin.disconnect();
  }
  return report;
}
