/** Ingest in kafka mode against the run's real broker: envelope, key, headers, status codes, signatures. */
import { randomUUID } from 'node:crypto';
import { errorBody, serverErrorBody, validationBody } from '@payment-manager/testkit/errors';
import { createTopics, kafkaBrokers, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { describeWith } from '@payment-manager/testkit/services';
import { type OrderWebhookBody, orderWebhook, unstorableWebhooks } from '@payment-manager/testkit/webhooks';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post, type RunningIngest, readAll, startKafkaIngest, testKafka } from './support/pipeline.ts';

// Upper-case user ids: ingest must lower-case them in the key and the payload.
const orderBody = (overrides: Partial<OrderWebhookBody> = {}) =>
  orderWebhook({ user_id: randomUUID().toUpperCase(), ...overrides });

const OLD_SECRET = `whsec_${Buffer.from('old-secret-0123456789abcdef').toString('base64')}`;
const NEW_SECRET = `whsec_${Buffer.from('new-secret-0123456789abcdef').toString('base64')}`;
const WRONG_SECRET = `whsec_${Buffer.from('not-our-secret-0123456789ab').toString('base64')}`;

function signed(secret: string, body: string, opts: { id?: string; at?: Date } = {}): Record<string, string> {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const at = opts.at ?? new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

describeWith(['kafka'], 'ingest kafka mode', () => {
  const topics = uniqueTopicNames('ingest');
  let ingest: RunningIngest;
  const kafka = () => testKafka(kafkaBrokers());

  beforeAll(async () => {
    await createTopics(topics);
    ingest = await startKafkaIngest({ kafka: kafka(), topics, bodyLimitBytes: 4096 });
  });
  afterAll(async () => {
    await ingest?.close();
  });

  it.each(unstorableWebhooks())(
    '400 for what the API could not store, before acknowledging: $name',
    async ({ kind, body }) => {
      const answer = await post(`${ingest.url}/webhooks/payments/${kind === 'order' ? 'orders' : 'chargebacks'}`, body);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(validationBody(/^invalid request: body\./));
    },
  );

  it('publishes the docs/kafka.md#message-envelope envelope keyed by user_id and answers 202 after the ack', async () => {
    const order = orderBody();
    const chargeback = {
      provider_event_id: 'cb-1',
      order_id: order.order_id,
      status: 'updated',
      occurred_at: '2025-03-05T08:00:00Z',
    };
    expect((await post(`${ingest.url}/webhooks/payments/orders`, order)).status).toBe(202);
    expect((await post(`${ingest.url}/webhooks/payments/chargebacks`, chargeback)).status).toBe(202);

    const [orderRecord] = await readAll(kafka(), topics.orders);
    const envelope = JSON.parse(orderRecord?.value ?? '');
    expect(orderRecord?.key).toBe(order.user_id.toLowerCase());
    expect(envelope).toMatchObject({ key: order.user_id.toLowerCase(), type: 'order.webhook' });
    expect(envelope.payload).toEqual({ ...order, user_id: order.user_id.toLowerCase() });
    expect(envelope.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(envelope.timestamp)).not.toBeNaN();

    const [disputeRecord] = await readAll(kafka(), topics.disputes);
    // No user_id on the chargeback: the order id is the key (docs/kafka.md#keys-and-partitioning).
    expect(disputeRecord?.key).toBe(order.order_id);
    expect(JSON.parse(disputeRecord?.value ?? '').type).toBe('dispute.webhook');
  });

  it('rejects malformed JSON and schema violations with 400, oversize bodies with 413, all in the one error shape', async () => {
    const bad = await post(`${ingest.url}/webhooks/payments/orders`, '{"provider_event_id":');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual(errorBody('bad_request', /^body is not valid JSON: /));
    const invalid = await post(`${ingest.url}/webhooks/payments/chargebacks`, {
      provider_event_id: 'x',
      order_id: 'y',
      status: 'opened',
      occurred_at: '2025-03-05T08:00:00Z',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toEqual(
      validationBody('invalid request: body.amount is required; body.currency is required', 'amount', 'currency'),
    );
    const huge = await post(`${ingest.url}/webhooks/payments/orders`, orderBody({ meta: { pad: 'x'.repeat(5000) } }));
    expect(huge.status).toBe(413);
    expect(huge.json).toEqual(errorBody('payload_too_large', expect.any(String)));
  });

  it('serves GET /health', async () => {
    const response = await fetch(`${ingest.url}/health`);
    expect(await response.json()).toEqual({ service: 'ingest', status: 'ok' });
  });

  it('batches concurrent requests and acknowledges every one of them', async () => {
    const own = uniqueTopicNames('ingest-burst');
    await createTopics(own);
    const burst = await startKafkaIngest({ kafka: kafka(), topics: own });
    try {
      const bodies = Array.from({ length: 200 }, () => orderBody());
      const answers = await Promise.all(bodies.map((body) => post(`${burst.url}/webhooks/payments/orders`, body)));
      expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 202));
      const records = await readAll(kafka(), own.orders);
      expect(records.map((r) => JSON.parse(r.value ?? '').payload.provider_event_id).sort()).toEqual(
        bodies.map((b) => b.provider_event_id).sort(),
      );
    } finally {
      await burst.close();
    }
  });
});

describeWith(['kafka'], 'ingest kafka mode: broker unreachable', () => {
  it('answers 503 with Retry-After and a generic message, never 202', async () => {
    const deadBroker = testKafka(['127.0.0.1:9'], {
      connectionTimeout: 300,
      retry: { retries: 1, initialRetryTime: 50 },
    });
    const ingest = await startKafkaIngest({
      kafka: deadBroker,
      topics: uniqueTopicNames('dead'),
      publishTimeoutMs: 3000,
    });
    try {
      const answer = await post(`${ingest.url}/webhooks/payments/orders`, orderBody());
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(answer.json).toEqual(serverErrorBody('unavailable'));
      expect(answer.json.message).toBe('a dependency is unavailable right now; retry later');
    } finally {
      await ingest.close();
    }
  });
});

describeWith(['kafka'], 'ingest kafka mode: Standard Webhooks signatures', () => {
  const topics = uniqueTopicNames('signed');
  let ingest: RunningIngest;
  const url = () => `${ingest.url}/webhooks/payments/orders`;

  beforeAll(async () => {
    await createTopics(topics);
    // Two secrets at once: the rotation window.
    ingest = await startKafkaIngest({
      kafka: testKafka(kafkaBrokers()),
      topics,
      webhookSecret: `${OLD_SECRET}, ${NEW_SECRET}`,
    });
  });
  afterAll(async () => {
    await ingest?.close();
  });

  it('accepts valid signatures under either active secret and publishes only what was authentic', async () => {
    const accepted: string[] = [];
    for (const secret of [OLD_SECRET, NEW_SECRET]) {
      const body = orderBody();
      const raw = JSON.stringify(body);
      expect((await post(url(), raw, signed(secret, raw))).status).toBe(202);
      accepted.push(body.provider_event_id);
    }

    const rejected: Array<[string, Record<string, string>, string]> = [];
    const tamperedBody = JSON.stringify(orderBody());
    rejected.push(['tampered body', signed(NEW_SECRET, tamperedBody), tamperedBody.replace('42.00', '4200.00')]);
    const wrong = JSON.stringify(orderBody());
    rejected.push(['wrong secret', signed(WRONG_SECRET, wrong), wrong]);
    const stale = JSON.stringify(orderBody());
    rejected.push(['stale timestamp', signed(NEW_SECRET, stale, { at: new Date(Date.now() - 6 * 60_000) }), stale]);
    const unsigned = JSON.stringify(orderBody());
    rejected.push(['no headers', {}, unsigned]);
    for (const [what, headers, raw] of rejected) {
      const answer = await post(url(), raw, headers);
      expect(answer.status, what).toBe(401);
      expect(answer.json, what).toEqual(errorBody('unauthorized', /signature/));
    }

    const published = await readAll(testKafka(kafkaBrokers()), topics.orders);
    expect(published.map((r) => JSON.parse(r.value ?? '').payload.provider_event_id).sort()).toEqual(accepted.sort());
  });

  it('authenticates before judging the body: malformed JSON is 401 unsigned, 400 once signed', async () => {
    const raw = '{"provider_event_id": "x",';
    const unsigned = await post(url(), raw, {});
    expect(unsigned.status).toBe(401);
    expect(unsigned.json).toEqual(errorBody('unauthorized', /signature/));
    const signedMalformed = await post(url(), raw, signed(NEW_SECRET, raw));
    expect(signedMalformed.status).toBe(400);
    expect(signedMalformed.json).toEqual(errorBody('bad_request', /not valid JSON/));
  });

  it('never refuses a retry of a delivery, on any replica, even while the first is in flight', async () => {
    const body = orderBody();
    const raw = JSON.stringify(body);
    const headers = signed(NEW_SECRET, raw);
    const secondReplica = await startKafkaIngest({
      kafka: testKafka(kafkaBrokers()),
      topics,
      webhookSecret: NEW_SECRET,
    });
    try {
      // Concurrent copies (one in flight while the others arrive) and a later retry on another replica.
      const answers = await Promise.all([post(url(), raw, headers), post(url(), raw, headers)]);
      answers.push(await post(`${secondReplica.url}/webhooks/payments/orders`, raw, headers));
      expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202]);
      // Each copy carries the same provider_event_id, which the API stores once (docs/domain.md).
      const copies = (await readAll(testKafka(kafkaBrokers()), topics.orders)).filter(
        (record) => JSON.parse(record.value ?? '').payload.provider_event_id === body.provider_event_id,
      );
      expect(copies).toHaveLength(3);
    } finally {
      await secondReplica.close();
    }
  });
});
