/**
 * `npm run bench:pipeline`: N order webhooks (each a new order) through ingest → Kafka → API consumers →
 * PostgreSQL, timed from the first request until the last effect is committed, against the ceiling of the very
 * same domain transaction (processOrderWebhook) replayed directly in a tight pg loop with the consumers'
 * concurrency. Ingest and the API (kafka mode, its consumers) run as separate processes, as deployed. Targets: end to
 * end ≥ 3,000 webhooks/s applied (the consumers apply each fetched batch in one transaction); then, at a steady
 * rate (default 1,000/s), the latency from ingest's 202 to the webhook's event being written (p50/p99).
 *
 *   --webhooks N (default 5000)   --connections N (HTTP clients, default 50)   --keep (keep the database)
 *   --rate R (default 1000)   --latency-seconds S (default 10; 0 skips the latency phase)   --help
 * Postgres admin URL: PM_BENCH_PG_URL, else PM_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 * Broker: KAFKA_BROKERS, else a local Apache Kafka node is started (--broker real, the default) or librdkafka's
 * mock cluster (--broker mock; idempotent producer off for it only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type NormalisedOrderWebhook, parseOrderWebhook } from '@payment-manager/shared';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { freePort } from '@payment-manager/shared/net';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import autocannon from 'autocannon';
import type pg from 'pg';
import { benchPostgres, childrenKilledOnExit, wholeNumberOption } from '../../../scripts/bench-support.ts';
import { brokerKind, localBrokers, provisionTopics } from '../../../scripts/local-kafka.ts';
import { runMigrations } from '../../api/src/db/migrations.ts';
import { createPool } from '../../api/src/db/pool.ts';
import { processOrderWebhook } from '../../api/src/webhooks/process.ts';

const { values: args } = parseCli({
  command: 'npm run bench:pipeline --',
  summary:
    'Order webhooks through ingest → Kafka → API consumers → PostgreSQL (target: ≥ 3,000 applied/s), beside the one-at-a-time transaction replayed directly; then ingest-202-to-event latency at a steady rate.',
  options: {
    webhooks: { type: 'string', default: '5000', valueName: '<n>', description: 'webhooks to send (each a new order)' },
    connections: { type: 'string', default: '50', valueName: '<n>', description: 'HTTP connections' },
    keep: { type: 'boolean', default: false, description: 'keep the database afterwards' },
    broker: {
      type: 'string',
      default: 'real',
      valueName: 'real|mock',
      description: "Apache Kafka or librdkafka's mock",
    },
    rate: { type: 'string', default: '1000', valueName: '<n>', description: 'webhooks/s of the latency phase' },
    'latency-seconds': {
      type: 'string',
      default: '10',
      valueName: '<s>',
      description: "length of the latency phase (ingest's 202 → event written, p50/p99); 0 skips it",
    },
  },
  environment: {
    PM_BENCH_PG_URL:
      'admin URL of the PostgreSQL (a database is created); else PM_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres',
    KAFKA_BROKERS: 'use these brokers instead of starting a local Apache Kafka node',
  },
});
oneLineErrors('bench:pipeline');
const BROKER = brokerKind(args.broker);
const N = wholeNumberOption('webhooks', args.webhooks, 1);
const CONNECTIONS = wholeNumberOption('connections', args.connections, 1);
const RATE = wholeNumberOption('rate', args.rate, 1);
const LATENCY_SECONDS = wholeNumberOption('latency-seconds', args['latency-seconds'], 0);
const TARGET_PER_SECOND = 3000;
/** The consumers handle this many partitions at once (startWebhookConsumers default). */
const CONSUMER_CONCURRENCY = 3;
const root = fileURLToPath(new URL('../../..', import.meta.url));
const say = (message: string) => console.log(`[bench:pipeline] ${message}`);

const { admin, urlFor } = benchPostgres();
const suffix = randomBytes(3).toString('hex');

/** A fresh order webhook (unique ids) in the form ingest publishes and the consumers apply. */
function webhook(): NormalisedOrderWebhook {
  const parsed = parseOrderWebhook(orderWebhook());
  if (!parsed.ok) throw new Error(`bench webhook is invalid: ${parsed.message}`);
  return parsed.value;
}

function child(name: string, script: string, env: Record<string, string | undefined>): ChildProcess {
  const proc = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(proc);
  proc.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (!/TimeoutNegativeWarning|Timeout duration|trace-warnings/.test(text)) process.stderr.write(`${name} | ${text}`);
  });
  return proc;
}

async function count(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM order_events');
  return Number(rows[0]?.n ?? 0);
}

const stops: Array<() => Promise<void> | void> = [];
const children = childrenKilledOnExit();
try {
  const { brokers, idempotent } = await localBrokers(process.env, { kind: BROKER, name: 'bench-pipeline', stops, say });

  // Two databases from the same migrations: one for the pipeline, one for the ceiling.
  const pipelineDb = `pm_bench_pipeline_${suffix}`;
  const ceilingDb = `pm_bench_ceiling_${suffix}`;
  for (const name of [pipelineDb, ceilingDb]) {
    await admin(`CREATE DATABASE ${name}`);
    if (!args.keep) stops.push(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    await runMigrations({ databaseUrl: urlFor(name) });
  }
  say(`databases ${pipelineDb} / ${ceilingDb} migrated; ${N} webhooks, ${CONNECTIONS} HTTP connections`);

  // Ceiling: the consumers' transaction, directly, as fast as the same concurrency allows.
  const ceilingPool = createPool({ pgUrl: urlFor(ceilingDb), max: CONSUMER_CONCURRENCY + 1 });
  stops.push(() => ceilingPool.end());
  const ceilingInput = Array.from({ length: N }, webhook);
  let next = 0;
  const ceilingStart = performance.now();
  await Promise.all(
    Array.from({ length: CONSUMER_CONCURRENCY }, async () => {
      while (next < ceilingInput.length) {
        const item = ceilingInput[next++] as NormalisedOrderWebhook;
        const { outcome } = await processOrderWebhook(ceilingPool, item);
        if (outcome !== 'processed') throw new Error(`ceiling run: unexpected outcome ${outcome}`);
      }
    }),
  );
  const ceilingSeconds = (performance.now() - ceilingStart) / 1000;
  const ceiling = N / ceilingSeconds;
  say(
    `ceiling  ${ceiling.toFixed(0).padStart(6)} applied/s  (${N} × processOrderWebhook, concurrency ${CONSUMER_CONCURRENCY}, ${ceilingSeconds.toFixed(1)} s)`,
  );

  // Pipeline: ingest and the API consumers as separate processes, as deployed.
  const topic = `bench.pipeline.${suffix}`;
  await provisionTopics(
    brokers,
    ['orders', 'disputes', 'orders.dlq', 'disputes.dlq'].map((kind) => `${topic}.${kind}`),
  );
  const kafkaEnv = { KAFKA_BROKERS: brokers, KAFKA_IDEMPOTENT_PRODUCER: idempotent };
  // The API exactly as deployed in kafka mode (its consumers do the work; the HTTP side stays idle).
  const consumers = child('api', 'services/api/src/main.ts', {
    ...kafkaEnv,
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    PG_URL: urlFor(pipelineDb),
    WEBHOOK_MODE: 'kafka',
    LOG_LEVEL: 'warn',
    SILVERGATE_BASE_URL: 'http://127.0.0.1:9',
    SILVERGATE_CAPTURE_PATH: '/api/v1/capture',
    SILVERGATE_SUBMIT_REPRESENTMENT_PATH: '/api/v1/dispute-representments/create',
    KAFKA_ORDERS_TOPIC: `${topic}.orders`,
    KAFKA_DISPUTES_TOPIC: `${topic}.disputes`,
    KAFKA_ORDERS_DLQ_TOPIC: `${topic}.orders.dlq`,
    KAFKA_DISPUTES_DLQ_TOPIC: `${topic}.disputes.dlq`,
    KAFKA_ORDERS_CONSUMER_GROUP: `${topic}.orders-group`,
    KAFKA_DISPUTES_CONSUMER_GROUP: `${topic}.disputes-group`,
    WEBHOOK_SECRET: '',
  });
  stops.push(() => {
    consumers.kill();
  });
  const ingestPort = await freePort();
  const ingest = child('ingest', 'services/ingest/src/main.ts', {
    ...kafkaEnv,
    PORT: String(ingestPort),
    WEBHOOK_MODE: 'kafka',
    KAFKA_ORDERS_TOPIC: `${topic}.orders`,
    KAFKA_DISPUTES_TOPIC: `${topic}.disputes`,
    LOG_LEVEL: 'warn',
    // Unsigned on purpose: the benchmark measures the pipeline, not HMAC (the service warns that it is off).
    WEBHOOK_SECRET: '',
    WEBHOOK_SIGNATURES_DISABLED: 'true',
    // The limiter's path as in production, its maximum out of reach: every webhook of the run comes from here.
    RATE_LIMIT_MAX: '1000000000',
  });
  stops.push(() => {
    ingest.kill();
  });
  const pipelinePool = createPool({ pgUrl: urlFor(pipelineDb), max: 2 });
  stops.push(() => pipelinePool.end());

  // Warm-up: one webhook must make it all the way (consumer group joined, topic created).
  const warm = webhook();
  for (let i = 0; ; i++) {
    const answer = await fetch(`http://127.0.0.1:${ingestPort}/webhooks/payments/orders`, {
      method: 'POST',
      body: JSON.stringify(warm),
    }).catch(() => null);
    if (answer?.status === 202) break;
    // Bounded, but generous: two services starting on a busy 2-core machine can take tens of seconds.
    if (i > 600) throw new Error('ingest did not start within 60 s');
    await sleep(100);
  }
  while ((await count(pipelinePool)) < 1) await sleep(50);
  say('pipeline warm (consumer group joined, first webhook applied)');

  const bodies = Array.from({ length: N }, () => JSON.stringify(webhook()));
  let sent = 0;
  const start = performance.now();
  const load = await autocannon({
    url: `http://127.0.0.1:${ingestPort}/webhooks/payments/orders`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    amount: N,
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[sent++ % N] }) }],
  });
  const acceptedSeconds = (performance.now() - start) / 1000;
  if (load.non2xx > 0 || load.errors > 0)
    throw new Error(`ingest rejected requests: non-2xx ${load.non2xx}, errors ${load.errors}`);
  say(
    `ingest   ${(N / acceptedSeconds).toFixed(0).padStart(6)} accepted/s (all ${N} answered 202 in ${acceptedSeconds.toFixed(1)} s, p99 ${load.latency.p99} ms)`,
  );
  while ((await count(pipelinePool)) < N + 1) await sleep(50);
  const endToEndSeconds = (performance.now() - start) / 1000;
  const applied = N / endToEndSeconds;
  say(
    `pipeline ${applied.toFixed(0).padStart(6)} applied/s  (first request → last commit ${endToEndSeconds.toFixed(1)} s)`,
  );
  say(
    `ratio    ${(applied / ceiling).toFixed(2)}× the one-at-a-time ceiling; target ≥ ${TARGET_PER_SECOND} applied/s: ${applied >= TARGET_PER_SECOND ? 'met' : 'NOT met'}`,
  );

  if (LATENCY_SECONDS > 0) {
    // Steady rate: each webhook's 202 time against the time its event was written (same clock, same machine).
    const total = RATE * LATENCY_SECONDS;
    const steady = Array.from({ length: total }, webhook);
    const ackedAt = new Map<string, number>();
    let queued = 0;
    const before = await count(pipelinePool);
    const steadyLoad = await autocannon({
      url: `http://127.0.0.1:${ingestPort}/webhooks/payments/orders`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: CONNECTIONS,
      overallRate: RATE,
      amount: total,
      requests: [
        {
          setupRequest: (request, context) => {
            const body = steady[queued++ % total] as NormalisedOrderWebhook;
            (context as { orderId?: string }).orderId = body.order_id;
            return { ...request, body: JSON.stringify(body) };
          },
          onResponse: (status, _body, context) => {
            if (status === 202) ackedAt.set((context as { orderId: string }).orderId, Date.now());
          },
        },
      ],
    });
    if (steadyLoad.non2xx > 0 || steadyLoad.errors > 0)
      throw new Error(`ingest rejected requests: non-2xx ${steadyLoad.non2xx}, errors ${steadyLoad.errors}`);
    while ((await count(pipelinePool)) < before + total) await sleep(50);
    const { rows } = await pipelinePool.query<{ order_id: string; written_ms: number }>(
      `SELECT order_id, (extract(epoch FROM created_at) * 1000)::float8 AS written_ms FROM order_events
       WHERE order_id = ANY($1)`,
      [[...ackedAt.keys()]],
    );
    const latencies = rows
      .map((row) => Number(row.written_ms) - (ackedAt.get(row.order_id) as number))
      .sort((a, b) => a - b);
    const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] as number;
    say(
      `latency  at ${RATE}/s for ${LATENCY_SECONDS} s (${latencies.length} webhooks): ingest 202 → event written ` +
        `p50 ${pick(0.5).toFixed(0)} ms, p99 ${pick(0.99).toFixed(0)} ms, max ${pick(1).toFixed(0)} ms ` +
        `(ingest answered p50 ${steadyLoad.latency.p50} ms, p99 ${steadyLoad.latency.p99} ms)`,
    );
  }
} finally {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
}
