import { describe, expect, it } from 'vitest';
import { connectOnce, retryWithBackoff, TimeoutError, withTimeout } from '../src/resilience.ts';

describe('retryWithBackoff', () => {
  it('doubles the delay from the minimum, adds jitter in [1, 2) and respects the cap', async () => {
    const delays: number[] = [];
    await expect(
      retryWithBackoff(
        async () => {
          throw new Error('down');
        },
        { attempts: 6, minDelayMs: 1, maxDelayMs: 12, onFailure: (_error, _attempt, delayMs) => delays.push(delayMs) },
      ),
    ).rejects.toThrow('down');
    // Five retries, then the sixth failure has no wait after it.
    expect(delays).toHaveLength(6);
    expect(delays.at(-1)).toBe(0);
    const unjittered = [1, 2, 4, 8, 16];
    delays.slice(0, 5).forEach((delay, n) => {
      const base = unjittered[n] as number;
      expect(delay).toBeGreaterThanOrEqual(Math.min(base, 12));
      expect(delay).toBeLessThanOrEqual(Math.min(2 * base, 12));
    });
  });

  it('keeps a fixed pace with factor 1 and no jitter', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retryWithBackoff(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error(`attempt ${attempt}`);
        return 'up';
      },
      {
        attempts: 10,
        minDelayMs: 5,
        maxDelayMs: 5,
        factor: 1,
        jitter: false,
        onFailure: (_e, _a, delayMs) => delays.push(delayMs),
      },
    );
    expect(result).toBe('up');
    expect(calls).toBe(3);
    expect(delays).toEqual([5, 5]);
  });

  it('stops at once with the error shouldRetry refuses', async () => {
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error(calls === 2 ? 'permanent' : 'transient');
        },
        { attempts: 10, minDelayMs: 1, maxDelayMs: 1, shouldRetry: (error) => error.message === 'transient' },
      ),
    ).rejects.toThrow('permanent');
    expect(calls).toBe(2);
  });

  it('rejects with the abort reason when the signal aborts during a wait', async () => {
    const abort = new AbortController();
    let calls = 0;
    const running = retryWithBackoff(
      async () => {
        calls++;
        abort.abort(new Error('shutting down'));
        throw new Error('down');
      },
      { attempts: Number.POSITIVE_INFINITY, minDelayMs: 60_000, maxDelayMs: 60_000, signal: abort.signal },
    );
    await expect(running).rejects.toThrow('shutting down');
    expect(calls).toBe(1);
  });
});

describe('withTimeout', () => {
  it('rejects with a TimeoutError naming the work and the budget', async () => {
    const never = new Promise<never>(() => {});
    const error = await withTimeout(never, 5, 'postgres').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('postgres: no answer within 5 ms');
  });

  it('passes the value or the error of work that settles in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, 'x')).resolves.toBe(42);
    await expect(withTimeout(Promise.reject(new Error('refused')), 1000, 'x')).rejects.toThrow('refused');
  });
});

describe('connectOnce', () => {
  it('shares one attempt among concurrent callers and tries again after a failure', async () => {
    let attempts = 0;
    const connect = connectOnce(async () => {
      attempts++;
      if (attempts === 1) throw new Error('broker down');
    });
    const first = await Promise.allSettled([connect(), connect()]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(attempts).toBe(1);
    await Promise.all([connect(), connect()]);
    await connect();
    expect(attempts).toBe(2);
  });
});
