import { describeErrors, queryAjv, strictAjv } from '@payment-manager/shared';
import { registerRawJsonBodyParser } from '@payment-manager/shared/raw-json-body';
import type { FastifyError, FastifyInstance } from 'fastify';
import { errorBody, HttpError } from './errors.ts';

/**
 * Cross-cutting HTTP behaviour of spec §3: JSON parsed whatever the Content-Type says, no type
 * coercion of bodies, one error shape per route family, and never a stack trace or a 500 for bad input.
 */
export function registerHttpConventions(app: FastifyInstance): void {
  registerRawJsonBodyParser(app);

  // Any route that validates parameters, query or body can answer 400; the document says so for every one of them.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { params?: unknown; querystring?: unknown; body?: unknown; response?: object };
    if (!schema?.response || !(schema.params || schema.querystring || schema.body)) return;
    if ('400' in schema.response || 400 in schema.response) return;
    route.schema = { ...route.schema, response: { ...schema.response, 400: BAD_REQUEST } };
  });

  app.setValidatorCompiler(({ schema, httpPart }) => {
    // Schemas may carry an $id; ajv refuses to compile the same id twice, and routes share schemas.
    const { $id: _id, ...anonymous } = schema as { $id?: string };
    const validate = (httpPart === 'body' ? strictAjv : queryAjv).compile(anonymous);
    return (data: unknown) =>
      validate(data) ? { value: data } : { error: validationError(validate.errors, httpPart) };
  });

  app.setErrorHandler((thrown: FastifyError | HttpError, request, reply) => {
    const error = dataExceptionAsBadRequest(thrown, request.log);
    const style = request.routeOptions.config.errorStyle ?? 'message';
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed');
    }
    const details = error instanceof HttpError ? error.details : statusCode === 400 ? error.message : undefined;
    const message = statusCode === 500 && !(error instanceof HttpError) ? 'internal server error' : error.message;
    reply.status(statusCode).send(errorBody(style, { statusCode, message, details }));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ message: `route ${request.method} ${request.url.split('?')[0]} not found` });
  });
}

/**
 * PostgreSQL class 22 (data exception) means a value the client sent cannot be stored or compared — a NUL
 * character in a string, year 0, an amount that overflows DECIMAL(10,2) once rounded — so it is a 400, not a 500.
 */
function dataExceptionAsBadRequest(
  error: FastifyError | HttpError,
  log: { info(obj: object, message: string): void },
): FastifyError | HttpError {
  const code = (error as { code?: unknown }).code;
  if (error instanceof HttpError || typeof code !== 'string' || !/^22[0-9A-Z]{3}$/.test(code)) return error;
  // The database's wording stays in the log: responses never reveal what runs behind the API.
  log.info({ err: error }, 'request refused by a database data exception');
  const details = 'a value in the request cannot be stored or compared (out of range or invalid characters)';
  return new HttpError(400, `invalid request: ${details}`, details);
}

const BAD_REQUEST = {
  type: 'object',
  properties: { message: { type: 'string' } },
  required: ['message'],
  additionalProperties: true,
} as const;

function validationError(errors: Parameters<typeof describeErrors>[0], httpPart: string | undefined): HttpError {
  const where = httpPart === 'body' ? 'body' : httpPart === 'querystring' ? 'query' : (httpPart ?? 'request');
  const details = describeErrors(errors, where);
  return new HttpError(400, details, details);
}
