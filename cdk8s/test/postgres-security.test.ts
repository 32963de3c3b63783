/**
 * PostgreSQL on Kubernetes (docs/data-tier.md): the API's three URLs run as three roles, verify-full against
 * CloudNativePG's CA, the synchronous replication switch, and backups through the Barman Cloud plugin to an object
 * store given by reference — validated against CloudNativePG's CRDs and the vendored ObjectStore CRD.
 */
import { join } from 'node:path';
import { loadApiConfig } from '@payment-manager/api/config';
import { describe, expect, it } from 'vitest';
import { API, MIGRATE_ARGS } from '../src/charts/app.ts';
import { PG_PRIMARY, PG_REPLICA } from '../src/charts/postgres-standalone.ts';
import { BARMAN_CLOUD_PLUGIN, PG_CA_MOUNT, PG_CA_SECRET, PG_SERVICE_ROLES } from '../src/database.ts';
import { CREDENTIALS } from '../src/secrets.ts';
import { resolveEnv } from './support/checks.ts';
import { type K8sObject, REPO_ROOT, readYamlDir, synthPlatform } from './support/manifests.ts';
import { crdSchemas, crdValidator } from './support/schema.ts';

const CRDS_DIR = process.env.PM_CRDS_DIR ?? join(REPO_ROOT, '../shared/crds-next');

function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''}`);
  return o;
}

/** The owner's Secret and the roles' (default names; PM_SECRETS decides who makes them, src/secrets.ts). */
const PG_CREDENTIALS_SECRET = CREDENTIALS.database.defaultName;
const roleSecret = (role: { credential: keyof typeof CREDENTIALS }) => CREDENTIALS[role.credential].defaultName;

const apiEnv = (objects: K8sObject[]) => resolveEnv(objects, find(objects, 'Deployment', API), API);

describe('PostgreSQL roles and TLS on Kubernetes', () => {
  it('CloudNativePG: the API runs as the read/write role, reads as the read-only role, its init container migrates as the owner, all verify-full', () => {
    const { objects } = synthPlatform({}, { deployed: true });
    const env = apiEnv(objects);
    const deployment = find(objects, 'Deployment', API);
    const migrate = resolveEnv(objects, deployment, 'migrate');
    const urls = { PG_URL: env.PG_URL, PG_MIGRATION_URL: migrate.PG_MIGRATION_URL, PG_REPLICA_URL: env.PG_REPLICA_URL };
    const users = Object.fromEntries(Object.entries(urls).map(([k, v]) => [k, new URL(v as string).username]));
    expect(users).toEqual({
      PG_URL: PG_SERVICE_ROLES.app.name,
      PG_MIGRATION_URL: find(objects, 'Secret', PG_CREDENTIALS_SECRET).stringData.username,
      PG_REPLICA_URL: PG_SERVICE_ROLES.read.name,
    });
    for (const url of Object.values(urls)) {
      const params = new URL(url as string).searchParams;
      expect(params.get('sslmode')).toBe('verify-full');
      expect(params.get('sslrootcert')).toBe(`${PG_CA_MOUNT}/ca.crt`);
      // CloudNativePG's server certificate names its -rw / -ro Services.
      expect(new URL(url as string).hostname).toMatch(/^payments-r[wo]$/);
    }
    // The API container holds no owner credential and does not migrate; the init container runs the migrate command.
    const config = loadApiConfig(env);
    expect(config.migrateOnStart).toBe(false);
    expect(config.pgMigrationUrl).toBe(config.pgUrl);
    const secretsOf = (container: { env: Array<{ valueFrom?: { secretKeyRef?: { name: string } } }> }) =>
      container.env.flatMap((e) => e.valueFrom?.secretKeyRef?.name ?? []);
    const pod = deployment.spec.template.spec;
    expect(secretsOf(pod.containers[0])).not.toContain(PG_CREDENTIALS_SECRET);
    expect(secretsOf(pod.initContainers[0])).toContain(PG_CREDENTIALS_SECRET);
    expect(pod.initContainers[0].args).toEqual(MIGRATE_ARGS);
    expect(pod.initContainers[0].image).toBe(pod.containers[0].image);
    expect(pod.initContainers[0].securityContext).toEqual(pod.containers[0].securityContext);

    const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) => m.mountPath === PG_CA_MOUNT);
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.secret.secretName).toBe(PG_CA_SECRET);
    expect(volume.secret.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
    expect(pod.initContainers[0].volumeMounts).toContainEqual(mount);

    const cluster = find(objects, 'Cluster');
    expect(cluster.spec.managed.roles).toEqual(
      Object.values(PG_SERVICE_ROLES).map((role) =>
        expect.objectContaining({ name: role.name, login: true, passwordSecret: { name: roleSecret(role) } }),
      ),
    );
    for (const role of Object.values(PG_SERVICE_ROLES)) {
      expect(find(objects, 'Secret', roleSecret(role)).stringData.username).toBe(role.name);
    }
  });

  it('standalone: the same roles (made by the primary first-start script), no TLS yet', () => {
    const { objects } = synthPlatform({ PM_STACK: 'standalone' }, { deployed: true });
    const env = apiEnv(objects);
    expect(new URL(env.PG_URL as string).username).toBe(PG_SERVICE_ROLES.app.name);
    expect(new URL(env.PG_REPLICA_URL as string).username).toBe(PG_SERVICE_ROLES.read.name);
    expect(new URL(env.PG_URL as string).searchParams.get('sslmode')).toBe('disable');
    expect(Object.keys(find(objects, 'ConfigMap', 'postgres-initdb').data)).toContain('020-service-roles.sh');
    const primary = resolveEnv(objects, find(objects, 'StatefulSet', PG_PRIMARY), 'postgres');
    expect(primary.PG_APP_ROLE_PASSWORD).toBe(
      find(objects, 'Secret', roleSecret(PG_SERVICE_ROLES.app)).stringData.password,
    );
  });

  it('standalone with PM_POSTGRES_TLS_SECRET: ssl=on on every instance, the API verifies against its ca.crt', () => {
    const { objects } = synthPlatform({ PM_STACK: 'standalone', PM_POSTGRES_TLS_SECRET: 'payments-tls' });
    for (const name of [PG_PRIMARY, PG_REPLICA]) {
      const pod = find(objects, 'StatefulSet', name).spec.template.spec;
      expect(pod.containers[0].args).toEqual(
        expect.arrayContaining(['ssl=on', 'ssl_key_file=/etc/postgresql/tls/tls.key']),
      );
      const volume = pod.volumes.find(
        (v: { secret?: { secretName: string } }) => v.secret?.secretName === 'payments-tls',
      );
      expect(volume.secret.defaultMode).toBe(0o440);
    }
    const env = apiEnv(objects);
    const migrate = resolveEnv(objects, find(objects, 'Deployment', API), 'migrate');
    for (const url of [env.PG_URL, migrate.PG_MIGRATION_URL, env.PG_REPLICA_URL]) {
      expect(new URL(url as string).searchParams.get('sslmode')).toBe('verify-full');
    }
    const pod = find(objects, 'Deployment', API).spec.template.spec;
    expect(
      pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === 'payments-tls').secret
        .items,
    ).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
  });

  it('Citus: one role, as before', () => {
    const env = apiEnv(synthPlatform({ PM_POSTGRES: 'citus' }, { deployed: true }).objects);
    expect(new URL(env.PG_URL as string).username).toBe('payments');
    expect(env.PG_MIGRATION_URL).toBeUndefined();
    expect(loadApiConfig(env).migrateOnStart).toBe(true);
  });
});

describe('synchronous replication switch', () => {
  it('off by default; PM_POSTGRES_SYNCHRONOUS=true asks CloudNativePG for quorum commit on one standby', () => {
    expect(find(synthPlatform().objects, 'Cluster').spec.postgresql.synchronous).toBeUndefined();
    const cluster = find(synthPlatform({ PM_POSTGRES_SYNCHRONOUS: 'true' }).objects, 'Cluster');
    expect(cluster.spec.postgresql.synchronous).toEqual({ method: 'any', number: 1, dataDurability: 'required' });
  });

  it('standalone: synchronous_standby_names on the primary', () => {
    const { objects } = synthPlatform({ PM_STACK: 'standalone', PM_POSTGRES_SYNCHRONOUS: 'true' });
    const args: string[] = find(objects, 'StatefulSet', PG_PRIMARY).spec.template.spec.containers[0].args;
    expect(args).toContain('synchronous_standby_names=ANY 1 (*)');
  });

  it('a typo stops synth', () => {
    expect(() => synthPlatform({ PM_POSTGRES_SYNCHRONOUS: 'yes please' })).toThrow(/PM_POSTGRES_SYNCHRONOUS/);
  });
});

describe('backups through the Barman Cloud plugin', () => {
  const crds = crdSchemas([...readYamlDir(CRDS_DIR), ...readYamlDir(join(REPO_ROOT, 'deploy/crds'))]);
  const validate = crdValidator(crds);

  it('PM_BACKUP_DESTINATION: ObjectStore by reference, the Cluster archives WAL through the plugin, ScheduledBackup method plugin', (ctx) => {
    const { objects } = synthPlatform({
      PM_BACKUP_DESTINATION: 's3://payments-backups/prod',
      PM_BACKUP_ENDPOINT_URL: 'https://objects.example.net',
      PM_BACKUP_CREDENTIALS_SECRET: 'backup-keys',
    });
    const store = find(objects, 'ObjectStore');
    expect(store.apiVersion).toBe('barmancloud.cnpg.io/v1');
    expect(store.spec.configuration).toMatchObject({
      destinationPath: 's3://payments-backups/prod',
      endpointURL: 'https://objects.example.net',
      s3Credentials: { accessKeyId: { name: 'backup-keys' }, secretAccessKey: { name: 'backup-keys' } },
    });
    const cluster = find(objects, 'Cluster');
    expect(cluster.spec.backup).toBeUndefined();
    expect(cluster.spec.plugins).toEqual([
      { name: BARMAN_CLOUD_PLUGIN, isWALArchiver: true, parameters: { barmanObjectName: store.metadata.name } },
    ]);
    const scheduled = find(objects, 'ScheduledBackup');
    expect(scheduled.spec).toMatchObject({ method: 'plugin', pluginConfiguration: { name: BARMAN_CLOUD_PLUGIN } });
    // Nothing in the cluster holds the backups: no in-cluster store, no Secret with the store's keys.
    expect(objects.filter((o) => o.metadata.name.startsWith('backup-store'))).toEqual([]);
    const cnpgCluster = crds.find((c) => c.group === 'postgresql.cnpg.io' && c.kind === 'Cluster');
    if (!cnpgCluster)
      ctx.skip(`no CloudNativePG CRDs in ${CRDS_DIR}; set PM_CRDS_DIR to validate the Cluster and ScheduledBackup`);
    // WAL archiving through a plugin (isWALArchiver) came with CloudNativePG 1.26; the option needs that or newer.
    if (!JSON.stringify(cnpgCluster?.schema).includes('isWALArchiver'))
      ctx.skip(
        `the CloudNativePG CRDs in ${CRDS_DIR} predate plugin WAL archiving (1.26); validated with ../shared/crds-next`,
      );
    for (const o of [store, cluster, scheduled]) expect(validate(o), `${o.kind}`).toBeNull();
  });

  it('no destination: no backups by default, the in-cluster dev store only in the dev profile', () => {
    const plain = synthPlatform().objects;
    expect(plain.filter((o) => ['ScheduledBackup', 'ObjectStore'].includes(o.kind))).toEqual([]);
    expect(find(plain, 'Cluster').spec.backup).toBeUndefined();
    const dev = synthPlatform({ PM_PROFILE: 'dev' }).objects;
    expect(find(dev, 'Cluster').spec.backup.barmanObjectStore.destinationPath).toMatch(/^s3:\/\//);
    expect(find(dev, 'Deployment', 'backup-store')).toBeDefined();
  });

  it('a destination that is not an object store URL stops synth', () => {
    expect(() => synthPlatform({ PM_BACKUP_DESTINATION: '/var/backups' })).toThrow(/PM_BACKUP_DESTINATION/);
  });
});
