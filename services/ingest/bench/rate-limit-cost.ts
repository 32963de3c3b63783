/**
 * `npm run bench:rate-limit`: the CPU the rate limit adds to one accepted webhook, measured where a shared machine's
 * noise hurts least — one process, two ingest apps on the same real broker and publisher (rate limit on but out of
 * reach, and off), the same webhooks injected 50 at a time, in alternating blocks; the figure is the process's CPU
 * time per request of each block (not wall time, which other processes' load distorts most). Injection costs the
 * same on both sides, so the difference per request is the limiter's; the ratio understates it by that much.
 *
 *   --blocks N (default 10 per side)   --requests N per block (default 2000)
 * Broker: KAFKA_BROKERS, else a local Apache Kafka node is started.
 */
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { createKafkaClient, parseBrokerList } from '@payment-manager/shared/kafka-client';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import type { FastifyInstance } from 'fastify';
import { wholeNumberOption } from '../../../scripts/bench-support.ts';
import { localBrokers, provisionTopics } from '../../../scripts/local-kafka.ts';
import { buildIngestApp } from '../src/app.ts';
import { createKafkaPublisher } from '../src/kafka/publisher.ts';

const { values: args } = parseCli({
  command: 'npm run bench:rate-limit --',
  summary:
    "CPU per accepted webhook with ingest's rate limit on (out of reach) and off, one process, alternating blocks.",
  options: {
    blocks: { type: 'string', default: '10', valueName: '<n>', description: 'blocks per side' },
    requests: { type: 'string', default: '2000', valueName: '<n>', description: 'requests per block' },
  },
  environment: { KAFKA_BROKERS: 'use these brokers instead of starting a local Apache Kafka node' },
});
oneLineErrors('bench:rate-limit');
const BLOCKS = wholeNumberOption('blocks', args.blocks, 1);
const REQUESTS = wholeNumberOption('requests', args.requests, 100);
const IN_FLIGHT = 50;
const say = (message: string) => console.log(`[bench:rate-limit] ${message}`);

const stops: Array<() => unknown> = [];
try {
  const { brokers, idempotent } = await localBrokers(process.env, { kind: 'real', name: 'bench-rl', stops, say });
  const ordersTopic = `bench.rate-limit.${Date.now()}.orders`;
  await provisionTopics(brokers, [ordersTopic]);
  const kafka = createKafkaClient({ clientId: 'bench-rate-limit', brokers: parseBrokerList(brokers) });
  const publisher = createKafkaPublisher(kafka, { idempotent: idempotent !== 'false' });
  stops.push(() => publisher.close());
  await publisher.connect();

  const build = (max: number) =>
    buildIngestApp({
      config: {
        webhookMode: 'kafka',
        bodyLimitBytes: 1_048_576,
        logLevel: 'info',
        kafka: { ordersTopic, disputesTopic: ordersTopic },
        rateLimit: { max, windowMs: 60_000 },
      },
      publisher,
      signatureVerifier: null,
      logger: { level: 'info' },
    });
  const sides: Array<{ name: string; app: FastifyInstance; cpu: number[] }> = [
    { name: 'limited', app: await build(1_000_000_000), cpu: [] },
    { name: 'unlimited', app: await build(0), cpu: [] },
  ];
  for (const side of sides) stops.push(() => side.app.close());
  const payload = JSON.stringify(orderWebhook());

  async function block(app: FastifyInstance): Promise<number> {
    let sent = 0;
    const before = process.cpuUsage();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < REQUESTS) {
          sent += 1;
          const answer = await app.inject({ method: 'POST', url: '/webhooks/payments/orders', payload });
          if (answer.statusCode !== 202) throw new Error(`answered ${answer.statusCode}: ${answer.body}`);
        }
      }),
    );
    const used = process.cpuUsage(before);
    return (used.user + used.system) / REQUESTS;
  }

  for (const side of sides) await block(side.app); // warm-up: JIT and the producer's connections
  for (let i = 0; i < BLOCKS; i++) {
    // Alternating which side goes first cancels a machine that speeds up or slows down over the run.
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) side.cpu.push(await block(side.app));
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  };
  const [limited, unlimited] = sides as [(typeof sides)[0], (typeof sides)[0]];
  for (const side of sides) {
    say(
      `${side.name.padEnd(9)} cpu µs/req per block: ${side.cpu.map((v) => v.toFixed(1)).join(' ')}  median ${median(side.cpu).toFixed(1)}`,
    );
  }
  const ratios = limited.cpu.map((value, i) => value / (unlimited.cpu[i] as number));
  const delta = median(limited.cpu) - median(unlimited.cpu);
  say(
    `limiter ${delta >= 0 ? '+' : ''}${delta.toFixed(1)} µs/req; ratio per pair median ${median(ratios).toFixed(3)}× (${ratios.map((r) => r.toFixed(3)).join(', ')})`,
  );
} finally {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
}
