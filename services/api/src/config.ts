import {
  ConfigError,
  type EdgeTimeouts,
  type Env,
  envReader,
  LOG_LEVELS,
  type LogLevel,
  readEdgeTimeouts,
} from '@payment-manager/shared';
import { type KafkaSecurity, readKafkaSecurity } from '@payment-manager/shared/kafka-client';
import { type RateLimitConfig, readRateLimit, readTrustProxy } from '@payment-manager/shared/rate-limit';
import { readWebhookSignatureSettings, type WebhookSignatureSettings } from '@payment-manager/shared/signatures';
import { parseApiKeys, type Role } from './http/auth.ts';

export { ConfigError };

export const WEBHOOK_MODES = ['sync', 'http', 'kafka'] as const;
export type WebhookMode = (typeof WEBHOOK_MODES)[number];

export interface ApiConfig extends WebhookSignatureSettings {
  port: number;
  host: string;
  /** The API's own role: reads and writes, no DDL (docs/data-tier.md#roles). */
  pgUrl: string;
  /**
   * The schema owner's role, for the migrations run at start-up (PG_MIGRATION_URL); PG_URL when unset (one role,
   * development). Used only for that, then closed.
   */
  pgMigrationUrl: string;
  /**
   * Apply pending migrations before listening (MIGRATE_ON_START, default true). Off where a separate step migrates
   * with the owner's credentials (Kubernetes: the API pod's init container), so the API process never holds them.
   */
  migrateOnStart: boolean;
  /**
   * Optional streaming replica for plain reads, ideally as the read-only role; writes and reads inside transactions
   * stay on the primary.
   */
  pgReplicaUrl: string | null;
  /** Plain reads leave the replica while it may be further behind than this (PG_REPLICA_MAX_LAG). */
  pgReplicaMaxLagMs: number;
  pgPoolMax: number;
  logLevel: LogLevel;
  webhookMode: WebhookMode;
  silvergate: { baseUrl: string; capturePath: string; submitRepresentmentPath: string; timeoutMs: number };
  kafka: {
    brokers: string[];
    /** TLS and SCRAM credentials (KAFKA_SSL_*, KAFKA_SASL_*); absent means plaintext (tests' hand-made configs). */
    security?: KafkaSecurity;
    ordersTopic: string;
    disputesTopic: string;
    ordersConsumerGroup: string;
    disputesConsumerGroup: string;
    ordersDlqTopic: string;
    disputesDlqTopic: string;
  };
  partitionMaintenanceIntervalMs: number;
  /** pg_partman retention for dispute_events children, e.g. "90 days"; null keeps everything (the documented default). */
  disputeEventsRetention: string | null;
  bodyLimitBytes: number;
  /** SHA-256 of each API key → its role (API_KEYS); empty = every protected route answers 401. */
  apiKeys: Map<string, Role>;
  /** HTTP_REQUEST_TIMEOUT, HTTP_HEADERS_TIMEOUT, HTTP_KEEP_ALIVE_TIMEOUT, HTTP_IDLE_TIMEOUT. */
  http: EdgeTimeouts;
  /** RATE_LIMIT_MAX / RATE_LIMIT_WINDOW, per API key (docs/api.md#rate-limits). */
  rateLimit: RateLimitConfig;
  /** TRUST_PROXY: proxies whose X-Forwarded-For names the client (the source the rate limit counts). */
  trustProxy: string[];
}

/** Reads README.md#configuration; every failure names the variable so start-up errors are actionable. */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const read = envReader(env);
  const { webhookMode, brokers } = read.webhookTransport('sync', WEBHOOK_MODES);
  const pgUrl = read.required('PG_URL');
  return {
    port: read.integer('PORT', 3000, 0, 65535),
    host: read.optional('HOST', '0.0.0.0'),
    pgUrl,
    pgMigrationUrl: read.maybe('PG_MIGRATION_URL') ?? pgUrl,
    migrateOnStart: read.boolean('MIGRATE_ON_START', true),
    pgReplicaUrl: read.maybe('PG_REPLICA_URL') ?? null,
    pgReplicaMaxLagMs: read.duration('PG_REPLICA_MAX_LAG', '1s'),
    pgPoolMax: read.integer('PG_POOL_MAX', 10, 1, 1000),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    webhookMode,
    silvergate: {
      baseUrl: read.requiredUrl('SILVERGATE_BASE_URL'),
      capturePath: read.required('SILVERGATE_CAPTURE_PATH'),
      submitRepresentmentPath: read.required('SILVERGATE_SUBMIT_REPRESENTMENT_PATH'),
      timeoutMs: read.duration('HTTP_SILVERGATE_CLIENT_TIMEOUT', '20s'),
    },
    kafka: {
      brokers,
      security: readKafkaSecurity(env),
      ordersTopic: read.optional('KAFKA_ORDERS_TOPIC', 'webhooks.orders'),
      disputesTopic: read.optional('KAFKA_DISPUTES_TOPIC', 'webhooks.disputes'),
      ordersConsumerGroup: read.optional('KAFKA_ORDERS_CONSUMER_GROUP', 'payment-app-orders'),
      disputesConsumerGroup: read.optional('KAFKA_DISPUTES_CONSUMER_GROUP', 'payment-app-disputes'),
      ordersDlqTopic: read.optional('KAFKA_ORDERS_DLQ_TOPIC', 'webhooks.orders.dlq'),
      disputesDlqTopic: read.optional('KAFKA_DISPUTES_DLQ_TOPIC', 'webhooks.disputes.dlq'),
    },
    partitionMaintenanceIntervalMs: read.duration('PARTITION_MAINTENANCE_INTERVAL', '1h'),
    disputeEventsRetention: read.maybe('DISPUTE_EVENTS_RETENTION') ?? null,
    bodyLimitBytes: read.integer('BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    apiKeys: parseApiKeys(read.maybe('API_KEYS')),
    http: readEdgeTimeouts(read),
    // Public webhook routes exist in sync and http mode only; in kafka mode ingest verifies and the API needs no secret.
    ...readWebhookSignatureSettings(env, { required: webhookMode !== 'kafka' }),
    rateLimit: readRateLimit(read),
    trustProxy: readTrustProxy(read),
  };
}
