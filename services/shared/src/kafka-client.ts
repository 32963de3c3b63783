/**
 * One way to build kafkajs clients for ingest, the API consumers and the CLIs: murmur2 (Java-compatible)
 * partitioning everywhere (spec §11.2 asks for one consistent partitioner) and kafkajs logs routed to ours.
 */
import { Kafka, type KafkaConfig, type logCreator, logLevel } from 'kafkajs';

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
  return (value ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}
