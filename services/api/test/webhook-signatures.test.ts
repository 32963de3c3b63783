/** Standard Webhooks signatures on the API's own public webhook routes (sync/http mode), real Postgres. */
import { randomUUID } from 'node:crypto';
import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { eventually } from '@payment-manager/testkit/poll';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { createSilvergateClient } from '../src/provider/silvergate.ts';

const CURRENT = `whsec_${Buffer.from('api-current-secret-0123456789').toString('base64')}`;
const PREVIOUS = `whsec_${Buffer.from('api-previous-secret-012345678').toString('base64')}`;
const FOREIGN = `whsec_${Buffer.from('somebody-elses-secret-012345').toString('base64')}`;

function signed(secret: string, raw: string, at = new Date(), id = `msg_${randomUUID()}`) {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, raw),
  };
}

describeWith(['postgres'], 'API public webhook routes with WEBHOOK_SECRET', () => {
  const db = useTestDatabase({ poolMax: 8 });
  let app: App;

  const buildSignedApp = () =>
    buildApp({
      config: {
        webhookMode: 'sync',
        bodyLimitBytes: 1_048_576,
        logLevel: 'error',
        webhookSecret: `${CURRENT} ${PREVIOUS}`,
      },
      pool: db.pool,
      provider: createSilvergateClient({
        baseUrl: 'http://127.0.0.1:9',
        capturePath: '/c',
        submitRepresentmentPath: '/r',
        timeoutMs: 1000,
      }),
      logger: false,
    });

  beforeAll(async () => {
    app = await buildSignedApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  const send = (raw: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/webhooks/payments/orders', payload: raw, headers });
  const stored = async (orderId: string) =>
    (await db.pool.query('SELECT 1 FROM orders WHERE id = $1', [orderId])).rowCount;
  const eventCount = async (orderId: string) =>
    (await db.pool.query('SELECT 1 FROM order_events WHERE order_id = $1', [orderId])).rowCount;
  /** Sessions of this test database blocked on a lock, i.e. deliveries waiting for the order's lock. */
  const waitingForLocks = async () =>
    (
      await db.pool.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )
    ).rows[0].n as number;

  it('processes webhooks signed with either active secret', async () => {
    for (const secret of [CURRENT, PREVIOUS]) {
      const body = orderWebhook();
      const raw = JSON.stringify(body);
      expect((await send(raw, signed(secret, raw))).statusCode).toBe(202);
      expect(await stored(body.order_id)).toBe(1);
    }
  });

  it('authenticates before judging the body: malformed JSON is 401 unsigned, 400 once signed', async () => {
    const raw = '{"provider_event_id": "x",';
    const unsigned = await send(raw, { 'content-type': 'application/json' });
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.json()).toEqual(errorBody('unauthorized', /signature/));
    const signedMalformed = await send(raw, signed(CURRENT, raw));
    expect(signedMalformed.statusCode).toBe(400);
    expect(signedMalformed.json()).toEqual(errorBody('bad_request', /not valid JSON/));
  });

  it('answers 401 and stores nothing for tampered, foreign, stale or unsigned webhooks', async () => {
    const cases: Array<[string, (raw: string) => { raw: string; headers: Record<string, string> }]> = [
      ['tampered body', (raw) => ({ raw: raw.replace('42.00', '0.01'), headers: signed(CURRENT, raw) })],
      ['foreign secret', (raw) => ({ raw, headers: signed(FOREIGN, raw) })],
      ['stale timestamp', (raw) => ({ raw, headers: signed(CURRENT, raw, new Date(Date.now() - 10 * 60_000)) })],
      ['unsigned', (raw) => ({ raw, headers: { 'content-type': 'application/json' } })],
    ];
    for (const [what, make] of cases) {
      const body = orderWebhook();
      const { raw, headers } = make(JSON.stringify(body));
      const response = await send(raw, headers);
      expect(response.statusCode, what).toBe(401);
      expect(response.json(), what).toEqual(errorBody('unauthorized', /signature/));
      expect(await stored(body.order_id), what).toBe(0);
    }
  });

  it('strict headers: a fractional or suffixed webhook-timestamp and an over-long webhook-id → 401 even when signed', async () => {
    const raw = JSON.stringify(orderWebhook());
    const valid = signed(CURRENT, raw);
    for (const [what, headers] of [
      ['timestamp "<ts>.5"', { ...valid, 'webhook-timestamp': `${valid['webhook-timestamp']}.5` }],
      ['timestamp "<ts>abc"', { ...valid, 'webhook-timestamp': `${valid['webhook-timestamp']}abc` }],
      ['8 KB webhook-id', signed(CURRENT, raw, new Date(), `msg_${'x'.repeat(8192)}`)],
      ['webhook-id with a space', signed(CURRENT, raw, new Date(), 'msg 1')],
    ] as const) {
      const response = await send(raw, headers);
      expect(response.statusCode, what).toBe(401);
      expect(response.json().message, what).toMatch(/webhook-(timestamp|id) must be/);
    }
    expect((await send(raw, valid)).statusCode).toBe(202);
  });

  it('validates the body by the route schema once the signature is good, reporting every problem', async () => {
    const raw = JSON.stringify({ ...orderWebhook(), status: 'done', user_id: 'nobody' });
    const response = await send(raw, signed(CURRENT, raw));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(validationBody(/^invalid request: /, 'status', 'user_id'));
    expect(response.json().problems).toContainEqual({
      in: 'body',
      field: 'status',
      message: 'must be one of: created, updated, success, failed',
      allowed: ['created', 'updated', 'success', 'failed'],
    });
  });

  it('a replay within the signature window is harmless on any replica: stored once, answered as a duplicate', async () => {
    const body = orderWebhook();
    const raw = JSON.stringify(body);
    const headers = signed(CURRENT, raw);
    const secondReplica = await buildSignedApp();
    try {
      expect((await send(raw, headers)).statusCode).toBe(202);
      for (const replica of [app, secondReplica]) {
        const replay = await replica.inject({
          method: 'POST',
          url: '/webhooks/payments/orders',
          payload: raw,
          headers,
        });
        expect(replay.statusCode).toBe(200);
        expect(replay.json()).toEqual({ message: 'Duplicate webhook received' });
      }
      expect(await eventCount(body.order_id)).toBe(1);
    } finally {
      await secondReplica.close();
    }
  });

  it('an honest retry of a delivery still in flight is not refused (the first holds the order lock)', async () => {
    const body = orderWebhook();
    const raw = JSON.stringify(body);
    const headers = signed(CURRENT, raw);
    const secondReplica = await buildSignedApp();
    const blocker = await db.pool.connect();
    try {
      // Keep the first delivery in flight: it waits for the order's lock, which this transaction holds.
      await blocker.query('BEGIN');
      await blocker.query(`SELECT pg_advisory_xact_lock(hashtext('order:' || $1))`, [body.order_id]);
      const first = send(raw, headers);
      await eventually(async () => expect(await waitingForLocks()).toBeGreaterThanOrEqual(1));
      const retry = secondReplica.inject({ method: 'POST', url: '/webhooks/payments/orders', payload: raw, headers });
      const sameReplicaRetry = send(raw, headers);
      await eventually(async () => expect(await waitingForLocks()).toBeGreaterThanOrEqual(3));
      await blocker.query('COMMIT');
      const statuses = (await Promise.all([first, retry, sameReplicaRetry])).map((answer) => answer.statusCode);
      expect(statuses.sort()).toEqual([200, 200, 202]);
      expect(await eventCount(body.order_id)).toBe(1);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      blocker.release();
      await secondReplica.close();
    }
  });

  it('lets the provider retry the same webhook-id after a failed delivery', async () => {
    const body = orderWebhook({ status: 'updated' });
    const raw = JSON.stringify(body);
    const headers = signed(CURRENT, raw);
    // Not accepted (the order does not exist yet), so the id is not burnt.
    expect((await send(raw, headers)).statusCode).toBe(404);
    const created = JSON.stringify({ ...body, provider_event_id: `pe-${randomUUID()}`, status: 'created' });
    expect((await send(created, signed(CURRENT, created))).statusCode).toBe(202);
    expect((await send(raw, headers)).statusCode).toBe(202);
  });
});
