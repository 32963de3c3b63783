import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '@payment-manager/testkit/poll';
import { describeWith } from '@payment-manager/testkit/services';
import { wiremockUrl } from '@payment-manager/testkit/wiremock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_OPERATOR_KEY } from '../src/dev/local-dependencies.ts';
import {
  CAPTURE_PATH,
  type ProviderStub,
  SUBMIT_REPRESENTMENT_PATH,
  startProviderStub,
} from '../src/dev/provider-stub.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Probe {
  name: string;
  path: string;
  contentType: string;
  body: unknown;
}

async function call(baseUrl: string, probe: Probe) {
  const response = await fetch(`${baseUrl}${probe.path}`, {
    method: 'POST',
    headers: { 'Content-Type': probe.contentType },
    body: JSON.stringify(probe.body),
  });
  const text = await response.text();
  return { status: response.status, body: response.status === 200 ? JSON.parse(text) : null };
}

const JSON_TYPE = 'application/json';
const WITH_CHARSET = 'application/json; charset=utf-8';
const capture = { order_id: 'o-1', amount: 100.5, currency: 'USD', idempotency_key: 'k-1' };
const representment = { order_id: 'o-1', evidences_file_id: ['f-1'] };

// Requests the capture-OK / representment-OK stubs answer or WireMock answers with 404. The stub does not mimic
// the 400/422 error stubs: those are for tests against WireMock.
const probes: Probe[] = [
  { name: 'capture', path: CAPTURE_PATH, contentType: JSON_TYPE, body: capture },
  { name: 'capture with charset', path: CAPTURE_PATH, contentType: WITH_CHARSET, body: capture },
  {
    name: 'capture without idempotency key',
    path: CAPTURE_PATH,
    contentType: JSON_TYPE,
    body: { ...capture, idempotency_key: undefined },
  },
  { name: 'representment', path: SUBMIT_REPRESENTMENT_PATH, contentType: JSON_TYPE, body: representment },
  {
    name: 'representment with charset',
    path: SUBMIT_REPRESENTMENT_PATH,
    contentType: WITH_CHARSET,
    body: representment,
  },
  {
    name: 'representment without files',
    path: SUBMIT_REPRESENTMENT_PATH,
    contentType: JSON_TYPE,
    body: { order_id: 'o-1' },
  },
  { name: 'unknown path', path: '/api/v1/refund', contentType: JSON_TYPE, body: capture },
];

describeWith(['wiremock'], 'dev provider stub answers like the WireMock stubs', () => {
  let stub: ProviderStub;
  beforeAll(async () => {
    stub = await startProviderStub();
  });
  afterAll(() => stub.close());

  it.each(probes)('$name', async (probe) => {
    const [fromStub, fromWiremock] = await Promise.all([call(stub.url, probe), call(wiremockUrl(), probe)]);
    expect(fromStub).toEqual(fromWiremock);
  });
});

/** Starts `npm run dev`'s entry point as a newcomer would, with no PG_URL and no provider configured. */
describe('npm run dev (embedded PostgreSQL, provider stub, sync mode)', () => {
  let dataDir: string;
  let dev: ChildProcess;
  let output = '';
  let apiUrl: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pm-dev-'));
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', PM_DEV_DATA_DIR: dataDir };
    for (const name of [
      'PG_URL',
      'SILVERGATE_BASE_URL',
      'SILVERGATE_CAPTURE_PATH',
      'SILVERGATE_SUBMIT_REPRESENTMENT_PATH',
      'API_KEYS',
      'API_KEY',
      'HOST',
      'WEBHOOK_SECRET',
      'WEBHOOK_SIGNATURES_DISABLED',
    ]) {
      delete env[name];
    }
    dev = spawn(process.execPath, ['services/api/src/dev.ts'], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    dev.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    apiUrl = await eventually(
      () => {
        expect(dev.exitCode, output).toBeNull();
        const match = /\[dev\] API \(webhook mode sync\) listening on (\S+)/.exec(output);
        expect(match, 'waiting for the listening line').not.toBeNull();
        return (match as RegExpExecArray)[1] as string;
      },
      // initdb, the embedded server's start and the migrations: under a minute idle, far more on a loaded machine.
      { timeoutMs: 110_000, intervalMs: 200 },
    );
  }, 120_000);

  afterAll(async () => {
    if (dev && dev.exitCode === null) {
      dev.kill('SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The operator key `npm run dev` printed (the development key of deploy/env/api.env). */
  const printedToken = () => (/export PM_TOKEN=(\S+)/.exec(output) as RegExpExecArray)[1] as string;
  const withToken = (headers: Record<string, string> = {}) => ({
    ...headers,
    authorization: `Bearer ${printedToken()}`,
  });

  it('serves GET /orders → [] on a new database with the printed development token, 401 without', async () => {
    expect((await fetch(`${apiUrl}/orders`)).status).toBe(401);
    const response = await fetch(`${apiUrl}/orders`, { headers: withToken() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([]);
  });

  it('prints the development operator key of deploy/env/api.env and one curl example; listens on 127.0.0.1 only', () => {
    expect(printedToken()).toBe(DEV_OPERATOR_KEY);
    expect(new URL(apiUrl).hostname).toBe('127.0.0.1');
    expect(output).toContain(`try: curl -H "Authorization: Bearer $PM_TOKEN" ${apiUrl}/orders`);
  });

  it('runs unsigned only visibly: says so itself and the API warns (WEBHOOK_SIGNATURES_DISABLED=true)', () => {
    expect(output).toContain('[dev] WEBHOOK_SECRET is not set: webhook signatures are NOT verified');
    expect(output).toMatch(/webhook signature verification is OFF \(WEBHOOK_SIGNATURES_DISABLED=true/);
  });

  it('captures through the provider stub', async () => {
    const orderId = 'dev-mode-order';
    const webhook = await fetch(`${apiUrl}/webhooks/payments/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        provider_event_id: 'pe-dev-1',
        order_id: orderId,
        user_id: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
        status: 'created',
        created_at: '2025-03-04T09:00:00Z',
        updated_at: '2025-03-04T09:00:00Z',
      }),
    });
    expect(webhook.status).toBeLessThan(300);
    const capture = await fetch(`${apiUrl}/orders/${orderId}/capture`, {
      method: 'POST',
      headers: withToken({ 'Content-Type': 'application/json' }),
      body: JSON.stringify({ amount: 100.5, currency: 'USD', idempotency_key: 'dev-key-1' }),
    });
    expect(capture.status).toBe(200);
    expect(await capture.json()).toMatchObject({ status: 'success', provider_tx_id: 'txn-capture-123' });
  });

  it('stops the API, the stub and PostgreSQL on SIGINT', async () => {
    const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('[dev] stopped');
    await expect(fetch(`${apiUrl}/orders`)).rejects.toThrow();
  });
});
