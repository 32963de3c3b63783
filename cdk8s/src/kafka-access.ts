import type { PlatformConfig } from './config.ts';
import type { SecretRef } from './constructs/service.ts';
import { KAFKA_BOOTSTRAP, KAFKA_BOOTSTRAP_SERVICE, KAFKA_CLUSTER_NAME } from './topics.ts';

/**
 * Who reaches Kafka, how, and with which rights (docs/kafka.md#security): the one place that names the Kafka users,
 * their ACLs and the Secrets the services read their TLS and SCRAM settings from.
 *
 * Operators stack: Strimzi's TLS listener with SCRAM-SHA-512 authentication and simple authorization. Strimzi
 * writes the cluster CA to `<cluster>-cluster-ca-cert` (key ca.crt) and, for each KafkaUser, a Secret named after
 * the user (key password); the services take both as environment variables (readKafkaSecurity).
 */

/** The TLS + SCRAM listener (Strimzi's conventional port for an internal TLS listener). */
export const KAFKA_TLS_PORT = 9093;
export const KAFKA_TLS_BOOTSTRAP = `${KAFKA_BOOTSTRAP_SERVICE}:${KAFKA_TLS_PORT}`;

/** The CA that signed the brokers' certificates, as Strimzi publishes it. */
export const KAFKA_CLUSTER_CA: SecretRef = { secretName: `${KAFKA_CLUSTER_NAME}-cluster-ca-cert`, key: 'ca.crt' };

/** KafkaUser names: also the names of the Secrets Strimzi writes their passwords to. */
export const KAFKA_USERS = {
  ingest: 'payment-manager-ingest',
  api: 'payment-manager-api',
  /** For operators' tools: `npm run dlq:replay` (reads a DLQ, writes its main topic) and `kafka:topics` checks. */
  ops: 'payment-manager-kafka-ops',
} as const;
export type KafkaClientName = keyof typeof KAFKA_USERS;

export type KafkaAclOperation = 'Read' | 'Write' | 'Describe' | 'Create' | 'IdempotentWrite';
export interface KafkaAcl {
  resource: { type: 'topic' | 'group' | 'cluster'; name?: string; patternType?: 'literal' | 'prefix' };
  operations: KafkaAclOperation[];
}

/** The topic and group names the services use (cdk8s/src/charts/app.ts sets them; docs/kafka.md#topics). */
export const KAFKA_NAMES = {
  ordersTopic: 'webhooks.orders',
  disputesTopic: 'webhooks.disputes',
  ordersDlqTopic: 'webhooks.orders.dlq',
  disputesDlqTopic: 'webhooks.disputes.dlq',
  ordersGroup: 'payment-app-orders',
  disputesGroup: 'payment-app-disputes',
  /** dlq:replay's default group is `payment-manager-dlq-replay.<dlq topic>`. */
  dlqReplayGroupPrefix: 'payment-manager-dlq-replay.',
} as const;

const topics = (names: string[], operations: KafkaAclOperation[]): KafkaAcl[] =>
  names.map((name) => ({ resource: { type: 'topic', name, patternType: 'literal' }, operations }));
const groups = (names: string[], patternType: 'literal' | 'prefix' = 'literal'): KafkaAcl[] =>
  names.map((name) => ({ resource: { type: 'group', name, patternType }, operations: ['Read'] }));

const { ordersTopic, disputesTopic, ordersDlqTopic, disputesDlqTopic } = KAFKA_NAMES;

/**
 * Least privilege per user: ingest only publishes the webhook topics; the API consumes them in its two groups and
 * writes their dead letters; the ops user replays dead letters.
 */
export const KAFKA_ACLS: Record<KafkaClientName, KafkaAcl[]> = {
  ingest: [
    ...topics([ordersTopic, disputesTopic], ['Write', 'Describe']),
    // The idempotent producer (KAFKA_IDEMPOTENT_PRODUCER=true).
    { resource: { type: 'cluster' }, operations: ['IdempotentWrite'] },
  ],
  api: [
    ...topics([ordersTopic, disputesTopic], ['Read', 'Describe']),
    ...topics([ordersDlqTopic, disputesDlqTopic], ['Write', 'Describe']),
    ...groups([KAFKA_NAMES.ordersGroup, KAFKA_NAMES.disputesGroup]),
    { resource: { type: 'cluster' }, operations: ['IdempotentWrite'] },
  ],
  ops: [
    ...topics([ordersDlqTopic, disputesDlqTopic], ['Read', 'Describe']),
    ...topics([ordersTopic, disputesTopic], ['Write', 'Describe']),
    ...groups([KAFKA_NAMES.dlqReplayGroupPrefix], 'prefix'),
    { resource: { type: 'cluster' }, operations: ['IdempotentWrite'] },
  ],
};

/** The Kafka settings of a client pod: plain values for its ConfigMap, Secret references for its environment. */
export interface KafkaClientEnv {
  config: Record<string, string>;
  secretEnv: Record<string, SecretRef>;
}

/**
 * How the services reach Kafka: TLS + SCRAM-SHA-512 with Strimzi, and in the standalone stack with
 * PM_STANDALONE_KAFKA_TLS=true; otherwise the standalone stack's in-cluster plaintext listener.
 */
export type KafkaAccess = 'scram-tls' | 'plaintext';
export function kafkaAccessOf(config: Pick<PlatformConfig, 'stack' | 'standaloneKafkaTls'>): KafkaAccess {
  return config.stack === 'operators' || config.standaloneKafkaTls ? 'scram-tls' : 'plaintext';
}

/**
 * Standalone stack with TLS: Secrets nobody else writes (no operator). Same names and keys as Strimzi's where the
 * app reads them, so the app's objects are those of the operators stack; scripts/kafka-secrets.sh creates them all.
 */
export const STANDALONE_KAFKA_SECRETS = {
  /** The brokers' certificate (for *.payments-kafka and payments-kafka-bootstrap) and its PKCS#8 key, PEM. */
  serverTls: { secretName: `${KAFKA_CLUSTER_NAME}-kafka-tls`, certKey: 'tls.crt', keyKey: 'tls.key' },
  /** The super user the brokers use among themselves and the topics Job uses to create topics and ACLs. */
  admin: { secretName: `${KAFKA_CLUSTER_NAME}-kafka-admin`, key: 'password', username: 'admin' },
} as const;

/** KAFKA_BROKERS and the TLS + SCRAM variables of readKafkaSecurity (services/shared/src/kafka-client.ts). */
export function kafkaClientEnv(client: KafkaClientName, access: KafkaAccess): KafkaClientEnv {
  if (access === 'plaintext') return { config: { KAFKA_BROKERS: KAFKA_BOOTSTRAP }, secretEnv: {} };
  return {
    config: {
      KAFKA_BROKERS: KAFKA_TLS_BOOTSTRAP,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: KAFKA_USERS[client],
    },
    secretEnv: {
      KAFKA_SSL_CA_PEM: KAFKA_CLUSTER_CA,
      KAFKA_SASL_PASSWORD: { secretName: KAFKA_USERS[client], key: 'password' },
    },
  };
}
