import { parseGoDuration } from '@payment-manager/shared';

export const WEBHOOK_MODES = ['sync', 'http', 'kafka'] as const;
export type WebhookMode = (typeof WEBHOOK_MODES)[number];

export interface ApiConfig {
  port: number;
  host: string;
  pgUrl: string;
  /** Optional streaming replica for plain reads; writes and reads inside transactions stay on the primary. */
  pgReplicaUrl: string | null;
  pgPoolMax: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  webhookMode: WebhookMode;
  silvergate: { baseUrl: string; capturePath: string; submitRepresentmentPath: string; timeoutMs: number };
  kafka: {
    brokers: string[];
    ordersTopic: string;
    disputesTopic: string;
    ordersConsumerGroup: string;
    disputesConsumerGroup: string;
    ordersDlqTopic: string;
    disputesDlqTopic: string;
  };
  partitionMaintenanceIntervalMs: number;
  /** pg_partman retention for dispute_events children, e.g. "90 days"; null keeps everything (spec default). */
  disputeEventsRetention: string | null;
  bodyLimitBytes: number;
  /** Standard Webhooks secrets (WEBHOOK_SECRET, several for rotation); undefined = verification off. */
  webhookSecret: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required but not set`);
  return value;
}

function optional(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function duration(env: Env, name: string, fallback: string): number {
  const raw = optional(env, name, fallback);
  try {
    const ms = parseGoDuration(raw);
    if (ms <= 0) throw new Error('must be positive');
    return ms;
  } catch (err) {
    throw new ConfigError(`${name} must be a positive Go duration such as 10s or 1m30s, got "${raw}" (${(err as Error).message})`);
  }
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = optional(env, name, fallback);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function url(env: Env, name: string): string {
  const raw = required(env, name);
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** Reads spec §2.1; every failure names the variable so start-up errors are actionable. */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const webhookMode = oneOf(env, 'WEBHOOK_MODE', 'sync', WEBHOOK_MODES);
  const brokers = optional(env, 'KAFKA_BROKERS', '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (webhookMode === 'kafka' && brokers.length === 0) {
    throw new ConfigError('KAFKA_BROKERS is required when WEBHOOK_MODE=kafka');
  }
  const retention = env.DISPUTE_EVENTS_RETENTION?.trim();
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: optional(env, 'HOST', '0.0.0.0'),
    pgUrl: required(env, 'PG_URL'),
    pgReplicaUrl: env.PG_REPLICA_URL?.trim() || null,
    pgPoolMax: integer(env, 'PG_POOL_MAX', 10, 1, 1000),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error'] as const),
    webhookMode,
    silvergate: {
      baseUrl: url(env, 'SILVERGATE_BASE_URL'),
      capturePath: required(env, 'SILVERGATE_CAPTURE_PATH'),
      submitRepresentmentPath: required(env, 'SILVERGATE_SUBMIT_REPRESENTMENT_PATH'),
      timeoutMs: duration(env, 'HTTP_SILVERGATE_CLIENT_TIMEOUT', '20s'),
    },
    kafka: {
      brokers,
      ordersTopic: optional(env, 'KAFKA_ORDERS_TOPIC', 'webhooks.orders'),
      disputesTopic: optional(env, 'KAFKA_DISPUTES_TOPIC', 'webhooks.disputes'),
      ordersConsumerGroup: optional(env, 'KAFKA_ORDERS_CONSUMER_GROUP', 'payment-app-orders'),
      disputesConsumerGroup: optional(env, 'KAFKA_DISPUTES_CONSUMER_GROUP', 'payment-app-disputes'),
      ordersDlqTopic: optional(env, 'KAFKA_ORDERS_DLQ_TOPIC', 'webhooks.orders.dlq'),
      disputesDlqTopic: optional(env, 'KAFKA_DISPUTES_DLQ_TOPIC', 'webhooks.disputes.dlq'),
    },
    partitionMaintenanceIntervalMs: duration(env, 'PARTITION_MAINTENANCE_INTERVAL', '1h'),
    disputeEventsRetention: retention ? retention : null,
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    webhookSecret: env.WEBHOOK_SECRET?.trim() || undefined,
  };
}
