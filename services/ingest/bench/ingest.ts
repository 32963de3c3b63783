/**
 * `npm run bench:ingest`: autocannon against (a) a bare fastify hello-world and (b) ingest in kafka mode (real
 * broker, acks=all), same connections, duration and body, one after the other in one run. Each server runs in
 * its own process; prints req/s, p50/p99 and the ratios. Targets: ingest ≥ 0.6× bare req/s, p99 ≤ 2× bare p99.
 *
 *   --connections N (default 50)   --duration S (default 10)   --warmup S (default 2)
 * Broker: KAFKA_BROKERS, else a kcat mock cluster is started (idempotent producer off for it only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@payment-manager/shared/net';
import autocannon from 'autocannon';
import { benchBrokers } from '../../../scripts/kafka-mock.ts';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
  },
});
const CONNECTIONS = Number(args.connections);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const say = (message: string) => console.log(`[bench:ingest] ${message}`);

const body = JSON.stringify({
  provider_event_id: 'pe-bench-1',
  order_id: 'ord-bench-1',
  user_id: '0b7d3c52-6f0e-4e59-9a0c-2f4f8f5e1a10',
  status: 'created',
  created_at: '2025-03-04T09:00:00Z',
  updated_at: '2025-03-04T09:00:00Z',
  meta: { amount: '42.00', currency: 'EUR' },
});

async function startServer(
  script: string,
  env: Record<string, string | undefined>,
  port: number,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
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
}

async function measure(name: string, url: string): Promise<Figures> {
  if (WARMUP > 0) await load(url, WARMUP);
  const result = await load(url, DURATION);
  const figures = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
  say(
    `${name.padEnd(8)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms  non-2xx ${figures.non2xx}  errors ${figures.errors}`,
  );
  return figures;
}

const stops: Array<() => void> = [];
const children: ChildProcess[] = [];
// Ctrl-C or a timeout must not leave servers or the mock broker behind ('exit' hooks kill them synchronously).
process.once('exit', () => {
  for (const c of children) c.kill();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
try {
  const { brokers, idempotent } = await benchBrokers(process.env, {
    logFile: `${root}.data/bench-kafka-mock.${process.pid}.log`,
    stops,
    say,
  });
  say(
    `${CONNECTIONS} connections, ${DURATION} s per target after ${WARMUP} s warm-up, POST ${body.length}-byte order webhook`,
  );

  const barePort = await freePort();
  const bare = await startServer('services/ingest/bench/hello-server.ts', {}, barePort);
  stops.push(() => bare.kill());
  const bareFigures = await measure('bare', `http://127.0.0.1:${barePort}`);
  bare.kill();

  const ingestPort = await freePort();
  const ingest = await startServer(
    'services/ingest/src/main.ts',
    {
      WEBHOOK_MODE: 'kafka',
      KAFKA_BROKERS: brokers,
      KAFKA_IDEMPOTENT_PRODUCER: idempotent,
      KAFKA_ORDERS_TOPIC: `bench.ingest.${Date.now()}.orders`,
      // Ingest's production log level: an accepted webhook writes no log line at info (see request-logging.ts).
      LOG_LEVEL: 'info',
      WEBHOOK_SECRET: '',
    },
    ingestPort,
  );
  stops.push(() => ingest.kill());
  const ingestFigures = await measure('ingest', `http://127.0.0.1:${ingestPort}`);

  const throughput = ingestFigures.rps / bareFigures.rps;
  const tail = ingestFigures.p99 / Math.max(bareFigures.p99, 1);
  say(`ratio    req/s ${throughput.toFixed(2)}× bare (target ≥ 0.60×)  p99 ${tail.toFixed(2)}× bare (target ≤ 2.00×)`);
  say(throughput >= 0.6 && tail <= 2 ? 'targets met' : 'targets NOT met');
} finally {
  for (const stop of stops.reverse()) stop();
}
