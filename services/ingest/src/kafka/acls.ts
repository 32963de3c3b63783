/**
 * ACLs for brokers without an operator to manage them (docs/kafka.md#security): the standalone stack's topics Job
 * (`npm run kafka:acls`) and the secure test node of scripts/kafka.sh. The rules are written like Strimzi's
 * KafkaUser ACLs, so cdk8s/src/kafka-access.ts describes both stacks' users once.
 */

import { ConfigError } from '@payment-manager/shared';
import kafkajs, { type AclEntry, type Kafka } from 'kafkajs';

// kafkajs is CommonJS: its enums are properties of the default export only.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

export const ACL_OPERATIONS = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Describe: AclOperationTypes.DESCRIBE,
  Create: AclOperationTypes.CREATE,
  IdempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
} as const;
export type AclOperationName = keyof typeof ACL_OPERATIONS;

/** One allow rule of a user: Strimzi's shape plus the user it is for. */
export interface UserAcl {
  user: string;
  resource: { type: 'topic' | 'group' | 'cluster'; name?: string; patternType?: 'literal' | 'prefix' };
  operations: AclOperationName[];
}

const RESOURCE_TYPES = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  cluster: AclResourceTypes.CLUSTER,
} as const;

/** The kafkajs entries of the rules (one per operation). */
export function aclEntries(rules: UserAcl[]): AclEntry[] {
  return rules.flatMap((rule) => {
    const resourceType = RESOURCE_TYPES[rule.resource.type];
    if (resourceType === undefined) throw new ConfigError(`unknown ACL resource type "${rule.resource.type}"`);
    if (!rule.user) throw new ConfigError('an ACL rule without a user');
    return rule.operations.map((operation) => {
      const code = ACL_OPERATIONS[operation];
      if (code === undefined) throw new ConfigError(`unknown ACL operation "${operation}"`);
      return {
        principal: `User:${rule.user}`,
        host: '*',
        resourceType,
        // Kafka's one cluster resource is named kafka-cluster.
        resourceName: rule.resource.type === 'cluster' ? 'kafka-cluster' : (rule.resource.name ?? ''),
        resourcePatternType:
          rule.resource.patternType === 'prefix' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
        operation: code,
        permissionType: AclPermissionTypes.ALLOW,
      };
    });
  });
}

/** Parses KAFKA_ACLS (a JSON array of UserAcl). */
export function parseUserAcls(raw: string | undefined): UserAcl[] {
  if (!raw?.trim()) throw new ConfigError('KAFKA_ACLS is not set (a JSON array of {user, resource, operations})');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`KAFKA_ACLS is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError('KAFKA_ACLS must be a JSON array');
  return parsed as UserAcl[];
}

/** Creates the rules (Kafka keeps one copy of an identical ACL, so repeating is harmless); returns how many. */
export async function grantAcls(kafka: Kafka, rules: UserAcl[]): Promise<number> {
  const acl = aclEntries(rules);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl });
    return acl.length;
  } finally {
    await admin.disconnect();
  }
}
