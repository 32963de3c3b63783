/**
 * Expected error bodies: every error answer of the API and of ingest has the one shape of
 * services/shared/src/http-errors.ts (`code`, `message`, `error` = message, `success: false`).
 */
import { expect } from 'vitest';

/** An exact text, a pattern, or any asymmetric matcher such as expect.any(String). */
type Text = string | RegExp | ReturnType<typeof expect.any>;

const text = (message: Text) => (message instanceof RegExp ? expect.stringMatching(message) : message);

/** An error body with this code and message (exact string, or a pattern). */
export function errorBody(code: Text, message: Text, extra: Record<string, unknown> = {}) {
  return { code: text(code), message: text(message), error: text(message), success: false, ...extra };
}

/** A 400 validation body whose message matches; `fields` are the fields (or their parents) its problems must name. */
export function validationBody(message: Text = /^invalid request: /, ...fields: string[]) {
  return errorBody('validation', message, {
    details: expect.any(String),
    problems:
      fields.length > 0
        ? expect.arrayContaining(
            fields.map((field) => expect.objectContaining({ field: expect.stringMatching(`^${field}(\\.|$)`) })),
          )
        : expect.any(Array),
  });
}

/**
 * A 5xx body: a generic message (never the failing dependency's text) and the request id under which the log holds
 * the details (services/shared/src/http-errors.ts).
 */
export function serverErrorBody(code: Text) {
  return errorBody(code, expect.any(String), { request_id: expect.any(String) });
}

/** What a dependency's own error text looks like: hosts, ports, driver and broker names and codes. */
export const DEPENDENCY_TEXT =
  /127\.0\.0\.1|localhost|ECONN|ETIMEDOUT|EPIPE|:\d{2,5}\b|kafka|broker[^ ]* \d|postgres|database|pg_|relation|does not exist|socket|timeout after|MESSAGE_TOO_LARGE|stack/i;
