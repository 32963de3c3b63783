/**
 * The Kafka half of the pipeline on the run's real broker and a real Postgres: ingest → topic → API consumers →
 * database, the DLQ path, DLQ replay, two members in one group, database and broker outages, restarts. (A consumer
 * SIGKILLed mid-stream: kafka-crash.test.ts, a file of its own because it waits out a 30 s session.)
 */
import { connect, type Socket } from 'node:net';
import { createKafkaClient } from '@payment-manager/shared/kafka-client';
import { DEPENDENCY_TEXT, serverErrorBody } from '@payment-manager/testkit/errors';
import { createTopics, kafkaBrokers, uniqueGroupId, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { eventually } from '@payment-manager/testkit/poll';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { startTcpProxy } from '@payment-manager/testkit/tcp-proxy';
import { chargebackWebhook, nextOrderWebhook, orderWebhook } from '@payment-manager/testkit/webhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { replayDeadLetters } from '../../ingest/src/kafka/dlq-replay.ts';
import {
  consumersFor,
  post,
  type RunningIngest,
  readAll,
  silentLog,
  startKafkaIngest,
  testKafka,
} from '../../ingest/test/support/pipeline.ts';
import { createPool } from '../src/db/pool.ts';
import type { WebhookConsumers } from '../src/kafka/consumers.ts';
import { envelopeOf, produceRaw } from './support/kafka-messages.ts';
import { orderEventCounts } from './support/order-events.ts';

const db = useTestDatabase({ poolMax: 8 });

function names(prefix: string) {
  return {
    topics: uniqueTopicNames(prefix),
    groups: { orders: uniqueGroupId(`${prefix}-o`), disputes: uniqueGroupId(`${prefix}-d`) },
  };
}

async function setup(prefix: string) {
  const named = names(prefix);
  await createTopics(named.topics);
  return named;
}

async function orderStatus(orderId: string): Promise<string | undefined> {
  const { rows } = await db.pool.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId]);
  return rows[0]?.status;
}

const eventCounts = (orderIds: string[]) => orderEventCounts(db.pool, orderIds);

describeWith(['postgres', 'kafka'], 'kafka pipeline: DLQ and replay', () => {
  const { topics, groups } = names('dlq');
  let ingest: RunningIngest;
  let consumers: WebhookConsumers;
  const kafka = () => testKafka(kafkaBrokers());

  beforeAll(async () => {
    await createTopics(topics);
    ingest = await startKafkaIngest({ kafka: kafka(), topics });
    consumers = consumersFor({ pool: db.pool, kafka: kafka(), topics, groups });
  });
  afterAll(async () => {
    await ingest?.close();
    await consumers?.stop();
  });

  it('moves a poison message to the DLQ with its bytes and headers while the partition keeps flowing', async () => {
    const created = orderWebhook();
    expect((await post(`${ingest.url}/webhooks/payments/orders`, created)).status).toBe(202);
    const poison = '{"type":"order.webhook","payload":{"order_id":';
    // Same key as the order: same partition, right between its two webhooks.
    await produceRaw(kafka(), topics.orders, [
      {
        key: created.user_id,
        value: poison,
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      },
    ]);
    const updated = nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' });
    expect((await post(`${ingest.url}/webhooks/payments/orders`, updated)).status).toBe(202);

    await eventually(async () => expect(await orderStatus(created.order_id)).toBe('updated'), { timeoutMs: 20_000 });
    const letters = await eventually(async () => {
      const found = await readAll(kafka(), topics.ordersDlq);
      expect(found).toHaveLength(1);
      return found;
    });
    const [letter] = letters;
    expect(letter?.key).toBe(created.user_id);
    expect(letter?.value).toBe(poison);
    expect(letter?.headers.error).toMatch(/^invalid envelope: not JSON/);
    expect(letter?.headers.failed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(letter?.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('dead-letters business failures without blocking, and DLQ replay applies them once the cause is fixed', async () => {
    const order = orderWebhook();
    // The chargeback overtakes its order (different topics, docs/domain.md#ordering-and-replays): order not found → DLQ.
    const early = chargebackWebhook(order.order_id, { user_id: order.user_id });
    expect((await post(`${ingest.url}/webhooks/payments/chargebacks`, early)).status).toBe(202);
    const letter = await eventually(async () => {
      const found = (await readAll(kafka(), topics.disputesDlq)).filter((m) =>
        m.value?.includes(early.provider_event_id),
      );
      expect(found).toHaveLength(1);
      return found[0];
    });
    expect(letter?.headers.error).toBe('order not found');

    expect((await post(`${ingest.url}/webhooks/payments/orders`, order)).status).toBe(202);
    await eventually(async () => expect(await orderStatus(order.order_id)).toBe('created'));
    const dry = await replayDeadLetters({
      kafka: kafka(),
      dlqTopic: topics.disputesDlq,
      dryRun: true,
      idempotentProducer: false,
    });
    expect(dry).toMatchObject({ pending: 1, replayed: 0, targetTopic: topics.disputes });
    const summary = await replayDeadLetters({
      kafka: kafka(),
      dlqTopic: topics.disputesDlq,
      idempotentProducer: false,
    });
    expect(summary).toMatchObject({ pending: 1, replayed: 1 });
    await eventually(async () => {
      const { rows } = await db.pool.query('SELECT status, reason, amount FROM disputes WHERE order_id = $1', [
        order.order_id,
      ]);
      expect(rows).toEqual([{ status: 'open', reason: 'fraud', amount: 100.5 }]);
    });
    const replayed = (await readAll(kafka(), topics.disputes)).filter((m) =>
      m.value?.includes(early.provider_event_id),
    );
    expect(replayed).toHaveLength(2);
    expect(replayed[1]?.value).toBe(letter?.value);
    expect(replayed[1]?.headers.error).toBeUndefined();
    // The replay group committed: a second run finds nothing new.
    expect(
      await replayDeadLetters({ kafka: kafka(), dlqTopic: topics.disputesDlq, idempotentProducer: false }),
    ).toMatchObject({
      pending: 0,
      replayed: 0,
    });
  }, 60_000);
});

describeWith(['postgres', 'kafka'], 'kafka pipeline: a failed DLQ publish is never committed', () => {
  it('keeps redelivering the message until the dead letter is stored', async () => {
    const { topics, groups } = await setup('dlqfail');
    const kafka = testKafka(kafkaBrokers());
    const order = orderWebhook();
    await produceRaw(kafka, topics.orders, [{ key: order.user_id, value: 'not json' }]);
    const failures: string[] = [];
    const recording = {
      ...silentLog,
      error: (_: object, message: string) => {
        failures.push(message);
      },
    };
    // An empty topic name is refused by the client itself: every DLQ publish fails.
    const broken = consumersFor({
      pool: db.pool,
      kafka,
      topics: { ...topics, ordersDlq: '' },
      groups,
      logger: recording,
    });
    try {
      await eventually(
        () => expect(failures.filter((m) => m.startsWith('DLQ publish failed')).length).toBeGreaterThanOrEqual(2),
        {
          timeoutMs: 20_000,
        },
      );
    } finally {
      await broken.stop();
    }
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: groups.orders, topics: [topics.orders] });
    await admin.disconnect();
    expect(committed?.partitions.every((p) => p.offset === '-1' || p.offset === '0')).toBe(true);
    const healed = consumersFor({ pool: db.pool, kafka, topics, groups });
    try {
      await eventually(async () => expect(await readAll(kafka, topics.ordersDlq)).toHaveLength(1), {
        timeoutMs: 20_000,
      });
    } finally {
      await healed.stop();
    }
  }, 60_000);
});

describeWith(['postgres', 'kafka'], 'kafka pipeline: two API instances in one group', () => {
  it('applies every webhook exactly once and keeps each user’s order', async () => {
    const { topics, groups } = await setup('pair');
    const kafka = testKafka(kafkaBrokers());
    const first = consumersFor({ pool: db.pool, kafka, topics, groups });
    const second = consumersFor({ pool: db.pool, kafka: testKafka(kafkaBrokers()), topics, groups });
    const ingest = await startKafkaIngest({ kafka, topics });
    try {
      const orders = Array.from({ length: 30 }, () => orderWebhook());
      // Each user's three webhooks go out in order; users run concurrently.
      await Promise.all(
        orders.map(async (created) => {
          for (const body of [
            created,
            nextOrderWebhook(created, { status: 'updated' }),
            nextOrderWebhook(created, { status: 'success' }),
          ]) {
            expect((await post(`${ingest.url}/webhooks/payments/orders`, body)).status).toBe(202);
          }
        }),
      );
      const ids = orders.map((o) => o.order_id);
      await eventually(
        async () => {
          const counts = await eventCounts(ids);
          expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(90);
        },
        { timeoutMs: 30_000 },
      );
      const counts = await eventCounts(ids);
      expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 3));
      const { rows } = await db.pool.query<{ status: string }>(
        'SELECT DISTINCT status FROM orders WHERE id = ANY($1)',
        [ids],
      );
      // An overtaken "updated"/"success" would have been rejected (not found / invalid transition) and dead-lettered.
      expect(rows).toEqual([{ status: 'success' }]);
      expect(await readAll(kafka, topics.ordersDlq)).toHaveLength(0);
    } finally {
      await ingest.close();
      await Promise.all([first.stop(), second.stop()]);
    }
  }, 60_000);
});

describeWith(['postgres', 'kafka'], 'kafka pipeline: database outage', () => {
  it('retries through a database outage without dead-lettering, staying in its group, and applies everything once', async () => {
    const { topics, groups } = await setup('pgdown');
    const kafka = testKafka(kafkaBrokers());
    const orders = Array.from({ length: 60 }, () => orderWebhook());
    const messages = orders.flatMap((created) =>
      [created, nextOrderWebhook(created, { status: 'updated' })].map((body) => ({
        key: created.user_id,
        value: envelopeOf(body),
      })),
    );
    await produceRaw(kafka, topics.orders, messages);
    const ids = orders.map((o) => o.order_id);
    const applied = async () => [...(await eventCounts(ids)).values()].reduce((a, b) => a + b, 0);

    const target = new URL(db.databaseUrl);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    target.host = `${proxy.host}:${proxy.port}`;
    const proxiedPool = createPool({ pgUrl: target.toString(), max: 4 });
    const transientRetries: unknown[] = [];
    const logger = {
      ...silentLog,
      warn: (fields: object, message: string) => {
        if (message.includes('retrying') && (fields as { transient?: boolean }).transient)
          transientRetries.push(fields);
      },
    };
    // Small transactions, so the cut lands mid-backlog however fast the machine applies a batch.
    const consumers = consumersFor({ pool: proxiedPool, kafka, topics, groups, logger, maxWebhooksPerTransaction: 5 });
    try {
      await eventually(async () => expect(await applied()).toBeGreaterThanOrEqual(10), {
        timeoutMs: 30_000,
        intervalMs: 20,
      });
      await proxy.cut();
      // Far more failed tries than the 3 attempts that used to lead to the DLQ, and the group stays healthy.
      await eventually(() => expect(transientRetries.length).toBeGreaterThanOrEqual(8), { timeoutMs: 30_000 });
      await consumers.progressCheck(60_000).check();
      expect(await applied()).toBeLessThan(messages.length);
      await proxy.restore();
      await eventually(async () => expect(await applied()).toBe(messages.length), { timeoutMs: 60_000 });
      const counts = await eventCounts(ids);
      expect(ids.map((id) => counts.get(id))).toEqual(ids.map(() => 2));
      expect(await readAll(kafka, topics.ordersDlq)).toHaveLength(0);
    } finally {
      await consumers.stop();
      await proxiedPool.end();
      await proxy.close();
    }
  }, 120_000);
});

/** kafkajs sockets that a test can cut and restore: a network partition between ingest and the broker. */
function partitionableKafka(brokers: string[]) {
  let down = false;
  const sockets = new Set<Socket>();
  const kafka = createKafkaClient({
    clientId: 'outage-test',
    brokers,
    logger: silentLog,
    overrides: {
      connectionTimeout: 500,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
      socketFactory: ({ host, port, onConnect }) => {
        const socket = connect({ host, port }, onConnect);
        socket.setKeepAlive(true, 60_000);
        if (down) setImmediate(() => socket.destroy(new Error('network partition (test)')));
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        return socket;
      },
    },
  });
  return {
    kafka,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy(new Error('network partition (test)'));
    },
    restore() {
      down = false;
    },
  };
}

describeWith(['postgres', 'kafka'], 'kafka pipeline: broker outage', () => {
  it('answers 503 while the broker is unreachable and loses nothing it acknowledged', async () => {
    const { topics, groups } = await setup('outage');
    const network = partitionableKafka(kafkaBrokers());
    const ingest = await startKafkaIngest({ kafka: network.kafka, topics, publishTimeoutMs: 2000 });
    const consumers = consumersFor({ pool: db.pool, kafka: testKafka(kafkaBrokers()), topics, groups });
    const accepted: string[] = [];
    const send = async () => {
      const body = orderWebhook();
      const answer = await post(`${ingest.url}/webhooks/payments/orders`, body);
      if (answer.status === 202) accepted.push(body.order_id);
      return answer;
    };
    try {
      for (let i = 0; i < 5; i++) expect((await send()).status).toBe(202);

      network.cut();
      const during = await send();
      expect(during.status).toBe(503);
      expect(during.headers.get('retry-after')).toBeTruthy();
      // The broker's words stay in ingest's log: the provider learns only to retry (docs/api.md#errors).
      expect(during.json).toEqual(serverErrorBody('unavailable'));
      expect(JSON.stringify(during.json)).not.toMatch(DEPENDENCY_TEXT);

      network.restore();
      await eventually(async () => expect((await send()).status).toBe(202), { timeoutMs: 20_000, intervalMs: 200 });
      for (let i = 0; i < 5; i++) expect((await send()).status).toBe(202);

      await eventually(
        async () => {
          const counts = await eventCounts(accepted);
          expect(accepted.filter((id) => counts.get(id) !== 1).map((id) => `${id}: ${counts.get(id) ?? 0}`)).toEqual(
            [],
          );
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await ingest.close();
      await consumers.stop();
    }
  }, 60_000);
});

describeWith(['postgres', 'kafka'], 'kafka pipeline: graceful shutdown', () => {
  it('commits everything it applied before leaving the group, so a successor redelivers nothing', async () => {
    const { topics, groups } = await setup('graceful');
    const kafka = testKafka(kafkaBrokers());
    const orders = Array.from({ length: 40 }, () => orderWebhook());
    await produceRaw(
      kafka,
      topics.orders,
      orders.map((body) => ({ key: body.user_id, value: envelopeOf(body) })),
    );
    const ids = orders.map((o) => o.order_id);
    const consumers = consumersFor({ pool: db.pool, kafka, topics, groups });
    try {
      await eventually(async () => expect((await eventCounts(ids)).size).toBe(orders.length), { timeoutMs: 20_000 });
    } finally {
      await consumers.stop();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(topics.orders),
        admin.fetchOffsets({ groupId: groups.orders, topics: [topics.orders] }),
      ]);
      const committedByPartition = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
      const withData = ends.filter((e) => e.high !== '0');
      expect(withData.length).toBeGreaterThan(0);
      expect(withData.map((e) => committedByPartition.get(e.partition))).toEqual(withData.map((e) => e.high));
    } finally {
      await admin.disconnect();
    }
  }, 60_000);
});

describeWith(['postgres', 'kafka'], 'kafka pipeline: consumer restart (docs/kafka.md#dead-letters)', () => {
  it('keeps restarting a consumer that cannot reach the broker and processes once the network is back', async () => {
    const { topics, groups } = await setup('restart');
    const order = orderWebhook();
    await produceRaw(testKafka(kafkaBrokers()), topics.orders, [{ key: order.user_id, value: envelopeOf(order) }]);
    const network = partitionableKafka(kafkaBrokers());
    const restarts: string[] = [];
    const logger = {
      ...silentLog,
      error: (_: object, message: string) => {
        if (message.includes('restarting with backoff')) restarts.push(message);
      },
    };
    network.cut();
    const consumers = consumersFor({ pool: db.pool, kafka: network.kafka, topics, groups, logger });
    try {
      await eventually(() => expect(restarts.length).toBeGreaterThanOrEqual(2), { timeoutMs: 20_000 });
      expect(await orderStatus(order.order_id)).toBeUndefined();
      // Readiness says so: the consumer has never been in its group (a starting pod stays out of the Service).
      await expect(consumers.progressCheck(1000).check()).rejects.toThrow(/orders: not yet in its group \(starting\)/);
      network.restore();
      await eventually(async () => expect(await orderStatus(order.order_id)).toBe('created'), { timeoutMs: 40_000 });
      await eventually(() => consumers.progressCheck(1000).check(), { timeoutMs: 10_000 });
    } finally {
      await consumers.stop();
    }
  }, 60_000);
});
