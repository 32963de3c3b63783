/**
 * `npm run bench:ingest`: autocannon against (a) a bare fastify hello-world and (b) ingest in kafka mode (real
 * broker, acks=all), same connections, duration and body, in one run. Each server runs in its own process.
 * Target: CPU time per accepted webhook ≤ 2.0× the bare server's; req/s and p99 ratios are reported alongside.
 *
 * Shared or virtual machines drift by tens of percent within a minute, so one bare run followed by one ingest
 * run compares two different machines. The targets are therefore measured in rounds that alternate the order
 * (bare then ingest, ingest then bare, …); the verdict uses the median of the per-round ratios. Each round also
 * prints the CPU time the server process spent per answered request (from /proc on Linux), which drift barely
 * touches: it is the figure the target is set on.
 *
 *   --connections N (default 50)   --duration S per target and round (default 5)   --rounds N (default 3)
 *   --warmup S (default 2)   --rate-limit on|off|both (default on)
 * The rate limit (RATE_LIMIT_MAX) is on in production; here its maximum is set out of reach so every request takes
 * the limiter's path and none is refused (`on`), or it is off (`off`). `both` runs the two as separate ingest
 * processes in the same alternating rounds and reports the limiter's cost per webhook (docs/api.md#rate-limits).
 * Broker: KAFKA_BROKERS, else a local Apache Kafka node is started (--broker real, the default) or librdkafka's
 * mock cluster (--broker mock; idempotent producer off for it only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { freePort } from '@payment-manager/shared/net';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import autocannon from 'autocannon';
import { childrenKilledOnExit, wholeNumberOption } from '../../../scripts/bench-support.ts';
import { brokerKind, localBrokers, provisionTopics } from '../../../scripts/local-kafka.ts';

const { values: args } = parseCli({
  command: 'npm run bench:ingest --',
  summary:
    'autocannon against a bare fastify server and ingest in kafka mode (real broker, acks=all), in alternating rounds; target: CPU per accepted webhook ≤ 2.0× the bare server (req/s and p99 ratios alongside).',
  options: {
    connections: { type: 'string', default: '50', valueName: '<n>', description: 'HTTP connections' },
    duration: { type: 'string', default: '5', valueName: '<s>', description: 'seconds per target and round' },
    rounds: { type: 'string', default: '3', valueName: '<n>', description: 'rounds (the verdict uses their median)' },
    warmup: { type: 'string', default: '2', valueName: '<s>', description: 'warm-up seconds per target' },
    broker: {
      type: 'string',
      default: 'real',
      valueName: 'real|mock',
      description: "Apache Kafka or librdkafka's mock",
    },
    'rate-limit': {
      type: 'string',
      default: 'on',
      valueName: 'on|off|both',
      description: "ingest's rate limit: on (never reached), off, or both as two targets (the limiter's cost)",
    },
    'cpu-prof': {
      type: 'string',
      valueName: '<dir>',
      description: 'write V8 CPU profiles of both server processes into this directory (node --cpu-prof)',
    },
  },
  environment: { KAFKA_BROKERS: 'use these brokers instead of starting a local Apache Kafka node' },
});
oneLineErrors('bench:ingest');
const BROKER = brokerKind(args.broker);
const CONNECTIONS = wholeNumberOption('connections', args.connections, 1);
const DURATION = wholeNumberOption('duration', args.duration, 1);
const ROUNDS = wholeNumberOption('rounds', args.rounds, 1);
const WARMUP = wholeNumberOption('warmup', args.warmup, 0);
const RATE_LIMIT = args['rate-limit'] as string;
if (!['on', 'off', 'both'].includes(RATE_LIMIT))
  throw new Error(`--rate-limit must be on, off or both, got ${RATE_LIMIT}`);
/** On but out of reach: the limiter counts every request and refuses none. */
const LIMIT_ON = { RATE_LIMIT_MAX: '1000000000', RATE_LIMIT_WINDOW: '1m' };
const LIMIT_OFF = { RATE_LIMIT_MAX: '0' };
const root = fileURLToPath(new URL('../../..', import.meta.url));
const say = (message: string) => console.log(`[bench:ingest] ${message}`);

// One body for every request, as a provider retrying a burst would send; its ids never reach a database.
const body = JSON.stringify(orderWebhook());

async function startServer(
  script: string,
  env: Record<string, string | undefined>,
  port: number,
): Promise<ChildProcess> {
  const profile = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : [];
  const child = spawn(process.execPath, [...profile, script], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
    // stdout unread: a pipe nobody drains would stall a chatty child and keep this process alive.
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    // Bounded: a server that answers nothing (e.g. no broker) must fail the run in seconds, not hang it.
    const answer = await fetch(`${url}/webhooks/payments/orders`, {
      method: 'POST',
      body,
      signal: AbortSignal.timeout(2000),
    }).catch(() => null);
    if (answer?.status === 202) return child;
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error(`${script} never answered 202 on ${url}`);
}

async function load(url: string, seconds: number) {
  return autocannon({
    url: `${url}/webhooks/payments/orders`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    duration: seconds,
  });
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU time (user + system) of the server process per answered request, in µs; null where /proc is absent. */
  cpuMicrosPerRequest: number | null;
}

interface Target {
  name: string;
  url: string;
  pid: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, which Linux fixes at 100 for /proc/<pid>/stat

async function cpuSeconds(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function measure(target: Target, round: number): Promise<Figures> {
  const cpuBefore = await cpuSeconds(target.pid);
  const result = await load(target.url, DURATION);
  const cpuAfter = await cpuSeconds(target.pid);
  const answered = result.requests.total;
  const figures: Figures = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuMicrosPerRequest:
      cpuBefore === null || cpuAfter === null || answered === 0 ? null : ((cpuAfter - cpuBefore) * 1e6) / answered,
  };
  const cpu = figures.cpuMicrosPerRequest === null ? '' : `  cpu ${figures.cpuMicrosPerRequest.toFixed(0)} µs/req`;
  say(
    `round ${round} ${target.name.padEnd(6)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms${cpu}  non-2xx ${figures.non2xx}  errors ${figures.errors}`,
  );
  return figures;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The limiter's cost: per round, the limited ingest against the unlimited one (each round pairs them). */
function reportRateLimitCost(rounds: Array<{ ingest: Figures; unlimited?: Figures }>) {
  const paired = rounds.filter((r): r is { ingest: Figures; unlimited: Figures } => r.unlimited !== undefined);
  const rps = paired.map((r) => r.ingest.rps / r.unlimited.rps);
  say(`rate limit req/s ${median(rps).toFixed(3)}× without it (per round: ${rps.map((r) => r.toFixed(3)).join(', ')})`);
  if (paired.every((r) => r.ingest.cpuMicrosPerRequest !== null && r.unlimited.cpuMicrosPerRequest !== null)) {
    const cpu = paired.map(
      (r) => (r.ingest.cpuMicrosPerRequest as number) / (r.unlimited.cpuMicrosPerRequest as number),
    );
    say(
      `rate limit cpu/req ${median(cpu).toFixed(3)}× without it (per round: ${cpu.map((r) => r.toFixed(3)).join(', ')})`,
    );
  }
}

const stops: Array<() => unknown> = [];
const CPU_TARGET = 2.0;
let cpuRatio: number | null = null;
const children = childrenKilledOnExit();
try {
  const { brokers, idempotent } = await localBrokers(process.env, { kind: BROKER, name: 'bench-ingest', stops, say });
  const ordersTopic = `bench.ingest.${Date.now()}.orders`;
  await provisionTopics(brokers, [ordersTopic]);
  say(
    `${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s per target after ${WARMUP} s warm-up, POST ${body.length}-byte order webhook`,
  );

  const barePort = await freePort();
  const bareProcess = await startServer('services/ingest/bench/hello-server.ts', {}, barePort);
  const ingestEnv = {
    WEBHOOK_MODE: 'kafka',
    KAFKA_BROKERS: brokers,
    KAFKA_IDEMPOTENT_PRODUCER: idempotent,
    KAFKA_ORDERS_TOPIC: ordersTopic,
    // Ingest's production log level: an accepted webhook writes no log line at info (see request-logging.ts).
    LOG_LEVEL: 'info',
    // Unsigned on purpose: the benchmark measures the pipeline, not HMAC (the service warns that it is off).
    WEBHOOK_SECRET: '',
    WEBHOOK_SIGNATURES_DISABLED: 'true',
  };
  const startIngest = async (name: string, limit: Record<string, string>): Promise<Target> => {
    const port = await freePort();
    const child = await startServer('services/ingest/src/main.ts', { ...ingestEnv, ...limit }, port);
    return { name, url: `http://127.0.0.1:${port}`, pid: child.pid as number };
  };
  const ingest = await startIngest('ingest', RATE_LIMIT === 'off' ? LIMIT_OFF : LIMIT_ON);
  const unlimited = RATE_LIMIT === 'both' ? await startIngest('no-rl', LIMIT_OFF) : null;
  const bare: Target = { name: 'bare', url: `http://127.0.0.1:${barePort}`, pid: bareProcess.pid as number };
  const targets = unlimited ? [bare, ingest, unlimited] : [bare, ingest];
  say(`ingest rate limit ${RATE_LIMIT}${unlimited ? ' (target "ingest" limited, "no-rl" not)' : ''}`);

  if (WARMUP > 0) {
    for (const target of targets) await load(target.url, WARMUP);
  }
  const rounds: Array<{ bare: Figures; ingest: Figures; unlimited?: Figures }> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotating the order (alternating, for two) cancels a machine that speeds up or slows down steadily over the run.
    const order = targets.map((_, i) => targets[(i + round - 1) % targets.length] as Target);
    const figures = new Map<Target, Figures>();
    for (const target of order) figures.set(target, await measure(target, round));
    rounds.push({
      bare: figures.get(bare) as Figures,
      ingest: figures.get(ingest) as Figures,
      ...(unlimited ? { unlimited: figures.get(unlimited) as Figures } : {}),
    });
  }
  if (unlimited) reportRateLimitCost(rounds);

  const throughputRatios = rounds.map((r) => r.ingest.rps / r.bare.rps);
  const tailRatios = rounds.map((r) => r.ingest.p99 / Math.max(r.bare.p99, 1));
  const throughput = median(throughputRatios);
  const tail = median(tailRatios);
  const medianOf = (pick: (r: { bare: Figures; ingest: Figures }) => number) => median(rounds.map(pick));
  say(
    `median   bare ${medianOf((r) => r.bare.rps).toFixed(0)} req/s p99 ${medianOf((r) => r.bare.p99)} ms, ingest ${medianOf((r) => r.ingest.rps).toFixed(0)} req/s p99 ${medianOf((r) => r.ingest.p99)} ms`,
  );
  if (rounds.every((r) => r.bare.cpuMicrosPerRequest !== null && r.ingest.cpuMicrosPerRequest !== null)) {
    const bareCpu = medianOf((r) => r.bare.cpuMicrosPerRequest as number);
    const ingestCpu = medianOf((r) => r.ingest.cpuMicrosPerRequest as number);
    cpuRatio = ingestCpu / bareCpu;
    say(
      `cpu      bare ${bareCpu.toFixed(0)} µs/req, ingest ${ingestCpu.toFixed(0)} µs/req (${cpuRatio.toFixed(2)}× bare, target ≤ ${CPU_TARGET.toFixed(1)}×)`,
    );
  }
  say(
    `ratio    req/s ${throughput.toFixed(2)}× bare  p99 ${tail.toFixed(2)}× bare  per round: ${throughputRatios.map((r) => r.toFixed(2)).join(', ')}`,
  );
  if (cpuRatio === null) say('cpu per request unavailable (no /proc): no verdict');
  else say(cpuRatio <= CPU_TARGET ? 'target met' : 'target NOT met');
} finally {
  // The two server processes (and their pipes) are what kept this benchmark alive after its verdict: they are
  // stopped here, not only on exit, which never came while they ran.
  // SIGTERM, awaited: a server stopping on it also writes its CPU profile.
  await Promise.all(
    children.map((child) =>
      child.exitCode === null
        ? new Promise((resolve) => {
            child.once('exit', resolve);
            child.kill();
            setTimeout(resolve, 10_000).unref();
          })
        : null,
    ),
  );
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
}
