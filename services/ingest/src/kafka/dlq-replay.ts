/**
 * DLQ replay: re-publishes dead letters to their main topic with the same key and value (trace headers kept,
 * the DLQ's error/failed_at dropped). It reads each partition up to the high-water mark seen at start and
 * commits its own consumer group, so a second run only replays letters that arrived since.
 */
import { keyHashPartitioner } from '@payment-manager/shared/kafka-client';
import type { IHeaders, Kafka } from 'kafkajs';

export interface ReplayOptions {
  kafka: Kafka;
  dlqTopic: string;
  /** Default: the DLQ name without its `.dlq` suffix. */
  targetTopic?: string;
  dryRun?: boolean;
  groupId?: string;
  idempotentProducer?: boolean;
  onProgress?: (done: number, total: number) => void;
  onLetter?: (letter: { partition: number; offset: string; key: string | null; error: string | null }) => void;
}

export interface ReplaySummary {
  dlqTopic: string;
  targetTopic: string;
  /** Letters between the group's committed offsets and the high-water marks at start. */
  pending: number;
  replayed: number;
  dryRun: boolean;
}

const DLQ_ONLY_HEADERS = new Set(['error', 'failed_at']);

export function defaultTargetTopic(dlqTopic: string): string {
  if (!dlqTopic.endsWith('.dlq'))
    throw new Error(`cannot derive the main topic of "${dlqTopic}" (no .dlq suffix); pass --to`);
  return dlqTopic.slice(0, -'.dlq'.length);
}

export function replayGroupId(dlqTopic: string): string {
  return `payment-manager-dlq-replay.${dlqTopic}`;
}

export async function replayDeadLetters(opts: ReplayOptions): Promise<ReplaySummary> {
  const { kafka, dlqTopic } = opts;
  const targetTopic = opts.targetTopic ?? defaultTargetTopic(dlqTopic);
  const groupId = opts.groupId ?? replayGroupId(dlqTopic);
  const dryRun = opts.dryRun ?? false;

  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<number, { next: bigint; end: bigint }>();
  try {
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(dlqTopic),
      admin.fetchOffsets({ groupId, topics: [dlqTopic] }),
    ]);
    const committedByPartition = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset === '-1' ? '0' : p.offset)]),
    );
    for (const { partition, high, low } of ends) {
      const start = committedByPartition.get(partition) ?? BigInt(low);
      const next = start > BigInt(low) ? start : BigInt(low);
      if (next < BigInt(high)) remaining.set(partition, { next, end: BigInt(high) });
    }
  } finally {
    await admin.disconnect();
  }
  const pending = [...remaining.values()].reduce((sum, r) => sum + Number(r.end - r.next), 0);
  const summary: ReplaySummary = { dlqTopic, targetTopic, pending, replayed: 0, dryRun };
  if (pending === 0) return summary;

  const producer = kafka.producer({
    idempotent: opts.idempotentProducer ?? true,
    maxInFlightRequests: opts.idempotentProducer === false ? undefined : 1,
    allowAutoTopicCreation: true,
    createPartitioner: keyHashPartitioner,
  });
  const consumer = kafka.consumer({
    // A dry run reads through a throw-away group so the real group's membership and offsets stay untouched.
    groupId: dryRun ? `${groupId}.dry-run.${process.pid}.${Date.now()}` : groupId,
    sessionTimeout: 10_000,
    // Short fetch waits: the tool disconnects as soon as the last letter is through.
    maxWaitTimeInMs: 500,
    retry: { retries: 5, restartOnFailure: async () => false },
  });
  if (!dryRun) await producer.connect();
  await consumer.connect();
  let seen = 0;
  try {
    await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const range = remaining.get(partition);
            const offset = BigInt(message.offset);
            if (!range || offset < range.next || offset >= range.end) return;
            const headers: IHeaders = Object.fromEntries(
              Object.entries(message.headers ?? {}).filter(([name]) => !DLQ_ONLY_HEADERS.has(name)),
            );
            opts.onLetter?.({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              error: message.headers?.error?.toString() ?? null,
            });
            if (!dryRun) {
              await producer.send({
                topic: targetTopic,
                acks: -1,
                messages: [{ key: message.key, value: message.value, headers }],
              });
              await consumer.commitOffsets([{ topic: dlqTopic, partition, offset: (offset + 1n).toString() }]);
              summary.replayed++;
            }
            seen++;
            opts.onProgress?.(seen, pending);
            if (offset + 1n >= range.end) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    if (!dryRun) await producer.disconnect();
  }
  return summary;
}
