import type { EdgeTimeouts } from '@payment-manager/shared';
import { testApiKeys } from '@payment-manager/testkit/auth';
import { type TestDatabase, useTestDatabase } from '@payment-manager/testkit/postgres';
import { testServices } from '@payment-manager/testkit/services';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { type App, buildApp } from '../../src/app.ts';
import type { Role } from '../../src/http/auth.ts';
import { createSilvergateClient } from '../../src/provider/silvergate.ts';

/** The stub paths of deploy/wiremock/mappings (docs/domain.md#provider-stubs). */
export const CAPTURE_PATH = '/api/v1/capture';
export const REPRESENTMENT_PATH = '/api/v1/dispute-representments/create';

/** Short enough to keep timeout tests quick, long enough for WireMock on a busy two-core machine. */
export const TEST_PROVIDER_TIMEOUT_MS = 2_000;

export interface TestAppOptions {
  providerTimeoutMs?: number;
  bodyLimitBytes?: number;
  webhookMode?: 'sync' | 'http' | 'kafka';
  /** Edge timeouts; default the production ones. */
  http?: EdgeTimeouts;
  /** Default: the testkit's keys (one per role). */
  apiKeys?: Map<string, Role>;
}

/** Nothing listens on port 9 (discard); suites without WireMock never reach the provider anyway. */
const NO_PROVIDER = 'http://127.0.0.1:9';

/** The API as production wires it (buildApp), on a test database and the run's WireMock, without a logger. */
export async function createTestApp(pool: pg.Pool, options: TestAppOptions = {}): Promise<App> {
  const app = await buildApp({
    config: {
      // http mode: the public webhook routes and ingest's internal ones are both registered.
      webhookMode: options.webhookMode ?? 'http',
      bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576,
      logLevel: 'error',
      apiKeys: options.apiKeys ?? testApiKeys(),
      ...(options.http ? { http: options.http } : {}),
    },
    pool,
    provider: createSilvergateClient({
      baseUrl: testServices().wiremockUrl ?? NO_PROVIDER,
      capturePath: CAPTURE_PATH,
      submitRepresentmentPath: REPRESENTMENT_PATH,
      timeoutMs: options.providerTimeoutMs ?? TEST_PROVIDER_TIMEOUT_MS,
    }),
    logger: false,
  });
  await app.ready();
  return app;
}

export interface TestApi {
  db: TestDatabase;
  app: App;
  pool: pg.Pool;
}

/**
 * beforeAll/afterAll hooks giving the calling file a fresh database and an app on it. Read the fields inside
 * tests or hooks.
 */
export function useTestApi(options: TestAppOptions & { poolMax?: number } = {}): TestApi {
  const db = useTestDatabase({ poolMax: options.poolMax ?? 10 });
  const handle = { db } as TestApi;
  beforeAll(async () => {
    handle.pool = db.pool;
    handle.app = await createTestApp(db.pool, options);
  });
  afterAll(async () => {
    await handle.app?.close();
  });
  return handle;
}
