/** The shared webhook contract: what every entry point (ingest, API routes, Kafka consumers) rejects alike. */
import { MAX_META_BYTES, parseChargebackWebhook, parseOrderWebhook } from '@payment-manager/shared';
import { chargebackWebhook, orderWebhook, unstorableWebhooks } from '@payment-manager/testkit/webhooks';
import { describe, expect, it } from 'vitest';

describe('stored event data is bounded', () => {
  it(`meta over ${MAX_META_BYTES} bytes of JSON is refused by both parsers; just under passes`, () => {
    const big = { note: 'x'.repeat(MAX_META_BYTES) };
    const fits = { note: 'x'.repeat(MAX_META_BYTES - 20) };
    for (const parse of [
      (meta: Record<string, string>) => parseOrderWebhook(orderWebhook({ meta })),
      (meta: Record<string, string>) => parseChargebackWebhook(chargebackWebhook('o-1', { meta })),
    ]) {
      expect(parse(big)).toEqual({
        ok: false,
        message: `body.meta must be at most ${MAX_META_BYTES} bytes of JSON`,
        problems: [{ in: 'body', field: 'meta', message: `must be at most ${MAX_META_BYTES} bytes of JSON` }],
      });
      expect(parse(fits).ok).toBe(true);
    }
  });

  it('a chargeback reason is at most 1024 characters', () => {
    expect(parseChargebackWebhook(chargebackWebhook('o-1', { reason: 'r'.repeat(1025) })).ok).toBe(false);
  });
});

describe('values PostgreSQL could not store are refused by the shared parsers', () => {
  it.each(unstorableWebhooks())('$name', ({ kind, body }) => {
    const result = kind === 'order' ? parseOrderWebhook(body) : parseChargebackWebhook(body);
    expect(result.ok).toBe(false);
  });

  it('the largest storable values still pass', () => {
    expect(parseChargebackWebhook(chargebackWebhook('o-1', { amount: 99_999_999.99 })).ok).toBe(true);
    expect(
      parseOrderWebhook(orderWebhook({ created_at: '0001-01-01T00:00:00Z', updated_at: '9999-12-31T23:59:59Z' })).ok,
    ).toBe(true);
    expect(parseOrderWebhook(orderWebhook({ meta: { emoji: '😀 ok' } })).ok).toBe(true);
  });
});
