import { Chart, type ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import type { PlatformConfig } from '../config.ts';
import { httpProbe } from '../constructs/hardening.ts';
import { appLabels, selectorLabels } from '../constructs/labels.ts';
import { PaymentService, type SecretRef } from '../constructs/service.ts';
import { SupportService } from '../constructs/support-service.ts';
import { type DatabaseEndpoints, PG_CA_MOUNT, pgUrlFromEnv } from '../database.ts';
import { kafkaAccessOf, kafkaClientEnv } from '../kafka-access.ts';
import { readRepoDir } from '../repo-files.ts';
import { CREDENTIALS, PlatformSecret, type SecretsConfig } from '../secrets.ts';

export const API = 'api';
export const INGEST = 'ingest';
/** Default names of the Secrets the services read (PM_SECRET_WEBHOOK / PM_SECRET_API_KEYS rename them). */
export const WEBHOOK_SECRET_NAME = CREDENTIALS.webhook.defaultName;
export const API_KEYS_SECRET_NAME = CREDENTIALS.apiKeys.defaultName;
/** Largest webhook body, enforced by ingest and the API and, before them, at the Gateway. */
export const BODY_LIMIT_BYTES = 1_048_576;
/** Processes of the fixed interface (COMMON.md). Passed as args: the images' ENTRYPOINT (tini) stays PID 1. */
export const API_ARGS = [
  'node',
  '--import',
  './services/shared/src/observability/instrumentation.ts',
  'services/api/src/main.ts',
];
export const INGEST_ARGS = [
  'node',
  '--import',
  './services/shared/src/observability/instrumentation.ts',
  'services/ingest/src/main.ts',
];
const OTLP_ENDPOINT = 'http://otel-collector:4318';

export interface AppChartProps extends ChartProps {
  config: PlatformConfig;
  database: DatabaseEndpoints;
  /** The Gateway's proxies: the only peer besides Prometheus allowed to reach ingest. */
  edgePeer: k8s.NetworkPolicyPeer;
}

/**
 * The credentials behind PG_URL (DB_*), PG_REPLICA_URL (DB_READ_*) and, in the init container, PG_MIGRATION_URL
 * (DB_OWNER_*), declared before the URLs: Kubernetes expands $(VAR) only for variables defined earlier in the list.
 * With service roles the API runs as the read/write role and reads replicas as the read-only role, and only the
 * init container migrates as the owner (docs/data-tier.md#roles); without (Citus), the owner is all of them.
 */
const basicAuth = (secretName: string, prefix: string): Record<string, SecretRef> => ({
  [`${prefix}_USER`]: { secretName, key: 'username' },
  [`${prefix}_PASSWORD`]: { secretName, key: 'password' },
});

function dbSecretEnv(database: DatabaseEndpoints, secrets: SecretsConfig): Record<string, SecretRef> {
  const { database: owner, databaseApp, databaseRead } = secrets.credentials;
  if (!database.serviceRoles) return basicAuth(owner.name, 'DB');
  return {
    ...basicAuth(databaseApp.name, 'DB'),
    ...(database.replica ? basicAuth(databaseRead.name, 'DB_READ') : {}),
  };
}

/** The API image's one-shot migrations command (deploy/api.Dockerfile), as the pod's init container runs it. */
export const MIGRATE_ARGS = ['node', 'services/api/src/migrate.ts'];

/**
 * The application: ingest and API in kafka mode, configuration, NetworkPolicies and (for kind/dev) the WireMock
 * "Silvergate". Provider webhooks reach ingest through the Gateway (charts/gateway.ts).
 *
 * Migrations run before the API of each pod listens, under node-pg-migrate's advisory lock (pods starting together
 * queue): with service roles (docs/data-tier.md#roles) in the pod's init container `migrate`, as the schema owner,
 * so the API container never holds the owner's credentials; with one role (Citus) in the API's own start-up. Its
 * startup and readiness probes therefore pass only once the schema is current, and the Deployment's rolling update
 * keeps the previous pods serving until new ones are ready: no pod of a new version serves before its migrations
 * have run. Migrations must stay compatible with the version still serving during the rollout (add first, remove
 * in a later release).
 */
export class AppChart extends Chart {
  readonly api: PaymentService;
  readonly ingest: PaymentService;

  constructor(scope: Construct, id: string, props: AppChartProps) {
    super(scope, id, props);
    const { config, database } = props;

    // Both services must agree on the mode, the broker and the topic names (docs/kafka.md#topics); each reaches
    // Kafka as its own user (docs/kafka.md#security).
    const apiKafka = kafkaClientEnv('api', kafkaAccessOf(config));
    const ingestKafka = kafkaClientEnv('ingest', kafkaAccessOf(config));
    const common = {
      HOST: '0.0.0.0',
      LOG_LEVEL: config.logLevel,
      WEBHOOK_MODE: 'kafka',
      KAFKA_ORDERS_TOPIC: 'webhooks.orders',
      KAFKA_DISPUTES_TOPIC: 'webhooks.disputes',
      BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    };
    const apiConfig = new kplus.ConfigMap(this, 'api-config', {
      metadata: { name: 'api-config', labels: appLabels(API, 'config') },
      data: {
        ...common,
        ...apiKafka.config,
        KAFKA_ORDERS_CONSUMER_GROUP: 'payment-app-orders',
        KAFKA_DISPUTES_CONSUMER_GROUP: 'payment-app-disputes',
        KAFKA_ORDERS_DLQ_TOPIC: 'webhooks.orders.dlq',
        KAFKA_DISPUTES_DLQ_TOPIC: 'webhooks.disputes.dlq',
        PG_POOL_MAX: '10',
        SILVERGATE_BASE_URL: config.silvergateBaseUrl,
        SILVERGATE_CAPTURE_PATH: '/api/v1/capture',
        SILVERGATE_SUBMIT_REPRESENTMENT_PATH: '/api/v1/dispute-representments/create',
        HTTP_SILVERGATE_CLIENT_TIMEOUT: '20s',
        PARTITION_MAINTENANCE_INTERVAL: '1h',
      },
    });
    const ingestConfig = new kplus.ConfigMap(this, 'ingest-config', {
      metadata: { name: 'ingest-config', labels: appLabels(INGEST, 'config') },
      data: {
        ...common,
        ...ingestKafka.config,
        KAFKA_IDEMPOTENT_PRODUCER: 'true',
        API_BASE_URL: `http://${API}:3000`,
      },
    });
    // Ingest requires the signing secret (it refuses to start without one). The API gets none: in kafka mode it
    // serves no public webhook route, so it has no use for it.
    const webhookSecret = new PlatformSecret(this, 'webhook-secret', {
      secrets: config.secrets,
      credential: 'webhook',
      labels: appLabels('webhook', 'config'),
    });
    const webhookEnv: Record<string, SecretRef> = {
      WEBHOOK_SECRET: { secretName: webhookSecret.name, key: 'WEBHOOK_SECRET' },
    };
    // Hashes only (role:sha256hex): the API never holds a usable key. Two entries of one role may coexist, which
    // is how a key is rotated (docs/security.md).
    const apiKeys = new PlatformSecret(this, 'api-keys', {
      secrets: config.secrets,
      credential: 'apiKeys',
      labels: appLabels(API, 'config'),
    });
    const apiKeyEnv: Record<string, SecretRef> = { API_KEYS: { secretName: apiKeys.name, key: 'API_KEYS' } };
    const dbEnv = {
      PG_URL: pgUrlFromEnv(database.primary, database),
      ...(database.replica
        ? { PG_REPLICA_URL: pgUrlFromEnv(database.replica, database, database.serviceRoles ? 'DB_READ' : 'DB') }
        : {}),
      ...(database.serviceRoles ? { MIGRATE_ON_START: 'false' } : {}),
    };
    const migrateStep = database.serviceRoles
      ? {
          initContainer: {
            name: 'migrate',
            args: MIGRATE_ARGS,
            secretEnv: basicAuth(config.secrets.credentials.database.name, 'DB_OWNER'),
            derivedEnv: { PG_MIGRATION_URL: pgUrlFromEnv(database.primary, database, 'DB_OWNER') },
          },
        }
      : {};

    this.api = new PaymentService(this, 'api', {
      name: API,
      component: 'api',
      image: config.images.api,
      args: API_ARGS,
      port: 3000,
      configMap: apiConfig,
      secretEnv: { ...dbSecretEnv(database, config.secrets), ...apiKeyEnv, ...apiKafka.secretEnv },
      derivedEnv: dbEnv,
      ...migrateStep,
      // The server certificate's CA for sslmode=verify-full (CloudNativePG's <cluster>-ca Secret).
      ...(database.tlsCa
        ? { secretFiles: [{ secretName: database.tlsCa.secret, keys: [database.tlsCa.key], mountPath: PG_CA_MOUNT }] }
        : {}),
      minReplicas: config.minReplicas,
      maxReplicas: 4,
      resources: { cpuRequestMillis: 200, cpuLimitMillis: 1000, memoryRequestMiB: 192, memoryLimitMiB: 384 },
      // Start-up includes waiting for Postgres and the migrations (possibly queued behind another replica's lock).
      startupSeconds: 600,
      otlpEndpoint: OTLP_ENDPOINT,
    });

    this.ingest = new PaymentService(this, 'ingest', {
      name: INGEST,
      component: 'ingest',
      image: config.images.ingest,
      args: INGEST_ARGS,
      port: 3001,
      configMap: ingestConfig,
      secretEnv: { ...webhookEnv, ...ingestKafka.secretEnv },
      minReplicas: config.minReplicas,
      maxReplicas: 6,
      resources: { cpuRequestMillis: 100, cpuLimitMillis: 500, memoryRequestMiB: 128, memoryLimitMiB: 256 },
      otlpEndpoint: OTLP_ENDPOINT,
    });

    this.networkPolicies(props.edgePeer);
    if (config.providerStub) this.silvergateStub(config);
  }

  private networkPolicies(edgePeer: k8s.NetworkPolicyPeer): void {
    const peer = (name: string) => ({ podSelector: { matchLabels: selectorLabels(name) } });
    // Webhooks reach ingest only through the Gateway's proxies; Prometheus scrapes its /metrics.
    new k8s.KubeNetworkPolicy(this, 'netpol-ingest', {
      metadata: { name: INGEST, labels: appLabels(INGEST, 'network') },
      spec: {
        podSelector: { matchLabels: selectorLabels(INGEST) },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [edgePeer, peer('prometheus')],
            ports: [{ port: k8s.IntOrString.fromNumber(3001), protocol: 'TCP' }],
          },
        ],
      },
    });
    // The API is internal: ingest (http mode), the Gateway's proxies and Prometheus; humans use kubectl port-forward.
    new k8s.KubeNetworkPolicy(this, 'netpol-api', {
      metadata: { name: API, labels: appLabels(API, 'network') },
      spec: {
        podSelector: { matchLabels: selectorLabels(API) },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [peer(INGEST), edgePeer, peer('prometheus')],
            ports: [{ port: k8s.IntOrString.fromNumber(3000), protocol: 'TCP' }],
          },
        ],
      },
    });
  }

  private silvergateStub(config: PlatformConfig): void {
    new SupportService(this, 'silvergate-stub', {
      name: 'silvergate-stub',
      component: 'provider-stub',
      image: config.images.wiremock,
      uid: 1000,
      args: ['--port', '8080', '--root-dir', '/home/wiremock', '--global-response-templating', '--disable-gzip'],
      ports: [{ name: 'http', port: 8080 }],
      probe: httpProbe('/__admin/health', 8080),
      mounts: [
        {
          configMap: 'silvergate-stub-mappings',
          data: readRepoDir('deploy/wiremock/mappings', ['.json'], { repoRoot: config.repoRoot }),
          mountPath: '/home/wiremock/mappings',
        },
      ],
      scratch: ['/home/wiremock/__files', '/tmp'],
      memoryLimit: '384Mi',
    });
  }
}
