/**
 * `npm run dev:kafka` / `npm run dev:http`: the API and ingest as two real processes in the given webhook mode
 * (docs/domain.md#services-and-modes), configured from the environment like production. Missing pieces are filled in for local use:
 * no PG_URL → embedded PostgreSQL (as `npm run dev`), no SILVERGATE_BASE_URL → provider stub, and in kafka mode
 * no KAFKA_BROKERS → a local Apache Kafka node (scripts/kafka.sh), or with `--mock` librdkafka's mock cluster via
 * kcat (which lacks the idempotent producer, so that switch is turned off for it only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { failUsage, parseCli } from '@payment-manager/shared/cli';
import {
  provideDevApiKeys,
  provideDevSignatures,
  provideLocalDependencies,
} from '../services/api/src/dev/local-dependencies.ts';
import { ensureTopics, webhookTopics } from '../services/ingest/src/kafka/topics.ts';
import { createKafkaClient, parseBrokerList, readKafkaSecurity } from '../services/shared/src/kafka-client.ts';
import { localBrokers } from './local-kafka.ts';

const {
  values: cliOptions,
  positionals: [mode],
} = parseCli({
  command: `npm run dev:${process.argv[2] === 'http' ? 'http' : 'kafka'} --`,
  summary:
    'The API (:3000) and ingest (:3001) as two processes in kafka or http webhook mode. Whatever the environment does ' +
    'not set is provided locally: an embedded PostgreSQL, a provider stub, the development API keys and, in kafka ' +
    'mode, a local Apache Kafka node.',
  options: {
    mock: {
      type: 'boolean',
      default: false,
      description: "kafka mode: librdkafka's mock cluster instead of Apache Kafka",
    },
  },
  positionals: 'kafka|http   (set by the npm script)',
  environment: {
    PG_URL: 'use this PostgreSQL instead of the embedded one',
    KAFKA_BROKERS: 'kafka mode: use these brokers instead of a local node',
    WEBHOOK_SECRET:
      'verify webhook signatures (e.g. the value in deploy/env/common.env); unset = WEBHOOK_SIGNATURES_DISABLED=true',
    PORT: 'API port (default 3000); INGEST_PORT: ingest port (default 3001)',
  },
});
if (mode !== 'kafka' && mode !== 'http')
  failUsage('dev-pipeline', `the mode must be kafka or http, got "${mode ?? ''}"`);
const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = process.env.PM_DEV_DATA_DIR || `${root}.data`;
const say = (message: string) => console.log(`[dev:${mode}] ${message}`);
const stops: Array<() => Promise<void> | void> = [];
const env: Record<string, string | undefined> = { ...process.env, WEBHOOK_MODE: mode };

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) await Promise.resolve(stop()).catch(() => {});
}

function run(name: string, script: string, childEnv: Record<string, string | undefined>): ChildProcess {
  const child = spawn(process.execPath, [script], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => `${name} | ${line}\n`)
      .join('');
  child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  child.on('exit', (code, signal) => {
    say(`${name} exited (${signal ?? code})`);
    if (!shuttingDown) void shutdown(1);
  });
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        // shutdown() already signalled it; a second SIGTERM would make it skip its graceful drain.
        if (!shuttingDown) child.kill('SIGTERM');
      }),
  );
  return child;
}

let shuttingDown = false;
const children: ChildProcess[] = [];
async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say('shutting down');
  // Signal both services at once (each drains on its own), so nothing is orphaned even if this process dies early.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await stopAll();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  await provideLocalDependencies(env, { dataDir, say, stops });
  provideDevApiKeys(env, say);
  provideDevSignatures(env, say);
  if (mode === 'kafka') {
    const { brokers, idempotent } = await localBrokers(env, {
      kind: cliOptions.mock ? 'mock' : 'real',
      name: 'dev',
      stops,
      say,
    });
    env.KAFKA_BROKERS = brokers;
    env.KAFKA_IDEMPOTENT_PRODUCER = idempotent;
    const report = await ensureTopics(
      createKafkaClient({
        clientId: 'dev-topics',
        brokers: parseBrokerList(env.KAFKA_BROKERS),
        security: readKafkaSecurity(env),
      }),
      webhookTopics(env),
    );
    say(
      report.adminUnavailable
        ? 'broker cannot create topics through the admin API; they appear on first produce'
        : `topics: created [${report.created.join(', ')}], existing [${report.existing.join(', ')}]`,
    );
  }
  const apiPort = env.PORT || '3000';
  const ingestPort = env.INGEST_PORT || '3001';
  run('api   ', 'services/api/src/main.ts', { ...env, PORT: apiPort });
  run('ingest', 'services/ingest/src/main.ts', {
    ...env,
    PORT: ingestPort,
    API_BASE_URL: env.API_BASE_URL || `http://localhost:${apiPort}`,
  });
  say(
    `API on :${apiPort}, ingest on :${ingestPort}; send webhooks to http://localhost:${ingestPort}/webhooks/payments/orders`,
  );
} catch (err) {
  console.error(`[dev:${mode}] start-up failed: ${(err as Error).message}`);
  await stopAll();
  process.exit(1);
}
