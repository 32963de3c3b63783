import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { connectOnce, withTimeout } from '../resilience.ts';
import { isUntracedPath } from './paths.ts';

/**
 * One registry per process holding every series the services export (names follow the Go original's
 * roadmap, docs/observability.md: `dpm_` prefix). Kept apart from prom-client's global registry so libraries cannot
 * add series behind our back.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'dpm_' });

export const httpRequestDuration = new Histogram({
  name: 'dpm_http_request_duration_seconds',
  help: 'HTTP request duration by route template, method and status code (probes and /metrics excluded).',
  labelNames: ['route', 'method', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

/**
 * Every webhook decision. `source` is where it was decided: `ingest` (outcome accepted, invalid, rejected by the API,
 * unavailable or failed), `api` (public endpoints in sync/http mode), `internal` (the API's endpoints for ingest in
 * http mode), `kafka` (consumer); `kind` is `order` or `chargeback`; elsewhere `outcome` is the WebhookOutcome of
 * services/api/src/webhooks/process.ts (processed, duplicate, or why it was rejected).
 */
export const webhookOutcomes = new Counter({
  name: 'dpm_webhook_outcomes_total',
  help: 'Webhooks by entry point, kind and outcome.',
  labelNames: ['source', 'kind', 'outcome'] as const,
  registers: [metricsRegistry],
});

/** Counts `outcome` in dpm_webhook_outcomes_total and returns it. */
export function recordWebhookOutcome<T extends string>(source: string, kind: 'order' | 'chargeback', outcome: T): T {
  webhookOutcomes.inc({ source, kind, outcome });
  return outcome;
}

/** Kafka messages handled by the consumers; outcome is the WebhookOutcome, or `dlq` for a dead letter. */
export const kafkaMessagesProcessed = new Counter({
  name: 'dpm_kafka_messages_processed_total',
  help: 'Kafka messages processed by topic and outcome.',
  labelNames: ['topic', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const kafkaMessageProcessingDuration = new Histogram({
  name: 'dpm_kafka_message_processing_duration_seconds',
  help: 'Time from handing a Kafka message to the handler until it is done (applied, skipped or sent to the DLQ).',
  labelNames: ['topic'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

/**
 * Messages written to a dead-letter topic; `topic` is the DLQ topic, `reason` why: `invalid` (not a valid envelope),
 * `permanent` (a rejection redelivery cannot change) or `retries_exhausted`.
 */
export const dlqPublishes = new Counter({
  name: 'dpm_kafka_dlq_messages_total',
  help: 'Messages published to a dead-letter topic.',
  labelNames: ['topic', 'reason'] as const,
  registers: [metricsRegistry],
});

/** Runs of pg_partman maintenance; outcome `success` or `failure`. */
export const partitionMaintenanceRuns = new Counter({
  name: 'dpm_partition_maintenance_runs_total',
  help: 'Partition maintenance runs by outcome.',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

/** The part of a pg.Pool the gauges read (structural, so shared does not depend on pg). */
export interface PoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

const pools = new Map<string, PoolStats>();

export const pgPoolConnections = new Gauge({
  name: 'dpm_pg_pool_connections',
  help: 'Connections of each pg pool: total, idle, and clients waiting for one.',
  labelNames: ['pool', 'state'] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const [name, pool] of pools) {
      this.set({ pool: name, state: 'total' }, pool.totalCount);
      this.set({ pool: name, state: 'idle' }, pool.idleCount);
      this.set({ pool: name, state: 'waiting' }, pool.waitingCount);
    }
  },
});

/** Reports `pool` under `name` (e.g. `primary`, `replica`) until the returned function is called. */
export function registerPoolMetrics(pool: PoolStats, name = 'primary'): () => void {
  pools.set(name, pool);
  return () => {
    if (pools.get(name) === pool) pools.delete(name);
  };
}

/** Where consumer lag comes from: the committed offsets of a group against the topics' high watermarks. */
export interface ConsumerLagSource {
  groupId: string;
  topics: string[];
  /** kafkajs `Admin` (structural so that shared does not pin kafkajs types); connected on first use. */
  admin: {
    connect(): Promise<void>;
    fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; high: string }>>;
    fetchOffsets(options: {
      groupId: string;
      topics: string[];
    }): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
  };
}

const lagSources = new Set<ConsumerLagSource>();
const LAG_FETCH_BUDGET_MS = 3_000;

const adminConnections = new WeakMap<ConsumerLagSource['admin'], () => Promise<void>>();

function connectAdmin(admin: ConsumerLagSource['admin']): Promise<void> {
  let connect = adminConnections.get(admin);
  if (!connect) {
    connect = connectOnce(() => admin.connect());
    adminConnections.set(admin, connect);
  }
  return connect();
}

async function readLag(source: ConsumerLagSource): Promise<Array<{ topic: string; partition: number; lag: number }>> {
  await connectAdmin(source.admin);
  const committed = await source.admin.fetchOffsets({ groupId: source.groupId, topics: source.topics });
  const result: Array<{ topic: string; partition: number; lag: number }> = [];
  for (const topic of source.topics) {
    const high = await source.admin.fetchTopicOffsets(topic);
    const committedByPartition = new Map(
      (committed.find((entry) => entry.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
    );
    for (const { partition, high: highOffset } of high) {
      const done = committedByPartition.get(partition) ?? -1;
      // -1 = nothing committed yet: everything up to the high watermark is still to do.
      const lag = Number(highOffset) - Math.max(done, 0);
      result.push({ topic, partition, lag: Math.max(lag, 0) });
    }
  }
  return result;
}

export const kafkaConsumerLag = new Gauge({
  name: 'dpm_kafka_consumer_lag',
  help: 'Messages not yet committed by the consumer group, per topic partition (read at scrape time).',
  labelNames: ['consumer_group', 'topic', 'partition'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    await Promise.all(
      [...lagSources].map(async (source) => {
        try {
          const lags = await withTimeout(readLag(source), LAG_FETCH_BUDGET_MS, 'consumer lag fetch');
          for (const { topic, partition, lag } of lags) {
            this.set({ consumer_group: source.groupId, topic, partition: String(partition) }, lag);
          }
        } catch {
          // A broker hiccup must not fail the whole scrape; the series is simply absent this time.
        }
      }),
    );
  },
});

/** Reports the lag of `source.groupId` on `source.topics` at every scrape until the returned function is called. */
export function registerConsumerLagMetrics(source: ConsumerLagSource): () => void {
  lagSources.add(source);
  return () => {
    lagSources.delete(source);
  };
}

function routeLabel(request: FastifyRequest): string {
  // Unmatched URLs share one label: raw paths would let any client create unbounded series.
  return request.routeOptions.url ?? 'unmatched';
}

/**
 * GET /metrics in Prometheus text format, and the duration histogram for every other request except
 * /metrics and /health*. Register it on the root instance (it is not encapsulated).
 */
export const metricsPlugin: FastifyPluginAsync = fastifyPlugin(
  async (app) => {
    // fastify times every request already (elapsedTime); a callback hook costs no promise per request.
    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if (!isUntracedPath(request.url)) {
        httpRequestDuration.observe(
          { route: routeLabel(request), method: request.method, status_code: String(reply.statusCode) },
          reply.elapsedTime / 1000,
        );
      }
      done();
    });
    app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
      const body = await metricsRegistry.metrics();
      return reply.header('content-type', metricsRegistry.contentType).send(body);
    });
  },
  { name: 'payment-manager-metrics', fastify: '5.x' },
);
