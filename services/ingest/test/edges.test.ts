/**
 * Ingest at its edges (issue 21, "bounded and quiet"): 5xx answers without the broker's words, bodies parsed with
 * prototype-poisoning protection, a rate limit per source address, and exactly the documented open routes — against
 * the run's real broker (and a closed port for an unreachable one).
 */
import { Writable } from 'node:stream';
import { documentedPublicPaths } from '@payment-manager/testkit/docs';
import { DEPENDENCY_TEXT, errorBody, serverErrorBody } from '@payment-manager/testkit/errors';
import { idempotentProducerSupported, kafkaBrokers, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { describeWith } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import type { FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { buildIngestApp, PUBLIC_PATHS } from '../src/app.ts';
import { createKafkaPublisher, type WebhookPublisher } from '../src/kafka/publisher.ts';
import { WEBHOOK_PATHS } from '../src/routes/webhooks.ts';
import { post, testKafka } from './support/pipeline.ts';

interface Started {
  url: string;
  app: FastifyInstance;
  logs: Array<Record<string, unknown>>;
}

const running: Array<{ app: FastifyInstance; publisher: WebhookPublisher }> = [];
afterEach(async () => {
  for (const { app, publisher } of running.splice(0)) {
    await app.close();
    await publisher.close();
  }
});

/** Ingest in kafka mode on a real port, its JSON log lines collected. */
async function startIngest(opts: {
  brokers: string[];
  topics: { ordersTopic: string; disputesTopic: string };
  rateLimit?: { max: number; windowMs: number };
  trustProxy?: string[];
}): Promise<Started> {
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const kafka = testKafka(opts.brokers, { connectionTimeout: 300, retry: { retries: 1, initialRetryTime: 50 } });
  const publisher = createKafkaPublisher(kafka, { idempotent: idempotentProducerSupported(), publishTimeoutMs: 3000 });
  const app = await buildIngestApp({
    config: {
      webhookMode: 'kafka',
      bodyLimitBytes: 1_048_576,
      logLevel: 'info',
      kafka: opts.topics,
      ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
      ...(opts.trustProxy ? { trustProxy: opts.trustProxy } : {}),
    },
    publisher,
    signatureVerifier: null,
    logger: { level: 'info', stream },
  });
  running.push({ app, publisher });
  return { url: await app.listen({ port: 0, host: '127.0.0.1' }), app, logs };
}

const topicsOf = (names: ReturnType<typeof uniqueTopicNames>) => ({
  ordersTopic: names.orders,
  disputesTopic: names.disputes,
});

describeWith(['kafka'], 'ingest: 5xx answers carry no dependency text', () => {
  it('broker on a closed port → 503 with Retry-After, a generic message and the request id; the log has the rest', async () => {
    const ingest = await startIngest({ brokers: ['127.0.0.1:9'], topics: topicsOf(uniqueTopicNames('closed')) });
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, orderWebhook());
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(answer.json).toEqual(serverErrorBody('unavailable'));
    expect(JSON.stringify(answer.json)).not.toMatch(DEPENDENCY_TEXT);
    // The request id of the answer finds the broker's own words in the log.
    const logged = ingest.logs.filter((entry) => entry.reqId === answer.json.request_id);
    expect(JSON.stringify(logged)).toMatch(/127\.0\.0\.1:9|ECONNREFUSED|Connection|broker/i);
  });

  it('a permanent broker refusal (message larger than the topic allows) → 500 without the broker error', async () => {
    const names = uniqueTopicNames('tiny');
    const admin = testKafka(kafkaBrokers()).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [names.orders, names.disputes].map((topic) => ({
          topic,
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: '200' }],
        })),
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    const ingest = await startIngest({ brokers: kafkaBrokers(), topics: topicsOf(names) });
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, orderWebhook());
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual(serverErrorBody('internal'));
    expect(JSON.stringify(answer.json)).not.toMatch(DEPENDENCY_TEXT);
    expect(JSON.stringify(answer.json)).not.toMatch(/larger|too large|TOO_LARGE/i);
    const logged = ingest.logs.filter((entry) => entry.reqId === answer.json.request_id);
    expect(JSON.stringify(logged)).toMatch(/larger|too large|TOO_LARGE/i);
  });
});

describeWith(['kafka'], 'ingest: request edges', () => {
  const topics = () => topicsOf(uniqueTopicNames('edges'));

  it.each([
    ['__proto__', '{"provider_event_id":"p","__proto__":{"polluted":true}}'],
    ['constructor.prototype', '{"provider_event_id":"p","constructor":{"prototype":{"polluted":true}}}'],
  ])('a body with %s → 400 in the error model, nothing published', async (_name, raw) => {
    const ingest = await startIngest({ brokers: ['127.0.0.1:9'], topics: topics() });
    const answer = await post(`${ingest.url}/webhooks/payments/orders`, raw);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(errorBody('bad_request', /forbidden "__proto__" or "constructor.prototype" key/));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('over the limit a source gets 429 with Retry-After; another source is unaffected; probes never limited', async () => {
    // A closed broker: the limit answers before anything is published, so each counted request is a quick 503.
    const ingest = await startIngest({
      brokers: ['127.0.0.1:9'],
      topics: topics(),
      rateLimit: { max: 3, windowMs: 60_000 },
    });
    const send = (from: string) =>
      ingest.app.inject({
        method: 'POST',
        url: '/webhooks/payments/orders',
        payload: '{}',
        remoteAddress: from,
      });
    for (let i = 0; i < 3; i++) expect((await send('192.0.2.10')).statusCode).toBe(400);
    const limited = await send('192.0.2.10');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toEqual(errorBody('rate_limited', /^rate limit exceeded: at most 3 requests per 1 min/));
    expect((await send('192.0.2.11')).statusCode).toBe(400);
    for (const url of ['/health', '/health/live', '/metrics']) {
      for (let i = 0; i < 5; i++) {
        const probe = await ingest.app.inject({ method: 'GET', url, remoteAddress: '192.0.2.10' });
        expect(probe.statusCode, url).toBe(200);
      }
    }
  });

  it('behind a TRUST_PROXY gateway the source is the X-Forwarded-For client; from anywhere else the header is ignored', async () => {
    const ingest = await startIngest({
      brokers: ['127.0.0.1:9'],
      topics: topics(),
      rateLimit: { max: 2, windowMs: 60_000 },
      trustProxy: ['10.0.0.0/8'],
    });
    const send = (remoteAddress: string, client: string) =>
      ingest.app.inject({
        method: 'POST',
        url: '/webhooks/payments/orders',
        payload: '{}',
        remoteAddress,
        headers: { 'x-forwarded-for': client },
      });
    expect((await send('10.1.2.3', '198.51.100.1')).statusCode).toBe(400);
    expect((await send('10.1.2.4', '198.51.100.1')).statusCode).toBe(400);
    expect((await send('10.1.2.3', '198.51.100.1')).statusCode).toBe(429);
    // Another sender through the same gateway has its own count.
    expect((await send('10.1.2.3', '198.51.100.2')).statusCode).toBe(400);
    // Not from the gateway: the header is the client's own claim and changes nothing.
    expect((await send('192.0.2.50', '198.51.100.7')).statusCode).toBe(400);
    expect((await send('192.0.2.50', '198.51.100.8')).statusCode).toBe(400);
    expect((await send('192.0.2.50', '198.51.100.9')).statusCode).toBe(429);
  });

  it('RATE_LIMIT_MAX=0 turns the limit off', async () => {
    const ingest = await startIngest({
      brokers: ['127.0.0.1:9'],
      topics: topics(),
      rateLimit: { max: 0, windowMs: 1000 },
    });
    for (let i = 0; i < 20; i++) {
      const answer = await ingest.app.inject({ method: 'POST', url: '/webhooks/payments/orders', payload: '{}' });
      expect(answer.statusCode).toBe(400);
      expect(answer.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('its open routes are exactly PUBLIC_PATHS plus the signed webhooks, as docs/api.md#authentication lists them', async () => {
    const ingest = await startIngest({ brokers: ['127.0.0.1:9'], topics: topics() });
    // Any other route would have stopped buildIngestApp (requireGuardOnEveryRoute); these all exist.
    for (const url of PUBLIC_PATHS) expect(ingest.app.hasRoute({ method: 'GET', url }), url).toBe(true);
    for (const url of WEBHOOK_PATHS) expect(ingest.app.hasRoute({ method: 'POST', url }), url).toBe(true);
    expect(documentedPublicPaths('Ingest')).toEqual([...PUBLIC_PATHS].sort());
  });
});
