/**
 * Bounded work per request: an event page stops at MAX_EVENT_PAGE_DATA_BYTES of event data whatever `limit` says, so
 * the worst page the stored data allows stays small; an API process with the chart's memory keeps serving it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TEST_API_KEYS, TEST_API_KEYS_ENV } from '@payment-manager/testkit/auth';
import { eventually } from '@payment-manager/testkit/poll';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { MAX_EVENT_PAGE_DATA_BYTES } from '../src/domain/event-page.ts';
import { MAX_EVIDENCE_BYTES } from '../src/http/schemas.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The API container's memory limit in the Helm chart (generated from cdk8s), e.g. "384Mi". */
const CHART_MEMORY_MIB = (() => {
  const manifests = parseAllDocuments(
    readFileSync(`${REPO_ROOT}charts/payment-manager/templates/0004-app.yaml`, 'utf8'),
  ).map((document) => document.toJS());
  const api = manifests.find((m) => m?.kind === 'Deployment' && m.metadata?.name === 'api');
  const memory: string | undefined = api?.spec.template.spec.containers.find((c: { name: string }) => c.name === 'api')
    ?.resources.limits.memory;
  if (!memory?.endsWith('Mi')) throw new Error(`no api memory limit in the chart (found ${memory})`);
  return Number.parseInt(memory, 10);
})();
/** V8 heap for the process: half the container, the rest is Node, buffers and pg. */
const HEAP_MIB = Math.floor(CHART_MEMORY_MIB / 2);
const EVENT_BYTES = 1024 * 1024;
const EVENTS = 32;
const DISPUTE = 'd-huge';

describeWith(['postgres'], 'event pages are bounded in bytes (worst case under the chart memory limit)', () => {
  const db = useTestDatabase();
  let api: ChildProcess;
  let url = '';
  let output = '';

  beforeAll(async () => {
    // The worst the log can hold: 1 MiB events (written before the evidence/meta limits existed, or by a migration).
    await db.pool.query(
      `INSERT INTO orders (id, user_id, status, created_at, updated_at, shard_key)
       VALUES ('o-huge', '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10', 'created', now(), now(), order_shard_key('o-huge'))`,
    );
    await db.pool.query(
      `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
       VALUES ($1, 'o-huge', 'open', 'fraud', 1, 'USD', now(), order_shard_key('o-huge'))`,
      [DISPUTE],
    );
    await db.pool.query(
      `INSERT INTO dispute_events (id, dispute_id, kind, provider_event_id, data, created_at, shard_key)
       SELECT 'ev-' || lpad(n::text, 3, '0'), $1, 'evidence_added', 'pe-' || n,
              jsonb_build_object('blob', repeat('x', $2::int)), now() - make_interval(secs => n),
              order_shard_key('o-huge')
       FROM generate_series(1, $3::int) AS n`,
      [DISPUTE, EVENT_BYTES - 20, EVENTS],
    );
    api = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, 'services/api/src/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PG_URL: db.databaseUrl,
        PORT: '0',
        HOST: '127.0.0.1',
        API_KEYS: TEST_API_KEYS_ENV,
        WEBHOOK_MODE: 'sync',
        // Only reads are measured here; the sync-mode webhook routes stay unsigned (explicitly).
        WEBHOOK_SECRET: '',
        WEBHOOK_SIGNATURES_DISABLED: 'true',
        LOG_LEVEL: 'info',
        SILVERGATE_BASE_URL: 'http://127.0.0.1:9',
        SILVERGATE_CAPTURE_PATH: '/capture',
        SILVERGATE_SUBMIT_REPRESENTMENT_PATH: '/submit',
        OTEL_SDK_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    api.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    url = await eventually(
      () => {
        expect(api.exitCode, output).toBeNull();
        const match = /API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        expect(match, 'waiting for the listening line').not.toBeNull();
        return (match as RegExpExecArray)[1] as string;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }, 90_000);

  afterAll(() => {
    api?.kill('SIGKILL');
  });

  const page = async (cursor?: string) => {
    const query = new URLSearchParams({ dispute_ids: DISPUTE, limit: '1000', ...(cursor ? { cursor } : {}) });
    const response = await fetch(`${url}/disputes/events?${query}`, {
      headers: { authorization: `Bearer ${TEST_API_KEYS.reader}` },
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    expect(response.status, text.slice(0, 200)).toBe(200);
    return {
      bytes: Buffer.byteLength(text),
      body: JSON.parse(text) as { items: Array<{ event_id: string }>; has_more: boolean; next_cursor: string },
    };
  };

  it(`four parallel limit=1000 pages over ${EVENTS} MiB of events: each ≤ budget + one event, process under ${CHART_MEMORY_MIB} MiB`, async () => {
    const pages = await Promise.all([page(), page(), page(), page()]);
    for (const { bytes, body } of pages) {
      expect(bytes).toBeLessThanOrEqual(MAX_EVENT_PAGE_DATA_BYTES + EVENT_BYTES + 64 * 1024);
      expect(body.items.length).toBeLessThan(EVENTS);
      expect(body.has_more).toBe(true);
    }
    expect(api.exitCode, output.slice(-2000)).toBeNull();
    // Peak resident set of the whole process (VmHWM), the figure the container limit is enforced on.
    const peakKib = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${api.pid}/status`, 'utf8'))?.[1]);
    expect(peakKib / 1024).toBeLessThan(CHART_MEMORY_MIB);
  }, 120_000);

  it('the cursor continues where a byte-bounded page stopped: every event exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let round = 0; round < EVENTS + 1; round++) {
      const { body } = await page(cursor);
      seen.push(...body.items.map((item) => item.event_id));
      if (!body.has_more) break;
      cursor = body.next_cursor;
    }
    expect(seen).toEqual(Array.from({ length: EVENTS }, (_, i) => `ev-${String(i + 1).padStart(3, '0')}`));
  }, 120_000);

  it(`evidence bodies over ${MAX_EVIDENCE_BYTES} bytes → 413`, async () => {
    const response = await fetch(`${url}/disputes/${DISPUTE}/evidence`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEYS.operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { note: 'x'.repeat(MAX_EVIDENCE_BYTES) } }),
    });
    expect(response.status).toBe(413);
  });
});
