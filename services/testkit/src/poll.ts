import { vi } from 'vitest';

export interface EventuallyOptions {
  /** Deadline for the whole wait; the last failure is rethrown when it passes. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Prefixed to the error on timeout, e.g. "order o-1 never reached captured". */
  message?: string;
}

/**
 * Retries `probe` until it returns without throwing (put `expect` calls inside it) and resolves with its value.
 * Asynchronous effects (Kafka consumers, retries) are awaited this way instead of with fixed sleeps: the test is as
 * fast as the system and fails with the probe's own assertion message when the deadline passes.
 */
export function eventually<T>(probe: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 100, message } = options;
  return vi.waitFor(probe, { timeout: timeoutMs, interval: intervalMs, ...(message ? { message } : {}) });
}
