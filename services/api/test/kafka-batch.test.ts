/**
 * Batch apply in the API consumers on the run's real broker and a real PostgreSQL: backlogs already in the topics are
 * fetched in batches and each batch is applied in one transaction (rows written by one transaction share `xmin`).
 * The guarantees of the one-at-a-time path hold: per-order order, one effect per provider_event_id (duplicates inside
 * a batch and across batches), the same outcome per message, permanent failures to the DLQ one by one while the rest
 * of the batch applies, and a poison message that fails the batch's SQL goes to the DLQ without stalling anything.
 * (Transient faults: kafka-pipeline.test.ts "database outage"; redelivery after a crash: "consumer killed".)
 */
import { randomUUID } from 'node:crypto';
import { createTopics, kafkaBrokers, uniqueGroupId, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { eventually } from '@payment-manager/testkit/poll';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import {
  chargebackWebhook,
  nextOrderWebhook,
  type OrderWebhookBody,
  orderWebhook,
} from '@payment-manager/testkit/webhooks';
import { expect, it } from 'vitest';
import { consumersFor, readAll, silentLog, testKafka } from '../../ingest/test/support/pipeline.ts';
import { chargebackEnvelopeOf, envelopeOf, produceRaw } from './support/kafka-messages.ts';
import { orderEventCounts } from './support/order-events.ts';

const db = useTestDatabase({ poolMax: 8 });

async function setup(prefix: string) {
  const topics = uniqueTopicNames(prefix);
  await createTopics(topics);
  return { topics, groups: { orders: uniqueGroupId(`${prefix}-o`), disputes: uniqueGroupId(`${prefix}-d`) } };
}

/** How many transactions wrote these orders' events (rows of one transaction share xmin). */
async function writingTransactions(orderIds: string[]): Promise<number> {
  const { rows } = await db.pool.query<{ transactions: number }>(
    'SELECT count(DISTINCT xmin::text)::int AS transactions FROM order_events WHERE order_id = ANY($1)',
    [orderIds],
  );
  return rows[0]?.transactions ?? 0;
}

/**
 * What the consumers report per message, recorded from their log. Tests wait on these instead of polling the DLQ
 * topic: reading it (kcat, synchronous) would block this process — and the consumers in it — for seconds.
 */
function consumerLog() {
  const events = { skipped: [] as string[], deadLettered: [] as string[], batchFailures: 0 };
  const logger = {
    ...silentLog,
    info: (fields: object, message: string) => {
      if (message === 'webhook skipped') events.skipped.push((fields as { outcome: string }).outcome);
    },
    warn: (fields: object, message: string) => {
      if (message === 'webhook sent to DLQ') events.deadLettered.push((fields as { failure: string }).failure);
      if (message.startsWith('webhook batch failed')) events.batchFailures++;
    },
  };
  return { events, logger };
}

describeWith(['postgres', 'kafka'], 'kafka batch apply', () => {
  it('applies a backlog in batches: per-order order, one effect per provider_event_id within and across batches', async () => {
    const { topics, groups } = await setup('batch');
    const kafka = testKafka(kafkaBrokers());
    const orders = Array.from({ length: 200 }, () => orderWebhook());
    const lifecycles = orders.map((created) => [
      created,
      nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' }),
      nextOrderWebhook(created, { status: 'success', updated_at: '2025-03-04T11:00:00Z' }),
    ]);
    // Every fourth order's update is delivered twice in a row: a duplicate inside one batch.
    const messages = lifecycles.flatMap((lifecycle, n) =>
      (n % 4 === 0 ? [lifecycle[0], lifecycle[1], lifecycle[1], lifecycle[2]] : lifecycle).map((body) => ({
        key: body?.user_id as string,
        value: envelopeOf(body as OrderWebhookBody),
      })),
    );
    await produceRaw(kafka, topics.orders, messages);
    const { events, logger } = consumerLog();
    const ids = orders.map((o) => o.order_id);
    const consumers = consumersFor({ pool: db.pool, kafka, topics, groups, logger });
    try {
      await eventually(async () => expect((await orderEventCounts(db.pool, ids)).size).toBe(orders.length), {
        timeoutMs: 30_000,
      });
      // Across batches: the whole backlog again, after it was applied.
      await produceRaw(kafka, topics.orders, messages);
      await eventually(() => expect(events.skipped).toHaveLength(50 + messages.length), { timeoutMs: 30_000 });
    } finally {
      await consumers.stop();
    }
    expect(new Set(events.skipped)).toEqual(new Set(['duplicate']));
    expect(events.deadLettered).toEqual([]);
    const counts = await orderEventCounts(db.pool, ids);
    expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 3));
    // created → updated → success in that order, or the update/success would have been refused and dead-lettered.
    const { rows } = await db.pool.query('SELECT DISTINCT status FROM orders WHERE id = ANY($1)', [ids]);
    expect(rows).toEqual([{ status: 'success' }]);
    const { rows: kinds } = await db.pool.query<{ statuses: string[] }>(
      `SELECT array_agg(data->>'status' ORDER BY created_at, id) AS statuses FROM order_events
       WHERE order_id = ANY($1) GROUP BY order_id`,
      [ids],
    );
    expect(new Set(kinds.map((k) => k.statuses.join(' → ')))).toEqual(new Set(['created → updated → success']));
    expect(await readAll(kafka, topics.ordersDlq)).toHaveLength(0);
    // 600 events, far fewer transactions: the backlog was applied in batches.
    expect(await writingTransactions(ids)).toBeLessThan(60);
  }, 90_000);

  it('gives every message of a batch its one-at-a-time outcome; permanent failures go to the DLQ one by one', async () => {
    const { topics, groups } = await setup('outcomes');
    const kafka = testKafka(kafkaBrokers());
    const userId = randomUUID();
    // One key, so all of it lands in one partition and one fetch.
    const created = orderWebhook({ user_id: userId });
    const finished = nextOrderWebhook(created, { status: 'failed' });
    const unknown = orderWebhook({ user_id: userId, status: 'updated' });
    const afterFinal = nextOrderWebhook(created, { status: 'success' });
    const conflictingCreate = nextOrderWebhook(created, { status: 'created' });
    const second = orderWebhook({ user_id: userId });
    const poison = '{"type":"order.webhook","payload":';
    const sequence = [
      { dead: false, value: envelopeOf(created) },
      { dead: true, value: envelopeOf(unknown) },
      { dead: false, value: envelopeOf(finished) },
      { dead: true, value: envelopeOf(afterFinal) },
      { dead: false, value: envelopeOf(finished) },
      { dead: false, value: envelopeOf(conflictingCreate) },
      { dead: true, value: poison },
      { dead: false, value: envelopeOf(second) },
    ];
    await produceRaw(
      kafka,
      topics.orders,
      sequence.map(({ value }) => ({ key: userId, value })),
    );
    const orphan = chargebackWebhook(randomUUID(), { user_id: userId });
    const dispute = chargebackWebhook(created.order_id, { user_id: userId });
    const closed = chargebackWebhook(created.order_id, {
      user_id: userId,
      status: 'closed',
      occurred_at: '2025-03-06T08:00:00Z',
      meta: { resolution: 'won' },
    });
    const { events, logger } = consumerLog();
    const consumers = consumersFor({ pool: db.pool, kafka, topics, groups, logger });
    try {
      await eventually(() => expect(events.deadLettered).toHaveLength(3), { timeoutMs: 30_000 });
      expect(events.deadLettered.map((failure) => failure.replace(/:.*/, ''))).toEqual([
        'order not found',
        'invalid status transition',
        'invalid envelope',
      ]);
      expect(events.skipped).toEqual(['duplicate', 'order_already_exists']);
      const { rows } = await db.pool.query('SELECT id, status FROM orders WHERE id = ANY($1) ORDER BY id', [
        [created.order_id, unknown.order_id, second.order_id],
      ]);
      expect(rows).toEqual(
        [
          { id: created.order_id, status: 'failed' },
          { id: second.order_id, status: 'created' },
        ].sort((a, b) => a.id.localeCompare(b.id)),
      );
      // The applied messages of the batch were applied together.
      expect(await writingTransactions([created.order_id, second.order_id])).toBe(1);

      // Chargebacks: one for an unknown order (DLQ), then an open and a close of the same dispute and a duplicate.
      await produceRaw(
        kafka,
        topics.disputes,
        [orphan, dispute, closed, dispute].map((body) => ({ key: userId, value: chargebackEnvelopeOf(body) })),
      );
      await eventually(() => expect(events.deadLettered).toHaveLength(4), { timeoutMs: 30_000 });
      await eventually(() => expect(events.skipped).toHaveLength(3));
    } finally {
      await consumers.stop();
    }
    expect(events.deadLettered[3]).toBe('order not found');
    expect(events.skipped[2]).toBe('duplicate');
    const { rows: disputes } = await db.pool.query('SELECT status, closed_at FROM disputes WHERE order_id = $1', [
      created.order_id,
    ]);
    expect(disputes).toEqual([{ status: 'won', closed_at: '2025-03-06T08:00:00Z' }]);
    const { rows: disputeEvents } = await db.pool.query(
      `SELECT e.kind FROM dispute_events e JOIN disputes d ON d.shard_key = e.shard_key AND d.id = e.dispute_id
       WHERE d.order_id = $1 ORDER BY e.created_at`,
      [created.order_id],
    );
    expect(disputeEvents.map((e) => e.kind)).toEqual(['webhook_opened', 'provider_decision']);
    // The dead letters themselves: the original bytes, in offset order, with the failure in their header.
    const letters = await readAll(kafka, topics.ordersDlq);
    expect(letters.map((l) => l.value)).toEqual(sequence.filter((s) => s.dead).map((s) => s.value));
    expect(letters.map((l) => l.headers.error?.replace(/:.*/, ''))).toEqual([
      'order not found',
      'invalid status transition',
      'invalid envelope',
    ]);
    const disputeLetters = await readAll(kafka, topics.disputesDlq);
    expect(disputeLetters.map((l) => l.headers.error)).toEqual(['order not found']);
  }, 90_000);

  it('sends a message whose SQL fails for good to the DLQ and applies the rest of its batch', async () => {
    const { topics, groups } = await setup('poison');
    const kafka = testKafka(kafkaBrokers());
    // A constraint this database alone has: the poison passes every check before the SQL and fails the batch's
    // INSERT, as a bug or an unforeseen row would.
    await db.pool.query(
      `ALTER TABLE orders ADD CONSTRAINT poison_test_refusal CHECK (id NOT LIKE 'poison-%') NOT VALID`,
    );
    const userId = randomUUID();
    const first = orderWebhook({ user_id: userId });
    const poisoned = orderWebhook({ user_id: userId, order_id: `poison-${randomUUID()}` });
    const update = nextOrderWebhook(first, { status: 'updated' });
    const last = orderWebhook({ user_id: userId });
    await produceRaw(
      kafka,
      topics.orders,
      [first, poisoned, update, last].map((body) => ({ key: userId, value: envelopeOf(body) })),
    );
    const { events, logger } = consumerLog();
    const consumers = consumersFor({ pool: db.pool, kafka, topics, groups, logger });
    try {
      await eventually(
        async () => {
          const counts = await orderEventCounts(db.pool, [first.order_id, last.order_id]);
          expect([counts.get(first.order_id), counts.get(last.order_id)]).toEqual([2, 1]);
        },
        { timeoutMs: 30_000 },
      );
      await eventually(() => expect(events.deadLettered).toHaveLength(1));
    } finally {
      await consumers.stop();
      await db.pool.query('ALTER TABLE orders DROP CONSTRAINT poison_test_refusal');
    }
    expect(events.batchFailures).toBeGreaterThanOrEqual(1);
    expect(events.deadLettered[0]).toMatch(/^max retries exceeded: .*poison_test_refusal/);
    const letters = await readAll(kafka, topics.ordersDlq);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.value).toContain(poisoned.order_id);
    expect(letters[0]?.headers.error).toBe(events.deadLettered[0]);
  }, 60_000);
});
