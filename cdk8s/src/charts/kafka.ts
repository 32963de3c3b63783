import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { strimziRestricted } from '../constructs/hardening.ts';
import { selectorLabels } from '../constructs/labels.ts';
import { Kafka, KafkaNodePool, KafkaTopic, KafkaUser, type ResourceRequirements } from '../crds/strimzi.ts';
import { KAFKA_ACLS, KAFKA_TLS_PORT, KAFKA_USERS, type KafkaClientName } from '../kafka-access.ts';
import { KAFKA_CLUSTER_NAME, KAFKA_TOPICS, KAFKA_VERSION, kafkaReplication } from '../topics.ts';

export interface KafkaChartProps extends ChartProps {
  replicas: number;
  storage: string;
  /** Workloads allowed to reach the client listener (Strimzi turns them into a NetworkPolicy). */
  clientPodNames: string[];
}

const SMALL: ResourceRequirements = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '500m', memory: '512Mi' },
};

/**
 * Kafka via Strimzi 1.x (KRaft only, node pools only): one node pool whose nodes are both controller and broker,
 * and the contract's topics. Clients have one listener, TLS with SCRAM-SHA-512, and a KafkaUser each whose ACLs
 * grant only what it does (cdk8s/src/kafka-access.ts, docs/kafka.md#security); nothing listens in plaintext. Three nodes outside the dev profile, so the quorum and every partition survive the
 * loss of one pod or volume: replication factor 3, min.insync.replicas 2 (producers use acks=all, idempotent).
 */
export class KafkaChart extends Chart {
  constructor(scope: Construct, id: string, props: KafkaChartProps) {
    super(scope, id, props);
    const { factor: replication, minInSync } = kafkaReplication(props.replicas);

    new KafkaNodePool(this, 'pool', {
      metadata: { name: 'dual-role', labels: { 'strimzi.io/cluster': KAFKA_CLUSTER_NAME } },
      spec: {
        replicas: props.replicas,
        roles: ['controller', 'broker'],
        storage: {
          type: 'jbod',
          volumes: [
            { id: 0, type: 'persistent-claim', size: props.storage, deleteClaim: false, kraftMetadata: 'shared' },
          ],
        },
        resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      },
    });

    const restricted = strimziRestricted();
    new Kafka(this, 'kafka', {
      metadata: { name: KAFKA_CLUSTER_NAME },
      spec: {
        kafka: {
          // The metadata version follows the broker version (Strimzi's default for it) unless pinned.
          version: KAFKA_VERSION,
          template: { pod: restricted.pod, kafkaContainer: restricted.container, initContainer: restricted.container },
          listeners: [
            {
              name: 'tls',
              port: KAFKA_TLS_PORT,
              type: 'internal',
              tls: true,
              authentication: { type: 'scram-sha-512' },
              networkPolicyPeers: props.clientPodNames.map((name) => ({
                podSelector: { matchLabels: selectorLabels(name) },
              })),
            },
          ],
          // Kafka's StandardAuthorizer: a user may do only what its KafkaUser's ACLs allow.
          authorization: { type: 'simple' },
          config: {
            // Topics come from KafkaTopic resources; a typo in a topic name must fail, not create a topic.
            'auto.create.topics.enable': false,
            'offsets.topic.replication.factor': replication,
            'transaction.state.log.replication.factor': replication,
            'transaction.state.log.min.isr': minInSync,
            'default.replication.factor': replication,
            'min.insync.replicas': minInSync,
          },
        },
        // The User Operator turns the KafkaUsers into SCRAM credentials, their Secrets and ACLs.
        entityOperator: {
          template: {
            pod: restricted.pod,
            topicOperatorContainer: restricted.container,
            userOperatorContainer: restricted.container,
          },
          topicOperator: { resources: SMALL },
          userOperator: { resources: SMALL },
        },
      },
    });

    for (const topic of KAFKA_TOPICS) {
      new KafkaTopic(this, `topic-${topic.name}`, {
        metadata: { name: topic.name, labels: { 'strimzi.io/cluster': KAFKA_CLUSTER_NAME } },
        spec: {
          topicName: topic.name,
          partitions: topic.partitions,
          replicas: replication,
          config: { 'min.insync.replicas': minInSync },
        },
      });
    }

    for (const [client, name] of Object.entries(KAFKA_USERS) as Array<[KafkaClientName, string]>) {
      new KafkaUser(this, `user-${client}`, {
        metadata: { name, labels: { 'strimzi.io/cluster': KAFKA_CLUSTER_NAME } },
        spec: {
          authentication: { type: 'scram-sha-512' },
          authorization: {
            type: 'simple',
            acls: KAFKA_ACLS[client],
          },
        },
      });
    }
  }
}
