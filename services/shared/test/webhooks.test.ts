/** The shared webhook contract: what every entry point (ingest, API routes, Kafka consumers) rejects alike. */
import { MAX_META_BYTES, parseChargebackWebhook, parseOrderWebhook } from '@payment-manager/shared';
import { chargebackWebhook, orderWebhook } from '@payment-manager/testkit/webhooks';
import { describe, expect, it } from 'vitest';

describe('stored event data is bounded', () => {
  it(`meta over ${MAX_META_BYTES} bytes of JSON is refused by both parsers; just under passes`, () => {
    const big = { note: 'x'.repeat(MAX_META_BYTES) };
    const fits = { note: 'x'.repeat(MAX_META_BYTES - 20) };
    for (const parse of [
      (meta: Record<string, string>) => parseOrderWebhook(orderWebhook({ meta })),
      (meta: Record<string, string>) => parseChargebackWebhook(chargebackWebhook('o-1', { meta })),
    ]) {
      expect(parse(big)).toEqual({ ok: false, message: `body.meta must be at most ${MAX_META_BYTES} bytes of JSON` });
      expect(parse(fits).ok).toBe(true);
    }
  });

  it('a chargeback reason is at most 1024 characters', () => {
    expect(parseChargebackWebhook(chargebackWebhook('o-1', { reason: 'r'.repeat(1025) })).ok).toBe(false);
  });
});
