/**
 * Webhook signatures fail closed (docs/security.md): ingest and the API, started as their containers start them
 * (services/testkit/src/service-process.ts: the settings of deploy/env plus overrides), refuse to start without
 * WEBHOOK_SECRET, with a malformed one, or with WEBHOOK_SIGNATURES_DISABLED=true under NODE_ENV=production — exit
 * code 2 and a message naming the variable, like every configuration error. With the disable variable they start
 * and say at warn level that nothing is verified.
 */
import { TEST_API_KEYS_ENV } from '@payment-manager/testkit/auth';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import {
  runServiceUntilExit,
  type ServiceProcess,
  startServiceProcess,
} from '@payment-manager/testkit/service-process';
import { describeWith } from '@payment-manager/testkit/services';
import { afterEach, describe, expect, it } from 'vitest';

/** http mode: ingest's readiness then depends on no broker, and the API serves the public webhook routes. */
const QUIET = { OTEL_SDK_DISABLED: 'true', WEBHOOK_MODE: 'http' };
const MALFORMED = 'whsec_dGhpcyBpcyBub3QgYmFzZTY0IQ, whsec_%%%not-base64%%%';
const SERVICES = ['ingest', 'api'] as const;

describe('webhook signatures fail closed at start-up (real processes, exit code 2)', () => {
  it.each(SERVICES)(
    '%s refuses to start without WEBHOOK_SECRET, naming the variable that turns it off',
    async (service) => {
      const { code, output } = await runServiceUntilExit(service, { ...QUIET, WEBHOOK_SECRET: '' });
      expect(code, output).toBe(2);
      expect(output).toContain('WEBHOOK_SECRET is required');
      expect(output).toContain('WEBHOOK_SIGNATURES_DISABLED=true');
    },
  );

  it.each(SERVICES)('%s refuses a malformed WEBHOOK_SECRET without echoing it', async (service) => {
    const { code, output } = await runServiceUntilExit(service, { ...QUIET, WEBHOOK_SECRET: MALFORMED });
    expect(code, output).toBe(2);
    expect(output).toContain('WEBHOOK_SECRET entry #2 is not a valid Standard Webhooks secret');
    expect(output).not.toContain('not-base64');
  });

  it.each(SERVICES)('%s refuses WEBHOOK_SIGNATURES_DISABLED=true when NODE_ENV=production', async (service) => {
    const { code, output } = await runServiceUntilExit(service, {
      ...QUIET,
      WEBHOOK_SECRET: '',
      WEBHOOK_SIGNATURES_DISABLED: 'true',
      NODE_ENV: 'production',
    });
    expect(code, output).toBe(2);
    expect(output).toContain('WEBHOOK_SIGNATURES_DISABLED=true is refused when NODE_ENV=production');
  });
});

describe('ingest with WEBHOOK_SIGNATURES_DISABLED=true', () => {
  let ingest: ServiceProcess | undefined;
  afterEach(async () => {
    await ingest?.stop();
  });

  it('starts, warns that verification is off, and then takes unsigned webhooks', async () => {
    ingest = await startServiceProcess('ingest', {
      ...QUIET,
      WEBHOOK_SECRET: '',
      WEBHOOK_SIGNATURES_DISABLED: 'true',
      API_BASE_URL: 'http://127.0.0.1:9',
    });
    expect(ingest.output()).toMatch(/"level":"warn"[^\n]*webhook signature verification is OFF \(WEBHOOK_SIGNATURES/);
    // An empty body fails validation (400), not authentication (401).
    const response = await fetch(`${ingest.url}/webhooks/payments/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(400);
  });
});

describeWith(['postgres'], 'API (sync mode) with WEBHOOK_SIGNATURES_DISABLED=true', () => {
  const db = useTestDatabase();
  let api: ServiceProcess | undefined;
  afterEach(async () => {
    await api?.stop();
  });

  it('starts, warns that verification is off, and then takes unsigned webhooks', async () => {
    api = await startServiceProcess('api', {
      ...QUIET,
      WEBHOOK_MODE: 'sync',
      WEBHOOK_SECRET: '',
      WEBHOOK_SIGNATURES_DISABLED: 'true',
      PG_URL: db.databaseUrl,
      PG_REPLICA_URL: '',
      API_KEYS: TEST_API_KEYS_ENV,
      SILVERGATE_BASE_URL: 'http://127.0.0.1:9',
    });
    expect(api.output()).toMatch(/"level":"warn"[^\n]*webhook signature verification is OFF \(WEBHOOK_SIGNATURES/);
    // An empty body fails validation (400), not authentication (401).
    const response = await fetch(`${api.url}/webhooks/payments/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(400);
  });
});
