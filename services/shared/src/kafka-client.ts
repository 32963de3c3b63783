/**
 * One way to build kafkajs clients for ingest, the API consumers and the CLIs: murmur2 (Java-compatible)
 * partitioning everywhere (docs/kafka.md#message-envelope asks for one consistent partitioner), kafkajs logs routed
 * to ours, and one reading of the connection's security (TLS, SASL/SCRAM: docs/kafka.md#security).
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { type ICustomPartitioner, Kafka, type KafkaConfig, type logCreator, logLevel, type SASLOptions } from 'kafkajs';
// No TimeoutNegativeWarning from kafkajs on every start (see the module).
import './kafkajs-request-queue.ts';
import { ConfigError, type Env, envReader, splitList } from './env.ts';

export const KAFKA_SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

export interface KafkaSasl {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

/** How every client of a process reaches the brokers. `tls.ca` (PEM) replaces the system roots when given. */
export interface KafkaSecurity {
  tls: { ca?: string } | null;
  sasl: KafkaSasl | null;
}

/** The development and test default: no TLS, no authentication (docker-compose, scripts/kafka.sh without --secure). */
export const KAFKA_PLAINTEXT: KafkaSecurity = Object.freeze({ tls: null, sasl: null });

/** The credentials print as [REDACTED] wherever the object ends up: JSON (pino), console.log, util.inspect. */
function redactedSasl(sasl: KafkaSasl): KafkaSasl {
  const shown = { mechanism: sasl.mechanism, username: sasl.username, password: '[REDACTED]' };
  return Object.defineProperties(sasl, {
    toJSON: { value: () => shown, enumerable: false },
    [inspect.custom]: { value: () => shown, enumerable: false },
  });
}

function secretFromFile(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name}=${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/**
 * KAFKA_SSL, KAFKA_SSL_CA_FILE | KAFKA_SSL_CA_PEM, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and
 * KAFKA_SASL_PASSWORD | KAFKA_SASL_PASSWORD_FILE (README.md#configuration). Credentials are only sent over TLS:
 * SASL without TLS is a configuration error, as are half-given credentials and a CA that cannot be read.
 */
export function readKafkaSecurity(env: Env): KafkaSecurity {
  const read = envReader(env);
  const caFile = read.maybe('KAFKA_SSL_CA_FILE');
  const caPem = read.maybe('KAFKA_SSL_CA_PEM');
  if (caFile && caPem) throw new ConfigError('set KAFKA_SSL_CA_FILE or KAFKA_SSL_CA_PEM, not both');
  const ca = caFile ? secretFromFile('KAFKA_SSL_CA_FILE', caFile) : caPem;
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`${caFile ? 'KAFKA_SSL_CA_FILE' : 'KAFKA_SSL_CA_PEM'} holds no PEM certificate`);
  }
  const tlsOn = read.boolean('KAFKA_SSL', ca !== undefined);
  if (!tlsOn && ca !== undefined) {
    throw new ConfigError('KAFKA_SSL=false contradicts a CA in KAFKA_SSL_CA_FILE / KAFKA_SSL_CA_PEM');
  }

  const rawMechanism = read.maybe('KAFKA_SASL_MECHANISM');
  const username = read.maybe('KAFKA_SASL_USERNAME');
  const passwordFile = read.maybe('KAFKA_SASL_PASSWORD_FILE');
  // Not trimmed: a password is taken as given (a file's final newline excepted).
  const passwordValue = env.KAFKA_SASL_PASSWORD || undefined;
  let sasl: KafkaSasl | null = null;
  if (rawMechanism) {
    const mechanism = read.oneOf('KAFKA_SASL_MECHANISM', KAFKA_SASL_MECHANISMS[0], KAFKA_SASL_MECHANISMS);
    if (!username) throw new ConfigError(`KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM=${mechanism}`);
    if (passwordValue && passwordFile) {
      throw new ConfigError('set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both');
    }
    const password = passwordFile
      ? secretFromFile('KAFKA_SASL_PASSWORD_FILE', passwordFile).replace(/\r?\n$/, '')
      : passwordValue;
    if (!password) {
      throw new ConfigError(
        `KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE is required with KAFKA_SASL_MECHANISM=${mechanism}`,
      );
    }
    if (!tlsOn) {
      throw new ConfigError(
        `KAFKA_SASL_MECHANISM=${mechanism} needs TLS (KAFKA_SSL=true or KAFKA_SSL_CA_FILE / KAFKA_SSL_CA_PEM): credentials are not sent in plaintext`,
      );
    }
    sasl = redactedSasl({ mechanism, username, password });
  } else if (username || passwordValue || passwordFile) {
    throw new ConfigError('KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD are set but KAFKA_SASL_MECHANISM is not');
  }
  return { tls: tlsOn ? (ca !== undefined ? { ca } : {}) : null, sasl };
}

/** The kafkajs connection settings of a KafkaSecurity (a fresh SASL object: kafkajs never sees our redacting one). */
export function kafkajsSecurity(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { tls, sasl } = security;
  return {
    ...(tls ? { ssl: tls.ca !== undefined ? { ca: [tls.ca] } : true } : {}),
    ...(sasl
      ? { sasl: { username: sasl.username, password: sasl.password, mechanism: sasl.mechanism } as SASLOptions }
      : {}),
  };
}

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
  /** TLS and SASL of the connection; plaintext when absent (tests and dev against scripts/kafka.sh). */
  security?: KafkaSecurity | undefined;
  logger?: KafkaLogSink;
  /** Extra kafkajs settings (tests inject a socketFactory to cut the network). */
  overrides?: Partial<KafkaConfig>;
}

export function createKafkaClient({ clientId, brokers, security, logger, overrides }: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId,
    brokers,
    ...kafkajsSecurity(security ?? KAFKA_PLAINTEXT),
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
