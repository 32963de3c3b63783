/** Pure pieces of the Kafka consumers: envelope decoding, retry timing, DLQ header format, offset coalescing. */
import { disputeEnvelope, orderEnvelope, parseChargebackWebhook, parseOrderWebhook } from '@payment-manager/shared';
import { describe, expect, it } from 'vitest';
import { failedAtHeader } from '../src/kafka/consumers.ts';
import { decodeEnvelope } from '../src/kafka/envelope.ts';
import { createOffsetCommitter } from '../src/kafka/offset-committer.ts';
import { CONSUMER_RETRY_POLICY, isTransientError, withRetry } from '../src/kafka/retry.ts';

const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

/** What ingest publishes for a valid order webhook, as plain JSON. */
function validOrderEnvelope() {
  const order = parseOrderWebhook({
    provider_event_id: 'pe-2',
    order_id: 'o-2',
    user_id: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
    status: 'created',
    created_at: '2025-03-04T09:00:00Z',
    updated_at: '2025-03-04T09:00:00Z',
  });
  if (!order.ok) throw new Error('fixture must be valid');
  return JSON.parse(JSON.stringify(orderEnvelope(order.value)));
}

describe('decodeEnvelope', () => {
  it('round-trips what ingest publishes, absent optionals included', () => {
    const order = parseOrderWebhook({
      provider_event_id: 'pe-1',
      order_id: 'o-1',
      user_id: '0B7D3C52-6F0E-4E59-9A0C-2F4F8F5E1A10',
      status: 'created',
      created_at: '2025-03-04T09:00:00Z',
      updated_at: '2025-03-04T09:00:00Z',
    });
    const chargeback = parseChargebackWebhook({
      provider_event_id: 'cb-1',
      order_id: 'o-1',
      status: 'updated',
      occurred_at: '2025-03-05T08:00:00Z',
    });
    if (!order.ok || !chargeback.ok) throw new Error('fixtures must be valid');
    expect(decodeEnvelope('order.webhook', bytes(orderEnvelope(order.value)))).toEqual({
      ok: true,
      type: 'order.webhook',
      webhook: order.value,
    });
    expect(decodeEnvelope('dispute.webhook', bytes(disputeEnvelope(chargeback.value)))).toEqual({
      ok: true,
      type: 'dispute.webhook',
      webhook: chargeback.value,
    });
  });

  it.each([
    [null, /empty message value/],
    ['{"type":', /not JSON/],
    ['[1]', /^invalid envelope: not a JSON object$/],
    [{ type: 'dispute.webhook', payload: {} }, /expected order.webhook/],
    [{ type: 'order.webhook', payload: 'x' }, /payload is not an object/],
    [{ type: 'order.webhook', payload: { order_id: 'o' } }, /^invalid payload: /],
    // The envelope schema: the normalised webhook exactly (every field, nothing else), the envelope's own fields.
    [{ ...validOrderEnvelope(), payload: { ...validOrderEnvelope().payload, extra: 1 } }, /^invalid payload: /],
    [{ ...validOrderEnvelope(), payload: { ...validOrderEnvelope().payload, meta: undefined } }, /^invalid payload: /],
    [{ ...validOrderEnvelope(), payload: { ...validOrderEnvelope().payload, order_id: 'a\u0000b' } }, /NUL/],
    [{ ...validOrderEnvelope(), event_id: undefined }, /^invalid envelope: .*event_id/],
    [{ ...validOrderEnvelope(), timestamp: 'yesterday' }, /^invalid envelope: .*timestamp/],
  ])('refuses %s', (value, message) => {
    const result = decodeEnvelope('order.webhook', value === null ? null : bytes(value));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });
});

describe('consumer retry policy (docs/kafka.md#retries)', () => {
  it('is 3 tries for errors that are not transient, delays from 100 ms doubling up to 5 s (jittered by retryWithBackoff)', () => {
    expect(CONSUMER_RETRY_POLICY).toEqual({ attempts: 3, baseDelayMs: 100, maxDelayMs: 5000 });
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    const policy = { ...CONSUMER_RETRY_POLICY, baseDelayMs: 1 };
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Error(`failure ${calls}`);
        },
        policy,
        new AbortController().signal,
      ),
    ).rejects.toThrow('failure 3');
    expect(calls).toBe(3);
  });

  it('stops waiting as soon as shutdown starts', async () => {
    const stopping = new AbortController();
    const policy = { ...CONSUMER_RETRY_POLICY, baseDelayMs: 60_000, maxDelayMs: 60_000 };
    const pending = withRetry(
      async () => {
        throw new Error('db down');
      },
      policy,
      stopping.signal,
      { onRetry: () => stopping.abort(new Error('shutting down')) },
    );
    await expect(pending).rejects.toThrow('shutting down');
  });

  it('retries a transient error for as long as it lasts (far beyond `attempts`), then succeeds', async () => {
    let calls = 0;
    const policy = { ...CONSUMER_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 2 };
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const result = await withRetry(
      async () => {
        if (++calls < 25) throw refused;
        return 'applied';
      },
      policy,
      new AbortController().signal,
      { isTransient: isTransientError },
    );
    expect(result).toBe('applied');
    expect(calls).toBe(25);
  });

  it('a failing beforeRetry (a rebalance began) ends the retries with its error', async () => {
    const policy = { ...CONSUMER_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 1 };
    const pending = withRetry(
      async () => {
        throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      },
      policy,
      new AbortController().signal,
      {
        isTransient: isTransientError,
        beforeRetry: async () => {
          throw new Error('The group is rebalancing');
        },
      },
    );
    await expect(pending).rejects.toThrow('rebalancing');
  });

  it.each([
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['refused on IPv4 and IPv6', new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], '')],
    ['pg connection lost', new Error('Connection terminated unexpectedly')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['serialization failure 40001', Object.assign(new Error('could not serialize'), { code: '40001' })],
    ['deadlock 40P01', Object.assign(new Error('deadlock detected'), { code: '40P01' })],
    ['admin shutdown 57P01', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['cannot connect now 57P03', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    ['statement timeout 57014', Object.assign(new Error('canceling statement'), { code: '57014' })],
    ['connection failure 08006', Object.assign(new Error('connection failure'), { code: '08006' })],
  ])('transient: %s', (_name, error) => {
    expect(isTransientError(error)).toBe(true);
  });

  it.each([
    ['NUL byte 22021', Object.assign(new Error('invalid byte sequence'), { code: '22021' })],
    ['unique violation 23505', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['not an Error', 'ECONNREFUSED'],
  ])('permanent: %s', (_name, error) => {
    expect(isTransientError(error)).toBe(false);
  });
});

it('formats failed_at as RFC 3339 UTC with seconds precision', () => {
  expect(failedAtHeader(new Date('2026-11-25T13:04:05.678Z'))).toBe('2026-11-25T13:04:05Z');
});

describe('offset committer', () => {
  it('commits the newest mark per partition, one commit at a time, and flushes everything', async () => {
    const commits: Array<Array<{ topic: string; partition: number; offset: string }>> = [];
    let release: () => void = () => {};
    const committer = createOffsetCommitter(
      {
        commitOffsets: async (offsets) => {
          commits.push(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
          await new Promise<void>((resolve) => {
            release = resolve;
          });
        },
      },
      { timeoutMs: 5000, onError: () => {} },
    );
    committer.mark('t', 0, '1');
    committer.mark('t', 0, '2');
    committer.mark('t', 1, '7');
    committer.mark('t', 0, '3');
    committer.mark('t', 1, '5'); // never backwards
    const flushed = committer.flush();
    release();
    await expect.poll(() => commits.length).toBe(2);
    release();
    await flushed;
    expect(commits).toEqual([
      [{ topic: 't', partition: 0, offset: '1' }],
      [
        { topic: 't', partition: 0, offset: '3' },
        { topic: 't', partition: 1, offset: '7' },
      ],
    ]);
  });
});
