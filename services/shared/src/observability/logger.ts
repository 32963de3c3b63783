import type { LoggerOptions } from 'pino';
import { activeTraceIds } from './spans.ts';

/**
 * Header names whose values are credentials or signatures. Standard Webhooks signs with webhook-signature;
 * webhook-id is kept because it identifies the delivery without being secret.
 */
const SECRET_HEADERS = [
  'authorization',
  'cookie',
  'set-cookie',
  'webhook-signature',
  'x-api-key',
  'x-webhook-signature',
];

const SECRET_KEYS = ['password', 'secret', 'token', 'apiKey', 'api_key'];

/** Paths pino redacts; headers are covered wherever fastify or our code puts them. */
export function redactedPaths(): string[] {
  const headerPaths = SECRET_HEADERS.flatMap((header) => [
    `req.headers["${header}"]`,
    `res.headers["${header}"]`,
    `headers["${header}"]`,
    `request.headers["${header}"]`,
    `response.headers["${header}"]`,
  ]);
  const keyPaths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  const urlPaths = ['pgUrl', '*.pgUrl', 'databaseUrl', '*.databaseUrl', 'PG_URL', 'WEBHOOK_SECRET', '*.WEBHOOK_SECRET'];
  return [...headerPaths, ...keyPaths, ...urlPaths];
}

export interface LoggerOptionsInput {
  level: string;
  /** service.name as in OTEL_SERVICE_NAME, e.g. "payment-manager-api". */
  service: string;
}

/**
 * pino options for both services (pass to `Fastify({ logger })` or `pino()`): JSON lines with `service`,
 * `trace_id`/`span_id` of the active span, secrets redacted, request logs without bodies.
 */
export function loggerOptions({ level, service }: LoggerOptionsInput): LoggerOptions {
  return {
    level,
    base: { service },
    messageKey: 'message',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: {
      level: (label) => ({ level: label }),
    },
    mixin: () => activeTraceIds() ?? {},
    redact: { paths: redactedPaths(), censor: '[REDACTED]' },
    serializers: {
      // Bodies are never logged: they carry customer data. Headers go through redaction above.
      req: (request: {
        method?: string;
        url?: string;
        headers?: Record<string, unknown>;
        ip?: string;
        id?: unknown;
      }) => ({
        id: request.id,
        method: request.method,
        url: request.url,
        headers: request.headers,
        remoteAddress: request.ip,
      }),
      res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
    },
  };
}
