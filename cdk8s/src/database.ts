import { ConfigError, envReader } from '@payment-manager/shared';
import type { CredentialId } from './secrets.ts';
/**
 * Names shared by the Postgres charts and the app chart (which wires PG_URL / PG_MIGRATION_URL / PG_REPLICA_URL).
 * The Secrets of the roles are platform credentials (src/secrets.ts: `database` for the owner, `databaseApp`,
 * `databaseRead`), named and created as PM_SECRETS says.
 */
export const PG_CLUSTER_NAME = 'payments';
export const PG_DATABASE = 'payments';
/** The schema owner: CloudNativePG's initdb owner, the role that runs the migrations (docs/data-tier.md#roles). */
export const PG_APP_USER = 'payments';

/** A login role the deployment creates (CNPG `managed.roles`) and the migrations grant to; basic-auth Secret. */
export interface PgServiceRole {
  name: string;
  credential: CredentialId;
}
/**
 * The API's read/write role (no DDL) and the read-only role of replica reads. The role names are those of
 * services/api/src/db/migrations.ts (SERVICE_ROLES) and migration 20261208120000.
 */
export const PG_SERVICE_ROLES = {
  app: { name: 'payments_app', credential: 'databaseApp' },
  read: { name: 'payments_read', credential: 'databaseRead' },
} as const satisfies Record<string, PgServiceRole>;

/** CloudNativePG's generated CA (Secret `<cluster>-ca`, key ca.crt): it signs the server certificate. */
export const PG_CA_SECRET = `${PG_CLUSTER_NAME}-ca`;
export const PG_CA_KEY = 'ca.crt';
/** Where the API pod mounts the CA; PG_*_URL's sslrootcert points here. */
export const PG_CA_MOUNT = '/etc/payment-manager/postgres-ca';

export interface DatabaseEndpoints {
  /** Host:port of the read-write endpoint. */
  primary: string;
  /** Host:port of the read-only replicas; undefined when the topology has no replica service. */
  replica?: string;
  /** The topology creates PG_SERVICE_ROLES: the API then runs as `app`, reads as `read`, migrates as the owner. */
  serviceRoles: boolean;
  /** The server certificate's CA (a Secret key) for sslmode=verify-full; undefined = no TLS (sslmode=disable). */
  tlsCa?: { secret: string; key: string };
}

export const CNPG_ENDPOINTS: DatabaseEndpoints = {
  // CloudNativePG's server certificate carries these Service names, so verify-full checks them as they are.
  primary: `${PG_CLUSTER_NAME}-rw:5432`,
  replica: `${PG_CLUSTER_NAME}-ro:5432`,
  serviceRoles: true,
  tlsCa: { secret: PG_CA_SECRET, key: PG_CA_KEY },
};

/**
 * The standalone stack: the same Service names and roles; TLS only with PM_POSTGRES_TLS_SECRET (a Secret made
 * outside the app, docs/data-tier.md#tls), whose ca.crt the API then verifies against.
 */
export function standaloneEndpoints(tlsSecret: string | undefined): DatabaseEndpoints {
  return { ...CNPG_ENDPOINTS, tlsCa: tlsSecret ? { secret: tlsSecret, key: PG_CA_KEY } : undefined };
}

export const CITUS_COORDINATOR = 'citus-coordinator';
export const CITUS_WORKER = 'citus-worker';
/** Citus: one role (the owner) and no TLS between the API and the coordinator. */
export const CITUS_ENDPOINTS: DatabaseEndpoints = { primary: `${CITUS_COORDINATOR}:5432`, serviceRoles: false };

/**
 * URL built by Kubernetes $(VAR) expansion from `<prefix>_USER` / `<prefix>_PASSWORD`, which must be declared
 * earlier; verify-full against the mounted CA when the topology has TLS.
 */
export function pgUrlFromEnv(hostPort: string, database: DatabaseEndpoints, prefix = 'DB'): string {
  const tls = database.tlsCa
    ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(`${PG_CA_MOUNT}/${database.tlsCa.key}`)}`
    : 'sslmode=disable';
  return `postgres://$(${prefix}_USER):$(${prefix}_PASSWORD)@${hostPort}/${PG_DATABASE}?${tls}`;
}

/** Kubernetes Secret (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY) of the backup object store, made outside this app. */
export const PG_BACKUP_CREDENTIALS_SECRET = 'payments-backup-credentials';
/** The Barman Cloud plugin's ObjectStore (barmancloud.cnpg.io/v1) the Cluster archives to. */
export const PG_BACKUP_OBJECT_STORE = `${PG_CLUSTER_NAME}-backups`;
export const BARMAN_CLOUD_PLUGIN = 'barman-cloud.cloudnative-pg.io';

/**
 * Where CloudNativePG backs up to (docs/data-tier.md#backups):
 * - `object-store`: the Barman Cloud plugin to an S3-compatible store outside the cluster, given by reference
 *   (PM_BACKUP_DESTINATION, PM_BACKUP_ENDPOINT_URL, the credentials Secret PM_BACKUP_CREDENTIALS_SECRET);
 * - `dev-store`: the in-cluster SeaweedFS of charts/backup-store.ts with the in-tree barmanObjectStore, for kind
 *   only (it shares the cluster's fate, and kind has no Barman Cloud plugin installed);
 * - `off`.
 */
export type PostgresBackup =
  | { kind: 'object-store'; destinationPath: string; endpointUrl?: string; credentialsSecret: string }
  | { kind: 'dev-store' }
  | { kind: 'off' };

export interface PostgresOptions {
  /** CloudNativePG quorum synchronous replication (PM_POSTGRES_SYNCHRONOUS), docs/data-tier.md#synchronous-replication. */
  synchronous: boolean;
  backup: PostgresBackup;
  /**
   * Standalone stack: a Secret (keys tls.crt, tls.key, ca.crt; the certificate naming payments-rw and payments-ro)
   * that turns TLS on (PM_POSTGRES_TLS_SECRET); undefined = no TLS there. CloudNativePG makes its own.
   */
  standaloneTlsSecret?: string;
}

/**
 * PM_POSTGRES_SYNCHRONOUS=true|false (default false); PM_BACKUP_DESTINATION (s3://bucket/prefix) selects the
 * object store; without it the dev profile uses the in-cluster dev store and the default profile takes no backups.
 */
export function loadPostgresOptions(env: Record<string, string | undefined>, dev: boolean): PostgresOptions {
  const synchronous = envReader(env).boolean('PM_POSTGRES_SYNCHRONOUS', false);
  const destination = env.PM_BACKUP_DESTINATION?.trim();
  if (destination && !/^(s3|gs|https?):\/\/[^/]+/.test(destination))
    throw new ConfigError(
      `PM_BACKUP_DESTINATION must be an object store URL such as s3://bucket/path, got "${destination}"`,
    );
  const endpointUrl = env.PM_BACKUP_ENDPOINT_URL?.trim();
  const backup: PostgresBackup = destination
    ? {
        kind: 'object-store',
        destinationPath: destination,
        ...(endpointUrl ? { endpointUrl } : {}),
        credentialsSecret: env.PM_BACKUP_CREDENTIALS_SECRET?.trim() || PG_BACKUP_CREDENTIALS_SECRET,
      }
    : { kind: dev ? 'dev-store' : 'off' };
  const standaloneTlsSecret = env.PM_POSTGRES_TLS_SECRET?.trim() || undefined;
  return { synchronous, backup, ...(standaloneTlsSecret ? { standaloneTlsSecret } : {}) };
}
