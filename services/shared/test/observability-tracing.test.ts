/**
 * Spans of a real HTTP request through fastify and a real pg query, recorded by an in-memory exporter with
 * the same SDK set-up and module hooks as the `--import` entry. fastify and pg are imported only after the
 * SDK started, as in production: ESM instrumentation cannot patch modules that are already loaded.
 */
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../../testkit/src/poll.ts';
import { describeWith, requirePostgres } from '../../testkit/src/services.ts';
import { registerModuleHooks } from '../src/observability/module-hooks.ts';
import { shutdownTelemetry, startTelemetry } from '../src/observability/telemetry.ts';

const exporter = new InMemorySpanExporter();
const hooksAcknowledged = registerModuleHooks();
startTelemetry({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
await hooksAcknowledged();

const { default: Fastify } = await import('fastify');
const { default: pg } = await import('pg');
const { withSpan } = await import('../src/observability/spans.ts');

function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Walks from `span` up to the root through the recorded spans, returning the names on the way. */
function ancestry(span: ReadableSpan, spans: ReadableSpan[]): string[] {
  const byId = new Map(spans.map((candidate) => [candidate.spanContext().spanId, candidate]));
  const names: string[] = [];
  let current: ReadableSpan | undefined = span;
  while (current) {
    names.push(current.name);
    const parent: string | undefined = parentId(current);
    current = parent ? byId.get(parent) : undefined;
  }
  return names;
}

describeWith(['postgres'], 'tracing: fastify request + pg query', () => {
  let pool: InstanceType<typeof pg.Pool>;
  let app: FastifyInstance;
  let baseUrl: string;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: requirePostgres().adminUrl, max: 2 });
    app = Fastify();
    app.get<{ Params: { id: string } }>('/orders/:id', async (request) => {
      return withSpan('order.webhook.apply', { order_id: request.params.id, user_id: 'u-1' }, async (span) => {
        const { rows } = await pool.query('SELECT $1::text AS order_id', [request.params.id]);
        span.setAttribute('outcome', 'processed');
        return rows[0];
      });
    });
    app.get('/health/live', async () => ({ status: 'up' }));
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await shutdownTelemetry();
  });

  it('puts the server span, the fastify spans, the domain span and the pg span in one trace with parent links', async () => {
    exporter.reset();
    const response = await fetch(`${baseUrl}/orders/o-42`, { headers: { 'x-test': 'trace' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ order_id: 'o-42' });

    const spans = await eventually(() => {
      const finished = exporter.getFinishedSpans();
      expect(finished.some((span) => span.kind === SpanKind.SERVER)).toBe(true);
      return finished;
    });
    const server = spans.find((span) => span.kind === SpanKind.SERVER);
    const domain = spans.find((span) => span.name === 'order.webhook.apply');
    const query = spans.find((span) => span.name.startsWith('pg.query'));
    const fastifyRequest = spans.find(
      (span) => span.instrumentationScope.name === '@fastify/otel' && span.name === 'request',
    );
    expect(server?.name).toBe('GET /orders/:id');
    expect(fastifyRequest).toBeDefined();
    expect(domain).toBeDefined();
    expect(query).toBeDefined();
    if (!server || !domain || !query || !fastifyRequest) return;

    const traceIds = new Set([server, domain, query, fastifyRequest].map((span) => span.spanContext().traceId));
    expect(traceIds.size).toBe(1);
    expect(parentId(fastifyRequest)).toBe(server.spanContext().spanId);
    expect(parentId(query)).toBe(domain.spanContext().spanId);
    expect(ancestry(domain, spans)).toContain(server.name);
    expect(domain.attributes).toMatchObject({ order_id: 'o-42', user_id: 'u-1', outcome: 'processed' });
    expect(query.attributes['db.system.name'] ?? query.attributes['db.system']).toBe('postgresql');
    expect(String(query.attributes['db.query.text'] ?? query.attributes['db.statement'])).toContain('SELECT $1::text');
  });

  it('records the error on the domain span and rethrows it', async () => {
    exporter.reset();
    const failure = new Error('boom');
    await expect(
      withSpan('dispute.webhook.apply', { dispute_id: 'd-1', skipped: undefined }, async () => Promise.reject(failure)),
    ).rejects.toBe(failure);
    const [span] = exporter.getFinishedSpans();
    expect(span?.name).toBe('dispute.webhook.apply');
    expect(span?.status.code).toBe(2);
    expect(span?.attributes).toEqual({ dispute_id: 'd-1' });
    expect(span?.events.map((event) => event.name)).toContain('exception');
  });

  it('does not trace probes', async () => {
    exporter.reset();
    const response = await fetch(`${baseUrl}/health/live`);
    expect(response.status).toBe(200);
    // The client span of fetch itself is the only one; a server span would have arrived together with it.
    await eventually(() =>
      expect(exporter.getFinishedSpans().some((span) => span.kind === SpanKind.CLIENT)).toBe(true),
    );
    expect(exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER)).toEqual([]);
  });
});
