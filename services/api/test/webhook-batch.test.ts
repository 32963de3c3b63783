/**
 * The batch path (webhooks/apply-batch.ts) against the one-at-a-time path (webhooks/process.ts) on a real
 * PostgreSQL (and on Citus in the `citus` project): the same random webhook streams — lifecycles, duplicates inside
 * and across batches, overtaken and unknown orders, invalid transitions, conflicting creates, chargebacks — give
 * the same outcome per webhook, the same rows and the same events in the same order.
 */
import { randomUUID } from 'node:crypto';
import {
  type NormalisedChargebackWebhook,
  type NormalisedOrderWebhook,
  parseChargebackWebhook,
  parseOrderWebhook,
} from '@payment-manager/shared';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { expect, it } from 'vitest';
import { applyChargebackBatch, applyOrderWebhookBatch } from '../src/webhooks/apply-batch.ts';
import { processChargebackWebhook, processOrderWebhook, type WebhookOutcome } from '../src/webhooks/process.ts';

type Webhook = { kind: 'order'; body: Record<string, unknown> } | { kind: 'chargeback'; body: Record<string, unknown> };

/** Deterministic per seed, so a failing stream can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}

const at = (minute: number) => new Date(Date.UTC(2025, 2, 4, 9, minute)).toISOString().replace('.000Z', 'Z');

/**
 * One stream of webhooks for `orders` orders, each order's webhooks in its own order, orders interleaved. Order ids
 * are placeholders (`#n`) so the same stream can be applied twice under different ids.
 */
function webhookStream(seed: number, orders: number): Webhook[] {
  const rnd = random(seed);
  const perOrder: Webhook[][] = [];
  for (let n = 0; n < orders; n++) {
    const orderId = `#${n}`;
    const userId = `00000000-0000-4000-8000-${String(n % 7).padStart(12, '0')}`;
    const own: Webhook[] = [];
    const order = (status: string, minute: number, eventId = `pe-${n}-${own.length}`) =>
      own.push({
        kind: 'order',
        body: {
          provider_event_id: eventId,
          order_id: orderId,
          user_id: userId,
          status,
          created_at: at(0),
          updated_at: at(minute),
          meta: { step: String(own.length) },
        },
      });
    const chargeback = (status: string, minute: number, meta: Record<string, string> = {}) =>
      own.push({
        kind: 'chargeback',
        body: {
          provider_event_id: `cb-${n}-${own.length}`,
          order_id: orderId,
          ...(rnd.chance(0.5) ? { user_id: userId } : {}),
          status,
          reason: 'fraud',
          ...(status === 'opened' ? { amount: 10 + n, currency: 'EUR' } : {}),
          occurred_at: at(30 + minute),
          ...(rnd.chance(0.3) ? { evidence_due_at: at(50 + minute) } : {}),
          meta,
        },
      });
    // Not found: an update for an order nobody creates, or a chargeback that overtakes its order.
    if (rnd.chance(0.1)) order('updated', 1);
    if (rnd.chance(0.05)) chargeback('opened', 0);
    if (rnd.chance(0.1)) chargeback('updated', 0);
    if (!rnd.chance(0.08)) {
      order('created', 0);
      // A second create with another event id: order_already_exists (the conflict outcome).
      if (rnd.chance(0.1)) order('created', 0);
      const updates = Math.floor(rnd.next() * 3);
      for (let u = 0; u < updates; u++) order('updated', 1 + u);
      order(rnd.pick(['success', 'failed']), 5);
      // After a final status: invalid transition.
      if (rnd.chance(0.15)) order(rnd.pick(['updated', 'success']), 6);
      if (rnd.chance(0.3)) {
        chargeback('opened', 1);
        if (rnd.chance(0.5)) chargeback('updated', 2);
        if (rnd.chance(0.3)) chargeback('opened', 3);
        chargeback('closed', 4, rnd.pick<Record<string, string>>([{ resolution: 'won' }, { resolution: 'LOST' }, {}]));
      }
    }
    // Duplicates (~5 %): a redelivery of one of the order's webhooks, later in the stream.
    for (const webhook of [...own]) if (rnd.chance(0.05)) own.push(webhook);
    perOrder.push(own);
  }
  const stream: Webhook[] = [];
  const cursors = perOrder.map(() => 0);
  let left = perOrder.reduce((sum, own) => sum + own.length, 0);
  while (left > 0) {
    const n = Math.floor(rnd.next() * perOrder.length);
    const own = perOrder[n] as Webhook[];
    if ((cursors[n] as number) >= own.length) continue;
    stream.push(own[cursors[n] as number] as Webhook);
    cursors[n] = (cursors[n] as number) + 1;
    left--;
  }
  return stream;
}

function normalised(webhook: Webhook, prefix: string) {
  const body = { ...webhook.body, order_id: `${prefix}${String(webhook.body.order_id).slice(1)}` };
  const parsed = webhook.kind === 'order' ? parseOrderWebhook(body) : parseChargebackWebhook(body);
  if (!parsed.ok) throw new Error(`test stream has an invalid webhook: ${parsed.message}`);
  return parsed.value;
}

/** Splits `items` into consecutive runs of 1…maxSize, the way fetches cut a partition. */
function runsOf<T>(items: T[], seed: number, maxSize: number): T[][] {
  const rnd = random(seed);
  const runs: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const size = 1 + Math.floor(rnd.next() * maxSize);
    runs.push(items.slice(i, i + size));
    i += size;
  }
  return runs;
}

describeWith(['postgres'], 'batch apply: same outcomes and effects as one webhook at a time', () => {
  const db = useTestDatabase({ poolMax: 4 });

  async function oneAtATime(stream: Webhook[], prefix: string): Promise<WebhookOutcome[]> {
    const outcomes: WebhookOutcome[] = [];
    for (const webhook of stream) {
      const value = normalised(webhook, prefix);
      const result =
        webhook.kind === 'order'
          ? await processOrderWebhook(db.pool, value as NormalisedOrderWebhook)
          : await processChargebackWebhook(db.pool, value as NormalisedChargebackWebhook);
      outcomes.push(result.outcome);
    }
    return outcomes;
  }

  /**
   * Each run cut where the topic changes, so every webhook meets the state the stream order gives it (the two topics
   * are independent in production; here the one-at-a-time run defines the expected order).
   */
  async function inBatches(stream: Webhook[], prefix: string, seed: number, maxSize: number) {
    const results: WebhookOutcome[] = new Array(stream.length);
    const runs = runsOf(
      stream.map((webhook, index) => ({ webhook, index })),
      seed,
      maxSize,
    );
    for (const run of runs) {
      for (let start = 0; start < run.length; ) {
        const kind = run[start]?.webhook.kind;
        let end = start;
        while (end < run.length && run[end]?.webhook.kind === kind) end++;
        const batch = run.slice(start, end);
        const outcomes =
          kind === 'order'
            ? await applyOrderWebhookBatch(
                db.pool,
                batch.map((r) => normalised(r.webhook, prefix) as NormalisedOrderWebhook),
              )
            : await applyChargebackBatch(
                db.pool,
                batch.map((r) => normalised(r.webhook, prefix) as NormalisedChargebackWebhook),
              );
        batch.forEach((r, i) => {
          results[r.index] = outcomes[i] as WebhookOutcome;
        });
        start = end;
      }
    }
    return results;
  }

  /** Everything the stream left in the database, ids made comparable, events in stored order. */
  async function effects(prefix: string) {
    const strip = (id: string) => id.slice(prefix.length);
    const like = `${prefix}%`;
    const orders = await db.pool.query(
      `SELECT id, user_id, status, on_hold, created_at, updated_at FROM orders WHERE id LIKE $1 ORDER BY id`,
      [like],
    );
    const orderEvents = await db.pool.query(
      `SELECT order_id, kind, provider_event_id, data FROM order_events WHERE order_id LIKE $1
       ORDER BY order_id, created_at, id`,
      [like],
    );
    const disputes = await db.pool.query(
      `SELECT order_id, status, reason, amount, currency, opened_at, evidence_due_at, closed_at FROM disputes
       WHERE order_id LIKE $1 ORDER BY order_id`,
      [like],
    );
    const disputeEvents = await db.pool.query(
      `SELECT d.order_id, e.kind, e.provider_event_id, e.data FROM dispute_events e
       JOIN disputes d ON d.shard_key = e.shard_key AND d.id = e.dispute_id
       WHERE d.order_id LIKE $1 ORDER BY d.order_id, e.created_at, e.id`,
      [like],
    );
    const withoutPrefix = (rows: Array<Record<string, unknown>>, key: string) =>
      rows.map((row) => ({
        ...row,
        [key]: strip(row[key] as string),
        ...(row.data
          ? { data: { ...(row.data as object), order_id: strip((row.data as { order_id: string }).order_id) } }
          : {}),
      }));
    return {
      orders: withoutPrefix(orders.rows, 'id'),
      orderEvents: withoutPrefix(orderEvents.rows, 'order_id'),
      disputes: withoutPrefix(disputes.rows, 'order_id'),
      disputeEvents: withoutPrefix(disputeEvents.rows, 'order_id'),
    };
  }

  for (const { seed, orders, maxBatch } of [
    { seed: 1, orders: 40, maxBatch: 1 },
    { seed: 2, orders: 60, maxBatch: 25 },
    { seed: 3, orders: 80, maxBatch: 400 },
  ]) {
    it(`stream ${seed}: ${orders} orders in batches of up to ${maxBatch}`, async () => {
      const stream = webhookStream(seed, orders);
      const run = randomUUID().slice(0, 8);
      const single = `one-${run}-`;
      const batched = `bat-${run}-`;
      const expected = await oneAtATime(stream, single);
      const actual = await inBatches(stream, batched, seed, maxBatch);
      expect(actual).toEqual(expected);
      // The stream covers every outcome, or the comparison proves less than it claims.
      expect(new Set(expected)).toEqual(
        new Set([
          'processed',
          'duplicate',
          'order_not_found',
          'dispute_not_found',
          'order_already_exists',
          'invalid_transition',
        ]),
      );
      const [want, got] = [await effects(single), await effects(batched)];
      expect(got.orders).toEqual(want.orders);
      expect(got.orderEvents).toEqual(want.orderEvents);
      expect(got.disputes).toEqual(want.disputes);
      expect(got.disputeEvents).toEqual(want.disputeEvents);
      expect(want.disputes.length).toBeGreaterThan(0);
    });
  }

  it('applies nothing when the batch fails: a failing statement rolls back the webhooks before it', async () => {
    const first = normalised(
      { kind: 'order', body: { ...webhookStream(9, 1)[0]?.body, status: 'created', order_id: '#x' } },
      `rb-${randomUUID()}-`,
    ) as NormalisedOrderWebhook;
    // NUL cannot be stored in text: the batch's insert fails after the first webhook was folded in.
    const poison = { ...first, provider_event_id: 'p\u0000', order_id: `${first.order_id}-2` };
    await expect(applyOrderWebhookBatch(db.pool, [first, poison])).rejects.toThrow();
    const { rows } = await db.pool.query('SELECT 1 FROM orders WHERE id = $1', [first.order_id]);
    expect(rows).toEqual([]);
    expect(await applyOrderWebhookBatch(db.pool, [first])).toEqual(['processed']);
  });
});
