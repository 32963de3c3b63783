import { type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
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
  // Kafka's SCRAM password by its variable name; a KafkaSecurity object redacts itself (kafka-client.ts).
  const kafkaPaths = ['KAFKA_SASL_PASSWORD', '*.KAFKA_SASL_PASSWORD'];
  return [...headerPaths, ...keyPaths, ...urlPaths, ...kafkaPaths];
}

export interface LoggerOptionsInput {
  level: string;
  /** service.name as in OTEL_SERVICE_NAME, e.g. "payment-manager-api". */
  service: string;
  /** One coloured line per log record through pino-pretty (see wantsPrettyLogs) instead of JSON lines. */
  pretty?: boolean;
}

/**
 * A developer at a terminal gets readable logs; everything else (pipes, files, containers, CI, NODE_ENV=production)
 * gets JSON lines for the log pipeline.
 */
export function wantsPrettyLogs(
  env: NodeJS.ProcessEnv = process.env,
  stdout: { isTTY?: boolean } = process.stdout,
): boolean {
  return stdout.isTTY === true && env.NODE_ENV !== 'production';
}

/** pino-pretty settings: time, level, message and the few fields worth reading, on one line. */
const PRETTY_TRANSPORT = {
  target: 'pino-pretty',
  options: {
    colorize: true,
    singleLine: true,
    messageKey: 'message',
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,trace_id,span_id,reqId,req,res,responseTime',
  },
};

/**
 * pino options for both services (pass to `Fastify({ logger })` or `pino()`): JSON lines with `service`,
 * `trace_id`/`span_id` of the active span, secrets redacted, request logs without bodies.
 */
export function loggerOptions({ level, service, pretty = false }: LoggerOptionsInput): LoggerOptions {
  return {
    ...(pretty ? { transport: PRETTY_TRANSPORT } : {}),
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

/**
 * For pretty (terminal) logs: one line per request — "POST /orders/o-1/hold 200 3.1 ms" — instead of fastify's
 * incoming/completed pair with request and response objects; a failure's error keeps its own line (the error
 * handler's). The route's log level
 * applies, so probes and /metrics stay quiet.
 */
class OneLineLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = `${request.method} ${request.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)} ms`;
    if (error || reply.statusCode >= 500) reply.log.error(error ? { err: error } : {}, line);
    else reply.log.info(line);
  }
}

/** fastify server options for pretty logs (`enabled`), or nothing. */
export function oneLineRequestLogs(enabled: boolean): Pick<FastifyServerOptions, 'logController'> {
  return enabled ? { logController: new OneLineLogController() } : {};
}
