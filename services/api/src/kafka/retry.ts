/** Retry policy of the Kafka consumers (docs/kafka.md#retries): transient faults wait as long as they last, others get a few tries. */
import { retryWithBackoff } from '@payment-manager/shared/resilience';

export interface RetryPolicy {
  /** Tries for a failure that is not known to be transient (a bug, an unexpected error) before the DLQ. */
  attempts: number;
  baseDelayMs: number;
  /** Cap of the exponential backoff; transient faults keep retrying at this pace for as long as they last. */
  maxDelayMs: number;
}

/** Delays double from 100 ms (times a random factor in [1, 2), so consumers do not retry in lock-step) up to 5 s. */
export const CONSUMER_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 5000 };

/**
 * PostgreSQL SQLSTATEs that heal by waiting: connection exceptions (08), insufficient resources (53), operator
 * intervention such as a shutdown or a restart in progress (57P01–57P03), statement timeout / cancel (57014),
 * serialization failure (40001), deadlock (40P01), lock not available (55P03).
 */
const TRANSIENT_SQLSTATE = /^(08...|53...|57P0[1-3]|57014|40001|40P01|55P03)$/;
/** Socket-level failures reaching the database (or anything else over the network). */
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);
/** node-postgres reports a lost or never-made connection without a code. */
const TRANSIENT_PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection timeout|terminating connection|the database system is (starting up|shutting down)/i;

/** Whether `err` will most likely go away by itself (the database comes back, a lock is released). */
export function isTransientError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_CODES.has(code))) return true;
  if (TRANSIENT_PG_MESSAGES.test(err.message)) return true;
  // Node reports a refused connection to several addresses (IPv4 + IPv6) as an AggregateError.
  if (err instanceof AggregateError) return err.errors.some(isTransientError);
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isTransientError(cause);
}

export interface RetryHooks {
  /** Default: nothing is transient. */
  isTransient?(error: unknown): boolean;
  onRetry?(error: unknown, attempt: number, transient: boolean): void;
  /** Runs after every wait, before the next try; throwing ends the retries (e.g. a Kafka rebalance began). */
  beforeRetry?(): Promise<void>;
}

/**
 * Runs `work` until it succeeds. A transient error is retried without limit (capped backoff); any other error at most
 * `policy.attempts` times in all. Waiting stops as soon as `signal` aborts (shutdown): the abort reason is thrown so
 * the message stays uncommitted and is redelivered.
 */
export function withRetry<T>(
  work: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
  hooks: RetryHooks = {},
): Promise<T> {
  let otherFailures = 0;
  let interruption: unknown;
  return retryWithBackoff(
    async (attempt) => {
      if (attempt > 1) {
        try {
          await hooks.beforeRetry?.();
        } catch (err) {
          interruption = err;
          throw err;
        }
      }
      return work(attempt - 1);
    },
    {
      attempts: Number.POSITIVE_INFINITY,
      minDelayMs: policy.baseDelayMs,
      maxDelayMs: policy.maxDelayMs,
      signal,
      shouldRetry: (error, attempt) => {
        if (error === interruption) return false;
        const transient = hooks.isTransient?.(error) ?? false;
        if (!transient && ++otherFailures >= policy.attempts) return false;
        hooks.onRetry?.(error, attempt - 1, transient);
        return true;
      },
    },
  );
}
