import { type Attributes, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@payment-manager/domain');

export type SpanAttributes = Record<string, string | number | boolean | null | undefined>;

function definedAttributes(attributes: SpanAttributes): Attributes {
  const result: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) result[key] = value;
  }
  return result;
}

/**
 * Runs `fn` inside a child span of the active context named for the domain step (e.g. `order.webhook.apply`),
 * so the pg spans of the work nest under it. A thrown error is recorded and the span marked failed; the
 * error is rethrown unchanged. `fn` receives the span to add attributes learnt on the way (e.g. `outcome`).
 */
export async function withSpan<T>(
  name: string,
  attributes: SpanAttributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes: definedAttributes(attributes) }, (span) => runInSpan(span, fn));
}

/** Runs `fn`, records its failure on the span, and always ends the span. */
async function runInSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await fn(span);
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** Sets attributes on the active span (no-op when none), e.g. the outcome of a webhook on the request span. */
export function setActiveSpanAttributes(attributes: SpanAttributes): void {
  trace.getActiveSpan()?.setAttributes(definedAttributes(attributes));
}

/** The ids of the active span, or undefined outside any traced work. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** Writes the active trace context (W3C traceparent/tracestate) into `carrier`, e.g. outgoing headers. */
export function injectTraceContext<T extends Record<string, unknown>>(carrier: T): T {
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * Runs `fn` with the trace context found in `carrier` (HTTP or Kafka headers) as parent: the API consumers
 * continue each message's trace with it (Kafka is traced by hand, see withProducerSpan).
 */
export function withExtractedContext<T>(carrier: Record<string, unknown>, fn: () => T): T {
  const getter = {
    keys: (c: Record<string, unknown>) => Object.keys(c),
    get: (c: Record<string, unknown>, key: string) => {
      const value = c[key];
      if (value === undefined || value === null) return undefined;
      if (Array.isArray(value)) return value.map(String);
      return String(value);
    },
  };
  return context.with(propagation.extract(context.active(), carrier, getter), fn);
}

/**
 * Publishes one message in a PRODUCER span `send <topic>` (child of the active span, e.g. the ingest
 * request) and hands `send` the headers carrying that span's W3C context. Kafka is traced by hand, on both
 * sides, and only so: the kafkajs auto-instrumentation stays off (telemetry.ts), because it would parent every
 * message of a producer batch to whichever request started it and begin a new trace per consumer batch.
 */
export async function withProducerSpan<T>(
  topic: string,
  attributes: SpanAttributes,
  send: (headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  const spanAttributes = definedAttributes({
    'messaging.system': 'kafka',
    'messaging.destination.name': topic,
    'messaging.operation.type': 'send',
    ...attributes,
  });
  return tracer.startActiveSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes: spanAttributes }, (span) =>
    runInSpan(span, () => {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      return send(headers);
    }),
  );
}
