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

export const INGEST_MODES = ['kafka', 'http'] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

export interface IngestConfig extends WebhookSignatureSettings {
  port: number;
  host: string;
  logLevel: LogLevel;
  webhookMode: IngestMode;
  bodyLimitBytes: number;
  /** HTTP_REQUEST_TIMEOUT, HTTP_HEADERS_TIMEOUT, HTTP_KEEP_ALIVE_TIMEOUT, HTTP_IDLE_TIMEOUT. */
  http: EdgeTimeouts;
  /** RATE_LIMIT_MAX / RATE_LIMIT_WINDOW, per source address (docs/api.md#rate-limits). */
  rateLimit: RateLimitConfig;
  /** TRUST_PROXY: proxies whose X-Forwarded-For names the client (the source the rate limit counts). */
  trustProxy: string[];
  kafka: {
    brokers: string[];
    /** TLS and SCRAM credentials (KAFKA_SSL_*, KAFKA_SASL_*); the password never logged. */
    security: KafkaSecurity;
    ordersTopic: string;
    disputesTopic: string;
    /** Production default true; only the mock test broker needs false (it lacks InitProducerId). */
    idempotentProducer: boolean;
  };
  api: {
    baseUrl: string;
    /** Ingest's own API key for /internal/updates/* (API_KEY, from a Secret); never logged. */
    apiKey?: string | undefined;
    timeoutMs: number;
    retryAttempts: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
  };
}

/**
 * Reads README.md#configuration plus HOST, BODY_LIMIT_BYTES, KAFKA_IDEMPOTENT_PRODUCER and WEBHOOK_SECRET, which
 * ingest requires: every webhook it accepts goes on to Kafka as authentic (WEBHOOK_SIGNATURES_DISABLED=true only in
 * development).
 */
export function loadIngestConfig(env: Env = process.env): IngestConfig {
  const read = envReader(env);
  const { webhookMode, brokers } = read.webhookTransport('kafka', INGEST_MODES);
  const baseUrl = read.url('API_BASE_URL', 'http://localhost:3000');
  const retryBaseDelayMs = read.duration('API_RETRY_BASE_DELAY', '100ms');
  const retryMaxDelayMs = read.duration('API_RETRY_MAX_DELAY', '5s');
  if (retryMaxDelayMs < retryBaseDelayMs) {
    throw new ConfigError('API_RETRY_MAX_DELAY must not be smaller than API_RETRY_BASE_DELAY');
  }
  return {
    port: read.integer('PORT', 3001, 0, 65535),
    host: read.optional('HOST', '0.0.0.0'),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    webhookMode,
    bodyLimitBytes: read.integer('BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    http: readEdgeTimeouts(read),
    rateLimit: readRateLimit(read),
    trustProxy: readTrustProxy(read),
    kafka: {
      brokers,
      security: readKafkaSecurity(env),
      ordersTopic: read.optional('KAFKA_ORDERS_TOPIC', 'webhooks.orders'),
      disputesTopic: read.optional('KAFKA_DISPUTES_TOPIC', 'webhooks.disputes'),
      idempotentProducer: read.boolean('KAFKA_IDEMPOTENT_PRODUCER', true),
    },
    api: {
      baseUrl,
      apiKey: read.maybe('API_KEY'),
      timeoutMs: read.duration('API_TIMEOUT', '10s'),
      retryAttempts: read.integer('API_RETRY_ATTEMPTS', 3, 1, 20),
      retryBaseDelayMs,
      retryMaxDelayMs,
    },
    // Last: a bad value of any other variable is reported first, as before signatures became required.
    ...readWebhookSignatureSettings(env, { required: true }),
  };
}
