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
import { grantAcls, type UserAcl } from '../../services/ingest/src/kafka/acls.ts';
import { createKafkaClient } from '../../services/shared/src/kafka-client.ts';

const TOPIC_PREFIX = { type: 'topic', name: 'webhooks.', patternType: 'prefix' } as const;
const RULES: UserAcl[] = [
  { user: 'ingest', resource: TOPIC_PREFIX, operations: ['Write', 'Describe'] },
  { user: 'ingest', resource: { type: 'cluster' }, operations: ['IdempotentWrite'] },
  { user: 'api', resource: TOPIC_PREFIX, operations: ['Read', 'Write', 'Describe'] },
  { user: 'api', resource: { type: 'group', name: 'payment-app-', patternType: 'prefix' }, operations: ['Read'] },
];

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

const kafka = createKafkaClient({
  clientId: 'kafka-acls',
  brokers: [`127.0.0.1:${port}`],
  security: {
    tls: { ca: readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8') },
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: adminPassword },
  },
});
process.stdout.write(`granted ${await grantAcls(kafka, RULES)} ACL entries to ingest and api\n`);
