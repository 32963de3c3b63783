import { parseGoDuration } from '@payment-manager/shared';

export const INGEST_MODES = ['kafka', 'http'] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

export interface IngestConfig {
  port: number;
  host: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  webhookMode: IngestMode;
  bodyLimitBytes: number;
  /** Raw WEBHOOK_SECRET value (several secrets for rotation); never logged. */
  webhookSecret: string | undefined;
  kafka: {
    brokers: string[];
    ordersTopic: string;
    disputesTopic: string;
    /** Production default true; only the mock test broker needs false (it lacks InitProducerId). */
    idempotentProducer: boolean;
  };
  api: {
    baseUrl: string;
    timeoutMs: number;
    retryAttempts: number;
    retryBaseDelayMs: number;
    retryMaxDelayMs: number;
  };
}

export class IngestConfigError extends Error {
  override name = 'IngestConfigError';
}

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new IngestConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function duration(env: Env, name: string, fallback: string): number {
  const raw = optional(env, name, fallback);
  let ms: number;
  try {
    ms = parseGoDuration(raw);
  } catch (err) {
    throw new IngestConfigError(`${name} must be a Go duration such as 100ms, 10s or 1m30s, got "${raw}" (${(err as Error).message})`);
  }
  if (ms <= 0) throw new IngestConfigError(`${name} must be positive, got "${raw}"`);
  return ms;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = optional(env, name, fallback);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new IngestConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name, String(fallback)).toLowerCase();
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new IngestConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Reads spec §2.2 plus HOST, WEBHOOK_SECRET, BODY_LIMIT_BYTES and KAFKA_IDEMPOTENT_PRODUCER. */
export function loadIngestConfig(env: Env = process.env): IngestConfig {
  const webhookMode = oneOf(env, 'WEBHOOK_MODE', 'kafka', INGEST_MODES);
  const brokers = optional(env, 'KAFKA_BROKERS', '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (webhookMode === 'kafka' && brokers.length === 0) {
    throw new IngestConfigError('KAFKA_BROKERS is required when WEBHOOK_MODE=kafka (e.g. localhost:9092)');
  }
  const baseUrl = optional(env, 'API_BASE_URL', 'http://localhost:3000');
  try {
    new URL(baseUrl);
  } catch {
    throw new IngestConfigError(`API_BASE_URL must be an absolute URL, got "${baseUrl}"`);
  }
  const retryBaseDelayMs = duration(env, 'API_RETRY_BASE_DELAY', '100ms');
  const retryMaxDelayMs = duration(env, 'API_RETRY_MAX_DELAY', '5s');
  if (retryMaxDelayMs < retryBaseDelayMs) {
    throw new IngestConfigError('API_RETRY_MAX_DELAY must not be smaller than API_RETRY_BASE_DELAY');
  }
  return {
    port: integer(env, 'PORT', 3001, 0, 65535),
    host: optional(env, 'HOST', '0.0.0.0'),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error'] as const),
    webhookMode,
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    webhookSecret: env.WEBHOOK_SECRET,
    kafka: {
      brokers,
      ordersTopic: optional(env, 'KAFKA_ORDERS_TOPIC', 'webhooks.orders'),
      disputesTopic: optional(env, 'KAFKA_DISPUTES_TOPIC', 'webhooks.disputes'),
      idempotentProducer: boolean(env, 'KAFKA_IDEMPOTENT_PRODUCER', true),
    },
    api: {
      baseUrl: baseUrl.replace(/\/+$/, ''),
      timeoutMs: duration(env, 'API_TIMEOUT', '10s'),
      retryAttempts: integer(env, 'API_RETRY_ATTEMPTS', 3, 1, 20),
      retryBaseDelayMs,
      retryMaxDelayMs,
    },
  };
}
