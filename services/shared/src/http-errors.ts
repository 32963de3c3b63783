/**
 * The one error body of every HTTP answer ≥ 400 of the API and of ingest — domain errors, request validation,
 * fastify's own errors (unknown route, body too large, malformed JSON), authentication — and the one place that maps
 * domain error kinds to statuses. The model is described in docs/api.md.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type DomainErrorKind, invalidRequest, type Problem } from './errors.ts';
import { problemsFromAjv, queryAjv, strictAjv } from './validation.ts';

/**
 * `code`: machine-readable kind; `message`: one sentence saying what is wrong and, where it can, what to do.
 * `error` repeats `message` and `success` is always false: clients of the original Go service read those keys.
 */
export interface ErrorBody {
  code: string;
  message: string;
  error: string;
  success: false;
  /** Validation only: every problem of the request, in `message` too. */
  problems?: Problem[];
  /** Validation only: `message` without its "invalid request: " prefix. */
  details?: string;
  /** Refused state changes: the current status and the requested one. */
  from?: string;
  to?: string;
  /** 5xx only: the id of the request, under which the log holds what failed (the body never says). */
  request_id?: string;
}

export const HTTP_STATUS_BY_KIND: Record<DomainErrorKind, number> = {
  validation: 400,
  not_found: 404,
  already_exists: 409,
  conflict: 409,
  invalid_transition: 422,
  provider_failure: 502,
};

/** Codes of errors that are not domain errors, by HTTP status. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'route_not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  500: 'internal',
  502: 'bad_gateway',
  503: 'unavailable',
};

/** JSON schema of ErrorBody for route responses and the OpenAPI document. */
export const ErrorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  description:
    'Every error answer. `code` is machine-readable (validation, not_found, already_exists, conflict, ' +
    'invalid_transition, provider_failure, unauthorized, forbidden, route_not_found, payload_too_large, rate_limited, ' +
    'internal, …); ' +
    '`message` says what is wrong and what to do; validation errors list every problem of the request at once.',
  required: ['code', 'message', 'error', 'success'],
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    error: { type: 'string', description: 'Same text as message (kept for clients of the original service)' },
    success: { type: 'boolean', enum: [false] },
    details: { type: 'string' },
    problems: {
      type: 'array',
      items: {
        type: 'object',
        required: ['in', 'field', 'message'],
        properties: {
          in: { type: 'string', enum: ['body', 'query', 'params', 'headers'] },
          field: { type: 'string' },
          message: { type: 'string' },
          allowed: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    from: { type: 'string' },
    to: { type: 'string' },
    request_id: { type: 'string', description: '5xx only: find the details in the log under this id' },
  },
} as const;

/** The error model in a few lines, for the OpenAPI documents of the API and of ingest. */
export const ERROR_MODEL_DESCRIPTION =
  'Errors: every answer ≥ 400 has the body ErrorBody — `code` (machine-readable), `message` (what is wrong and ' +
  'what to do), `error` (= message) and `success: false`. A validation error (400, code `validation`) lists every ' +
  'problem of the request at once in `problems` (`in`, `field`, `message`, and `allowed` values where there are ' +
  'few) and in `details`; unknown query parameters are problems too. A refused state change (409 `conflict`, 422 ' +
  '`invalid_transition`) names the current status in `from` and the requested one in `to`. A 5xx answer never ' +
  'says what failed behind the service: its message is generic and `request_id` finds the details in the log. The ' +
  "one exception is the 503 of GET /health/ready, which carries the readiness report (each check's name and status).";

/**
 * What a 5xx answer says, by code: never the text of the dependency that failed (a driver's or broker's message can
 * name hosts, ports, users or versions), only what the client should do. The details go to the log.
 */
const SERVER_ERROR_MESSAGES: Record<string, string> = {
  internal: 'internal server error; the log has the details under request_id',
  provider_failure:
    'the payment provider failed or answered badly; nothing was changed; the log has the details under request_id',
  bad_gateway: 'the service behind this one failed; the request was not applied; retry later',
  unavailable: 'a dependency is unavailable right now; retry later',
};
const SERVER_ERROR_FALLBACK = 'the request could not be completed; the log has the details under request_id';

/** @fastify/swagger option: shared schemas keep their $id as component name (ErrorBody, not def-0). */
export const namedSchemaReferences = {
  buildLocalReference(json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number): string {
    return typeof json.$id === 'string' ? json.$id : `def-${i}`;
  },
};

/** A route response referring to ErrorBodySchema (registered by registerErrorResponses). */
export const ERROR_BODY = { $ref: 'ErrorBody#' } as const;

export function errorBody(code: string, message: string, extra: Partial<ErrorBody> = {}): ErrorBody {
  return { code, message, error: message, success: false, ...extra };
}

/** The body and status of a domain error. */
export function domainErrorAnswer(error: DomainError): { status: number; body: ErrorBody } {
  const extra: Partial<ErrorBody> = {};
  if (error.problems) {
    extra.problems = error.problems;
    extra.details = error.message.replace(/^invalid request: /, '');
  }
  if (error.from !== undefined) extra.from = error.from;
  if (error.to !== undefined) extra.to = error.to;
  return { status: HTTP_STATUS_BY_KIND[error.kind], body: errorBody(error.kind, error.message, extra) };
}

/** An HTTP-level refusal that is not a domain error (authentication, authorisation, limits). */
export function httpError(statusCode: number, message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode });
}

const PART: Record<string, Problem['in']> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** Statuses every route may answer with the error body (besides the ones it declares itself). */
function defaultErrorStatuses(schema: { params?: unknown; querystring?: unknown; body?: unknown }): number[] {
  return [...(schema.params || schema.querystring || schema.body ? [400] : []), 500];
}

export interface ErrorResponseOptions {
  /** Turns errors from outside (e.g. database data exceptions) into domain errors; return the error unchanged otherwise. */
  translate?(error: Error, request: FastifyRequest): Error;
}

/**
 * Installs on `app`: validation of every route schema with all problems at once; one error handler; one not-found
 * handler; and the error body as the documented answer of 400 (routes that validate input) and 500 where the route
 * declares nothing else. Routes declare ERROR_BODY for their own error statuses.
 */
export function registerErrorResponses(app: FastifyInstance, options: ErrorResponseOptions = {}): void {
  app.addSchema(ErrorBodySchema);

  app.addHook('onRoute', (route) => {
    if (!route.schema) return;
    const schema = route.schema as { params?: unknown; querystring?: unknown; body?: unknown; response?: object };
    // A status the route declares keeps its schema (GET /health/ready answers 503 with its report, not an error).
    const response: Record<string, unknown> = { ...(schema.response ?? {}) };
    for (const status of defaultErrorStatuses(schema)) response[status] ??= ERROR_BODY;
    route.schema = { ...route.schema, response };
  });

  app.setValidatorCompiler(({ schema, httpPart }) => {
    // Schemas may carry an $id; ajv refuses to compile the same id twice, and routes share schemas.
    const { $id: _id, ...anonymous } = schema as { $id?: string };
    const validate = (httpPart === 'body' ? strictAjv : queryAjv).compile(anonymous);
    const part = PART[httpPart ?? 'body'] ?? 'body';
    return (data: unknown) =>
      validate(data) ? { value: data } : { error: invalidRequest(problemsFromAjv(validate.errors, part)) };
  });

  // The one guarantee that no 5xx body carries dependency text, whichever path built it (the error handler, a
  // route's sendError, an answer relayed from the API): the message is replaced, the request id added, and what
  // was withheld logged. Only error bodies (with a `code`) are touched: the readiness report keeps its shape.
  app.addHook('preSerialization', (request, reply, payload, done) => {
    if (reply.statusCode < 500 || !isErrorBody(payload)) return done(null, payload);
    const message = SERVER_ERROR_MESSAGES[payload.code] ?? SERVER_ERROR_FALLBACK;
    if (payload.message !== message)
      request.log.warn({ withheld: payload.message }, 'server error answered generically');
    done(null, { ...errorBody(payload.code, message), request_id: String(request.id) });
  });

  app.setErrorHandler((thrown: FastifyError | DomainError, request, reply) => {
    const error = options.translate ? options.translate(thrown, request) : thrown;
    if (error instanceof DomainError) {
      const { status, body } = domainErrorAnswer(error);
      if (status >= 500) request.log.warn({ err: error }, 'request failed at a dependency');
      return reply.status(status).send(body);
    }
    const statusCode = (error as FastifyError).statusCode;
    const status = statusCode && statusCode >= 400 && statusCode < 600 ? statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    // An unexpected error's text may reveal internals; a deliberate 4xx message is meant for the client (every 5xx
    // message is replaced by the preSerialization hook above anyway).
    const message = status === 500 ? 'internal server error' : error.message;
    return sendError(reply, status, CODE_BY_STATUS[status] ?? 'error', message);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'route_not_found', `route ${request.method} ${request.url.split('?')[0]} not found`),
  );
}

function isErrorBody(payload: unknown): payload is ErrorBody {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as ErrorBody).code === 'string' &&
    (payload as ErrorBody).success === false
  );
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.status(status).send(errorBody(code, message));
}
