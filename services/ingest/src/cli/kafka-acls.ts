/**
 * `npm run kafka:acls`: grants the ACLs in KAFKA_ACLS (JSON, Strimzi's rule shape plus the user) as an admin user,
 * for brokers without an operator (the standalone stack's topics Job; docs/kafka.md#security). Safe to re-run.
 */
import { ConfigError, envReader } from '@payment-manager/shared';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { createKafkaClient, readKafkaSecurity } from '@payment-manager/shared/kafka-client';
import { retryWithBackoff } from '@payment-manager/shared/resilience';
import { grantAcls, parseUserAcls } from '../kafka/acls.ts';

parseCli({
  command: 'npm run kafka:acls --',
  summary: 'Grants the ACLs of KAFKA_ACLS (safe to repeat).',
  options: {},
  environment: {
    KAFKA_BROKERS: 'bootstrap list; required',
    KAFKA_ACLS: 'JSON array of {"user", "resource": {"type", "name", "patternType"}, "operations": [...]}; required',
    KAFKA_SASL_MECHANISM: 'with KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD(_FILE) of a super user, and KAFKA_SSL_CA_*',
    KAFKA_WAIT_SECONDS: 'how long to keep trying while the cluster is not reachable yet (default 0: one try)',
  },
  examples: [
    'KAFKA_BROKERS=… KAFKA_ACLS=\'[{"user":"u","resource":{"type":"topic","name":"t"},"operations":["Read"]}]\' npm run kafka:acls',
  ],
});
oneLineErrors('kafka:acls');

const read = envReader(process.env);
const brokers = read.list('KAFKA_BROKERS');
if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS is not set');
const rules = parseUserAcls(process.env.KAFKA_ACLS);
const waitSeconds = read.integer('KAFKA_WAIT_SECONDS', 0, 0, 3600);
const kafka = createKafkaClient({
  clientId: 'payment-manager-acls',
  brokers,
  security: readKafkaSecurity(process.env),
  overrides: { retry: { retries: 3, initialRetryTime: 200 } },
});
const deadline = Date.now() + waitSeconds * 1000;
const granted = await retryWithBackoff(() => grantAcls(kafka, rules), {
  attempts: Number.POSITIVE_INFINITY,
  minDelayMs: 1_000,
  maxDelayMs: 5_000,
  shouldRetry: () => Date.now() < deadline,
  onFailure: (error, attempt, delayMs) => {
    if (delayMs > 0) process.stderr.write(`kafka:acls: try ${attempt} failed (${error.message}); trying again\n`);
  },
});
process.stdout.write(`granted ${granted} ACL entries for ${new Set(rules.map((r) => r.user)).size} user(s)\n`);
