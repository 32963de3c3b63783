/**
 * Credentials (cdk8s/src/secrets.ts, docs/security.md): the default synthesis references Secrets and creates none,
 * holds no value published in this repository; only the dev profile (PM_SECRETS=dev) writes the development
 * values; synth-time values (PM_SECRETS=env) must be given, non-empty and not published; PM_SECRETS=external
 * makes ExternalSecrets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { hashApiKey } from '@payment-manager/api/http/auth';
import { ConfigError } from '@payment-manager/shared';
import { describe, expect, it } from 'vitest';
import { deployPlatform, missingSecrets } from '../cluster/deploy.ts';
import { Applier, isNotFound, loadKubeConfig } from '../cluster/kube.ts';
import { loadPlatformConfig, REPO_ROOT } from '../src/config.ts';
import {
  CREDENTIALS,
  DEV_BACKUP_SECRET_KEY,
  DEV_GRAFANA_ADMIN_PASSWORD,
  DEV_PG_APP_PASSWORD,
  DEV_PG_PASSWORD,
  DEV_PG_READ_PASSWORD,
  devApiKeys,
  publishedValues,
} from '../src/secrets.ts';
import { KUBE_SKIP_REASON, testKubeconfig } from './support/apiserver.ts';
import { publishedValuesIn, synthPlatform } from './support/manifests.ts';

const PUBLISHED = publishedValues(REPO_ROOT);
const envFile = (file: string, name: string) =>
  (new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(join(REPO_ROOT, 'deploy/env', file), 'utf8'))?.[1] ?? '').trim();

/** Fresh values of the right form, as an operator would generate them. */
const FRESH = {
  PM_WEBHOOK_SECRET: `whsec_${Buffer.from('a signing secret nobody has seen!').toString('base64')}`,
  PM_API_KEYS: `operator:${hashApiKey('pm_fresh_operator_key')},reader:${hashApiKey('pm_fresh_reader_key')}`,
  PM_PG_PASSWORD: 'Fresh-db-password_42',
  PM_PG_APP_PASSWORD: 'Fresh-app-password_42',
  PM_PG_READ_PASSWORD: 'Fresh-read-password_42',
  PM_BACKUP_SECRET_KEY: 'fresh backup key 42',
  PM_GRAFANA_ADMIN_PASSWORD: 'fresh grafana admin 42',
};
// The dev profile's in-cluster backup store too, so that every credential is in use.
const WITH_VALUES = { PM_SECRETS: 'env', PM_PROFILE: 'dev', ...FRESH };

describe('credentials: default synthesis', () => {
  it.each([
    ['operators + cnpg (the Helm chart)', {}],
    ['citus', { PM_POSTGRES: 'citus' }],
    ['standalone (the local cluster without PM_SECRETS=dev)', { PM_STACK: 'standalone' }],
  ])('%s: no Secret object, no published value anywhere; workloads reference the Secrets by name', (_l, env) => {
    const { objects } = synthPlatform(env);
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual([]);
    expect(publishedValuesIn(objects, PUBLISHED)).toEqual([]);
    const text = JSON.stringify(objects);
    for (const name of ['payment-manager-webhook', 'payment-manager-api-keys', 'payments-db-credentials'])
      expect(text).toContain(`"name":"${name}"`);
  });

  it('the list of published values is read from deploy/env, README and docs (and the checker finds them)', () => {
    expect(PUBLISHED.has(envFile('common.env', 'WEBHOOK_SECRET').replace(/^whsec_/, ''))).toBe(true);
    for (const entry of devApiKeys(REPO_ROOT).split(','))
      expect(PUBLISHED.has(entry.split(':')[1] as string)).toBe(true);
    expect(PUBLISHED.has(envFile('postgres.env', 'POSTGRES_PASSWORD'))).toBe(true);
    expect(PUBLISHED.has(envFile('ingest.env', 'API_KEY'))).toBe(true);
    expect(PUBLISHED.has(DEV_PG_PASSWORD) && PUBLISHED.has(DEV_BACKUP_SECRET_KEY)).toBe(true);
    // Not credentials: a broker list or a log level is not "published secret material".
    expect(PUBLISHED.has('kafka:29092')).toBe(false);
    // The dev profile's output holds them, which is how we know the checker above would see them.
    expect(publishedValuesIn(synthPlatform({ PM_PROFILE: 'dev' }).objects, PUBLISHED).length).toBeGreaterThan(3);
  });
});

describe('credentials: the dev profile', () => {
  it.each([
    ['PM_PROFILE=dev', { PM_PROFILE: 'dev' }],
    ['PM_SECRETS=dev (kind, the local cluster)', { PM_SECRETS: 'dev', PM_STACK: 'standalone' }],
  ])('%s creates the Secrets with the development values the dev tools use', (_l, env) => {
    const { objects } = synthPlatform(env);
    const secret = (name: string) => objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
    expect(secret('payment-manager-webhook')?.stringData).toEqual({
      WEBHOOK_SECRET: envFile('common.env', 'WEBHOOK_SECRET'),
    });
    expect(secret('payment-manager-api-keys')?.stringData).toEqual({ API_KEYS: devApiKeys(REPO_ROOT) });
    expect(secret('payments-db-credentials')?.stringData).toEqual({ username: 'payments', password: DEV_PG_PASSWORD });
    expect(secret('payments-db-credentials')?.type).toBe('kubernetes.io/basic-auth');
  });
});

describe('credentials: synth-time values (PM_SECRETS=env)', () => {
  const attempt = (env: Record<string, string>) => () => loadPlatformConfig(env);

  it('fails without secrets, naming the first missing variable and its Secret', () => {
    expect(attempt({ PM_SECRETS: 'env' })).toThrow(ConfigError);
    expect(attempt({ PM_SECRETS: 'env' })).toThrow(
      'PM_SECRETS=env needs PM_WEBHOOK_SECRET (the webhook signing secret(s), "whsec_<base64>", comma-separated during a rotation) for the Secret payment-manager-webhook: not set',
    );
    for (const name of Object.keys(FRESH)) {
      const { [name]: _missing, ...rest } = WITH_VALUES as Record<string, string>;
      expect(attempt(rest), name).toThrow(new RegExp(`PM_SECRETS=env needs ${name} `));
    }
  });

  it.each(Object.keys(FRESH))('fails when %s is empty or blank', (name) => {
    for (const blank of ['', '   ']) expect(attempt({ ...WITH_VALUES, [name]: blank })).toThrow(`${name} is empty`);
  });

  it.each([
    ['PM_WEBHOOK_SECRET', envFile('common.env', 'WEBHOOK_SECRET')],
    ['PM_WEBHOOK_SECRET', envFile('common.env', 'WEBHOOK_SECRET').replace(/^whsec_/, '')],
    ['PM_WEBHOOK_SECRET', `${FRESH.PM_WEBHOOK_SECRET}, ${envFile('common.env', 'WEBHOOK_SECRET')}`],
    ['PM_API_KEYS', devApiKeys(REPO_ROOT)],
    ['PM_API_KEYS', `${FRESH.PM_API_KEYS},${devApiKeys(REPO_ROOT).split(',')[1]}`],
    ['PM_PG_PASSWORD', envFile('postgres.env', 'POSTGRES_PASSWORD')],
    ['PM_PG_PASSWORD', DEV_PG_PASSWORD],
    ['PM_PG_APP_PASSWORD', DEV_PG_APP_PASSWORD],
    ['PM_PG_READ_PASSWORD', DEV_PG_READ_PASSWORD],
    ['PM_BACKUP_SECRET_KEY', DEV_BACKUP_SECRET_KEY],
    ['PM_GRAFANA_ADMIN_PASSWORD', DEV_GRAFANA_ADMIN_PASSWORD],
  ])('fails when %s holds a value published in this repository (%#)', (name, value) => {
    const run = attempt({ ...WITH_VALUES, [name]: value });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(`${name} holds a value published in this repository`);
    // The message never echoes the value.
    expect(run).not.toThrow(value);
  });

  it('fails on malformed values, naming the variable', () => {
    expect(attempt({ ...WITH_VALUES, PM_WEBHOOK_SECRET: 'whsec_%%%' })).toThrow(
      /PM_WEBHOOK_SECRET: entry #1 is not a valid/,
    );
    expect(attempt({ ...WITH_VALUES, PM_API_KEYS: 'admin:abc' })).toThrow(/PM_API_KEYS: API_KEYS entries must be/);
    expect(attempt({ ...WITH_VALUES, PM_PG_PASSWORD: 'p@ss/word' })).toThrow(/PM_PG_PASSWORD may contain only/);
  });

  it('creates the Secrets from fresh values; nothing published ends up in the output', () => {
    const { objects } = synthPlatform(WITH_VALUES);
    const secrets = objects.filter((o) => o.kind === 'Secret');
    expect(secrets.map((o) => o.metadata.name).sort()).toEqual(
      Object.values(CREDENTIALS)
        .map((c) => c.defaultName)
        .sort(),
    );
    expect(secrets.find((o) => o.metadata.name === 'payment-manager-webhook')?.stringData).toEqual({
      WEBHOOK_SECRET: FRESH.PM_WEBHOOK_SECRET,
    });
    expect(publishedValuesIn(objects, PUBLISHED)).toEqual([]);
  });

  it('refuses a value given without PM_SECRETS=env, and the retired development variables', () => {
    expect(attempt({ PM_WEBHOOK_SECRET: FRESH.PM_WEBHOOK_SECRET })).toThrow(
      'PM_WEBHOOK_SECRET is set but PM_SECRETS is existing',
    );
    expect(attempt({ PM_DEV_PG_PASSWORD: 'x' })).toThrow(/PM_DEV_PG_PASSWORD is no longer read/);
    expect(attempt({ PM_SECRETS: 'plaintext' })).toThrow(/PM_SECRETS must be one of existing, external, env, dev/);
  });
});

describe('credentials: names and ExternalSecrets', () => {
  it('PM_SECRET_* rename the Secrets every workload references', () => {
    const { objects } = synthPlatform({ PM_SECRET_WEBHOOK: 'wh', PM_SECRET_DB: 'db', PM_SECRET_API_KEYS: 'keys' });
    const text = JSON.stringify(objects);
    for (const old of ['payment-manager-webhook', 'payments-db-credentials', 'payment-manager-api-keys'])
      expect(text).not.toContain(old);
    const cluster = objects.find((o) => o.kind === 'Cluster');
    expect(cluster?.spec.bootstrap.initdb.secret.name).toBe('db');
    expect(() => loadPlatformConfig({ PM_SECRET_DB: 'Not_A_Name' })).toThrow(/PM_SECRET_DB must be a Kubernetes/);
  });

  it('PM_SECRETS=external: an ExternalSecret per credential in use from the named store, no Secret', () => {
    expect(() => loadPlatformConfig({ PM_SECRETS: 'external' })).toThrow(/needs PM_SECRET_STORE/);
    const { objects } = synthPlatform({ PM_SECRETS: 'external', PM_SECRET_STORE: 'vault', PM_POSTGRES: 'citus' });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const external = objects.filter((o) => o.kind === 'ExternalSecret');
    // Citus has no backup store, so four.
    expect(external.map((o) => o.metadata.name).sort()).toEqual(
      [
        'payment-manager-api-keys',
        'payment-manager-webhook',
        'payments-db-credentials',
        'payment-manager-grafana-admin',
      ].sort(),
    );
    for (const o of external) {
      expect(o.apiVersion).toBe('external-secrets.io/v1');
      expect(o.metadata.namespace).toBe('payment-manager');
      expect(o.spec.secretStoreRef).toEqual({ name: 'vault', kind: 'ClusterSecretStore' });
      expect(o.spec.target.name).toBe(o.metadata.name);
      expect(o.spec.dataFrom).toEqual([{ extract: { key: o.metadata.name } }]);
    }
  });
});

describe.skipIf(!testKubeconfig())(
  `cluster:deploy refuses to apply without the Secrets it references${testKubeconfig() ? '' : ` [${KUBE_SKIP_REASON}]`}`,
  () => {
    it('names the missing Secrets (and keys) before applying anything; passes once they exist', async () => {
      const kc = loadKubeConfig(testKubeconfig());
      const namespace = 'secrets-deploy-check';
      const config = loadPlatformConfig({ PM_NAMESPACE: namespace, PM_POSTGRES: 'citus' });
      const core = kc.makeApiClient(CoreV1Api);
      const apps = kc.makeApiClient(AppsV1Api);
      // A fixed namespace (the test server runs no namespace controller, so none is ever removed): start without
      // the Secrets a previous run created.
      for (const name of [
        'payment-manager-webhook',
        'payment-manager-api-keys',
        'payments-db-credentials',
        'payment-manager-grafana-admin',
      ])
        await core.deleteNamespacedSecret({ name, namespace }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      await expect(deployPlatform(kc, config, () => {})).rejects.toThrow(
        `namespace ${namespace} lacks the Secrets payment-manager-webhook, payment-manager-api-keys, payments-db-credentials, payment-manager-grafana-admin:`,
      );
      // Nothing applied.
      await expect(apps.readNamespacedDeployment({ name: 'api', namespace })).rejects.toMatchObject({ code: 404 });

      const applier = new Applier(kc);
      const dev = loadPlatformConfig({ PM_NAMESPACE: namespace, PM_POSTGRES: 'citus', PM_SECRETS: 'dev' }).secrets;
      const secret = (id: 'webhook' | 'apiKeys' | 'database' | 'grafanaAdmin', data: Record<string, string>) => ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: dev.credentials[id].name, namespace },
        stringData: data,
      });
      const rejected = await applier.applyAll([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        secret('webhook', { WRONG_KEY: 'x' }),
        secret('apiKeys', dev.credentials.apiKeys.data ?? {}),
        secret('database', dev.credentials.database.data ?? {}),
        secret('grafanaAdmin', dev.credentials.grafanaAdmin.data ?? {}),
      ]);
      expect(rejected).toEqual([]);
      expect(await missingSecrets(kc, config)).toEqual(['payment-manager-webhook (keys WEBHOOK_SECRET)']);
      await applier.applyAll([secret('webhook', dev.credentials.webhook.data ?? {})]);
      expect(await missingSecrets(kc, config)).toEqual([]);
      // The dev and env sources bring their own Secrets: nothing to check.
      expect(await missingSecrets(kc, { ...config, secrets: dev })).toEqual([]);
    }, 60_000);
  },
);
