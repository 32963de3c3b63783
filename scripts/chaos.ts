/**
 * `npm run chaos`: a bounded, local-only fault suite. It starts its own pieces — a PostgreSQL cluster on a free port
 * (never the shared one), Kafka (KAFKA_BROKERS when given, else its own 3-node Apache Kafka cluster through
 * scripts/kafka.sh, or with `--mock` librdkafka's mock cluster), a
 * provider stub, two API replicas in kafka mode with the production consumer settings, ingest in kafka mode — sends
 * webhooks under load while injecting one fault at a time, and prints per fault: webhooks acknowledged, applied,
 * duplicated, dead-lettered and the recovery time (fault healed → everything acknowledged applied).
 * Faults that need our own processes (broker freeze) are skipped with a note when KAFKA_BROKERS points elsewhere.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { envReader } from '@payment-manager/shared';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { parseBrokerList } from '@payment-manager/shared/kafka-client';
import { freePort } from '@payment-manager/shared/net';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { generateApiKey, hashApiKey } from '../services/api/src/http/auth.ts';
import { buildIngestApp } from '../services/ingest/src/app.ts';
import { createKafkaPublisher } from '../services/ingest/src/kafka/publisher.ts';
import { webhookTopics } from '../services/ingest/src/kafka/topics.ts';
import { createKafkaClient, readKafkaSecurity } from '../services/shared/src/kafka-client.ts';
import { orderWebhook } from '../services/testkit/src/webhooks.ts';
import { startKcatMockCluster } from './kafka-mock.ts';
import { provisionTopics, startLocalKafka } from './local-kafka.ts';

const { values: cliOptions } = parseCli({
  command: 'npm run chaos --',
  summary:
    'A local fault suite (≈ 3 min): its own PostgreSQL, 3-node Kafka, provider stub, two API replicas and ingest; ' +
    'one fault at a time under load, then per fault: acknowledged, applied, duplicated, dead-lettered, recovery time.',
  options: {
    mock: { type: 'boolean', default: false, description: "librdkafka's mock cluster (kcat) instead of real Kafka" },
  },
  environment: {
    KAFKA_BROKERS: 'use these brokers instead of starting a cluster (the broker-freeze fault is skipped)',
    CHAOS_ORDERS: 'orders per fault (default 150)',
  },
});
oneLineErrors('chaos');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUITE_DEADLINE_MS = 15 * 60_000;
const ORDERS_PER_FAULT = envReader(process.env).integer('CHAOS_ORDERS', 150, 1, 100_000);
const SESSION_TIMEOUT_MS = 30_000;
const TOPICS = { orders: 'webhooks.orders', disputes: 'webhooks.disputes', ordersDlq: 'webhooks.orders.dlq' };
const say = (message: string) => console.log(`[chaos] ${message}`);

const work = mkdtempSync(join(tmpdir(), 'pm-chaos-'));
/** Logs of the replicas and the broker survive the run here (the scratch directory does not). */
const LOG_DIR = join(fileURLToPath(new URL('..', import.meta.url)), '.data', 'chaos');
let failure: Error | null = null;
const cleanups: Array<() => void | Promise<void>> = [];
async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything this suite started`);
    void cleanUp().finally(() => process.exit(130));
  });
}
const deadline = setTimeout(() => {
  say(`suite deadline (${SUITE_DEADLINE_MS / 60_000} min) reached: stopping`);
  void cleanUp().finally(() => process.exit(3));
}, SUITE_DEADLINE_MS);

// ---- our own PostgreSQL (initdb/pg_ctl of Debian's PostgreSQL 15; as the postgres user when run as root) ----
const PG_BIN = process.env.PM_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asPostgres = (command: string, args: string[]) =>
  process.getuid?.() === 0
    ? execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' })
    : execFileSync(command, args, { stdio: 'pipe' });
const pgData = join(work, 'pg');
const pgPort = await freePort();
const pgCtl = (action: 'start' | 'stop') =>
  asPostgres(`${PG_BIN}/pg_ctl`, [
    '-D',
    pgData,
    '-l',
    join(work, 'pg.log'),
    '-w',
    ...(action === 'start' ? ['-o', `-p ${pgPort} -k ${work} -c fsync=off`] : ['-m', 'fast']),
    action,
  ]);
if (process.getuid?.() === 0) execFileSync('chown', ['postgres', work]);
asPostgres(`${PG_BIN}/initdb`, ['-D', pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
pgCtl('start');
cleanups.push(() => {
  pgCtl('stop');
  mkdirSync(LOG_DIR, { recursive: true });
  for (const log of ['api-a.log', 'api-b.log', 'pg.log']) {
    try {
      copyFileSync(join(work, log), join(LOG_DIR, log));
    } catch {
      // not written in this run
    }
  }
  rmSync(work, { recursive: true, force: true });
});
const pgUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;
say(`own PostgreSQL on 127.0.0.1:${pgPort} (data in ${pgData})`);

// ---- the broker ----
let brokers = parseBrokerList(process.env.KAFKA_BROKERS);
/** Freezes (SIGSTOP) or thaws one broker this suite started; null when KAFKA_BROKERS points elsewhere. */
let freezeBroker: ((frozen: boolean) => Promise<void>) | null = null;
const usesMock = brokers.length === 0 && cliOptions.mock === true;
if (usesMock) {
  const mock = await startKcatMockCluster(join(work, 'kafka-mock.log'));
  cleanups.push(mock.stop);
  brokers = parseBrokerList(mock.brokers);
  freezeBroker = async (frozen) => void process.kill(-mock.processGroup, frozen ? 'SIGSTOP' : 'SIGCONT');
  say(`own kcat mock Kafka cluster at ${mock.brokers}`);
} else if (brokers.length === 0) {
  // The production shape: three brokers, replication factor 3, min.insync.replicas 2, topics made by our own code.
  const cluster = await startLocalKafka(join(work, 'kafka'), say, 3);
  cleanups.push(() => void cluster.stop());
  brokers = parseBrokerList(cluster.brokers);
  freezeBroker = (frozen) => cluster.node(frozen ? 'freeze' : 'thaw', 1);
  await provisionTopics(
    cluster.brokers,
    webhookTopics({}).map((t) => t.topic),
  );
  say(`own 3-node Apache Kafka cluster at ${cluster.brokers}`);
}
// A broker given in KAFKA_BROKERS is reached with the same KAFKA_SSL_* / KAFKA_SASL_* settings as the services.
const kafka: Kafka = createKafkaClient({
  clientId: 'chaos',
  brokers,
  security: freezeBroker ? undefined : readKafkaSecurity(process.env),
});

// ---- provider stub: healthy, or failing (every second call 500, every fourth hangs past the client timeout) ----
let providerFailing = false;
let providerCalls = 0;
const provider: Server = createServer((request, response) => {
  request.resume();
  const call = ++providerCalls;
  if (providerFailing && call % 4 === 0) return; // hangs: the API's 1 s provider timeout answers 502
  if (providerFailing && call % 2 === 0) {
    response.writeHead(500).end('provider down');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify(
      request.url?.includes('capture')
        ? { transaction_id: `txn-${call}`, status: 'success' }
        : { id: `subm-${call}`, status: 'submitted' },
    ),
  );
});
provider.listen(0, '127.0.0.1');
await new Promise((resolve) => provider.once('listening', resolve));
cleanups.push(() => void provider.close());
const providerUrl = `http://127.0.0.1:${(provider.address() as { port: number }).port}`;

// ---- two API replicas (kafka mode, production consumer settings) ----
const operatorKey = generateApiKey();
interface Replica {
  name: string;
  port: number;
  child: ChildProcess | null;
}
const replicas: Replica[] = [
  { name: 'api-a', port: await freePort(), child: null },
  { name: 'api-b', port: await freePort(), child: null },
];
function startReplica(replica: Replica): void {
  const log = openSync(join(work, `${replica.name}.log`), 'a');
  replica.child = spawn(process.execPath, ['services/api/src/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      PORT: String(replica.port),
      HOST: '127.0.0.1',
      PG_URL: pgUrl,
      WEBHOOK_MODE: 'kafka',
      KAFKA_BROKERS: brokers.join(','),
      LOG_LEVEL: 'warn',
      API_KEYS: `operator:${hashApiKey(operatorKey)}`,
      SILVERGATE_BASE_URL: providerUrl,
      SILVERGATE_CAPTURE_PATH: '/capture',
      SILVERGATE_SUBMIT_REPRESENTMENT_PATH: '/representment',
      HTTP_SILVERGATE_CLIENT_TIMEOUT: '1s',
      OTEL_SDK_DISABLED: 'true',
    },
  });
}
function killReplica(replica: Replica): void {
  if (replica.child?.pid && replica.child.exitCode === null) process.kill(replica.child.pid, 'SIGKILL');
  replica.child = null;
}
cleanups.push(() => {
  for (const replica of replicas) killReplica(replica);
});

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(200);
  }
}

// ---- ingest (kafka mode), in this process ----
// The mock cluster lacks the idempotent producer; everything else runs production's setting.
const publisher = createKafkaPublisher(kafka, { idempotent: !usesMock });
const ingest = await buildIngestApp({
  config: {
    webhookMode: 'kafka',
    bodyLimitBytes: 1_048_576,
    logLevel: 'error',
    kafka: { ordersTopic: TOPICS.orders, disputesTopic: TOPICS.disputes },
  },
  publisher,
  signatureVerifier: null,
  logger: false,
});
const ingestUrl = await ingest.listen({ port: 0, host: '127.0.0.1' });
cleanups.push(async () => {
  await ingest.close();
  await publisher.close();
});

const db = new pg.Pool({ connectionString: pgUrl, max: 2 });
db.on('error', () => {});
cleanups.push(() => db.end());
const admin = kafka.admin();
await admin.connect();
cleanups.push(() => admin.disconnect());

/**
 * Sends like a provider: each order's webhooks in order (the next only once the previous was acknowledged), resending
 * until acknowledged (202). Returns how many were acknowledged.
 */
async function deliver(sequences: object[][], concurrency = 8): Promise<number> {
  let next = 0;
  let acknowledged = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < sequences.length) {
        for (const body of sequences[next++] ?? []) {
          for (;;) {
            const answer = await fetch(`${ingestUrl}/webhooks/payments/orders`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
              signal: AbortSignal.timeout(15_000),
            }).catch(() => null);
            if (answer?.status === 202) {
              acknowledged++;
              break;
            }
            await sleep(250);
          }
        }
      }
    }),
  );
  return acknowledged;
}

async function dlqCount(): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(TOPICS.ordersDlq).catch(() => []);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

async function appliedEvents(orderIds: string[]): Promise<{ applied: number; duplicated: number }> {
  const { rows } = await db.query<{ applied: string; distinct_events: string }>(
    `SELECT count(*) AS applied, count(DISTINCT (order_id, provider_event_id)) AS distinct_events
     FROM order_events WHERE order_id = ANY($1) AND kind = 'webhook_received'`,
    [orderIds],
  );
  const row = rows[0] ?? { applied: '0', distinct_events: '0' };
  return { applied: Number(row.applied), duplicated: Number(row.applied) - Number(row.distinct_events) };
}

interface Result {
  fault: string;
  acknowledged: number | string;
  applied: number | string;
  duplicated: number | string;
  deadLettered: number | string;
  recoverySeconds: string;
  note?: string;
}
const results: Result[] = [];

/** Load during a fault: `inject` starts the fault and resolves once it is healed. */
async function webhookFault(fault: string, inject: () => Promise<void>): Promise<void> {
  say(`fault: ${fault}`);
  const orders = Array.from({ length: ORDERS_PER_FAULT }, () => orderWebhook());
  const bodies = orders.map((created) => [
    created,
    { ...created, provider_event_id: `${created.provider_event_id}-u`, status: 'updated' },
  ]);
  const ids = orders.map((o) => o.order_id);
  const dlqBefore = await dlqCount();
  const sending = deliver(bodies);
  await sleep(500);
  await inject();
  const healedAt = Date.now();
  const acknowledged = await sending;
  let state = await appliedEvents(ids);
  try {
    state = await until('everything acknowledged applied', 120_000, async () => {
      const now = await appliedEvents(ids);
      return now.applied >= acknowledged ? now : undefined;
    });
  } catch (err) {
    say((err as Error).message);
  }
  const recovery = ((Date.now() - healedAt) / 1000).toFixed(1);
  const result = {
    fault,
    acknowledged,
    applied: state.applied,
    duplicated: state.duplicated,
    deadLettered: (await dlqCount()) - dlqBefore,
    recoverySeconds: recovery,
  };
  results.push(result);
  say(`result: ${JSON.stringify(result)}`);
}

const readyReplica = (replica: Replica) =>
  until(`${replica.name} live`, 180_000, async () =>
    (await fetch(`http://127.0.0.1:${replica.port}/health/live`)).ok ? true : undefined,
  );

async function capture(replica: Replica, orderId: string, key: string): Promise<number> {
  const answer = await fetch(`http://127.0.0.1:${replica.port}/orders/${orderId}/capture`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount: 10, currency: 'USD', idempotency_key: key }),
    signal: AbortSignal.timeout(15_000),
  }).catch(() => null);
  return answer?.status ?? 0;
}

async function captureRequested(orderIds: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ order_id: string; n: string }>(
    `SELECT order_id, count(*) AS n FROM order_events WHERE order_id = ANY($1) AND kind = 'capture_requested'
     GROUP BY order_id`,
    [orderIds],
  );
  return new Map(rows.map((r) => [r.order_id, Number(r.n)]));
}

try {
  for (const replica of replicas) startReplica(replica);
  await Promise.all(replicas.map(readyReplica));
  // Warm-up: topics exist and both consumers are in their groups before the first fault.
  const warm = orderWebhook();
  await deliver([[warm]]);
  await until('warm-up applied', 120_000, async () =>
    (await appliedEvents([warm.order_id])).applied === 1 ? true : undefined,
  );
  say(`pipeline up: ingest ${ingestUrl}, replicas :${replicas[0]?.port} :${replicas[1]?.port}`);
  const [a, b] = replicas as [Replica, Replica];

  await webhookFault('consumer SIGKILL, restarted at once (inside the 30 s session)', async () => {
    killReplica(a);
    startReplica(a);
    const started = Date.now();
    await readyReplica(a);
    say(`api-a serving again after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  await webhookFault('consumer SIGKILL, restarted after the session timeout', async () => {
    killReplica(a);
    await sleep(SESSION_TIMEOUT_MS + 5000);
    startReplica(a);
    await readyReplica(a);
  });
  await webhookFault('PostgreSQL stopped for 15 s', async () => {
    pgCtl('stop');
    await sleep(15_000);
    pgCtl('start');
  });
  if (freezeBroker !== null) {
    const freeze = freezeBroker;
    await webhookFault('broker frozen (SIGSTOP) for 10 s', async () => {
      await freeze(true);
      await sleep(10_000);
      await freeze(false);
    });
  } else {
    results.push({
      fault: 'broker frozen (SIGSTOP)',
      acknowledged: '-',
      applied: '-',
      duplicated: '-',
      deadLettered: '-',
      recoverySeconds: '-',
      note: 'skipped: KAFKA_BROKERS is not a broker this suite started',
    });
  }

  // Provider faults and two replicas racing: captures of orders the pipeline created above.
  const { rows } = await db.query<{ id: string }>(
    "SELECT id FROM orders WHERE status = 'updated' AND NOT on_hold ORDER BY id LIMIT 80",
  );
  const [faulty, racing] = [rows.slice(0, 40).map((r) => r.id), rows.slice(40).map((r) => r.id)];
  say('fault: provider 5xx and timeouts during captures');
  providerFailing = true;
  const statuses = await Promise.all(faulty.map((id, i) => capture(i % 2 ? a : b, id, `k-${id}`)));
  providerFailing = false;
  const requested = await captureRequested(faulty);
  const succeeded = statuses.filter((s) => s === 200).length;
  const eventsStored = [...requested.values()].reduce((x, y) => x + y, 0);
  results.push({
    fault: 'provider 5xx/timeouts (captures)',
    acknowledged: `${succeeded} ok / ${statuses.filter((s) => s === 502).length} × 502`,
    applied: eventsStored,
    duplicated: eventsStored - succeeded,
    deadLettered: 0,
    recoverySeconds: '0.0',
    note: `other statuses: ${statuses.filter((s) => s !== 200 && s !== 502).length}`,
  });

  say('fault: two API replicas racing (same capture on both at once)');
  const raced = await Promise.all(
    racing.map((id) => Promise.all([capture(a, id, `race-${id}`), capture(b, id, `race-${id}`)])),
  );
  const racedEvents = await captureRequested(racing);
  results.push({
    fault: 'two API replicas racing (same capture twice)',
    acknowledged: `${raced.flat().filter((s) => s === 200).length} × 200 of ${raced.length * 2}`,
    applied: racing.filter((id) => racedEvents.get(id) === 1).length,
    duplicated: [...racedEvents.values()].filter((n) => n > 1).length,
    deadLettered: 0,
    recoverySeconds: '0.0',
    note: `orders ${racing.length}; 5xx: ${raced.flat().filter((s) => s >= 500).length}`,
  });
} catch (err) {
  failure = err as Error;
  say(`suite failed: ${failure.message}`);
} finally {
  clearTimeout(deadline);
  console.log('');
  console.log('| fault | acknowledged | applied | duplicated | dead-lettered | recovery s | note |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.fault} | ${r.acknowledged} | ${r.applied} | ${r.duplicated} | ${r.deadLettered} | ${r.recoverySeconds} | ${r.note ?? ''} |`,
    );
  }
  const lost = results.filter((r) => typeof r.acknowledged === 'number' && Number(r.applied) < r.acknowledged);
  const bad = results.filter((r) => Number(r.duplicated) > 0 || Number(r.deadLettered) > 0);
  const met = !failure && lost.length + bad.length === 0;
  say(met ? 'targets met: 0 lost, 0 duplicated, 0 dead-lettered' : `TARGETS MISSED (logs in ${LOG_DIR})`);
  await cleanUp();
  process.exitCode = met ? 0 : 1;
}
