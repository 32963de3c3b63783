import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import { resources } from '../constructs/hardening.ts';
import { selectorLabels } from '../constructs/labels.ts';
import { OneShotJob } from '../constructs/one-shot-job.ts';
import { APP_UID } from '../constructs/service.ts';
import { StatefulService } from '../constructs/stateful-service.ts';
import {
  KAFKA_ACLS,
  KAFKA_CLUSTER_CA,
  KAFKA_TLS_BOOTSTRAP,
  KAFKA_TLS_PORT,
  KAFKA_USERS,
  type KafkaClientName,
  STANDALONE_KAFKA_SECRETS,
} from '../kafka-access.ts';
import {
  KAFKA_BOOTSTRAP,
  KAFKA_BOOTSTRAP_SERVICE,
  KAFKA_CLIENT_PORT,
  KAFKA_CLUSTER_NAME,
  KAFKA_TOPICS,
  kafkaReplication,
} from '../topics.ts';

/** StatefulSet (and headless Service): pods are payments-kafka-0, -1, … reachable as <pod>.payments-kafka. */
export const KAFKA_NODES = `${KAFKA_CLUSTER_NAME}-kafka`;
export const KAFKA_TOPICS_JOB = 'kafka-topics';
const CONTROLLER_PORT = 9093;
/** With TLS the clients' listener takes Strimzi's 9093, so the controllers move to 9094. */
const TLS_CONTROLLER_PORT = 9094;
/** UID of the kafka image's user (as appuser in apache/kafka). */
const KAFKA_UID = 1000;
/**
 * KRaft formats each empty log directory with this id on first start; every node of one cluster needs the same one
 * (22 characters: a base64url-encoded UUID). Not a secret.
 */
const KAFKA_CLUSTER_ID = 'bN4iN33xSG-Aso_TLXaDHg';
const DATA_MOUNT = '/var/lib/kafka/data';

export interface KafkaStandaloneChartProps extends ChartProps {
  image: string;
  replicas: number;
  storage: string;
  storageClass?: string;
  /** Workloads allowed to reach the client listener. */
  clientPodNames: string[];
  /** The ingest image: its one-shot topic command (`npm run kafka:topics`) creates the topics. */
  topicsImage: string;
  /** TLS + SCRAM-SHA-512 + ACLs as with Strimzi (PM_STANDALONE_KAFKA_TLS; docs/kafka.md#security). */
  tls?: boolean;
}

const secretEnv = (name: string, secretName: string, key: string): k8s.EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secretName, key } },
});

/** Passwords of the SCRAM users, as variables the broker's settings refer to with $(VAR). */
const USER_PASSWORD_VARS: Record<KafkaClientName, string> = {
  ingest: 'INGEST_PASSWORD',
  api: 'API_PASSWORD',
  ops: 'OPS_PASSWORD',
};

/**
 * The brokers' settings for TLS + SCRAM (docs/kafka.md#security): one SASL_SSL listener for clients and between
 * brokers (SCRAM-SHA-512) and SASL_SSL with PLAIN for the controllers (SCRAM credentials live in the metadata the
 * controllers serve, so the quorum cannot use them); the users exist from the first format (SCRAM_SHA_512_USERS);
 * Kafka's StandardAuthorizer with `admin` as the only super user. Certificates and keys are PEM from Secrets.
 */
function tlsBrokerEnv(): k8s.EnvVar[] {
  const { serverTls, admin } = STANDALONE_KAFKA_SECRETS;
  const jaas = (module: string, extra = '') =>
    `org.apache.kafka.common.security.${module} required username="${admin.username}" password="$(ADMIN_PASSWORD)"${extra};`;
  const users = [
    `${admin.username}=$(ADMIN_PASSWORD)`,
    ...(Object.keys(KAFKA_USERS) as KafkaClientName[]).map((c) => `${KAFKA_USERS[c]}=$(${USER_PASSWORD_VARS[c]})`),
  ];
  return [
    // Declared before the variables that expand them.
    secretEnv('ADMIN_PASSWORD', admin.secretName, admin.key),
    ...(Object.keys(KAFKA_USERS) as KafkaClientName[]).map((c) =>
      secretEnv(USER_PASSWORD_VARS[c], KAFKA_USERS[c], 'password'),
    ),
    { name: 'SCRAM_SHA_512_USERS', value: users.join(',') },
    { name: 'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP', value: 'CLIENTS:SASL_SSL,CONTROLLER:SASL_SSL' },
    { name: 'KAFKA_INTER_BROKER_LISTENER_NAME', value: 'CLIENTS' },
    { name: 'KAFKA_SASL_ENABLED_MECHANISMS', value: 'SCRAM-SHA-512' },
    { name: 'KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL', value: 'SCRAM-SHA-512' },
    { name: 'KAFKA_LISTENER_NAME_CLIENTS_SCRAM___SHA___512_SASL_JAAS_CONFIG', value: jaas('scram.ScramLoginModule') },
    { name: 'KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL', value: 'PLAIN' },
    { name: 'KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS', value: 'PLAIN' },
    {
      name: 'KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG',
      value: jaas('plain.PlainLoginModule', ` user_${admin.username}="$(ADMIN_PASSWORD)"`),
    },
    { name: 'KAFKA_SSL_KEYSTORE_TYPE', value: 'PEM' },
    secretEnv('KAFKA_SSL_KEYSTORE_CERTIFICATE_CHAIN', serverTls.secretName, serverTls.certKey),
    secretEnv('KAFKA_SSL_KEYSTORE_KEY', serverTls.secretName, serverTls.keyKey),
    { name: 'KAFKA_SSL_TRUSTSTORE_TYPE', value: 'PEM' },
    secretEnv('KAFKA_SSL_TRUSTSTORE_CERTIFICATES', KAFKA_CLUSTER_CA.secretName, KAFKA_CLUSTER_CA.key),
    { name: 'KAFKA_AUTHORIZER_CLASS_NAME', value: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' },
    { name: 'KAFKA_SUPER_USERS', value: `User:${admin.username}` },
    { name: 'KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND', value: 'false' },
  ];
}

/** Static quorum: every node is a voter, `<node id>@<pod>.<headless service>:9093`, node id = pod ordinal. */
export function controllerQuorumVoters(replicas: number, port = CONTROLLER_PORT): string {
  return Array.from({ length: replicas }, (_, id) => `${id}@${KAFKA_NODES}-${id}.${KAFKA_NODES}:${port}`).join(',');
}

/**
 * Kafka without Strimzi (PM_STACK=standalone): a KRaft StatefulSet whose pods are each controller and broker, from our
 * own image payment-manager/kafka (deploy/kafka). Replication as with Strimzi: RF 3 and min.insync.replicas 2 with
 * three nodes, 1/1 in the dev profile. The bootstrap Service has Strimzi's name and port, so the app's
 * KAFKA_BROKERS is the same in both stacks; the topics come from the app's own `kafka:topics` command, run as a Job
 * (Strimzi's KafkaTopic resources do it otherwise).
 *
 * Image contract (the environment of the apache/kafka image; docs/kubernetes.md, "Standalone stack"):
 * - KAFKA_NODE_ID_FROM_HOSTNAME=true: the image takes the node id from the ordinal at the end of its host name
 *   (payments-kafka-2 → 2), which a pod template cannot put into KAFKA_NODE_ID;
 * - KAFKA_PROCESS_ROLES, KAFKA_CONTROLLER_QUORUM_VOTERS, KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS,
 *   KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, KAFKA_CONTROLLER_LISTENER_NAMES, KAFKA_INTER_BROKER_LISTENER_NAME and every
 *   other KAFKA_<PROPERTY> become server properties (KAFKA_DEFAULT_REPLICATION_FACTOR → default.replication.factor);
 * - CLUSTER_ID formats an empty KAFKA_LOG_DIRS on first start; KAFKA_HEAP_OPTS sizes the JVM;
 * - it runs as UID 1000 with a read-only root file system: it renders its configuration below /tmp, and LOG_DIR
 *   (the Kafka scripts' own log and GC log directory) points there too.
 */
export class KafkaStandaloneChart extends Chart {
  constructor(scope: Construct, id: string, props: KafkaStandaloneChartProps) {
    super(scope, id, props);
    const { factor, minInSync } = kafkaReplication(props.replicas);
    const env = (values: Record<string, string | number>): k8s.EnvVar[] =>
      Object.entries(values).map(([name, value]) => ({ name, value: String(value) }));
    const tls = props.tls === true;
    const clientPort = tls ? KAFKA_TLS_PORT : KAFKA_CLIENT_PORT;
    const controllerPort = tls ? TLS_CONTROLLER_PORT : CONTROLLER_PORT;
    const clientListener = tls ? 'CLIENTS' : 'PLAINTEXT';
    const clientPortName = tls ? 'tls' : 'plain';

    const nodes = new StatefulService(this, 'nodes', {
      name: KAFKA_NODES,
      component: 'kafka',
      replicas: props.replicas,
      containerName: 'kafka',
      image: props.image,
      uid: KAFKA_UID,
      env: [
        // Declared first: KAFKA_ADVERTISED_LISTENERS expands it ($(VAR) sees only earlier variables).
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        // With TLS the advertised names are <pod>.payments-kafka.<namespace>.svc: a certificate's wildcard covers
        // one label under at least two more (Node's TLS refuses *.payments-kafka for payments-kafka-0.payments-kafka).
        ...(tls ? [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }] : []),
        ...(tls ? tlsBrokerEnv() : []),
        ...env({
          CLUSTER_ID: KAFKA_CLUSTER_ID,
          KAFKA_NODE_ID_FROM_HOSTNAME: 'true',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_CONTROLLER_QUORUM_VOTERS: controllerQuorumVoters(props.replicas, controllerPort),
          KAFKA_LISTENERS: `${clientListener}://:${clientPort},CONTROLLER://:${controllerPort}`,
          KAFKA_ADVERTISED_LISTENERS: `${clientListener}://$(POD_NAME).${KAFKA_NODES}${tls ? '.$(POD_NAMESPACE).svc' : ''}:${clientPort}`,
          // With TLS these two come from tlsBrokerEnv; the order here keeps the plaintext pod template as it was.
          ...(tls ? {} : { KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT' }),
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          ...(tls ? {} : { KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT' }),
          // A subdirectory: a fresh volume's root may hold lost+found, which Kafka would take for a log directory.
          KAFKA_LOG_DIRS: `${DATA_MOUNT}/logs`,
          KAFKA_HEAP_OPTS: '-Xms512m -Xmx512m',
          LOG_DIR: '/tmp/kafka-logs',
          // Topics come from the kafka-topics Job; a typo in a topic name must fail, not create a topic.
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
          KAFKA_DEFAULT_REPLICATION_FACTOR: factor,
          KAFKA_MIN_INSYNC_REPLICAS: minInSync,
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: factor,
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: factor,
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: minInSync,
        }),
      ],
      ports: [
        { name: clientPortName, port: clientPort },
        { name: 'controller', port: controllerPort },
      ],
      // Ready = the broker port accepts connections (a JVM per probe for kafka-broker-api-versions would cost more
      // than it tells: clients and the topics Job retry until the quorum serves them anyway).
      readinessProbe: {
        tcpSocket: { port: k8s.IntOrString.fromNumber(clientPort) },
        periodSeconds: 10,
        failureThreshold: 3,
        timeoutSeconds: 2,
      },
      livenessDelaySeconds: 120,
      // As Strimzi's node pool: the heap is half of the limit, the rest is page cache and direct buffers.
      resources: resources('250m', '1Gi', '1', '1Gi'),
      data: { mountPath: DATA_MOUNT, size: props.storage, storageClass: props.storageClass },
      scratch: { tmp: '/tmp' },
      // A node is ready only once a quorum exists: all nodes must start together and find each other by name.
      parallel: true,
      publishNotReadyAddresses: true,
    });

    new k8s.KubeService(this, 'bootstrap', {
      metadata: { name: KAFKA_BOOTSTRAP_SERVICE, labels: nodes.labels },
      spec: {
        selector: nodes.selector,
        ports: [{ name: clientPortName, port: clientPort, targetPort: k8s.IntOrString.fromString(clientPortName) }],
      },
    });

    const peers = (names: string[]) => names.map((name) => ({ podSelector: { matchLabels: selectorLabels(name) } }));
    const tcp = (port: number) => ({ port: k8s.IntOrString.fromNumber(port), protocol: 'TCP' });
    new k8s.KubeNetworkPolicy(this, 'netpol', {
      metadata: { name: KAFKA_NODES, labels: nodes.labels },
      spec: {
        podSelector: { matchLabels: nodes.selector },
        policyTypes: ['Ingress'],
        ingress: [
          { from: peers([...props.clientPodNames, KAFKA_TOPICS_JOB]), ports: [tcp(clientPort)] },
          { from: peers([KAFKA_NODES]), ports: [tcp(clientPort), tcp(controllerPort)] },
        ],
      },
    });

    this.topicsJob(props, factor, tls);
  }

  /** `npm run kafka:topics` of the ingest image; it retries (pod restarts) until the quorum is up, then exits. */
  private topicsJob(props: KafkaStandaloneChartProps, replicationFactor: number, tls: boolean): void {
    const partitions = (name: string) => String(KAFKA_TOPICS.find((t) => t.name === name)?.partitions);
    const { admin } = STANDALONE_KAFKA_SECRETS;
    // With TLS it works as the super user, and also grants the users' ACLs (Strimzi's User Operator does it otherwise).
    const access: k8s.EnvVar[] = tls
      ? [
          { name: 'KAFKA_BROKERS', value: KAFKA_TLS_BOOTSTRAP },
          secretEnv('KAFKA_SSL_CA_PEM', KAFKA_CLUSTER_CA.secretName, KAFKA_CLUSTER_CA.key),
          { name: 'KAFKA_SASL_MECHANISM', value: 'scram-sha-512' },
          { name: 'KAFKA_SASL_USERNAME', value: admin.username },
          secretEnv('KAFKA_SASL_PASSWORD', admin.secretName, admin.key),
        ]
      : [{ name: 'KAFKA_BROKERS', value: KAFKA_BOOTSTRAP }];
    const acls = (Object.keys(KAFKA_USERS) as KafkaClientName[]).flatMap((client) =>
      KAFKA_ACLS[client].map((rule) => ({ user: KAFKA_USERS[client], ...rule })),
    );
    new OneShotJob(this, 'topics', {
      name: KAFKA_TOPICS_JOB,
      component: 'kafka',
      containerName: 'create-topics',
      image: props.topicsImage,
      uid: APP_UID,
      // args, not command: the image's ENTRYPOINT (tini) stays PID 1.
      args: tls
        ? ['sh', '-c', 'node services/ingest/src/cli/create-topics.ts && node services/ingest/src/cli/kafka-acls.ts']
        : ['node', 'services/ingest/src/cli/create-topics.ts'],
      env: [
        ...access,
        ...(tls ? [{ name: 'KAFKA_ACLS', value: JSON.stringify(acls) }] : []),
        { name: 'KAFKA_ORDERS_TOPIC', value: 'webhooks.orders' },
        { name: 'KAFKA_DISPUTES_TOPIC', value: 'webhooks.disputes' },
        { name: 'KAFKA_ORDERS_DLQ_TOPIC', value: 'webhooks.orders.dlq' },
        { name: 'KAFKA_DISPUTES_DLQ_TOPIC', value: 'webhooks.disputes.dlq' },
        { name: 'KAFKA_TOPIC_PARTITIONS', value: partitions('webhooks.orders') },
        { name: 'KAFKA_DLQ_PARTITIONS', value: partitions('webhooks.orders.dlq') },
        { name: 'KAFKA_REPLICATION_FACTOR', value: String(replicationFactor) },
        // The brokers start with it: it waits for their quorum instead of crash-looping into the Job's back-off.
        { name: 'KAFKA_WAIT_SECONDS', value: '600' },
      ],
      resources: resources('50m', '64Mi', '500m', '256Mi'),
      scratch: ['/tmp'],
    });
  }
}
