/** Start-up configuration (README.md#configuration): required variables, defaults, Go durations, both PG_URL forms. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadApiConfig } from '../../src/config.ts';
import { parsePgUrl } from '../../src/db/pool.ts';

const REQUIRED = {
  PG_URL: 'postgres://postgres:secret@localhost:5432/payments?sslmode=disable',
  SILVERGATE_BASE_URL: 'http://localhost:8080',
  SILVERGATE_CAPTURE_PATH: '/api/v1/capture',
  SILVERGATE_SUBMIT_REPRESENTMENT_PATH: '/api/v1/dispute-representments/create',
  // Required in sync and http mode, which serve the public webhook routes.
  WEBHOOK_SECRET: 'whsec_dGVzdC1zZWNyZXQtb2YtdGhlLWNvbmZpZy10ZXN0',
};

describe('loadApiConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadApiConfig({ ...REQUIRED });
    expect(config).toMatchObject({
      port: 3000,
      pgUrl: REQUIRED.PG_URL,
      pgPoolMax: 10,
      logLevel: 'info',
      webhookMode: 'sync',
      silvergate: {
        baseUrl: 'http://localhost:8080',
        capturePath: '/api/v1/capture',
        submitRepresentmentPath: '/api/v1/dispute-representments/create',
        timeoutMs: 20_000,
      },
      kafka: {
        brokers: [],
        ordersTopic: 'webhooks.orders',
        disputesTopic: 'webhooks.disputes',
        ordersConsumerGroup: 'payment-app-orders',
        disputesConsumerGroup: 'payment-app-disputes',
        ordersDlqTopic: 'webhooks.orders.dlq',
        disputesDlqTopic: 'webhooks.disputes.dlq',
      },
      partitionMaintenanceIntervalMs: 3_600_000,
      disputeEventsRetention: null,
      bodyLimitBytes: 1_048_576,
    });
  });

  it('webhook signatures fail closed: required in sync/http mode, off only explicitly and never in production', () => {
    const { WEBHOOK_SECRET: _secret, ...unsigned } = REQUIRED;
    expect(() => loadApiConfig(unsigned)).toThrow(/WEBHOOK_SECRET is required.*WEBHOOK_SIGNATURES_DISABLED=true/);
    expect(() => loadApiConfig({ ...unsigned, WEBHOOK_MODE: 'http' })).toThrow(/WEBHOOK_SECRET is required/);
    expect(loadApiConfig({ ...unsigned, WEBHOOK_SIGNATURES_DISABLED: 'true' })).toMatchObject({
      webhookSecret: undefined,
      webhookSignaturesDisabled: true,
    });
    expect(() => loadApiConfig({ ...unsigned, WEBHOOK_SIGNATURES_DISABLED: 'true', NODE_ENV: 'production' })).toThrow(
      'WEBHOOK_SIGNATURES_DISABLED=true is refused when NODE_ENV=production',
    );
    expect(() => loadApiConfig({ ...REQUIRED, WEBHOOK_SIGNATURES_DISABLED: 'true' })).toThrow(/contradicts/);
    expect(() => loadApiConfig({ ...unsigned, WEBHOOK_SIGNATURES_DISABLED: 'yes please' })).toThrow(
      /WEBHOOK_SIGNATURES_DISABLED must be true or false/,
    );
    // Malformed: a ConfigError at start-up that never echoes the value.
    const malformed = () => loadApiConfig({ ...REQUIRED, WEBHOOK_SECRET: `${REQUIRED.WEBHOOK_SECRET}, whsec_!!` });
    expect(malformed).toThrow(ConfigError);
    expect(malformed).toThrow(/WEBHOOK_SECRET entry #2 is not a valid Standard Webhooks secret/);
    expect(malformed).not.toThrow(/whsec_!!/);
    // kafka mode: the API serves no public webhook route, so it needs no secret (a given one is still checked).
    const kafka = { ...unsigned, WEBHOOK_MODE: 'kafka', KAFKA_BROKERS: 'a:9092' };
    expect(loadApiConfig(kafka).webhookSignaturesDisabled).toBe(false);
    expect(() => loadApiConfig({ ...kafka, WEBHOOK_SECRET: 'whsec_' })).toThrow(ConfigError);
  });

  it.each(Object.keys(REQUIRED))('missing %s fails naming the variable', (name) => {
    const env: Record<string, string> = { ...REQUIRED };
    delete env[name];
    expect(() => loadApiConfig(env)).toThrow(ConfigError);
    expect(() => loadApiConfig(env)).toThrow(name);
    expect(() => loadApiConfig({ ...env, [name]: '   ' })).toThrow(name);
  });

  it.each([
    ['100ms', 100],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
  ])('HTTP_SILVERGATE_CLIENT_TIMEOUT=%s is %i ms', (value, ms) => {
    expect(loadApiConfig({ ...REQUIRED, HTTP_SILVERGATE_CLIENT_TIMEOUT: value }).silvergate.timeoutMs).toBe(ms);
  });

  it.each(['10', 'ten seconds', '5 s', '-1s', '0', '1d'])('HTTP_SILVERGATE_CLIENT_TIMEOUT=%s is refused', (value) => {
    expect(() => loadApiConfig({ ...REQUIRED, HTTP_SILVERGATE_CLIENT_TIMEOUT: value })).toThrow(
      /HTTP_SILVERGATE_CLIENT_TIMEOUT/,
    );
  });

  it('PARTITION_MAINTENANCE_INTERVAL is a Go duration too', () => {
    expect(loadApiConfig({ ...REQUIRED, PARTITION_MAINTENANCE_INTERVAL: '15m' }).partitionMaintenanceIntervalMs).toBe(
      900_000,
    );
    expect(() => loadApiConfig({ ...REQUIRED, PARTITION_MAINTENANCE_INTERVAL: 'hourly' })).toThrow(
      /PARTITION_MAINTENANCE_INTERVAL/,
    );
  });

  it('WEBHOOK_MODE accepts sync/http/kafka; kafka needs KAFKA_BROKERS; anything else fails', () => {
    expect(loadApiConfig({ ...REQUIRED, WEBHOOK_MODE: 'http' }).webhookMode).toBe('http');
    expect(() => loadApiConfig({ ...REQUIRED, WEBHOOK_MODE: 'kafka' })).toThrow(/KAFKA_BROKERS/);
    const kafka = loadApiConfig({ ...REQUIRED, WEBHOOK_MODE: 'kafka', KAFKA_BROKERS: 'a:9092, b:9092,' });
    expect(kafka.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    for (const bad of ['async', 'SYNC', 'grpc']) {
      expect(() => loadApiConfig({ ...REQUIRED, WEBHOOK_MODE: bad })).toThrow(/WEBHOOK_MODE/);
    }
  });

  it('rejects bad numbers, log levels and base URLs with the variable name', () => {
    expect(() => loadApiConfig({ ...REQUIRED, PORT: 'http' })).toThrow(/PORT/);
    expect(() => loadApiConfig({ ...REQUIRED, PG_POOL_MAX: '0' })).toThrow(/PG_POOL_MAX/);
    expect(() => loadApiConfig({ ...REQUIRED, LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL/);
    expect(() => loadApiConfig({ ...REQUIRED, SILVERGATE_BASE_URL: 'wiremock 8080' })).toThrow(/SILVERGATE_BASE_URL/);
    expect(loadApiConfig({ ...REQUIRED, SILVERGATE_BASE_URL: 'http://wiremock:8080/' }).silvergate.baseUrl).toBe(
      'http://wiremock:8080',
    );
  });

  it('PG_MIGRATION_URL: the owner for migrations, PG_URL when unset (docs/data-tier.md#roles)', () => {
    expect(loadApiConfig(REQUIRED).pgMigrationUrl).toBe(REQUIRED.PG_URL);
    const owner = 'postgres://payments:o@db:5432/payments?sslmode=disable';
    const config = loadApiConfig({ ...REQUIRED, PG_MIGRATION_URL: owner });
    expect(config.pgMigrationUrl).toBe(owner);
    expect(config.pgUrl).toBe(REQUIRED.PG_URL);
    // Kubernetes migrates in an init container; the API then skips its start-up run.
    expect(loadApiConfig(REQUIRED).migrateOnStart).toBe(true);
    expect(loadApiConfig({ ...REQUIRED, MIGRATE_ON_START: 'false' }).migrateOnStart).toBe(false);
    expect(() => loadApiConfig({ ...REQUIRED, MIGRATE_ON_START: 'nope' })).toThrow(/MIGRATE_ON_START/);
  });

  it('accepts the libpq key/value PG_URL used by the compose file', () => {
    const pgUrl = 'user=postgres password=secret host=db port=5432 dbname=payments sslmode=disable';
    expect(loadApiConfig({ ...REQUIRED, PG_URL: pgUrl }).pgUrl).toBe(pgUrl);
  });
});

describe('parsePgUrl (both PG_URL forms, README.md#configuration)', () => {
  it('URL form', () => {
    const config = parsePgUrl('postgres://postgres:secret@localhost:5432/payments?sslmode=disable');
    // pg-connection-string keeps the port as text; pg accepts both.
    expect(Number(config.port)).toBe(5432);
    expect(config).toMatchObject({
      host: 'localhost',
      user: 'postgres',
      password: 'secret',
      database: 'payments',
    });
    expect(parsePgUrl('postgresql://u@h/db')).toMatchObject({ host: 'h', user: 'u', database: 'db' });
  });

  it('key/value form, with quoted values and escapes', () => {
    expect(parsePgUrl('user=postgres password=secret host=db port=5432 dbname=payments sslmode=disable')).toEqual({
      host: 'db',
      port: 5432,
      user: 'postgres',
      password: 'secret',
      database: 'payments',
      ssl: undefined,
      application_name: undefined,
    });
    expect(parsePgUrl("host=db password='s3cr et\\'x' dbname = payments")).toMatchObject({
      host: 'db',
      password: "s3cr et'x",
      database: 'payments',
    });
  });

  it('sslmode=require/verify-full turn TLS on', () => {
    expect(parsePgUrl('host=db sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
    expect(parsePgUrl('host=db sslmode=verify-full').ssl).toEqual({ rejectUnauthorized: true });
    // verify-ca checks the chain but not the name (a real server: services/api/test/pg-tls.test.ts).
    const verifyCa = parsePgUrl('host=db sslmode=verify-ca').ssl as {
      rejectUnauthorized: boolean;
      checkServerIdentity(): unknown;
    };
    expect(verifyCa.rejectUnauthorized).toBe(true);
    expect(verifyCa.checkServerIdentity()).toBeUndefined();
  });

  it('neither form → error', () => {
    expect(() => parsePgUrl('localhost:5432')).toThrow(/PG_URL/);
  });
});
