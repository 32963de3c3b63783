import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import type { KafkaAcl } from '../kafka-access.ts';

/*
 * Typed props for the Strimzi custom resources we use (kafka.strimzi.io/v1, operator 1.2.0, which serves only
 * v1). No npm package ships Strimzi models, so these cover exactly the fields we set; the tests validate the
 * output against the operator's CRDs, schema-only and on a real kube-apiserver.
 */

export const STRIMZI_API_VERSION = 'kafka.strimzi.io/v1';

export interface KafkaListener {
  name: string;
  port: number;
  type: 'internal' | 'route' | 'loadbalancer' | 'nodeport' | 'ingress' | 'cluster-ip';
  tls: boolean;
  /** Client authentication on this listener (SCRAM-SHA-512: credentials from KafkaUser Secrets). */
  authentication?: { type: 'scram-sha-512' | 'tls' };
  /** Strimzi generates a NetworkPolicy per listener that admits only these peers. */
  networkPolicyPeers?: Array<{
    podSelector?: { matchLabels: Record<string, string> };
    namespaceSelector?: { matchLabels: Record<string, string> };
  }>;
}

export interface ResourceRequirements {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** Strimzi's `template.pod` and `template.<x>Container`: where the pods it creates take their security contexts. */
export interface StrimziPodTemplate {
  pod?: { securityContext?: k8s.PodSecurityContext };
}
export interface StrimziContainerTemplate {
  securityContext?: k8s.SecurityContext;
}

export interface KafkaSpec {
  kafka: {
    version: string;
    listeners: KafkaListener[];
    /** `simple`: Kafka's StandardAuthorizer with the ACLs of the KafkaUsers. */
    authorization?: { type: 'simple'; superUsers?: string[] };
    config: Record<string, string | number | boolean>;
    template?: StrimziPodTemplate & {
      kafkaContainer?: StrimziContainerTemplate;
      initContainer?: StrimziContainerTemplate;
    };
  };
  entityOperator: {
    template?: StrimziPodTemplate & {
      topicOperatorContainer?: StrimziContainerTemplate;
      userOperatorContainer?: StrimziContainerTemplate;
    };
    topicOperator: { resources: ResourceRequirements };
    userOperator?: { resources: ResourceRequirements };
  };
}

export interface KafkaNodePoolSpec {
  replicas: number;
  roles: Array<'controller' | 'broker'>;
  storage: {
    type: 'jbod';
    volumes: Array<{
      id: number;
      type: 'persistent-claim';
      size: string;
      deleteClaim: boolean;
      kraftMetadata?: 'shared';
    }>;
  };
  resources: ResourceRequirements;
}

export interface KafkaTopicSpec {
  topicName?: string;
  partitions: number;
  replicas: number;
  config?: Record<string, string | number>;
}

export interface KafkaUserSpec {
  authentication: { type: 'scram-sha-512' };
  authorization: { type: 'simple'; acls: KafkaAcl[] };
}

export class Kafka extends ApiObject {
  constructor(scope: Construct, id: string, props: { metadata: ApiObjectMetadata; spec: KafkaSpec }) {
    super(scope, id, { apiVersion: STRIMZI_API_VERSION, kind: 'Kafka', ...props });
  }
}

export class KafkaNodePool extends ApiObject {
  constructor(scope: Construct, id: string, props: { metadata: ApiObjectMetadata; spec: KafkaNodePoolSpec }) {
    super(scope, id, { apiVersion: STRIMZI_API_VERSION, kind: 'KafkaNodePool', ...props });
  }
}

export class KafkaTopic extends ApiObject {
  constructor(scope: Construct, id: string, props: { metadata: ApiObjectMetadata; spec: KafkaTopicSpec }) {
    super(scope, id, { apiVersion: STRIMZI_API_VERSION, kind: 'KafkaTopic', ...props });
  }
}

export class KafkaUser extends ApiObject {
  constructor(scope: Construct, id: string, props: { metadata: ApiObjectMetadata; spec: KafkaUserSpec }) {
    super(scope, id, { apiVersion: STRIMZI_API_VERSION, kind: 'KafkaUser', ...props });
  }
}
