/**
 * `npm run bench:drain`: how fast one API process's Kafka consumers apply a backlog already in the topics.
 *
 * Fills the orders and disputes topics with a realistic mix — order lifecycles (created → updated… → success or
 * failed), ~5 % redeliveries (duplicates), chargeback lifecycles (opened → maybe updated → closed won/lost) on
 * orders already stored — then starts the consumers (a process of their own, production settings) and times from
 * the first applied event to the last. The same kind of backlog is then drained with the one-at-a-time apply path
 * (one transaction per webhook, the path before batch apply), so the gain is a ratio measured in one run.
 * Target: ≥ 10,000 webhooks/s with batch apply. Not a test: it measures, it asserts only that everything applied.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { createKafkaClient, keyHashPartitioner, parseBrokerList } from '@payment-manager/shared/kafka-client';
import type pg from 'pg';
import { benchPostgres, childrenKilledOnExit, wholeNumberOption } from '../../../scripts/bench-support.ts';
import { brokerKind, localBrokers, provisionTopics } from '../../../scripts/local-kafka.ts';
import { runMigrations } from '../src/db/migrations.ts';
import { createPool } from '../src/db/pool.ts';
import type { ApplyMode } from '../src/kafka/batch-handler.ts';

const { values: args } = parseCli({
  command: 'npm run bench:drain --',
  summary:
    "Drains a backlog of webhooks already in Kafka with one API process's consumers and prints webhooks/s, first with batch apply (one transaction per fetched batch), then with the one-at-a-time path, and the ratio (target: ≥ 10,000 webhooks/s with batch apply).",
  options: {
    webhooks: {
      type: 'string',
      default: '50000',
      valueName: '<n>',
      description: 'backlog for batch apply (at least 1000)',
    },
    'baseline-webhooks': {
      type: 'string',
      default: '10000',
      valueName: '<n>',
      description: 'backlog for the one-at-a-time path (0 skips it)',
    },
    broker: {
      type: 'string',
      default: 'real',
      valueName: 'real|mock',
      description: "broker when KAFKA_BROKERS is unset: a local Apache Kafka node or librdkafka's mock",
    },
    'cpu-prof': {
      type: 'string',
      valueName: '<dir>',
      description: 'write a V8 CPU profile of each consumer process into this directory (node --cpu-prof)',
    },
    keep: { type: 'boolean', default: false, description: 'keep the databases (names printed)' },
  },
  environment: {
    PM_BENCH_PG_URL:
      'admin URL of the PostgreSQL (databases are created); else PM_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres',
    KAFKA_BROKERS: 'use these brokers instead of starting a local Apache Kafka node',
  },
});
oneLineErrors('bench:drain');
const N = wholeNumberOption('webhooks', args.webhooks, 1000);
const BASELINE_N = wholeNumberOption('baseline-webhooks', args['baseline-webhooks'], 0);
const BROKER = brokerKind(args.broker);
const TARGET_PER_SECOND = 10_000;
const root = fileURLToPath(new URL('../../..', import.meta.url));
const say = (message: string) => console.log(`[bench:drain] ${message}`);
const { admin, urlFor } = benchPostgres();
const suffix = randomBytes(3).toString('hex');

/** A deterministic-enough mix: Math.random is fine, the figures are rates over tens of thousands of messages. */
const chance = (p: number) => Math.random() < p;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

interface Record {
  key: string;
  value: string;
}

interface Backlog {
  orders: Record[];
  disputes: Record[];
  /** Events the backlog must leave: one per distinct processed webhook. */
  orderEvents: number;
  disputeEvents: number;
  duplicates: number;
  /** Orders the chargebacks refer to, stored before the drain (chargebacks come after the order's lifecycle). */
  settledOrders: Array<{ id: string; userId: string }>;
}

function envelope(type: 'order.webhook' | 'dispute.webhook', key: string, payload: object): string {
  return JSON.stringify({ event_id: randomUUID(), key, type, payload, timestamp: new Date().toISOString() });
}

/** Interleaves per-order sequences at random, keeping each sequence's own order. */
function interleave(sequences: Record[][]): Record[] {
  const out: Record[] = [];
  const live = sequences.filter((s) => s.length > 0).map((s) => ({ s, i: 0 }));
  while (live.length > 0) {
    const pick = Math.floor(Math.random() * live.length);
    const entry = live[pick] as { s: Record[]; i: number };
    out.push(entry.s[entry.i++] as Record);
    if (entry.i >= entry.s.length) live.splice(pick, 1);
  }
  return out;
}

/** With probability 5 % per message, a redelivery of it somewhere later in its own sequence. */
function withDuplicates(sequence: Record[]): { records: Record[]; duplicates: number } {
  const records = [...sequence];
  let duplicates = 0;
  for (const [i, record] of sequence.entries()) {
    if (!chance(0.05)) continue;
    const later = i + 1 + Math.floor(Math.random() * (records.length - i));
    records.splice(later, 0, record);
    duplicates++;
  }
  return { records, duplicates };
}

function backlog(total: number): Backlog {
  const result: Backlog = {
    orders: [],
    disputes: [],
    orderEvents: 0,
    disputeEvents: 0,
    duplicates: 0,
    settledOrders: [],
  };
  const orderSequences: Record[][] = [];
  const disputeSequences: Record[][] = [];
  let produced = 0;
  while (produced < total) {
    // An order's lifecycle.
    const orderId = `drain-${randomUUID()}`;
    const userId = randomUUID();
    const steps = ['created', ...Array.from({ length: Math.floor(Math.random() * 3) }, () => 'updated')];
    const success = chance(0.85);
    steps.push(success ? 'success' : 'failed');
    const sequence = steps.map((status, i) => ({
      key: userId,
      value: envelope('order.webhook', userId, {
        provider_event_id: `pe-${randomUUID()}`,
        order_id: orderId,
        user_id: userId,
        status,
        created_at: at(0),
        updated_at: at(i),
        meta: { amount: '42.00', currency: 'EUR' },
      }),
    }));
    result.orderEvents += sequence.length;
    const { records, duplicates } = withDuplicates(sequence);
    result.duplicates += duplicates;
    orderSequences.push(records);
    produced += records.length;
    // 30 % of successful orders play a chargeback, on an order settled earlier (stored before the drain).
    if (success && chance(0.3)) {
      const settled = { id: `drain-settled-${randomUUID()}`, userId: randomUUID() };
      result.settledOrders.push(settled);
      const statuses = ['opened', ...(chance(0.5) ? ['updated'] : []), 'closed'];
      const resolution = Math.random();
      const chargebacks = statuses.map((status, i) => ({
        key: settled.userId,
        value: envelope('dispute.webhook', settled.userId, {
          provider_event_id: `cb-${randomUUID()}`,
          order_id: settled.id,
          user_id: settled.userId,
          status,
          reason: 'fraud',
          amount: status === 'opened' ? 42 : null,
          currency: status === 'opened' ? 'EUR' : null,
          occurred_at: at(60 + i),
          evidence_due_at: null,
          meta:
            status === 'closed'
              ? resolution < 0.4
                ? { resolution: 'won' }
                : resolution < 0.8
                  ? { resolution: 'lost' }
                  : {}
              : null,
        }),
      }));
      result.disputeEvents += chargebacks.length;
      const withCopies = withDuplicates(chargebacks);
      result.duplicates += withCopies.duplicates;
      disputeSequences.push(withCopies.records);
      produced += withCopies.records.length;
    }
  }
  result.orders = interleave(orderSequences);
  result.disputes = interleave(disputeSequences);
  return result;
}

async function produce(brokers: string, topic: string, records: Record[]): Promise<void> {
  const kafka = createKafkaClient({ clientId: 'bench-drain-fill', brokers: parseBrokerList(brokers) });
  const producer = kafka.producer({ createPartitioner: keyHashPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 5000) {
      await producer.send({ topic, acks: -1, messages: records.slice(i, i + 5000) });
    }
  } finally {
    await producer.disconnect();
  }
}

async function eventCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'SELECT (SELECT count(*) FROM order_events) + (SELECT count(*) FROM dispute_events) AS n',
  );
  return Number(rows[0]?.n ?? 0);
}

const children = childrenKilledOnExit();

function startConsumers(env: object): ChildProcess {
  const profile = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : [];
  const proc = spawn(process.execPath, [...profile, 'services/api/bench/drain-consumers.ts'], {
    cwd: root,
    env: { ...process.env, PM_DRAIN_SETTINGS: JSON.stringify(env) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(proc);
  proc.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (!/TimeoutNegativeWarning|Timeout duration|trace-warnings/.test(text))
      process.stderr.write(`consumers | ${text}`);
  });
  return proc;
}

/** Fills fresh topics and a fresh database with a backlog of `total`, drains it in `mode`, returns webhooks/s. */
async function drain(brokers: string, mode: ApplyMode, total: number, stops: Array<() => unknown>): Promise<number> {
  const database = `pm_bench_drain_${mode}_${suffix}`;
  await admin(`CREATE DATABASE ${database}`);
  if (!args.keep) stops.push(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  await runMigrations({ databaseUrl: urlFor(database) });
  const pool = createPool({ pgUrl: urlFor(database), max: 2 });
  stops.push(() => pool.end());

  const work = backlog(total);
  await pool.query(
    `INSERT INTO orders (id, user_id, status, on_hold, hold_reason, created_at, updated_at, shard_key)
     SELECT id, user_id, 'success', FALSE, NULL, now(), now(), public.order_shard_key(id)
     FROM unnest($1::text[], $2::uuid[]) AS settled(id, user_id)`,
    [work.settledOrders.map((o) => o.id), work.settledOrders.map((o) => o.userId)],
  );
  const topic = `bench.drain.${mode}.${suffix}`;
  const topics = {
    ordersTopic: `${topic}.orders`,
    disputesTopic: `${topic}.disputes`,
    ordersDlqTopic: `${topic}.orders.dlq`,
    disputesDlqTopic: `${topic}.disputes.dlq`,
  };
  await provisionTopics(brokers, Object.values(topics));
  const messages = work.orders.length + work.disputes.length;
  const fillStart = performance.now();
  await Promise.all([
    produce(brokers, topics.ordersTopic, work.orders),
    produce(brokers, topics.disputesTopic, work.disputes),
  ]);
  say(
    `${mode}: backlog of ${messages} webhooks in the topics (${work.orders.length} order, ${work.disputes.length} chargeback, ` +
      `${work.duplicates} duplicates) in ${((performance.now() - fillStart) / 1000).toFixed(1)} s`,
  );

  const expected = work.orderEvents + work.disputeEvents;
  const consumers = startConsumers({
    databaseUrl: urlFor(database),
    brokers: parseBrokerList(brokers),
    applyMode: mode,
    kafka: {
      brokers: parseBrokerList(brokers),
      ...topics,
      ordersConsumerGroup: `${topic}.orders-group`,
      disputesConsumerGroup: `${topic}.disputes-group`,
    },
  });
  try {
    let applied = await eventCount(pool);
    while (applied === 0) {
      await sleep(10);
      applied = await eventCount(pool);
    }
    const start = performance.now();
    const startCount = applied;
    let lastReport = start;
    while (applied < expected) {
      await sleep(20);
      applied = await eventCount(pool);
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        say(`${mode}: ${applied}/${expected} events applied`);
      }
      if (performance.now() - start > 600_000) throw new Error(`${mode}: not drained after 10 minutes`);
    }
    const seconds = (performance.now() - start) / 1000;
    // Events of the webhooks before the first measured one were applied before the clock started.
    const measured = messages * ((expected - startCount) / expected);
    const rate = measured / seconds;
    say(
      `${mode}: ${rate.toFixed(0).padStart(6)} webhooks/s (${messages} drained, ${seconds.toFixed(2)} s from first to last event)`,
    );
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('success', 'failed') AND id LIKE 'drain-%'",
    );
    if ((rows[0]?.n ?? 0) > 0) throw new Error(`${mode}: ${rows[0]?.n} orders did not reach their final status`);
    return rate;
  } finally {
    // SIGTERM lets it stop its consumers and exit, which also writes its CPU profile.
    const exited = new Promise((resolve) => consumers.once('exit', resolve));
    consumers.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
  }
}

const stops: Array<() => unknown> = [];
try {
  const { brokers } = await localBrokers(process.env, { kind: BROKER, name: 'bench-drain', stops, say });
  const batch = await drain(brokers, 'batch', N, stops);
  say(
    `batch apply: ${batch.toFixed(0)} webhooks/s — target ≥ ${TARGET_PER_SECOND}: ${batch >= TARGET_PER_SECOND ? 'met' : 'NOT met'}`,
  );
  if (BASELINE_N > 0) {
    const single = await drain(brokers, 'message', BASELINE_N, stops);
    say(
      `ratio: batch apply ${(batch / single).toFixed(1)}× the one-at-a-time path (${batch.toFixed(0)} vs ${single.toFixed(0)} webhooks/s)`,
    );
  }
} finally {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
}
