import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import { execProbe, resources } from '../constructs/hardening.ts';
import { appLabels, selectorLabels } from '../constructs/labels.ts';
import { type ConfigMapMount, StatefulService, type StatefulServiceProps } from '../constructs/stateful-service.ts';
import { CNPG_ENDPOINTS, PG_CLUSTER_NAME, PG_DATABASE } from '../database.ts';
import { type RepoFileOptions, readRepoFile } from '../repo-files.ts';
import type { SecretsConfig } from '../secrets.ts';
import {
  credentialsSecret,
  PGDATA_ENV,
  POSTGRES_DATA_MOUNT,
  POSTGRES_SCRATCH,
  POSTGRES_UID,
  postgresImageEnv,
  serviceRoleSecrets,
} from './postgres.ts';

export const PG_PRIMARY = `${PG_CLUSTER_NAME}-primary`;
export const PG_REPLICA = `${PG_CLUSTER_NAME}-replica`;
const PG_PORT = 5432;
const TLS_MOUNT = '/etc/postgresql/tls';

export interface PostgresStandaloneChartProps extends ChartProps {
  image: string;
  /** Primary + streaming replicas, as CloudNativePG's `instances`. */
  instances: number;
  secrets: SecretsConfig;
  /** synchronous_standby_names = 'ANY 1 (*)' on the primary (docs/data-tier.md#synchronous-replication). */
  synchronous: boolean;
  /** Secret with tls.crt / tls.key / ca.crt: ssl=on on every instance (docs/data-tier.md#tls); undefined = off. */
  tlsSecret?: string;
  storageClass?: string;
  /** Workloads allowed to connect on 5432. */
  clientPodNames: string[];
  files: RepoFileOptions;
}

/** Host part of a `host:port` endpoint: the Service names the app already uses (CNPG's `-rw` / `-ro`). */
const serviceName = (endpoint: string | undefined) => (endpoint ?? '').split(':')[0] as string;

/**
 * PostgreSQL without CloudNativePG (PM_STACK=standalone): a primary StatefulSet and a StatefulSet of hot standbys
 * (instances − 1) streaming from it, from our own image payment-manager/postgres, with the docker-compose stack's
 * replication contract: deploy/postgres/initdb/010-replication.sh opens pg_hba for replication on the primary's
 * first start, the image's replica mode (POSTGRES_PRIMARY_HOST, deploy/postgres/replica-start.sh) clones it with pg_basebackup -R and runs a hot standby. Services
 * `payments-rw` and `payments-ro` carry the names CloudNativePG gives its own, so PG_URL / PG_REPLICA_URL, the
 * credentials Secret and the API's start-up migrations are the same in both stacks. No failover: losing the
 * primary's volume means restoring (docs/kubernetes.md).
 *
 * Image contract (that of the official postgres image): POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB create the
 * role and database on the first start of an empty PGDATA, scripts in /docker-entrypoint-initdb.d run then, `postgres
 * …` arguments are passed to the server, pg_isready and pg_basebackup are on PATH, pg_partman and its background
 * worker are installed, and the postgres user is UID 999.
 */
export class PostgresStandaloneChart extends Chart {
  constructor(scope: Construct, id: string, props: PostgresStandaloneChartProps) {
    super(scope, id, props);
    const dbSecret = credentialsSecret(this, props.secrets);
    const roleSecrets = serviceRoleSecrets(this, props.secrets);
    const initdb: ConfigMapMount = {
      configMap: 'postgres-initdb',
      mountPath: '/docker-entrypoint-initdb.d',
      defaultMode: 0o555,
    };
    const labels = appLabels(PG_CLUSTER_NAME, 'database');
    new k8s.KubeConfigMap(this, 'initdb', {
      metadata: { name: initdb.configMap, labels },
      data: {
        ...readRepoFile('deploy/postgres/initdb/010-replication.sh', props.files),
        ...readRepoFile('deploy/postgres/initdb/020-service-roles.sh', props.files),
      },
    });

    // The key must be the postgres user's with 0600, or root's with at most 0640: Secret files are root's, group
    // fsGroup, so 0440 (checked for real by services/api/test/pg-tls.test.ts).
    const tls = props.tlsSecret
      ? {
          mounts: [{ secret: props.tlsSecret, mountPath: TLS_MOUNT, defaultMode: 0o440 }],
          args: ['-c', 'ssl=on', '-c', `ssl_cert_file=${TLS_MOUNT}/tls.crt`, '-c', `ssl_key_file=${TLS_MOUNT}/tls.key`],
        }
      : { mounts: [], args: [] };
    const common = {
      component: 'database',
      containerName: 'postgres',
      image: props.image,
      uid: POSTGRES_UID,
      ports: [{ name: 'postgres', port: PG_PORT }],
      resources: resources('100m', '256Mi', '1', '512Mi'),
      readinessProbe: execProbe(['pg_isready', '-U', 'postgres', '-h', '127.0.0.1']),
      livenessDelaySeconds: 30,
      data: { mountPath: POSTGRES_DATA_MOUNT, size: '2Gi', storageClass: props.storageClass },
      scratch: POSTGRES_SCRATCH,
      secretMounts: tls.mounts,
    } satisfies Partial<StatefulServiceProps>;

    new StatefulService(this, 'primary', {
      ...common,
      name: PG_PRIMARY,
      replicas: 1,
      env: [
        ...postgresImageEnv(dbSecret),
        PGDATA_ENV,
        // Read once, by deploy/postgres/initdb/020-service-roles.sh on the first start.
        {
          name: 'PG_APP_ROLE_PASSWORD',
          valueFrom: { secretKeyRef: { name: roleSecrets.app, key: 'password' } },
        },
        {
          name: 'PG_READ_ROLE_PASSWORD',
          valueFrom: { secretKeyRef: { name: roleSecrets.read, key: 'password' } },
        },
      ],
      // The image's default server arguments, with the partition maintenance worker running as the database owner
      // (the owner created from the Secret is the only role besides the bootstrap superuser's).
      args: [
        'postgres',
        '-c',
        'shared_preload_libraries=pg_partman_bgw',
        '-c',
        `pg_partman_bgw.dbname=${PG_DATABASE}`,
        '-c',
        'pg_partman_bgw.role=$(POSTGRES_USER)',
        '-c',
        'pg_partman_bgw.interval=3600',
        // Any one standby must have a commit's WAL before it is acknowledged: a promoted standby has every
        // acknowledged write. With no standby connected, writes wait.
        ...(props.synchronous ? ['-c', 'synchronous_standby_names=ANY 1 (*)'] : []),
        ...tls.args,
      ],
      configMounts: [initdb],
    });
    new StatefulService(this, 'replica', {
      ...common,
      name: PG_REPLICA,
      replicas: Math.max(1, props.instances - 1),
      // The image's replica mode (deploy/postgres/replica-start.sh), as compose's postgres-replica uses it.
      env: [
        ...postgresImageEnv(dbSecret),
        PGDATA_ENV,
        { name: 'POSTGRES_PRIMARY_HOST', value: serviceName(CNPG_ENDPOINTS.primary) },
      ],
      // The image passes `postgres …` arguments on to the standby (deploy/postgres/replica-start.sh).
      ...(tls.args.length > 0 ? { args: ['postgres', ...tls.args] } : {}),
    });

    // The endpoints the app connects to, named as CloudNativePG names them.
    for (const [endpoint, target] of [
      [CNPG_ENDPOINTS.primary, PG_PRIMARY],
      [CNPG_ENDPOINTS.replica, PG_REPLICA],
    ] as const) {
      const name = serviceName(endpoint);
      new k8s.KubeService(this, `service-${name}`, {
        metadata: { name, labels },
        spec: {
          selector: selectorLabels(target),
          ports: [{ name: 'postgres', port: PG_PORT, targetPort: k8s.IntOrString.fromString('postgres') }],
        },
      });
    }

    const instances = {
      matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: [PG_PRIMARY, PG_REPLICA] }],
    };
    new k8s.KubeNetworkPolicy(this, 'netpol', {
      metadata: { name: `${PG_CLUSTER_NAME}-postgres`, labels },
      spec: {
        podSelector: instances,
        policyTypes: ['Ingress'],
        ingress: [
          {
            // Clients, and the instances themselves for streaming replication.
            from: [
              ...props.clientPodNames.map((name) => ({ podSelector: { matchLabels: selectorLabels(name) } })),
              { podSelector: instances },
            ],
            ports: [{ port: k8s.IntOrString.fromNumber(PG_PORT), protocol: 'TCP' }],
          },
        ],
      },
    });
  }
}
