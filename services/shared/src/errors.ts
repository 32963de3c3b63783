/**
 * Domain errors: what went wrong in the terms of orders, disputes and webhooks — never an HTTP status. Operations and
 * webhook processing throw or return them; the one HTTP error handler (http-errors.ts) maps each kind to a status,
 * the Kafka consumers to a dead letter. The error model is described in docs/api.md.
 */

export type DomainErrorKind =
  /** The request itself is wrong; `problems` lists every problem found, not only the first. */
  | 'validation'
  | 'not_found'
  | 'already_exists'
  /** The current state forbids the operation (an order on hold, a dispute already submitted…). */
  | 'conflict'
  /** A provider webhook asks for a status change the state machine does not allow. */
  | 'invalid_transition'
  /** The payment provider failed or answered something unusable; nothing was changed. */
  | 'provider_failure';

/** One problem of a request: where it is, what is wrong, and the values that would be accepted when there are few. */
export interface Problem {
  in: 'body' | 'query' | 'params' | 'headers';
  /** Dotted path inside the part, e.g. `amount` or `files.0.name`; empty for the part as a whole. */
  field: string;
  message: string;
  allowed?: string[];
}

export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly kind: DomainErrorKind;
  /** For `conflict` and `invalid_transition`: the status the entity is in, and the one that was asked for. */
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly problems: Problem[] | undefined;

  constructor(
    kind: DomainErrorKind,
    message: string,
    facts: { from?: string; to?: string; problems?: Problem[] } = {},
  ) {
    super(message);
    this.kind = kind;
    this.from = facts.from;
    this.to = facts.to;
    this.problems = facts.problems;
  }
}

export const notFound = (message: string) => new DomainError('not_found', message);
export const alreadyExists = (message: string) => new DomainError('already_exists', message);
export const conflict = (message: string, transition: { from?: string; to?: string } = {}) =>
  new DomainError('conflict', message, transition);
export const invalidTransition = (entity: string, from: string, to: string) =>
  new DomainError('invalid_transition', `invalid status transition of the ${entity}: ${from} → ${to}`, { from, to });
export const providerFailure = (message: string) => new DomainError('provider_failure', message);

/** Every problem in one error; the message lists them all ("invalid request: body.amount is required; …"). */
export function invalidRequest(problems: Problem[]): DomainError {
  return new DomainError('validation', `invalid request: ${problems.map(describeProblem).join('; ')}`, { problems });
}

export function describeProblem(problem: Problem): string {
  const where = problem.field === '' ? problem.in : `${problem.in}.${problem.field}`;
  return `${where} ${problem.message}`;
}
