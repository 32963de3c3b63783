import { ConfigError } from '@payment-manager/shared';
import { describe, expect, it } from 'vitest';
import { devWebhookSecret, loadPlatformConfig, REPO_ROOT } from '../src/config.ts';

describe('synth-time configuration (PM_* variables)', () => {
  it('defaults: cnpg, payment-manager namespace, non-latest tags, Secrets referenced by name and not created', () => {
    const config = loadPlatformConfig({});
    expect(config.postgres).toBe('cnpg');
    expect(config.namespace).toBe('payment-manager');
    expect(config.images.api).toMatch(/^payment-manager\/api:\d+\.\d+\.\d+$/);
    expect(config.secrets.source).toBe('existing');
    expect(config.secrets.credentials.webhook).toEqual({ name: 'payment-manager-webhook' });
    expect(config.postgresInstances).toBe(3);
  });

  it('honours overrides and the dev profile', () => {
    const config = loadPlatformConfig({
      PM_POSTGRES: 'citus',
      PM_IMAGE_TAG: 'abc123',
      PM_PROFILE: 'dev',
    });
    expect(config.postgres).toBe('citus');
    expect(config.images.ingest).toBe('payment-manager/ingest:abc123');
    expect(config.minReplicas).toBe(1);
    // The dev profile brings the development credentials of deploy/env.
    expect(config.secrets.source).toBe('dev');
    expect(config.secrets.credentials.webhook.data).toEqual({ WEBHOOK_SECRET: devWebhookSecret(REPO_ROOT) });
  });

  it('rejects an unknown topology', () => {
    expect(() => loadPlatformConfig({ PM_POSTGRES: 'mysql' })).toThrow(/PM_POSTGRES must be one of cnpg, citus/);
  });

  it('PM_STACK: operators by default; standalone swaps in our own images for every component, never pulled', () => {
    const operators = loadPlatformConfig({});
    expect(operators.stack).toBe('operators');
    expect(operators.storageClass).toBeUndefined();
    const standalone = loadPlatformConfig({ PM_STACK: ' standalone ', PM_IMAGE_TAG: 't1', PM_STORAGE_CLASS: 'local' });
    expect(standalone.stack).toBe('standalone');
    expect(standalone.storageClass).toBe('local');
    const { api, ingest, postgres, kafka, traefik, otelCollector, tempo, prometheus, wiremock } = standalone.images;
    for (const image of [api, ingest, postgres, kafka, traefik, otelCollector, tempo, prometheus, wiremock])
      expect(image).toMatch(/^payment-manager\/[a-z-]+:t1$/);
    expect(postgres).toBe('payment-manager/postgres:t1');
    // The operators stack keeps its pinned third-party images.
    expect(operators.images.tempo).toBe(loadPlatformConfig({ PM_STACK: 'operators' }).images.tempo);
    expect(operators.images.tempo).not.toMatch(/^payment-manager\//);
  });

  it('rejects an unknown PM_STACK with a ConfigError naming the variable and the allowed values', () => {
    const attempt = () => loadPlatformConfig({ PM_STACK: 'helm' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow('PM_STACK must be one of operators, standalone, got "helm"');
  });
});
