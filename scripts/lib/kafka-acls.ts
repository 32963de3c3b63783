/**
 * Grants the ACLs of a secure scripts/kafka.sh node (`start --secure`), connected as its super user over SASL_SSL
 * with the project's own client settings. The same least-privilege shape as the Strimzi KafkaUsers
 * (cdk8s/src/charts/kafka.ts), on name prefixes so that tests can use fresh topics and groups:
 *   ingest  Write + Describe on topics `webhooks.*`, IdempotentWrite on the cluster
 *   api     Read + Write + Describe on topics `webhooks.*` (main topics and DLQs), Read on groups `payment-app-*`
 * Usage: node scripts/lib/kafka-acls.ts <cluster dir>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { type AclEntry } from 'kafkajs';
import { createKafkaClient } from '../../services/shared/src/kafka-client.ts';

const SECURE_TOPIC_PREFIX = 'webhooks.';
const SECURE_GROUP_PREFIX = 'payment-app-';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node scripts/lib/kafka-acls.ts <cluster dir of scripts/kafka.sh start --secure>\n');
  process.exit(2);
}

function keyValues(file: string): Map<string, string> {
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^([^=]+)=(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1] as string, match[2] as string] as const);
  return new Map(entries);
}

const users = keyValues(join(dir, 'users'));
const port = keyValues(join(dir, 'cluster.env')).get('node.1.broker');
const adminPassword = users.get('admin');
if (!port || !adminPassword) throw new Error(`${dir} is not a secure scripts/kafka.sh node`);

// kafkajs is CommonJS: its enums are properties of the default export only.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type AclResourceTypes = kafkajs.AclResourceTypes;
type ResourcePatternTypes = kafkajs.ResourcePatternTypes;
type AclOperationTypes = kafkajs.AclOperationTypes;

const allow = (
  principal: string,
  resourceType: AclResourceTypes,
  resourceName: string,
  resourcePatternType: ResourcePatternTypes,
  operations: AclOperationTypes[],
): AclEntry[] =>
  operations.map((operation) => ({
    principal: `User:${principal}`,
    host: '*',
    resourceType,
    resourceName,
    resourcePatternType,
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  }));

const { TOPIC, GROUP, CLUSTER } = AclResourceTypes;
const { PREFIXED, LITERAL } = ResourcePatternTypes;
const { READ, WRITE, DESCRIBE, IDEMPOTENT_WRITE } = AclOperationTypes;
const acl: AclEntry[] = [
  ...allow('ingest', TOPIC, SECURE_TOPIC_PREFIX, PREFIXED, [WRITE, DESCRIBE]),
  ...allow('ingest', CLUSTER, 'kafka-cluster', LITERAL, [IDEMPOTENT_WRITE]),
  ...allow('api', TOPIC, SECURE_TOPIC_PREFIX, PREFIXED, [READ, WRITE, DESCRIBE]),
  ...allow('api', GROUP, SECURE_GROUP_PREFIX, PREFIXED, [READ]),
];

const admin = createKafkaClient({
  clientId: 'kafka-acls',
  brokers: [`127.0.0.1:${port}`],
  security: {
    tls: { ca: readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8') },
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: adminPassword },
  },
}).admin();
await admin.connect();
try {
  await admin.createAcls({ acl });
  process.stdout.write(`granted ${acl.length} ACL entries to ingest and api\n`);
} finally {
  await admin.disconnect();
}
