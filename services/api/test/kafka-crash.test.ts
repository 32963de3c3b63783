/**
 * A consumer SIGKILLed mid-stream on the run's real broker and a real Postgres: what it applied but had not committed
 * is redelivered to its successor and absorbed as duplicates. A file of its own: it waits out the killed member's
 * 30 s session (production group timeouts), and alone it can do so while vitest runs other files.
 */
import type { ChildProcess } from 'node:child_process';
import { createTopics, kafkaBrokers, uniqueGroupId, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { eventually } from '@payment-manager/testkit/poll';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { nextOrderWebhook, orderWebhook } from '@payment-manager/testkit/webhooks';
import { afterAll, expect, it } from 'vitest';
import { consumersFor, readAll, testKafka } from '../../ingest/test/support/pipeline.ts';
import { CONSUMER_GROUP_TIMEOUTS } from '../src/kafka/consumers.ts';
import { envelopeOf, produceRaw } from './support/kafka-messages.ts';
import { orderEventCounts } from './support/order-events.ts';
import { spawnConsumerProcess } from './support/spawn-consumer.ts';

const db = useTestDatabase({ poolMax: 8 });
const eventCounts = (orderIds: string[]) => orderEventCounts(db.pool, orderIds);

async function setup(prefix: string) {
  const topics = uniqueTopicNames(prefix);
  await createTopics(topics);
  return { topics, groups: { orders: uniqueGroupId(`${prefix}-o`), disputes: uniqueGroupId(`${prefix}-d`) } };
}

describeWith(['postgres', 'kafka'], 'kafka pipeline: consumer killed mid-stream', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('applies every webhook exactly once after a SIGKILL and a restart', async () => {
    const { topics, groups } = await setup('crash');
    const kafka = testKafka(kafkaBrokers());
    const orders = Array.from({ length: 150 }, () => orderWebhook());
    const messages = orders.flatMap((created) =>
      [created, nextOrderWebhook(created, { status: 'updated' }), nextOrderWebhook(created, { status: 'failed' })].map(
        (body) => ({
          key: created.user_id,
          value: envelopeOf(body),
        }),
      ),
    );
    await produceRaw(kafka, topics.orders, messages);
    const ids = orders.map((o) => o.order_id);
    const applied = async () => [...(await eventCounts(ids)).values()].reduce((a, b) => a + b, 0);

    // Production settings except smaller transactions, so the kill lands between two of them.
    child = spawnConsumerProcess({
      databaseUrl: db.databaseUrl,
      brokers: kafkaBrokers(),
      topics,
      groups,
      maxWebhooksPerTransaction: 10,
    });
    await eventually(async () => expect(await applied()).toBeGreaterThanOrEqual(30), {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    child.kill('SIGKILL');
    const atKill = await applied();
    expect(atKill).toBeLessThan(messages.length);

    // Restarted at once, well inside the 30 s session of the killed member, with the production group timeouts: the
    // coordinator waits for the dead member, and the new one's JoinGroup must outlast that wait.
    const restarted = consumersFor({ pool: db.pool, kafka, topics, groups, groupTimeouts: CONSUMER_GROUP_TIMEOUTS });
    try {
      await eventually(async () => expect(await applied()).toBe(messages.length), { timeoutMs: 90_000 });
      const counts = await eventCounts(ids);
      expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 3));
      const { rows } = await db.pool.query('SELECT DISTINCT status FROM orders WHERE id = ANY($1)', [ids]);
      expect(rows).toEqual([{ status: 'failed' }]);
      expect(await readAll(kafka, topics.ordersDlq)).toHaveLength(0);
    } finally {
      await restarted.stop();
    }
  }, 150_000);
});
