/**
 * The one way this project bounds waiting and repeats failed work:
 * - work that accepts an AbortSignal (fetch, timers) gets `AbortSignal.timeout(ms)`;
 * - a promise that cannot be cancelled (a pg query, a kafkajs admin call) is bounded by `withTimeout` (p-timeout);
 * - a failed attempt is repeated with capped exponential backoff and jitter by `retryWithBackoff` (p-retry);
 * - a client that must connect once before use (kafkajs admin/producer) shares one attempt through `connectOnce`.
 */
import pRetry from 'p-retry';
import pTimeout, { TimeoutError } from 'p-timeout';

export { TimeoutError };

/**
 * Settles like `promise`, or rejects with a `TimeoutError` ("<what>: no answer within <ms> ms") once `ms` have passed.
 * The promise itself keeps running; use it only for work that cannot take a signal.
 */
export function withTimeout<T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> {
  return pTimeout(Promise.resolve(promise), { milliseconds: ms, message: `${what}: no answer within ${ms} ms` });
}

export interface Backoff {
  /** Tries in all, the first one included; `Infinity` tries until success, `shouldRetry` says no, or `signal` aborts. */
  attempts: number;
  /** Delay before the first retry; each later one is `factor` times longer, up to `maxDelayMs`. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Growth per retry (default 2); 1 keeps a fixed pace. */
  factor?: number;
  /** Multiply each delay by a random factor in [1, 2) so many clients do not retry in lock-step (default true). */
  jitter?: boolean;
}

export interface RetryOptions extends Backoff {
  /** Aborting stops the retries at once (also during a wait); the promise rejects with the abort reason. */
  signal?: AbortSignal;
  /** `false` ends the retries with this error (default: every error is retried). `attempt` counts from 1. */
  shouldRetry?(error: Error, attempt: number): boolean;
  /** Called after each failed attempt, e.g. to log it; `delayMs` is the wait before the next one (0: none follows). */
  onFailure?(error: Error, attempt: number, delayMs: number): void;
}

/**
 * Runs `work` until it succeeds or the retries end; rejects with the last error. Errors that are not retried: what
 * `shouldRetry` refuses, a `TypeError` that is not a network failure (a bug), and the abort reason of `signal`.
 */
export function retryWithBackoff<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { shouldRetry, onFailure } = options;
  return pRetry(work, {
    retries: options.attempts - 1,
    minTimeout: options.minDelayMs,
    maxTimeout: options.maxDelayMs,
    factor: options.factor ?? 2,
    randomize: options.jitter ?? true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(shouldRetry ? { shouldRetry: ({ error, attemptNumber }) => shouldRetry(error, attemptNumber) } : {}),
    ...(onFailure
      ? { onFailedAttempt: ({ error, attemptNumber, retryDelay }) => onFailure(error, attemptNumber, retryDelay) }
      : {}),
  });
}

/**
 * Shares one `connect()` among all callers until it fails; the next caller after a failure tries again. For clients
 * that connect lazily on first use (a readiness check, a metrics scrape, a dead-letter producer).
 */
export function connectOnce(connect: () => Promise<void>): () => Promise<void> {
  let connecting: Promise<void> | undefined;
  return () => {
    connecting ??= connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };
}
