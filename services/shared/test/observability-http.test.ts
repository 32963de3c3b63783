/**
 * The fastify side of observability on real sockets and a real Postgres: /metrics after traffic, readiness
 * following Postgres going away and coming back, and log lines carrying the trace id of their request
 * without secrets.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../testkit/src/poll.ts';
import { describeWith } from '../../testkit/src/services.ts';
import type { ReadinessReport } from '../src/observability/health.ts';
import { registerModuleHooks } from '../src/observability/module-hooks.ts';
import { shutdownTelemetry, startTelemetry } from '../src/observability/telemetry.ts';

const exporter = new InMemorySpanExporter();
const hooksAcknowledged = registerModuleHooks();
startTelemetry({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
await hooksAcknowledged();

const { default: Fastify } = await import('fastify');
const { default: pg } = await import('pg');
const observability = await import('../src/observability/index.ts');
const { createTestDatabase } = await import('../../testkit/src/postgres.ts');

afterAll(async () => {
  await shutdownTelemetry();
});

/** Parses the Prometheus text format into `name{labels}` → value, enough for assertions. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

function sample(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const [key, value] of samples) {
    const [metric, labelText = ''] = key.split('{', 2);
    if (metric !== name) continue;
    if (Object.entries(labels).every(([label, expected]) => labelText.includes(`${label}="${expected}"`))) return value;
  }
  return undefined;
}

/** A TCP proxy in front of Postgres that the test can cut and restore, to take the database away for real. */
function postgresProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  return {
    get port() {
      return port;
    },
    async start() {
      server = net.createServer((client) => {
        const upstream = net.connect(target);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      port = (server.address() as net.AddressInfo).port;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

describeWith(['postgres'], 'metrics, health and logs on a fastify app', () => {
  const logLines: string[] = [];
  const database = {} as Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: ReturnType<typeof postgresProxy>;
  let proxiedPool: InstanceType<typeof pg.Pool>;
  let app: FastifyInstance;
  let baseUrl: string;
  let unregisterPool: () => void;

  beforeAll(async () => {
    Object.assign(database, await createTestDatabase());
    const target = new URL(database.databaseUrl);
    proxy = postgresProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    const viaProxy = new URL(database.databaseUrl);
    viaProxy.port = String(proxy.port);
    proxiedPool = new pg.Pool({ connectionString: viaProxy.toString(), max: 2, connectionTimeoutMillis: 1_000 });
    proxiedPool.on('error', () => {});
    unregisterPool = observability.registerPoolMetrics(database.pool, 'primary');

    const stream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    app = Fastify({ logger: { ...observability.loggerOptions({ level: 'info', service: 'test-service' }), stream } });
    await app.register(observability.metricsPlugin);
    await app.register(observability.healthPlugin, {
      service: 'test-service',
      timeoutMs: 2_000,
      checks: [
        observability.postgresCheck(proxiedPool),
        observability.migrationsCheck(database.pool, () =>
          observability.migrationNames(new URL('../../../migrations', import.meta.url).pathname),
        ),
      ],
    });
    app.get<{ Params: { id: string } }>('/orders/:id', async (request) => {
      request.log.info({ order_id: request.params.id, password: 'hunter2' }, 'order read');
      const { rows } = await database.pool.query('SELECT $1::text AS id', [request.params.id]);
      return rows[0];
    });
    app.post('/webhooks/orders', async (request, reply) => {
      request.log.info({ headers: request.headers }, 'webhook received');
      return reply.code(202).send({ accepted: true });
    });
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    unregisterPool?.();
    await app?.close();
    await proxiedPool?.end();
    await proxy?.stop();
    await database.drop?.();
  });

  it('exposes the HTTP histogram per route template, without /metrics and /health', async () => {
    for (const id of ['a', 'b', 'c']) expect((await fetch(`${baseUrl}/orders/${id}`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/nope/1`)).status).toBe(404);
    expect((await fetch(`${baseUrl}/health/live`)).status).toBe(200);
    await fetch(`${baseUrl}/metrics`);

    const response = await fetch(`${baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const samples = parseExposition(await response.text());
    const route = { route: '/orders/:id', method: 'GET', status_code: '200' };
    expect(sample(samples, 'dpm_http_request_duration_seconds_count', route)).toBe(3);
    const sum = sample(samples, 'dpm_http_request_duration_seconds_sum', route) ?? -1;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(30);
    expect(sample(samples, 'dpm_http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(3);
    expect(sample(samples, 'dpm_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBe(
      1,
    );
    for (const excluded of ['/metrics', '/health/live']) {
      expect(sample(samples, 'dpm_http_request_duration_seconds_count', { route: excluded })).toBeUndefined();
    }
    expect(sample(samples, 'dpm_process_resident_memory_bytes') ?? 0).toBeGreaterThan(0);
  });

  it('exposes the pipeline series the services increment, and pool usage', async () => {
    const {
      webhookOutcomes,
      kafkaMessagesProcessed,
      kafkaMessageProcessingDuration,
      dlqPublishes,
      partitionMaintenanceRuns,
    } = observability;
    webhookOutcomes.inc({ source: 'ingest', kind: 'order', outcome: 'accepted' });
    webhookOutcomes.inc({ source: 'kafka', kind: 'order', outcome: 'processed' }, 2);
    kafkaMessagesProcessed.inc({ topic: 'webhooks.orders', outcome: 'processed' }, 2);
    kafkaMessageProcessingDuration.observe({ topic: 'webhooks.orders' }, 0.012);
    dlqPublishes.inc({ topic: 'webhooks.orders.dlq', reason: 'invalid' });
    partitionMaintenanceRuns.inc({ outcome: 'success' });

    const client = await database.pool.connect();
    try {
      const samples = parseExposition(await (await fetch(`${baseUrl}/metrics`)).text());
      expect(sample(samples, 'dpm_webhook_outcomes_total', { source: 'ingest', outcome: 'accepted' })).toBe(1);
      expect(
        sample(samples, 'dpm_webhook_outcomes_total', { source: 'kafka', kind: 'order', outcome: 'processed' }),
      ).toBe(2);
      expect(
        sample(samples, 'dpm_kafka_messages_processed_total', { topic: 'webhooks.orders', outcome: 'processed' }),
      ).toBe(2);
      expect(sample(samples, 'dpm_kafka_message_processing_duration_seconds_count', { topic: 'webhooks.orders' })).toBe(
        1,
      );
      expect(sample(samples, 'dpm_kafka_dlq_messages_total', { topic: 'webhooks.orders.dlq', reason: 'invalid' })).toBe(
        1,
      );
      expect(sample(samples, 'dpm_partition_maintenance_runs_total', { outcome: 'success' })).toBe(1);
      const total = sample(samples, 'dpm_pg_pool_connections', { pool: 'primary', state: 'total' }) ?? 0;
      const idle = sample(samples, 'dpm_pg_pool_connections', { pool: 'primary', state: 'idle' }) ?? -1;
      expect(total).toBeGreaterThanOrEqual(1);
      expect(idle).toBeGreaterThanOrEqual(0);
      expect(idle).toBeLessThan(total);
      expect(sample(samples, 'dpm_pg_pool_connections', { pool: 'primary', state: 'waiting' })).toBe(0);
    } finally {
      client.release();
    }
  });

  it('answers liveness, and readiness 503 while Postgres is unreachable and 200 once it is back', async () => {
    expect(await (await fetch(`${baseUrl}/health/live`)).json()).toEqual({ status: 'up' });

    const ready = await fetch(`${baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'up',
      checks: [
        { name: 'postgres', status: 'up' },
        { name: 'migrations', status: 'up' },
      ],
    });

    await proxy.stop();
    const down = await eventually(async () => {
      const response = await fetch(`${baseUrl}/health/ready`);
      expect(response.status).toBe(503);
      return (await response.json()) as ReadinessReport;
    });
    // States only in the answer; why the check is down (the driver's words) is in the log.
    expect(down).toEqual({
      status: 'down',
      checks: [
        { name: 'postgres', status: 'down' },
        { name: 'migrations', status: 'up' },
      ],
    });
    const notReady = logLines.map((line) => JSON.parse(line)).find((entry) => entry.message === 'not ready');
    expect(notReady?.checks).toEqual([{ name: 'postgres', status: 'down', message: expect.any(String) }]);

    await proxy.start();
    await eventually(async () => expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200));
  });

  it('reports missing migrations and a check that exceeds the budget', async () => {
    const report = await observability.runReadinessChecks(
      [
        observability.migrationsCheck(database.pool, ['20241230105648_create-orders', '99999999999999_not-shipped']),
        { name: 'slow', check: () => new Promise(() => {}) },
      ],
      200,
    );
    expect(report.status).toBe('down');
    expect(report.checks[0]).toMatchObject({
      name: 'migrations',
      status: 'down',
      message: expect.stringContaining('99999999999999_not-shipped'),
    });
    expect(report.checks[1]).toMatchObject({
      name: 'slow',
      status: 'down',
      message: expect.stringContaining('200 ms'),
    });
  });

  it('writes the trace id of the request into its log lines and never a signature or password', async () => {
    logLines.length = 0;
    exporter.reset();
    const signature = 'v1,c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ=';
    const response = await fetch(`${baseUrl}/webhooks/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_1',
        'webhook-timestamp': '1700000000',
        'webhook-signature': signature,
        authorization: 'Bearer top-secret-token',
      },
      body: JSON.stringify({ order_id: 'o-1', card_number: '4111111111111111' }),
    });
    expect(response.status).toBe(202);
    expect((await fetch(`${baseUrl}/orders/o-9`)).status).toBe(200);

    const serverSpans = await eventually(() => {
      const spans = exporter
        .getFinishedSpans()
        .filter((span) => span.name.startsWith('POST ') || span.name.startsWith('GET /orders'));
      expect(spans).toHaveLength(2);
      return spans;
    });
    await eventually(() => expect(logLines.filter((line) => line.includes('request completed'))).toHaveLength(2));
    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const webhookTrace = serverSpans.find((span) => span.name.startsWith('POST '))?.spanContext().traceId;
    const orderTrace = serverSpans.find((span) => span.name.startsWith('GET '))?.spanContext().traceId;
    const received = entries.find((entry) => entry.message === 'webhook received');
    const read = entries.find((entry) => entry.message === 'order read');
    expect(received).toMatchObject({
      service: 'test-service',
      level: 'info',
      trace_id: webhookTrace,
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(read).toMatchObject({ trace_id: orderTrace, order_id: 'o-9', password: '[REDACTED]' });
    expect(webhookTrace).not.toBe(orderTrace);
    for (const entry of entries.filter((e) => e.message === 'incoming request' || e.message === 'request completed')) {
      expect(entry.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect([webhookTrace, orderTrace]).toContain(entry.trace_id);
    }

    const everything = logLines.join('\n');
    expect(everything).not.toContain(signature);
    expect(everything).not.toContain('c2lnbmF0dXJl');
    expect(everything).not.toContain('top-secret-token');
    expect(everything).not.toContain('hunter2');
    expect(everything).not.toContain('4111111111111111');
    const loggedHeaders = (received?.headers ?? {}) as Record<string, unknown>;
    expect(loggedHeaders['webhook-signature']).toBe('[REDACTED]');
    expect(loggedHeaders.authorization).toBe('[REDACTED]');
    expect(loggedHeaders['webhook-id']).toBe('msg_1');
  });
});

describe('logger options without an active span', () => {
  it('omits trace fields instead of writing empty ones', async () => {
    const { default: pino } = await import('pino');
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    pino(observability.loggerOptions({ level: 'info', service: 'svc' }), stream).info({ secret: 's3cr3t' }, 'hello');
    const entry = JSON.parse(lines[0] ?? '{}');
    expect(entry).toMatchObject({ message: 'hello', service: 'svc', level: 'info', secret: '[REDACTED]' });
    expect(entry).not.toHaveProperty('trace_id');
    expect(Date.parse(entry.time)).not.toBeNaN();
  });
});
