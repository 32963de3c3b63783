/**
 * One way to build kafkajs clients for ingest, the API consumers and the CLIs: murmur2 (Java-compatible)
 * partitioning everywhere (docs/kafka.md#message-envelope asks for one consistent partitioner) and kafkajs logs routed to ours.
 */
import { randomInt } from 'node:crypto';
import { type ICustomPartitioner, Kafka, type KafkaConfig, type logCreator, logLevel } from 'kafkajs';
// No TimeoutNegativeWarning from kafkajs on every start (see the module).
import './kafkajs-request-queue.ts';
import { splitList } from './env.ts';

export interface KafkaLogSink {
  debug?(obj: object, message: string): void;
  info(obj: object, message: string): void;
  warn(obj: object, message: string): void;
  error(obj: object, message: string): void;
}

function logCreatorFor(sink: KafkaLogSink | undefined): logCreator {
  return () =>
    ({ level, log }) => {
      if (!sink) return;
      const { message, ...extra } = log;
      const fields = { kafka: extra };
      if (level === logLevel.ERROR) sink.error(fields, `kafkajs: ${message}`);
      else if (level === logLevel.WARN) sink.warn(fields, `kafkajs: ${message}`);
      else if (level === logLevel.INFO) sink.info(fields, `kafkajs: ${message}`);
      else sink.debug?.(fields, `kafkajs: ${message}`);
    };
}

export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  logger?: KafkaLogSink;
  /** Extra kafkajs settings (tests inject a socketFactory to cut the network). */
  overrides?: Partial<KafkaConfig>;
}

export function createKafkaClient({ clientId, brokers, logger, overrides }: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId,
    brokers,
    // Bounded so an unreachable broker turns into an error quickly instead of hanging HTTP requests.
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator: logCreatorFor(logger),
    ...overrides,
  });
}

/** Parses "a:1,b:2" lists the same way everywhere. */
export function parseBrokerList(value: string | undefined): string[] {
  return splitList(value);
}

/**
 * Kafka's Java murmur2 (Utils.murmur2, seed 0x9747b28c) on 32-bit integer arithmetic. Same values as kafkajs'
 * DefaultPartitioner and the Java client, but without kafkajs' Long objects, which made hashing the key the
 * single most expensive step of publishing a webhook.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const blocks = length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & ~3;
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the reference algorithm falls through
    case 3:
      h ^= (data[tail + 2] as number) << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the reference algorithm falls through
    case 2:
      h ^= (data[tail + 1] as number) << 8;
    case 1:
      h ^= data[tail] as number;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * kafkajs' DefaultPartitioner (Java client semantics: explicit partition, else murmur2(key) mod partitions, else
 * round robin over available partitions) with the fast murmur2 above. Every producer of ours uses it, so a key maps
 * to the same partition whoever publishes it (docs/kafka.md#message-envelope).
 */
export const keyHashPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const numPartitions = partitionMetadata.length;
    if (message.key !== null && message.key !== undefined) {
      const key = typeof message.key === 'string' ? Buffer.from(message.key) : message.key;
      return (murmur2(key) & 0x7fffffff) % numPartitions;
    }
    const next = ((counters.get(topic) ?? randomInt(2 ** 31)) + 1) & 0x7fffffff;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    return available.length > 0 ? (available[next % available.length]?.partitionId as number) : next % numPartitions;
  };
};
