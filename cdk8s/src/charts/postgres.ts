import type { IComGithubCloudnativePgCloudnativePgApiV1ClusterSpec as ClusterSpec } from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/ClusterSpec';
import { ApiObject, Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import { lockedDownContainer, lockedDownPod } from '../constructs/hardening.ts';
import { selectorLabels } from '../constructs/labels.ts';
import {
  BARMAN_CLOUD_PLUGIN,
  PG_APP_USER,
  PG_BACKUP_OBJECT_STORE,
  PG_CLUSTER_NAME,
  PG_DATABASE,
  PG_SERVICE_ROLES,
  type PostgresOptions,
} from '../database.ts';
import { PlatformSecret, type SecretsConfig } from '../secrets.ts';
import { BACKUP_BUCKET, BackupStore } from './backup-store.ts';

export interface PostgresChartProps extends ChartProps {
  image: string;
  instances: number;
  /** Where the database and backup-store credentials come from (src/secrets.ts). */
  secrets: SecretsConfig;
  /** Workloads allowed to connect on 5432. */
  clientPodNames: string[];
  operatorNamespace: string;
  /** The dev profile's in-cluster store (used only when options.backup is `dev-store`). */
  backup: { image: string };
  options: PostgresOptions;
}

/** barman-cloud's view of the in-cluster object store: the same for backups and for a restore's source. */
export function backupObjectStore(
  endpointUrl: string,
  secretName: string,
): NonNullable<ClusterSpec['backup']>['barmanObjectStore'] {
  return {
    destinationPath: `s3://${BACKUP_BUCKET}/`,
    endpointURL: endpointUrl,
    s3Credentials: {
      accessKeyId: { name: secretName, key: 'ACCESS_KEY_ID' },
      secretAccessKey: { name: secretName, key: 'ACCESS_SECRET_KEY' },
    },
    wal: { compression: 'gzip' },
    data: { compression: 'gzip' },
  };
}

/** UID of the postgres user of CloudNativePG's operand image (deploy/operators/postgres-cnpg.Dockerfile). */
export const CNPG_POSTGRES_UID = 26;

/** UID of the postgres user in the Debian-based official postgres image that our PostgreSQL images build on. */
export const POSTGRES_UID = 999;
/** The volume root belongs to root (fsGroup only adds group access), so the data directory is a subdirectory of it. */
export const POSTGRES_DATA_MOUNT = '/var/lib/postgresql/data';
export const PGDATA_ENV: k8s.EnvVar = { name: 'PGDATA', value: `${POSTGRES_DATA_MOUNT}/pgdata` };
/** Writable paths of a postgres container besides its data: the socket directory and /tmp. */
export const POSTGRES_SCRATCH = { run: '/var/run/postgresql', tmp: '/tmp' };

/**
 * The official postgres image's first-start variables (database and its owner from the credentials Secret), as
 * the Citus nodes and the standalone stack's primary and replica read them.
 */
export function postgresImageEnv(dbSecret: string): k8s.EnvVar[] {
  return [
    { name: 'POSTGRES_DB', value: PG_DATABASE },
    { name: 'POSTGRES_USER', valueFrom: { secretKeyRef: { name: dbSecret, key: 'username' } } },
    { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: dbSecret, key: 'password' } } },
  ];
}

/**
 * The kubernetes.io/basic-auth Secret of the application role (keys username, password), as PM_SECRETS says;
 * shared by CNPG bootstrap, the Citus option and the standalone stack. Returns its name.
 */
export function credentialsSecret(scope: Construct, secrets: SecretsConfig): string {
  return new PlatformSecret(scope, 'db-credentials', { secrets, credential: 'database' }).name;
}

/**
 * Secrets of the API's and the readers' login roles (docs/data-tier.md#roles), as CNPG's `managed.roles` and the
 * standalone init script read them: platform credentials like the owner's (PM_SECRETS). Returns their names.
 */
export function serviceRoleSecrets(
  scope: Construct,
  secrets: SecretsConfig,
): Record<keyof typeof PG_SERVICE_ROLES, string> {
  const secretOf = (id: keyof typeof PG_SERVICE_ROLES) =>
    new PlatformSecret(scope, `db-role-${id}`, { secrets, credential: PG_SERVICE_ROLES[id].credential }).name;
  return { app: secretOf('app'), read: secretOf('read') };
}

/**
 * PostgreSQL via CloudNativePG: 1 primary + 2 streaming replicas. The operator publishes
 * `payments-rw` (primary) and `payments-ro` (replicas); the app chart wires them to PG_URL / PG_REPLICA_URL.
 */
export class PostgresChart extends Chart {
  constructor(scope: Construct, id: string, props: PostgresChartProps) {
    super(scope, id, props);
    const dbSecret = credentialsSecret(this, props.secrets);
    const roleSecrets = serviceRoleSecrets(this, props.secrets);
    const { backup, synchronous } = props.options;
    const store =
      backup.kind === 'dev-store'
        ? new BackupStore(this, 'backup-store', {
            ...props.backup,
            secrets: props.secrets,
            storage: '5Gi',
            clientSelector: { 'cnpg.io/cluster': PG_CLUSTER_NAME },
          })
        : null;

    const spec: ClusterSpec = {
      instances: props.instances,
      imageName: props.image,
      // kind loads the locally built image; pulling it would fail.
      imagePullPolicy: 'IfNotPresent',
      primaryUpdateStrategy: 'unsupervised',
      postgresql: {
        parameters: { max_connections: '200' },
        // Quorum commit: a COMMIT returns once one standby has the WAL, so a failover to it loses no acknowledged
        // write. `required`: with no standby reachable, writes wait (docs/data-tier.md#synchronous-replication).
        ...(synchronous ? { synchronous: { method: 'any', number: 1, dataDurability: 'required' } } : {}),
      },
      // The login roles of docs/data-tier.md#roles, passwords from their Secrets; the migrations grant to them.
      managed: {
        roles: (Object.keys(PG_SERVICE_ROLES) as Array<keyof typeof PG_SERVICE_ROLES>).map((id) => ({
          name: PG_SERVICE_ROLES[id].name,
          ensure: 'present',
          login: true,
          inherit: true,
          passwordSecret: { name: roleSecrets[id] },
        })),
      },
      bootstrap: {
        initdb: {
          database: PG_DATABASE,
          owner: PG_APP_USER,
          secret: { name: dbSecret },
          // pg_partman is not a trusted extension: the superuser creates it here so that the (non-superuser)
          // migrations find it; their CREATE EXTENSION IF NOT EXISTS is then a no-op.
          postInitApplicationSQL: [
            'CREATE SCHEMA IF NOT EXISTS partman',
            'CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman',
            `GRANT ALL ON SCHEMA partman TO ${PG_APP_USER}`,
            `GRANT ALL ON ALL TABLES IN SCHEMA partman TO ${PG_APP_USER}`,
            `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO ${PG_APP_USER}`,
            `GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO ${PG_APP_USER}`,
          ],
        },
      },
      storage: { size: '2Gi' },
      // Continuous WAL archiving (docs/data-tier.md#backups): through the Barman Cloud plugin to the object store
      // given by reference; the dev store keeps the in-tree barmanObjectStore (removed in CloudNativePG 1.31) because
      // kind has no plugin installed.
      ...(backup.kind === 'object-store'
        ? {
            plugins: [
              {
                name: BARMAN_CLOUD_PLUGIN,
                isWALArchiver: true,
                parameters: { barmanObjectName: PG_BACKUP_OBJECT_STORE },
              },
            ],
          }
        : {}),
      ...(store
        ? {
            backup: {
              barmanObjectStore: backupObjectStore(store.endpointUrl, store.secretName),
              retentionPolicy: '7d',
            },
          }
        : {}),
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      // Pod Security `restricted`, stated rather than left to the operator's defaults (UID 26: the operand image's).
      podSecurityContext: lockedDownPod(CNPG_POSTGRES_UID) as ClusterSpec['podSecurityContext'],
      securityContext: lockedDownContainer(CNPG_POSTGRES_UID) as ClusterSpec['securityContext'],
    };
    new ApiObject(this, 'cluster', {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name: PG_CLUSTER_NAME },
      spec,
    });

    if (backup.kind === 'object-store') {
      new ApiObject(this, 'backup-object-store', {
        apiVersion: 'barmancloud.cnpg.io/v1',
        kind: 'ObjectStore',
        metadata: { name: PG_BACKUP_OBJECT_STORE },
        spec: {
          retentionPolicy: '7d',
          configuration: {
            destinationPath: backup.destinationPath,
            ...(backup.endpointUrl ? { endpointURL: backup.endpointUrl } : {}),
            s3Credentials: {
              accessKeyId: { name: backup.credentialsSecret, key: 'ACCESS_KEY_ID' },
              secretAccessKey: { name: backup.credentialsSecret, key: 'ACCESS_SECRET_KEY' },
            },
            wal: { compression: 'gzip' },
            data: { compression: 'gzip' },
          },
        },
      });
    }
    if (backup.kind !== 'off') {
      new ApiObject(this, 'daily-backup', {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'ScheduledBackup',
        metadata: { name: `${PG_CLUSTER_NAME}-daily` },
        // Six-field cron (seconds first); `immediate` takes the first base backup as soon as the cluster is up.
        spec: {
          schedule: '0 0 2 * * *',
          immediate: true,
          cluster: { name: PG_CLUSTER_NAME },
          backupOwnerReference: 'self',
          ...(backup.kind === 'object-store'
            ? { method: 'plugin', pluginConfiguration: { name: BARMAN_CLOUD_PLUGIN } }
            : { method: 'barmanObjectStore' }),
        },
      });
    }

    new k8s.KubeNetworkPolicy(this, 'netpol', {
      metadata: { name: `${PG_CLUSTER_NAME}-postgres` },
      spec: {
        podSelector: { matchLabels: { 'cnpg.io/cluster': PG_CLUSTER_NAME } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            // Clients, and the instances themselves for streaming replication.
            from: [
              ...props.clientPodNames.map((name) => ({ podSelector: { matchLabels: selectorLabels(name) } })),
              { podSelector: { matchLabels: { 'cnpg.io/cluster': PG_CLUSTER_NAME } } },
            ],
            ports: [{ port: k8s.IntOrString.fromNumber(5432), protocol: 'TCP' }],
          },
          {
            // The operator polls each instance's status endpoint.
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.operatorNamespace } } }],
            ports: [{ port: k8s.IntOrString.fromNumber(8000), protocol: 'TCP' }],
          },
        ],
      },
    });
  }
}
