/** Standard Webhooks signatures on the API's own public webhook routes (sync/http mode), real Postgres. */
import { randomUUID } from 'node:crypto';
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
  const db = useTestDatabase();
  let app: App;

  beforeAll(async () => {
    app = await buildApp({
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
  });
  afterAll(async () => {
    await app?.close();
  });

  const send = (raw: string, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/webhooks/payments/orders', payload: raw, headers });
  const stored = async (orderId: string) =>
    (await db.pool.query('SELECT 1 FROM orders WHERE id = $1', [orderId])).rowCount;

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
    expect(unsigned.json().message).toMatch(/signature/);
    const signedMalformed = await send(raw, signed(CURRENT, raw));
    expect(signedMalformed.statusCode).toBe(400);
    expect(signedMalformed.json().message).toMatch(/not valid JSON/);
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
      expect(response.json().message, what).toMatch(/signature/);
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

  it('rejects a replayed webhook-id after the first delivery was accepted', async () => {
    const raw = JSON.stringify(orderWebhook());
    const headers = signed(CURRENT, raw);
    expect((await send(raw, headers)).statusCode).toBe(202);
    const replay = await send(raw, headers);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().message).toMatch(/already received/);
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
