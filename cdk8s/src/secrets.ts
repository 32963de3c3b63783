/**
 * Credentials of the platform (docs/security.md). Every workload reads its credentials from a Secret it references
 * by name; where that Secret comes from is one synth-time choice, PM_SECRETS:
 *
 *   existing  (default) nothing is created: the Secrets must exist in the namespace (kubectl, a secret manager's
 *             operator, sealed-secrets…). Their names: PM_SECRET_<CREDENTIAL>; their keys: CREDENTIALS below.
 *   external  an ExternalSecret (external-secrets.io) per Secret, from the store PM_SECRET_STORE
 *             (PM_SECRET_STORE_KIND ClusterSecretStore or SecretStore); the remote key is the Secret's name and holds
 *             the Secret's keys as one JSON object.
 *   env       Secrets created from values given at synth time (PM_WEBHOOK_SECRET, PM_API_KEYS, PM_PG_PASSWORD,
 *             PM_BACKUP_SECRET_KEY, PM_GRAFANA_ADMIN_PASSWORD). Each is required, non-empty, well-formed and not a value published in this
 *             repository; anything else stops synthesis with a ConfigError naming the variable.
 *   dev       Secrets with the development values published in this repository (deploy/env). Only for a laptop
 *             or CI cluster: the default of PM_PROFILE=dev, and what skaffold's kind profile and the local cluster
 *             (scripts/cluster.sh) set. Never the default otherwise, so the default output and the Helm chart hold
 *             no secret material.
 *
 * A new credential (a Kafka user's password, a PostgreSQL role's, Grafana's admin) is one entry in CREDENTIALS plus
 * a `new PlatformSecret(scope, id, { secrets: config.secrets, credential: '<id>' })` where its workload is defined;
 * the workload then reads `config.secrets.credentials.<id>.name`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseApiKeys } from '@payment-manager/api/http/auth';
import { ConfigError, envReader } from '@payment-manager/shared';
import { createSignatureVerifier, parseWebhookSecrets } from '@payment-manager/shared/signatures';
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { PG_APP_USER, PG_SERVICE_ROLES } from './database.ts';

export const SECRET_SOURCES = ['existing', 'external', 'env', 'dev'] as const;
export type SecretSource = (typeof SECRET_SOURCES)[number];

export type CredentialId =
  | 'webhook'
  | 'apiKeys'
  | 'database'
  | 'databaseApp'
  | 'databaseRead'
  | 'backupStore'
  | 'grafanaAdmin';

/** Access key id of the in-cluster backup store (an identity name, not a secret). */
export const BACKUP_ACCESS_KEY_ID = 'cloudnative-pg';
/** Development values that are not in deploy/env (published all the same: they are in this file). */
export const DEV_PG_PASSWORD = 'payments-dev-only';
export const DEV_PG_APP_PASSWORD = `${DEV_PG_PASSWORD}-app`;
export const DEV_PG_READ_PASSWORD = `${DEV_PG_PASSWORD}-read`;
export const DEV_BACKUP_SECRET_KEY = 'backups-dev-only';
export const DEV_GRAFANA_ADMIN_PASSWORD = 'grafana-dev-only';
/** Grafana's admin login name (the password is the secret). */
export const GRAFANA_ADMIN_USER = 'admin';

interface CredentialSpec {
  /** Variable naming the Secret, and the name without it. */
  nameVar: string;
  defaultName: string;
  /** The keys the workloads read. */
  keys: string[];
  type: string;
  /** Variable holding the value with PM_SECRETS=env. */
  valueVar: string;
  /** What the value is, for messages. */
  describe: string;
  /** Checks the synth-time value (throws ConfigError naming `valueVar`); returns the parts to compare with published values. */
  check(value: string): string[];
  /** The Secret's data for a value (synth-time or development). */
  data(value: string): Record<string, string>;
  /** The development value. */
  devValue(repoRoot: string): string;
}

/** The password is spliced into PG_URL by $(VAR) expansion, where URL-reserved characters would break it. */
function urlSafe(name: string, value: string): string {
  if (!/^[A-Za-z0-9._~-]+$/.test(value))
    throw new ConfigError(`${name} may contain only A-Z a-z 0-9 . _ ~ - (it becomes part of PG_URL)`);
  return value;
}

/** Standard Webhooks secrets compare without their optional `whsec_` prefix: the key is the base64 part. */
const webhookKey = (secret: string) => secret.replace(/^whsec_/, '');

export const CREDENTIALS: Record<CredentialId, CredentialSpec> = {
  webhook: {
    nameVar: 'PM_SECRET_WEBHOOK',
    defaultName: 'payment-manager-webhook',
    keys: ['WEBHOOK_SECRET'],
    type: 'Opaque',
    valueVar: 'PM_WEBHOOK_SECRET',
    describe: 'the webhook signing secret(s), "whsec_<base64>", comma-separated during a rotation',
    check(value) {
      const secrets = parseWebhookSecrets(value);
      try {
        createSignatureVerifier(secrets);
      } catch (err) {
        throw new ConfigError(`PM_WEBHOOK_SECRET: ${(err as Error).message.replace(/^WEBHOOK_SECRET /, '')}`);
      }
      return secrets.map(webhookKey);
    },
    data: (value) => ({ WEBHOOK_SECRET: value }),
    devValue: (repoRoot) => devWebhookSecret(repoRoot),
  },
  apiKeys: {
    nameVar: 'PM_SECRET_API_KEYS',
    defaultName: 'payment-manager-api-keys',
    keys: ['API_KEYS'],
    type: 'Opaque',
    valueVar: 'PM_API_KEYS',
    describe: 'the API keys as role:sha256hex entries (hashes only)',
    check(value) {
      try {
        return [...parseApiKeys(value).keys()];
      } catch (err) {
        throw new ConfigError(`PM_API_KEYS: ${(err as Error).message}`);
      }
    },
    data: (value) => ({ API_KEYS: value }),
    devValue: (repoRoot) => devApiKeys(repoRoot),
  },
  database: {
    nameVar: 'PM_SECRET_DB',
    defaultName: 'payments-db-credentials',
    keys: ['username', 'password'],
    type: 'kubernetes.io/basic-auth',
    valueVar: 'PM_PG_PASSWORD',
    describe: `the password of the PostgreSQL role ${PG_APP_USER}`,
    check: (value) => [urlSafe('PM_PG_PASSWORD', value)],
    data: (password) => ({ username: PG_APP_USER, password }),
    devValue: () => DEV_PG_PASSWORD,
  },
  databaseApp: {
    nameVar: 'PM_SECRET_DB_APP',
    defaultName: 'payments-db-app',
    keys: ['username', 'password'],
    type: 'kubernetes.io/basic-auth',
    valueVar: 'PM_PG_APP_PASSWORD',
    describe: `the password of the API's PostgreSQL role ${PG_SERVICE_ROLES.app.name} (read/write, no DDL)`,
    check: (value) => [urlSafe('PM_PG_APP_PASSWORD', value)],
    data: (password) => ({ username: PG_SERVICE_ROLES.app.name, password }),
    devValue: () => DEV_PG_APP_PASSWORD,
  },
  databaseRead: {
    nameVar: 'PM_SECRET_DB_READ',
    defaultName: 'payments-db-read',
    keys: ['username', 'password'],
    type: 'kubernetes.io/basic-auth',
    valueVar: 'PM_PG_READ_PASSWORD',
    describe: `the password of the read-only PostgreSQL role ${PG_SERVICE_ROLES.read.name} (replica reads)`,
    check: (value) => [urlSafe('PM_PG_READ_PASSWORD', value)],
    data: (password) => ({ username: PG_SERVICE_ROLES.read.name, password }),
    devValue: () => DEV_PG_READ_PASSWORD,
  },
  backupStore: {
    nameVar: 'PM_SECRET_BACKUP_STORE',
    defaultName: 'backup-store-credentials',
    keys: ['ACCESS_KEY_ID', 'ACCESS_SECRET_KEY', 's3.json'],
    type: 'Opaque',
    valueVar: 'PM_BACKUP_SECRET_KEY',
    describe: `the secret key of the dev profile's in-cluster backup store (access key ${BACKUP_ACCESS_KEY_ID})`,
    check: (value) => [value],
    data: (secretKey) => ({
      ACCESS_KEY_ID: BACKUP_ACCESS_KEY_ID,
      ACCESS_SECRET_KEY: secretKey,
      // SeaweedFS's S3 identities: the one identity barman-cloud uses.
      's3.json': JSON.stringify({
        identities: [
          {
            name: BACKUP_ACCESS_KEY_ID,
            credentials: [{ accessKey: BACKUP_ACCESS_KEY_ID, secretKey }],
            actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
          },
        ],
      }),
    }),
    devValue: () => DEV_BACKUP_SECRET_KEY,
  },
  grafanaAdmin: {
    nameVar: 'PM_SECRET_GRAFANA_ADMIN',
    defaultName: 'payment-manager-grafana-admin',
    // The keys of the Grafana Helm chart's `admin.existingSecret`.
    keys: ['admin-user', 'admin-password'],
    type: 'Opaque',
    valueVar: 'PM_GRAFANA_ADMIN_PASSWORD',
    describe: `the password of Grafana's ${GRAFANA_ADMIN_USER} login`,
    check(value) {
      if (value.length < 12) throw new ConfigError('PM_GRAFANA_ADMIN_PASSWORD must be at least 12 characters long');
      return [value];
    },
    data: (password) => ({ 'admin-user': GRAFANA_ADMIN_USER, 'admin-password': password }),
    devValue: () => DEV_GRAFANA_ADMIN_PASSWORD,
  },
};

/** Variables of earlier versions, which set development values outside the dev profile; refused by name. */
const RETIRED = { PM_DEV_PG_PASSWORD: 'PM_PG_PASSWORD', PM_DEV_BACKUP_SECRET: 'PM_BACKUP_SECRET_KEY' } as const;

export interface CredentialRef {
  /** The Secret's name, which workloads reference. */
  name: string;
  /** Its data when this synth creates it (PM_SECRETS=env or dev); never logged. */
  data?: Record<string, string>;
}

export interface SecretsConfig {
  source: SecretSource;
  /** PM_SECRETS=external: where the ExternalSecrets read from. */
  store?: { name: string; kind: 'ClusterSecretStore' | 'SecretStore' };
  credentials: Record<CredentialId, CredentialRef>;
  /** The credentials this configuration's workloads read (credentialsInUse). */
  inUse: CredentialId[];
}

type Env = Record<string, string | undefined>;

/** A variable of one of deploy/env's files (the compose stack's settings); empty when the file lacks it. */
function deployEnvValue(repoRoot: string, file: string, name: string): string {
  const path = resolve(repoRoot, 'deploy/env', file);
  if (!existsSync(path)) return '';
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}=`));
  return line ? line.slice(name.length + 1).trim() : '';
}

/** The development signing secret of deploy/env/common.env (what `npm run webhook:send` signs with). */
export function devWebhookSecret(repoRoot: string): string {
  return deployEnvValue(repoRoot, 'common.env', 'WEBHOOK_SECRET');
}

/** The development API keys' hashes of deploy/env/api.env (the keys themselves are listed there). */
export function devApiKeys(repoRoot: string): string {
  return deployEnvValue(repoRoot, 'api.env', 'API_KEYS');
}

/** Markdown the repository publishes, whose secret-looking tokens count as published too. */
function publishedTexts(repoRoot: string): string[] {
  const docs = join(repoRoot, 'docs');
  const files = [join(repoRoot, 'README.md')];
  if (existsSync(docs)) for (const f of readdirSync(docs)) if (f.endsWith('.md')) files.push(join(docs, f));
  return files.filter(existsSync).map((f) => readFileSync(f, 'utf8'));
}

/** Variables of deploy/env whose values are credentials (the others, such as KAFKA_BROKERS, are not). */
const CREDENTIAL_VARIABLE = /SECRET|PASSWORD|KEY|TOKEN/;

/**
 * Every credential this repository publishes, read from the files themselves so the list cannot drift: the value of
 * each credential variable of deploy/env/*.env (whole, each list entry, each `role:` entry's hash), the password of
 * each URL there, the secret-looking tokens (whsec_…, 64-hex hashes, pm_… keys) of deploy/env, README.md and
 * docs/, and the development values above. Webhook secrets are listed without their whsec_ prefix.
 */
export function publishedValues(repoRoot: string): Set<string> {
  const values = new Set<string>([
    DEV_PG_PASSWORD,
    DEV_PG_APP_PASSWORD,
    DEV_PG_READ_PASSWORD,
    DEV_BACKUP_SECRET_KEY,
    DEV_GRAFANA_ADMIN_PASSWORD,
  ]);
  const add = (v: string) => {
    const value = v.trim();
    if (value.length < 4) return;
    values.add(value);
    values.add(webhookKey(value));
  };
  const texts = publishedTexts(repoRoot);
  const envDir = join(repoRoot, 'deploy/env');
  for (const file of existsSync(envDir) ? readdirSync(envDir).filter((f) => f.endsWith('.env')) : []) {
    const text = readFileSync(join(envDir, file), 'utf8');
    texts.push(text);
    for (const line of text.split('\n')) {
      const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (!match) continue;
      const credential = CREDENTIAL_VARIABLE.test(match[1] ?? '');
      const value = (match[2] ?? '').trim();
      if (credential) add(value);
      for (const item of value.split(/[\s,]+/)) {
        if (credential) add(item);
        const hash = item.split(':')[1];
        if (credential && hash) add(hash);
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(item)) {
          try {
            add(decodeURIComponent(new URL(item).password));
          } catch {
            // Not a URL after all.
          }
        }
      }
    }
  }
  for (const text of texts)
    for (const [token] of text.matchAll(/whsec_[A-Za-z0-9+/=]+|\b[0-9a-f]{64}\b|\bpm_[A-Za-z0-9_-]{8,}/g)) add(token);
  return values;
}

/** What decides which credentials the workloads read. */
export interface CredentialsContext {
  stack: string;
  postgres: string;
  /** CloudNativePG backs up to the dev profile's in-cluster store (database.ts, PostgresBackup `dev-store`). */
  backupDevStore: boolean;
}

/**
 * The credentials a configuration's workloads read: the service roles exist except on Citus (one role there), the
 * in-cluster backup store only with CloudNativePG in the dev profile, Grafana only with the operators stack
 * (charts/observability.ts).
 */
export function credentialsInUse(ctx: CredentialsContext): CredentialId[] {
  const ids: CredentialId[] = ['webhook', 'apiKeys', 'database'];
  if (ctx.postgres !== 'citus') ids.push('databaseApp', 'databaseRead');
  if (ctx.stack === 'operators' && ctx.postgres === 'cnpg' && ctx.backupDevStore) ids.push('backupStore');
  if (ctx.stack === 'operators') ids.push('grafanaAdmin');
  return ids;
}

function secretValue(env: Env, id: CredentialId, published: Set<string>): string {
  const spec = CREDENTIALS[id];
  const raw = env[spec.valueVar];
  if (raw === undefined)
    throw new ConfigError(
      `PM_SECRETS=env needs ${spec.valueVar} (${spec.describe}) for the Secret ${env[spec.nameVar]?.trim() || spec.defaultName}: not set`,
    );
  const value = raw.trim();
  if (value === '') throw new ConfigError(`${spec.valueVar} is empty: it must hold ${spec.describe}`);
  for (const part of spec.check(value))
    if (published.has(part))
      throw new ConfigError(
        `${spec.valueVar} holds a value published in this repository (deploy/env, README.md or docs/): anyone can read it. Generate a new one (docs/security.md)`,
      );
  return value;
}

/** Reads PM_SECRETS and the variables of the chosen source (see the top of this file). */
export function loadSecretsConfig(
  env: Env,
  ctx: CredentialsContext & { repoRoot: string; dev: boolean },
): SecretsConfig {
  for (const [retired, now] of Object.entries(RETIRED))
    if (env[retired] !== undefined)
      throw new ConfigError(
        `${retired} is no longer read: development values come only with PM_SECRETS=dev; give a real value as ${now} with PM_SECRETS=env (docs/security.md)`,
      );
  const read = envReader(env);
  const source = read.oneOf<SecretSource>('PM_SECRETS', ctx.dev ? 'dev' : 'existing', SECRET_SOURCES);
  if (source !== 'env')
    for (const spec of Object.values(CREDENTIALS))
      if (env[spec.valueVar] !== undefined)
        throw new ConfigError(
          `${spec.valueVar} is set but PM_SECRETS is ${source}: synth-time values are read only with PM_SECRETS=env`,
        );
  const published = source === 'env' ? publishedValues(ctx.repoRoot) : new Set<string>();
  const credentials = {} as Record<CredentialId, CredentialRef>;
  const inUse = credentialsInUse(ctx);
  for (const id of Object.keys(CREDENTIALS) as CredentialId[]) {
    const spec = CREDENTIALS[id];
    const name = read.optional(spec.nameVar, spec.defaultName);
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253)
      throw new ConfigError(
        `${spec.nameVar} must be a Kubernetes object name (lower case, digits, - and .), got "${name}"`,
      );
    const ref: CredentialRef = { name };
    if (inUse.includes(id) && source === 'env') ref.data = spec.data(secretValue(env, id, published));
    if (inUse.includes(id) && source === 'dev') {
      const value = spec.devValue(ctx.repoRoot);
      if (!value) throw new ConfigError(`PM_SECRETS=dev: no development value for ${spec.valueVar} in deploy/env`);
      ref.data = spec.data(value);
    }
    credentials[id] = ref;
  }
  if (source !== 'external') return { source, credentials, inUse };
  const storeName = read.maybe('PM_SECRET_STORE');
  if (!storeName)
    throw new ConfigError(
      'PM_SECRETS=external needs PM_SECRET_STORE, the name of the (Cluster)SecretStore to read from',
    );
  const kind = read.oneOf('PM_SECRET_STORE_KIND', 'ClusterSecretStore', ['ClusterSecretStore', 'SecretStore'] as const);
  return { source, store: { name: storeName, kind }, credentials, inUse };
}

export interface PlatformSecretProps {
  secrets: SecretsConfig;
  credential: CredentialId;
  labels?: Record<string, string>;
}

/**
 * The Secret a workload references, as PM_SECRETS says: nothing (existing), a Secret with data (env, dev) or an
 * ExternalSecret that makes one (external). `name` is what the workload references in every case.
 */
export class PlatformSecret extends Construct {
  readonly name: string;

  constructor(scope: Construct, id: string, props: PlatformSecretProps) {
    super(scope, id);
    const spec = CREDENTIALS[props.credential];
    const ref = props.secrets.credentials[props.credential];
    this.name = ref.name;
    const metadata = { name: ref.name, ...(props.labels ? { labels: props.labels } : {}) };
    if (ref.data) {
      new k8s.KubeSecret(this, 'secret', { metadata, type: spec.type, stringData: ref.data });
    } else if (props.secrets.source === 'external' && props.secrets.store) {
      new ApiObject(this, 'external-secret', {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata,
        spec: {
          refreshInterval: '1h',
          secretStoreRef: { name: props.secrets.store.name, kind: props.secrets.store.kind },
          target: { name: ref.name, creationPolicy: 'Owner', template: { type: spec.type } },
          // The remote entry is one JSON object with the Secret's keys (CREDENTIALS[…].keys).
          dataFrom: [{ extract: { key: ref.name } }],
        },
      });
    }
  }
}

/** The Secrets the objects reference but this synth does not create, with their keys (what must exist). */
export function expectedExistingSecrets(secrets: SecretsConfig): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const id of secrets.inUse)
    if (!secrets.credentials[id].data) out[secrets.credentials[id].name] = CREDENTIALS[id].keys;
  return out;
}
