/**
 * `npm run dlq:replay -- --topic webhooks.orders.dlq [--dry-run] [--to webhooks.orders]`
 * Brokers from KAFKA_BROKERS; KAFKA_IDEMPOTENT_PRODUCER=false only for brokers without it (the test mock).
 */
import { ConfigError, envReader } from '@payment-manager/shared';
import { oneLineErrors, parseCli, UsageError } from '@payment-manager/shared/cli';
import { createKafkaClient, readKafkaSecurity } from '@payment-manager/shared/kafka-client';
import { defaultTargetTopic, replayDeadLetters } from '../kafka/dlq-replay.ts';

const { values: args } = parseCli({
  command: 'npm run dlq:replay --',
  summary: 'Re-publishes the dead letters of a DLQ topic to their main topic (same key and value, trace headers kept).',
  options: {
    topic: { type: 'string', valueName: '<name>.dlq', description: 'the dead-letter topic to read; required' },
    to: { type: 'string', valueName: '<topic>', description: 'where to publish (default: the DLQ name without .dlq)' },
    'dry-run': { type: 'boolean', description: 'list the letters, publish nothing' },
    group: {
      type: 'string',
      valueName: '<id>',
      description: 'consumer group (default payment-manager-dlq-replay.<topic>)',
    },
  },
  environment: {
    KAFKA_BROKERS: 'bootstrap list, e.g. 127.0.0.1:9092; required',
    KAFKA_IDEMPOTENT_PRODUCER: "true (default) or false, only for brokers without it (librdkafka's mock)",
    KAFKA_SSL_CA_FILE: 'TLS like the services (also KAFKA_SSL, KAFKA_SSL_CA_PEM; docs/kafka.md#security)',
    KAFKA_SASL_MECHANISM: 'scram-sha-512 with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD(_FILE)',
  },
  examples: ['npm run dlq:replay -- --topic webhooks.orders.dlq --dry-run'],
});
oneLineErrors('dlq:replay');

function fail(message: string): never {
  process.stderr.write(`dlq:replay: ${message}\n`);
  process.exit(1);
}

if (!args.topic) throw new UsageError('--topic is required, e.g. --topic webhooks.orders.dlq');
const read = envReader(process.env);
const brokers = read.list('KAFKA_BROKERS');
if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS is not set (e.g. KAFKA_BROKERS=127.0.0.1:9092)');
// Strict: `KAFKA_IDEMPOTENT_PRODUCER=fals` stops the tool naming the variable instead of meaning true.
const idempotent = read.boolean('KAFKA_IDEMPOTENT_PRODUCER', true);
const security = readKafkaSecurity(process.env);

let target: string;
try {
  target = args.to ?? defaultTargetTopic(args.topic);
} catch (err) {
  throw new UsageError((err as Error).message);
}
const dryRun = args['dry-run'] ?? false;
const started = Date.now();
let lastProgress = 0;

try {
  const summary = await replayDeadLetters({
    kafka: createKafkaClient({ clientId: 'payment-manager-dlq-replay', brokers, security }),
    dlqTopic: args.topic,
    targetTopic: target,
    dryRun,
    groupId: args.group,
    idempotentProducer: idempotent,
    onLetter: dryRun
      ? (letter) =>
          process.stdout.write(
            `would replay p${letter.partition}@${letter.offset} key=${letter.key} error=${letter.error}\n`,
          )
      : undefined,
    onProgress: (done, total) => {
      const now = Date.now();
      if (done === total || now - lastProgress > 500) {
        lastProgress = now;
        process.stdout.write(`\r${dryRun ? 'inspected' : 'replayed'} ${done}/${total}`);
        if (done === total) process.stdout.write('\n');
      }
    },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    dryRun
      ? `dry run: ${summary.pending} dead letter(s) in ${summary.dlqTopic} would go to ${summary.targetTopic}; nothing published or committed (${seconds} s)\n`
      : `replayed ${summary.replayed} of ${summary.pending} dead letter(s) from ${summary.dlqTopic} to ${summary.targetTopic} (${seconds} s)\n`,
  );
} catch (err) {
  fail(`failed: ${(err as Error).message}`);
}
