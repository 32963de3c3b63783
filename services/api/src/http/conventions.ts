import { DomainError, invalidRequest } from '@payment-manager/shared/errors';
import { httpError, registerErrorResponses } from '@payment-manager/shared/http-errors';
import { registerRawJsonBodyParser } from '@payment-manager/shared/raw-json-body';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Cross-cutting HTTP behaviour (docs/api.md): JSON parsed whatever the Content-Type says, no type coercion of
 * bodies, one error body for every failure, and never a stack trace or a 500 for bad input.
 */
export function registerHttpConventions(app: FastifyInstance): void {
  registerRawJsonBodyParser(app);
  registerErrorResponses(app, { translate });
}

function translate(error: Error, request: FastifyRequest): Error {
  if (error instanceof DomainError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('FST_BEARER_AUTH_')) {
    return httpError(401, `${error.message}: send the header "Authorization: Bearer <API key>"`);
  }
  return dataExceptionAsBadRequest(error, code, request);
}

/**
 * PostgreSQL class 22 (data exception) means a value the client sent cannot be stored or compared — a NUL
 * character in a string, year 0, an amount that overflows DECIMAL(10,2) once rounded — so it is a 400, not a 500.
 */
function dataExceptionAsBadRequest(error: Error, code: unknown, request: FastifyRequest): Error {
  if (typeof code !== 'string' || !/^22[0-9A-Z]{3}$/.test(code)) return error;
  // The database's wording stays in the log: responses never reveal what runs behind the API.
  request.log.info({ err: error }, 'request refused by a database data exception');
  return invalidRequest([
    {
      in: request.method === 'GET' ? 'query' : 'body',
      field: '',
      message: 'holds a value that cannot be stored or compared (out of range or invalid characters)',
    },
  ]);
}
