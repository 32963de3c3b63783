/** Retry policy of the Kafka consumers (spec §11.4). */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Random extra delay in [0, jitterMs) so many consumers do not retry in lock-step. */
  jitterMs: number;
}

export const CONSUMER_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 5000, jitterMs: 100 };

/** Sleep before retry n (0-based): base × 2^n plus jitter, capped. */
export function consumerRetryDelayMs(n: number, policy: RetryPolicy, random = Math.random): number {
  return Math.min(policy.baseDelayMs * 2 ** n + random() * policy.jitterMs, policy.maxDelayMs);
}

/**
 * Runs `work` up to `policy.attempts` times while it throws. Waiting stops as soon as `signal` aborts
 * (shutdown): the abort reason is thrown so the message stays uncommitted and is redelivered.
 */
export async function withRetry<T>(
  work: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      if (attempt >= policy.attempts - 1) throw err;
      onRetry?.(err, attempt);
      try {
        await sleep(consumerRetryDelayMs(attempt, policy), undefined, { signal });
      } catch (aborted) {
        throw signal.reason ?? aborted;
      }
    }
  }
}
