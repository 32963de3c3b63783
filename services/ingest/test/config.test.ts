/** Ingest configuration (README.md#configuration): defaults, validation messages, and start-up refusing bad values. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from '../src/config.ts';

/** Ingest refuses to start without a signing secret; these cases are about other variables. */
const SIGNED = { WEBHOOK_SECRET: 'whsec_dGVzdC1zZWNyZXQtb2YtdGhlLWNvbmZpZy10ZXN0' };

describe('loadIngestConfig', () => {
  it('applies the documented defaults (kafka mode, idempotent producer on)', () => {
    const config = loadIngestConfig({ ...SIGNED, KAFKA_BROKERS: 'a:9092, b:9092' });
    expect(config).toMatchObject({
      port: 3001,
      webhookMode: 'kafka',
      kafka: {
        brokers: ['a:9092', 'b:9092'],
        ordersTopic: 'webhooks.orders',
        disputesTopic: 'webhooks.disputes',
        idempotentProducer: true,
      },
      api: {
        baseUrl: 'http://localhost:3000',
        timeoutMs: 10_000,
        retryAttempts: 3,
        retryBaseDelayMs: 100,
        retryMaxDelayMs: 5000,
      },
    });
  });

  it('reads Go durations and the mock-broker switch', () => {
    const config = loadIngestConfig({
      ...SIGNED,
      WEBHOOK_MODE: 'http',
      API_BASE_URL: 'http://api:3000/',
      API_TIMEOUT: '1m30s',
      API_RETRY_BASE_DELAY: '250ms',
      API_RETRY_MAX_DELAY: '2s',
      KAFKA_IDEMPOTENT_PRODUCER: 'false',
    });
    expect(config.api).toMatchObject({ timeoutMs: 90_000, retryBaseDelayMs: 250, retryMaxDelayMs: 2000 });
    expect(config.kafka.idempotentProducer).toBe(false);
    expect(config.webhookMode).toBe('http');
  });

  it.each([
    [{ WEBHOOK_MODE: 'sync' }, /WEBHOOK_MODE/],
    [{}, /KAFKA_BROKERS is required/],
    [{ WEBHOOK_MODE: 'http', API_TIMEOUT: '10 seconds' }, /API_TIMEOUT/],
    [{ WEBHOOK_MODE: 'http', API_BASE_URL: 'not a url' }, /API_BASE_URL/],
    [{ WEBHOOK_MODE: 'http', API_RETRY_ATTEMPTS: '0' }, /API_RETRY_ATTEMPTS/],
    [{ WEBHOOK_MODE: 'http', API_RETRY_BASE_DELAY: '10s', API_RETRY_MAX_DELAY: '1s' }, /API_RETRY_MAX_DELAY/],
    [{ KAFKA_BROKERS: 'a:1', KAFKA_IDEMPOTENT_PRODUCER: 'maybe' }, /KAFKA_IDEMPOTENT_PRODUCER/],
  ])('rejects %o naming the variable', (env, message) => {
    expect(() => loadIngestConfig(env)).toThrow(message);
  });
});

describe('ingest start-up', () => {
  it('exits non-zero before listening when the configuration is invalid', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const result = spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH, WEBHOOK_MODE: 'kafka', KAFKA_BROKERS: '' },
      encoding: 'utf8',
      // Loading main.ts and its imports took 20 s of wall time (2 s of CPU) on a machine at load 20.
      timeout: 80_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/KAFKA_BROKERS is required/);
  }, 90_000);
});
