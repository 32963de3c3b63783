/**
 * One webhook = one trace, across every hop, with the SDK set-up and module hooks of the `--import` entry
 * and an in-memory exporter: provider HTTP → ingest → Kafka (real broker) → API consumer → domain span →
 * SQL, and provider HTTP → ingest → API internal endpoint → domain span → SQL in http mode. The applications
 * are imported only after the SDK started, as in production.
 */
import { createRequire } from 'node:module';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { registerModuleHooks } from '@payment-manager/shared/observability/module-hooks';
import { shutdownTelemetry, startTelemetry } from '@payment-manager/shared/observability/telemetry';
import {
  createTopics,
  idempotentProducerSupported,
  kafkaBrokers,
  uniqueGroupId,
  uniqueTopicNames,
} from '@payment-manager/testkit/kafka';
import { eventually } from '@payment-manager/testkit/poll';
import { describeWith } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import { afterAll, expect, it } from 'vitest';

const exporter = new InMemorySpanExporter();
const hooksAcknowledged = registerModuleHooks();
startTelemetry({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
await hooksAcknowledged();
// vitest hands resolved file paths to Node's loader, which the ESM hook cannot map to a package name; a plain
// require by name lets require-in-the-middle patch kafkajs, were it instrumented: it must not be (production
// default), or its spans would show up below.
createRequire(import.meta.url)('kafkajs');

const pipeline = await import('./support/pipeline.ts');
const { createTestDatabase } = await import('@payment-manager/testkit/postgres');
const observability = await import('@payment-manager/shared/observability');
const { createKafkaPublisher } = await import('../src/kafka/publisher.ts');

afterAll(async () => {
  await shutdownTelemetry();
});

function spanId(span: ReadableSpan): string {
  return span.spanContext().spanId;
}

/** The spans of the trace that contains the domain span of `orderId`, once that span has ended. */
async function traceOfOrder(orderId: string): Promise<{ domain: ReadableSpan; spans: ReadableSpan[] }> {
  return eventually(
    () => {
      const domain = exporter
        .getFinishedSpans()
        .find((span) => span.name === 'order.webhook.apply' && span.attributes.order_id === orderId);
      expect(domain, `no finished order.webhook.apply span for ${orderId}`).toBeDefined();
      const traceId = (domain as ReadableSpan).spanContext().traceId;
      return {
        domain: domain as ReadableSpan,
        spans: exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId),
      };
    },
    { timeoutMs: 20_000 },
  );
}

/** Names from `span` up to the root, each step following the recorded parent id. */
function pathToRoot(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(spans.map((candidate) => [spanId(candidate), candidate]));
  const path: ReadableSpan[] = [];
  let current: ReadableSpan | undefined = span;
  while (current) {
    path.push(current);
    const parent: string | undefined = current.parentSpanContext?.spanId;
    current = parent ? byId.get(parent) : undefined;
  }
  return path;
}

/**
 * The domain span under which `domain`'s transaction recorded its SQL: itself, or — when its webhook was applied in
 * one transaction with others of its Kafka batch — the first one's, which its `webhook.batch.sql` link points to.
 */
function sqlCarrier(domain: ReadableSpan): { domain: ReadableSpan; spans: ReadableSpan[] } {
  const link = domain.links.find((candidate) => candidate.attributes?.['webhook.batch.sql'] === true);
  const finished = exporter.getFinishedSpans();
  const carrier = link ? finished.find((span) => spanId(span) === link.context.spanId) : domain;
  expect(carrier, 'the batch link points to a finished domain span').toBeDefined();
  expect(carrier?.name).toBe(domain.name);
  const traceId = (carrier as ReadableSpan).spanContext().traceId;
  return {
    domain: carrier as ReadableSpan,
    spans: finished.filter((span) => span.spanContext().traceId === traceId),
  };
}

function expectSqlUnder(domain: ReadableSpan, spans: ReadableSpan[]): void {
  const queries = spans.filter((span) => span.name.startsWith('pg.query'));
  expect(queries.length).toBeGreaterThanOrEqual(3);
  for (const query of queries) expect(pathToRoot(query, spans)).toContain(domain);
  expect(queries.some((query) => String(query.attributes['db.query.text'] ?? '').includes('INSERT'))).toBe(true);
}

describeWith(['postgres', 'kafka'], 'one trace per webhook: ingest → Kafka → API consumer → SQL', () => {
  it('links the ingest server span, the produce span, the consume span, the domain span and the pg spans', {
    timeout: 120_000,
  }, async () => {
    const database = await createTestDatabase();
    const kafka = pipeline.testKafka(kafkaBrokers());
    const topics = uniqueTopicNames('trace');
    await createTopics(topics);
    const groups = { orders: uniqueGroupId('trace-orders'), disputes: uniqueGroupId('trace-disputes') };
    const ingest = await pipeline.startKafkaIngest({ kafka, topics });
    const consumers = pipeline.consumersFor({ pool: database.pool, kafka, topics, groups });
    try {
      // Two webhooks in flight together share one producer batch; each must still keep its own trace.
      const [order, other] = [orderWebhook(), orderWebhook()];
      const answers = await Promise.all(
        [order, other].map((body) => pipeline.post(`${ingest.url}/webhooks/payments/orders`, body)),
      );
      expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
      await eventually(
        async () => {
          const { rows } = await database.pool.query('SELECT id FROM orders WHERE id = ANY($1) ORDER BY id', [
            [order.order_id, other.order_id],
          ]);
          expect(rows).toHaveLength(2);
        },
        { timeoutMs: 30_000 },
      );

      const { domain, spans } = await traceOfOrder(order.order_id);
      const otherTrace = await traceOfOrder(other.order_id);
      expect(otherTrace.domain.spanContext().traceId).not.toBe(domain.spanContext().traceId);
      const otherPath = pathToRoot(otherTrace.domain, otherTrace.spans);
      expect(otherPath.map((span) => span.kind)).toEqual(
        expect.arrayContaining([SpanKind.SERVER, SpanKind.PRODUCER, SpanKind.CONSUMER]),
      );
      expect(domain.attributes).toMatchObject({
        order_id: order.order_id,
        user_id: order.user_id,
        provider_event_id: order.provider_event_id,
        outcome: 'processed',
      });
      const path = pathToRoot(domain, spans);
      const kinds = path.map((span) => span.kind);
      const consume = path.find((span) => span.kind === SpanKind.CONSUMER);
      const produce = path.find((span) => span.kind === SpanKind.PRODUCER);
      const server = path.find((span) => span.kind === SpanKind.SERVER);
      expect(consume?.attributes['messaging.destination.name']).toBe(topics.orders);
      // The consumers' own span continues the producer's trace: Kafka is traced by hand only, never twice.
      expect(consume?.instrumentationScope.name).toBe('payment-manager-api-consumer');
      expect(consume?.name).toBe(`process ${topics.orders}`);
      expect(spans.some((span) => span.instrumentationScope.name === '@opentelemetry/instrumentation-kafkajs')).toBe(
        false,
      );
      expect(produce?.name).toBe(`send ${topics.orders}`);
      expect(server?.name).toBe('POST /webhooks/payments/orders');
      // Order from the domain span upwards: consumer, then producer, then the ingest request.
      expect(kinds.indexOf(SpanKind.CONSUMER)).toBeLessThan(kinds.indexOf(SpanKind.PRODUCER));
      expect(kinds.indexOf(SpanKind.PRODUCER)).toBeLessThan(kinds.indexOf(SpanKind.SERVER));
      expect(path.filter((span) => span.kind === SpanKind.CONSUMER)).toHaveLength(1);
      // The root of the trace is the provider's request (the test's fetch), nothing before it is missing.
      expect(path.at(-1)?.parentSpanContext).toBeUndefined();
      // Both webhooks' SQL, under their own domain span or — applied in one batch — under the first one's.
      for (const applied of [domain, otherTrace.domain]) {
        const carrier = sqlCarrier(applied);
        expectSqlUnder(carrier.domain, carrier.spans);
      }

      // The same traffic shows up in the pipeline metrics.
      const text = await observability.metricsRegistry.metrics();
      expect(text).toMatch(
        new RegExp(
          `dpm_kafka_messages_processed_total\\{topic="${topics.orders.replace(/\./g, '\\.')}",outcome="processed"\\} 2`,
        ),
      );
      expect(text).toMatch(/dpm_webhook_outcomes_total\{source="ingest",kind="order",outcome="accepted"\} [1-9]/);
      expect(text).toMatch(/dpm_webhook_outcomes_total\{source="kafka",kind="order",outcome="processed"\} [1-9]/);
      await eventually(async () => {
        const lag = await observability.metricsRegistry.getSingleMetricAsString('dpm_kafka_consumer_lag');
        expect(lag).toContain(`consumer_group="${groups.orders}",topic="${topics.orders}"`);
        const values = [...lag.matchAll(new RegExp(`consumer_group="${groups.orders}"[^}]*\\} (\\d+)`, 'g'))].map((m) =>
          Number(m[1]),
        );
        expect(values.length).toBeGreaterThan(0);
        expect(values.every((value) => value === 0)).toBe(true);
      });

      // A group that never consumed the topic lags by everything published to it.
      const unregister = observability.registerConsumerLagMetrics({
        groupId: uniqueGroupId('never-consumed'),
        topics: [topics.orders],
        admin: kafka.admin(),
      });
      try {
        const lag = await observability.metricsRegistry.getSingleMetricAsString('dpm_kafka_consumer_lag');
        const total = [...lag.matchAll(/consumer_group="test-never-consumed[^}]*\} (\d+)/g)].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
        expect(total).toBe(2);
      } finally {
        unregister();
      }
    } finally {
      await consumers.stop();
      await ingest.close();
      await database.drop();
    }
  });
});

describeWith(['kafka'], 'trace context of batched Kafka publishes', () => {
  it('keeps each message on the trace of the request that queued it when requests share one producer batch', async () => {
    const kafka = pipeline.testKafka(kafkaBrokers());
    const topic = uniqueTopicNames('batch').orders;
    await createTopics([topic]);
    const publisher = createKafkaPublisher(kafka, { idempotent: idempotentProducerSupported() });
    await publisher.connect();
    try {
      const tracer = trace.getTracer('observability-test');
      const requests = ['a', 'b', 'c'].map((name) => tracer.startSpan(`request ${name}`));
      // Queued in the same event-loop turn, so the publisher sends them in one sendBatch call.
      await Promise.all(
        requests.map((request, index) =>
          context.with(trace.setSpan(context.active(), request), () =>
            observability.withProducerSpan(topic, {}, (headers) =>
              publisher.publish({ topic, key: `key-${index}`, value: String(index), headers }),
            ),
          ),
        ),
      );
      for (const request of requests) request.end();
      const messages = await pipeline.readAll(kafka, topic);
      expect(messages).toHaveLength(3);
      for (const message of messages) {
        const [, traceId, parentSpanId] = message.headers.traceparent?.split('-') ?? [];
        const request = requests[Number(message.value)];
        expect(traceId).toBe(request?.spanContext().traceId);
        const producer = exporter.getFinishedSpans().find((span) => span.spanContext().spanId === parentSpanId);
        expect(producer?.kind).toBe(SpanKind.PRODUCER);
        expect(producer?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
      }
    } finally {
      await publisher.close();
    }
  });
});

describeWith(['kafka'], 'readiness check of the broker', () => {
  it('is up against the run broker and down, within the budget, against a port nobody listens on', async () => {
    const live = pipeline.testKafka(kafkaBrokers()).admin();
    const dead = pipeline.testKafka(['127.0.0.1:9'], { retry: { retries: 0 }, connectionTimeout: 500 }).admin();
    try {
      const report = await observability.runReadinessChecks(
        [observability.kafkaCheck(live), observability.kafkaCheck(dead, 'kafka-unreachable')],
        3_000,
      );
      expect(report.status).toBe('down');
      expect(report.checks[0]).toEqual({ name: 'kafka', status: 'up' });
      expect(report.checks[1]).toMatchObject({
        name: 'kafka-unreachable',
        status: 'down',
        message: expect.any(String),
      });
    } finally {
      await Promise.all([live.disconnect(), dead.disconnect()]);
    }
  });
});

describeWith(['postgres'], 'one trace per webhook: ingest → API internal endpoint → SQL (http mode)', () => {
  it('links the ingest server span, the forwarding client span, the API server span, the domain span and the pg spans', async () => {
    const database = await createTestDatabase();
    const api = await pipeline.startTestApi({ pool: database.pool, mode: 'http' });
    const ingest = await pipeline.startHttpIngest({ apiBaseUrl: api.url });
    try {
      const order = orderWebhook();
      expect((await pipeline.post(`${ingest.url}/webhooks/payments/orders`, order)).status).toBeLessThan(300);
      const { domain, spans } = await traceOfOrder(order.order_id);
      const path = pathToRoot(domain, spans);
      const names = path.map((span) => span.name);
      expect(names).toContain('POST /internal/updates/orders');
      expect(names).toContain('POST /webhooks/payments/orders');
      const apiServer = names.indexOf('POST /internal/updates/orders');
      const ingestServer = names.indexOf('POST /webhooks/payments/orders');
      expect(apiServer).toBeLessThan(ingestServer);
      // Between the two servers: the forwarding request of ingest (fetch → undici client span).
      expect(path.slice(apiServer + 1, ingestServer).some((span) => span.kind === SpanKind.CLIENT)).toBe(true);
      expectSqlUnder(domain, spans);
    } finally {
      await ingest.close();
      await api.close();
      await database.drop();
    }
  });
});
