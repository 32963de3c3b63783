import { FastifyOtelInstrumentation } from '@fastify/otel';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { isUntracedPath } from './paths.ts';

/**
 * Defaults applied only where the operator left the standard variable unset, so every OTEL_* variable still
 * wins. Without an OTLP endpoint nobody collects traces, so no exporter runs (and nothing retries against
 * localhost:4318 and logs failures). Metrics come from prom-client and logs go to stdout, so the SDK's own
 * OTLP metric/log pipelines stay off unless asked for.
 */
function applyEnvDefaults(env: NodeJS.ProcessEnv): void {
  const endpointConfigured = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= endpointConfigured ? 'otlp' : 'none';
  // fs, dns, net and the rest only add noise around the spans that matter. Kafka is traced by hand
  // (withProducerSpan, and the consumers' spans), so the kafkajs instrumentation stays off.
  env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ??= 'http,undici,pg,pino';
  env.OTEL_NODE_RESOURCE_DETECTORS ??= 'env,host,process';
}

function tracesExportDisabled(env: NodeJS.ProcessEnv): boolean {
  const endpointConfigured = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  return !endpointConfigured && env.OTEL_TRACES_EXPORTER === undefined;
}

export interface TelemetryOptions {
  /** Replaces the exporter pipeline chosen from OTEL_* variables (tests pass an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

let sdk: NodeSDK | undefined;

/**
 * Starts tracing for this process. Must run before fastify, pg, kafkajs or undici are imported: the
 * `instrumentation.ts` entry (`node --import`) does this for the services.
 */
export function startTelemetry(options: TelemetryOptions = {}): NodeSDK {
  if (sdk) return sdk;
  const env = options.env ?? process.env;
  applyEnvDefaults(env);
  // A provider without exporter still creates real span ids: logs keep their trace_id and downstream
  // services receive a traceparent even when this process exports nothing.
  const spanProcessors = options.spanProcessors ?? (tracesExportDisabled(env) ? [new NoopSpanProcessor()] : undefined);
  sdk = new NodeSDK({
    ...(spanProcessors ? { spanProcessors } : {}),
    instrumentations: [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-http': {
          ignoreIncomingRequestHook: (request) => isUntracedPath(request.url),
        },
        '@opentelemetry/instrumentation-pg': {
          // Only queries done on behalf of a request or message: readiness pings and pool chatter stay out.
          requireParentSpan: true,
          enhancedDatabaseReporting: false,
        },
        '@opentelemetry/instrumentation-pino': {
          // loggerOptions() writes trace_id/span_id itself, also in processes without this SDK.
          disableLogCorrelation: true,
        },
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        ignorePaths: (request) => isUntracedPath(request.url),
      }),
    ],
  });
  sdk.start();
  return sdk;
}

/** Flushes pending spans; call it from the shutdown path (close-with-grace) before the process exits. */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown();
}
