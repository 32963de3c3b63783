/** RATE_LIMIT_MAX / RATE_LIMIT_WINDOW (README.md#configuration): defaults, the off-switch, and refusals naming the variable. */
import { describe, expect, it } from 'vitest';
import { ConfigError, envReader } from '../src/env.ts';
import { DEFAULT_RATE_LIMIT, readRateLimit, readTrustProxy } from '../src/rate-limit.ts';

const read = (env: Record<string, string>) => readRateLimit(envReader(env));

describe('readRateLimit', () => {
  it('defaults to 6000 requests a minute', () => {
    expect(DEFAULT_RATE_LIMIT).toEqual({ max: 6000, window: '1m' });
    expect(read({})).toEqual({ max: 6000, windowMs: 60_000 });
  });

  it('takes a maximum and a Go duration; 0 turns the limit off', () => {
    expect(read({ RATE_LIMIT_MAX: '20', RATE_LIMIT_WINDOW: '10s' })).toEqual({ max: 20, windowMs: 10_000 });
    expect(read({ RATE_LIMIT_MAX: '0' }).max).toBe(0);
  });

  it.each([
    [{ RATE_LIMIT_MAX: '-1' }, /^RATE_LIMIT_MAX must be an integer between 0 and/],
    [{ RATE_LIMIT_MAX: 'lots' }, /^RATE_LIMIT_MAX must be an integer/],
    [{ RATE_LIMIT_WINDOW: 'soon' }, /^RATE_LIMIT_WINDOW must be a Go duration/],
    [{ RATE_LIMIT_WINDOW: '0s' }, /^RATE_LIMIT_WINDOW must be positive/],
  ])('%o is a configuration error naming the variable', (env, message) => {
    expect(() => read(env)).toThrow(ConfigError);
    expect(() => read(env)).toThrow(message);
  });
});

describe('readTrustProxy', () => {
  it('is empty unless set: the connection is the client', () => {
    expect(readTrustProxy(envReader({}))).toEqual([]);
  });
  it('takes a comma-separated list of addresses and CIDRs', () => {
    expect(readTrustProxy(envReader({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.5' }))).toEqual([
      '10.0.0.0/8',
      '192.168.1.5',
    ]);
  });
});
