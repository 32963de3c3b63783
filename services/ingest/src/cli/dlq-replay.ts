/**
 * `npm run dlq:replay -- --topic webhooks.orders.dlq [--dry-run] [--to webhooks.orders]`
 * Brokers from KAFKA_BROKERS; KAFKA_IDEMPOTENT_PRODUCER=false only for brokers without it (the test mock).
 */
import { parseArgs } from 'node:util';
import { createKafkaClient, parseBrokerList } from '@payment-manager/shared/kafka-client';
import { defaultTargetTopic, replayDeadLetters } from '../kafka/dlq-replay.ts';

function fail(message: string): never {
  process.stderr.write(`dlq:replay: ${message}\n`);
  process.exit(1);
}

let args: { topic?: string; to?: string; 'dry-run'?: boolean; group?: string };
try {
  args = parseArgs({
    options: {
      topic: { type: 'string' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean' },
      group: { type: 'string' },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(
    `${(err as Error).message}\nusage: npm run dlq:replay -- --topic <name>.dlq [--to <main topic>] [--dry-run] [--group <id>]`,
  );
}
if (!args.topic) fail('--topic is required, e.g. --topic webhooks.orders.dlq');
const brokers = parseBrokerList(process.env.KAFKA_BROKERS);
if (brokers.length === 0) fail('KAFKA_BROKERS is not set');
const idempotent = !['false', '0', 'no'].includes((process.env.KAFKA_IDEMPOTENT_PRODUCER ?? 'true').toLowerCase());

let target: string;
try {
  target = args.to ?? defaultTargetTopic(args.topic);
} catch (err) {
  fail((err as Error).message);
}
const dryRun = args['dry-run'] ?? false;
const started = Date.now();
let lastProgress = 0;

try {
  const summary = await replayDeadLetters({
    kafka: createKafkaClient({ clientId: 'payment-manager-dlq-replay', brokers }),
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
