import { describe, expect, it } from 'vitest';
import { devWebhookSecret, loadPlatformConfig, REPO_ROOT } from '../src/config.ts';

describe('synth-time configuration (PM_* variables)', () => {
  it('defaults: cnpg, payment-manager namespace, non-latest tags, the compose dev webhook secret', () => {
    const config = loadPlatformConfig({});
    expect(config.postgres).toBe('cnpg');
    expect(config.namespace).toBe('payment-manager');
    expect(config.images.api).toMatch(/^payment-manager\/api:\d+\.\d+\.\d+$/);
    expect(config.webhookSecret).toBe(devWebhookSecret(REPO_ROOT));
    expect(config.postgresInstances).toBe(3);
  });

  it('honours overrides and the dev profile', () => {
    const config = loadPlatformConfig({
      PM_POSTGRES: 'citus',
      PM_IMAGE_TAG: 'abc123',
      PM_PROFILE: 'dev',
      PM_WEBHOOK_SECRET: '',
    });
    expect(config.postgres).toBe('citus');
    expect(config.images.ingest).toBe('payment-manager/ingest:abc123');
    expect(config.minReplicas).toBe(1);
    expect(config.webhookSecret).toBe('');
  });

  it('rejects an unknown topology and a password that would break PG_URL', () => {
    expect(() => loadPlatformConfig({ PM_POSTGRES: 'mysql' })).toThrow(/PM_POSTGRES must be one of cnpg, citus/);
    expect(() => loadPlatformConfig({ PM_DEV_PG_PASSWORD: 'p@ss/word' })).toThrow(
      /PM_DEV_PG_PASSWORD may contain only/,
    );
  });
});
