/**
 * API Kafka consumers (docs/kafka.md#consuming–docs/kafka.md#delivery-semantics, docs/kafka.md#dead-letters), the supervisor: one group per topic, partitions in parallel but
 * each partition strictly in offset order, restarts with backoff, readiness, graceful shutdown. What happens to
 * a fetched batch (one transaction, DLQ, offsets) is batch-handler.ts; the dead-letter producer dead-letters.ts.
 */
import { createKafkaClient, type KafkaLogSink } from '@payment-manager/shared/kafka-client';
import { type HealthCheck, registerConsumerLagMetrics } from '@payment-manager/shared/observability';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type pg from 'pg';
import type { ApiConfig } from '../config.ts';
import { type ApplyMode, createBatchHandler, type Pipeline, type Progress } from './batch-handler.ts';
import { createDeadLetters } from './dead-letters.ts';
import { createOffsetCommitter, type OffsetCommitter } from './offset-committer.ts';
import { CONSUMER_RETRY_POLICY, type RetryPolicy } from './retry.ts';

export { failedAtHeader } from './dead-letters.ts';

export interface WebhookConsumersOptions {
  pool: pg.Pool;
  config: Pick<ApiConfig, 'kafka'>;
  logger: KafkaLogSink;
  /** A ready-made client (tests inject network faults); default built from config.kafka.brokers. */
  kafka?: Kafka;
  /** Partitions of one topic handled at the same time (per-partition order is always kept). */
  partitionsConsumedConcurrently?: number;
  /** Group timeouts; default CONSUMER_GROUP_TIMEOUTS (production). */
  groupTimeouts?: ConsumerGroupTimeouts;
  retryPolicy?: RetryPolicy;
  /** `batch` (default): one transaction per fetched batch; `message`: one per webhook (benchmarks compare both). */
  applyMode?: ApplyMode;
  /** Upper bound of one batch transaction (default MAX_WEBHOOKS_PER_TRANSACTION). */
  maxWebhooksPerTransaction?: number;
}

export interface ConsumerGroupTimeouts {
  /** A crashed member's partitions move to another member after this long. */
  sessionTimeoutMs: number;
  /**
   * How long the coordinator waits for members to rejoin, and (kafkajs) the JoinGroup request timeout. Kafka's rule:
   * at least the session timeout, or a member rejoining while the coordinator still waits for a dead one times out
   * its JoinGroup again and again and never consumes.
   */
  rebalanceTimeoutMs: number;
  /** A third of the session timeout or less (Kafka's guidance), so two lost heartbeats do not cost the session. */
  heartbeatIntervalMs: number;
}

export const CONSUMER_GROUP_TIMEOUTS: ConsumerGroupTimeouts = {
  sessionTimeoutMs: 30_000,
  rebalanceTimeoutMs: 60_000,
  heartbeatIntervalMs: 3000,
};

/** Kafka's rules for group timeouts; violating settings fail at start-up instead of in a rebalance. */
export function checkGroupTimeouts(timeouts: ConsumerGroupTimeouts): ConsumerGroupTimeouts {
  const { sessionTimeoutMs, rebalanceTimeoutMs, heartbeatIntervalMs } = timeouts;
  if (rebalanceTimeoutMs < sessionTimeoutMs) {
    throw new Error(
      `rebalance timeout (${rebalanceTimeoutMs} ms) must be ≥ the session timeout (${sessionTimeoutMs} ms)`,
    );
  }
  if (heartbeatIntervalMs * 3 > sessionTimeoutMs) {
    throw new Error(`heartbeat interval (${heartbeatIntervalMs} ms) must be ≤ a third of the session timeout`);
  }
  return timeouts;
}

export interface WebhookConsumers {
  /** Stops fetching, lets in-flight messages finish and commit, then closes the DLQ producer. */
  stop(): Promise<void>;
  /**
   * Readiness: down when a consumer has neither fetched nor finished a message for `stallMs` (stuck joining, or
   * blocked on one message that long), saying which one, whether it is in its group and what it holds.
   */
  progressCheck(stallMs?: number): HealthCheck;
}

/** Long enough for a transient database outage to heal without flapping, short enough to catch a stuck join. */
export const CONSUMER_STALL_MS = 90_000;

const COMMIT_TIMEOUT_MS = 5000;
const RESTART_BACKOFF_MS = { initial: 1000, max: 30_000 };

/** Counts handlers in progress so shutdown can wait for them before committing and leaving the group. */
interface InFlight {
  track(work: Promise<void>): Promise<void>;
  idle(): Promise<void>;
}

function createInFlight(): InFlight {
  let count = 0;
  const waiters: Array<() => void> = [];
  return {
    async track(work) {
      count++;
      try {
        await work;
      } finally {
        count--;
        if (count === 0) for (const wake of waiters.splice(0)) wake();
      }
    },
    idle() {
      return count === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

export function startWebhookConsumers(opts: WebhookConsumersOptions): WebhookConsumers {
  const { pool, logger } = opts;
  const k = opts.config.kafka;
  const kafka =
    opts.kafka ??
    createKafkaClient({ clientId: 'payment-manager-api', brokers: k.brokers, security: k.security, logger });
  const policy = opts.retryPolicy ?? CONSUMER_RETRY_POLICY;
  const stopping = new AbortController();
  const deadLetters = createDeadLetters(kafka);

  const pipelines: Pipeline[] = [
    {
      name: 'orders',
      topic: k.ordersTopic,
      groupId: k.ordersConsumerGroup,
      dlqTopic: k.ordersDlqTopic,
      type: 'order.webhook',
    },
    {
      name: 'disputes',
      topic: k.disputesTopic,
      groupId: k.disputesConsumerGroup,
      dlqTopic: k.disputesDlqTopic,
      type: 'dispute.webhook',
    },
  ];

  const running = new Map<Pipeline, { consumer: Consumer; committer: OffsetCommitter; inFlight: InFlight }>();
  const restartTimers = new Set<NodeJS.Timeout>();

  const timeouts = checkGroupTimeouts(opts.groupTimeouts ?? CONSUMER_GROUP_TIMEOUTS);
  const progressOf = new Map<Pipeline, Progress>(
    pipelines.map((pipeline) => [
      pipeline,
      { inGroup: false, joinedOnce: false, assigned: [], lastProgressAt: Date.now(), blockedSince: null },
    ]),
  );

  async function run(pipeline: Pipeline, attempt: number): Promise<void> {
    if (stopping.signal.aborted) return;
    const progress = progressOf.get(pipeline) as Progress;
    const consumer = kafka.consumer({
      groupId: pipeline.groupId,
      sessionTimeout: timeouts.sessionTimeoutMs,
      rebalanceTimeout: timeouts.rebalanceTimeoutMs,
      heartbeatInterval: timeouts.heartbeatIntervalMs,
      maxWaitTimeInMs: 500,
      retry: {
        retries: 5,
        initialRetryTime: 300,
        maxRetryTime: 5000,
        restartOnFailure: async () => !stopping.signal.aborted,
      },
    });
    const committer = createOffsetCommitter(consumer, {
      timeoutMs: COMMIT_TIMEOUT_MS,
      // The effect is already stored; a redelivery is absorbed as a duplicate (docs/kafka.md#consuming).
      onError: (err, offsets) => logger.warn({ err, offsets }, 'offset commit failed; messages may be redelivered'),
    });
    const inFlight = createInFlight();
    const handleBatch = createBatchHandler(pipeline, committer, progress, {
      pool,
      logger,
      policy,
      deadLetters,
      stopping: stopping.signal,
      applyMode: opts.applyMode ?? 'batch',
      maxWebhooksPerTransaction: opts.maxWebhooksPerTransaction,
    });
    running.set(pipeline, { consumer, committer, inFlight });
    let restarted = false;
    const restart = (reason: unknown) => {
      if (restarted || stopping.signal.aborted) return;
      restarted = true;
      const delay = Math.min(RESTART_BACKOFF_MS.initial * 2 ** attempt, RESTART_BACKOFF_MS.max);
      logger.error({ err: reason, topic: pipeline.topic, delayMs: delay }, 'consumer stopped; restarting with backoff');
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        void consumer
          .disconnect()
          .catch(() => {})
          .then(() => run(pipeline, attempt + 1));
      }, delay);
      restartTimers.add(timer);
    };
    // kafkajs restarts retriable crashes itself; anything it gives up on is restarted here (docs/kafka.md#dead-letters).
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) restart(event.payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      attempt = 0;
      progress.inGroup = true;
      progress.joinedOnce = true;
      progress.assigned = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((p) => `${topic}/${p}`),
      );
      progress.lastProgressAt = Date.now();
    });
    // An empty fetch is progress too: the consumer is in its group and caught up.
    consumer.on(consumer.events.FETCH, () => {
      progress.lastProgressAt = Date.now();
    });
    for (const left of [consumer.events.CRASH, consumer.events.REBALANCING, consumer.events.STOP]) {
      consumer.on(left, () => {
        progress.inGroup = false;
      });
    }
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [pipeline.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 3,
        // Offsets are resolved by the handler as each message's effect becomes durable, never ahead of it.
        eachBatchAutoResolve: false,
        eachBatch: (payload: EachBatchPayload) => inFlight.track(handleBatch(payload)),
      });
      logger.info({ topic: pipeline.topic, groupId: pipeline.groupId }, 'webhook consumer running');
    } catch (err) {
      restart(err);
    }
  }

  for (const pipeline of pipelines) void run(pipeline, 0);
  const lagAdmin = kafka.admin();
  const unregisterLag = pipelines.map((pipeline) =>
    registerConsumerLagMetrics({ groupId: pipeline.groupId, topics: [pipeline.topic], admin: lagAdmin }),
  );

  return {
    progressCheck(stallMs = CONSUMER_STALL_MS) {
      return {
        name: 'kafka-consumers',
        check: async () => {
          const now = Date.now();
          const stuck = pipelines.flatMap((pipeline) => {
            const p = progressOf.get(pipeline) as Progress;
            // A starting pod joins its groups before the Service sends it traffic (rolling updates, docs/kubernetes.md).
            if (!p.joinedOnce) return [`${pipeline.name}: not yet in its group (starting)`];
            if (now - p.lastProgressAt <= stallMs) return [];
            const blocked = p.blockedSince
              ? `, blocked on one message for ${Math.round((now - p.blockedSince) / 1000)} s`
              : '';
            return [
              `${pipeline.name}: no progress for ${Math.round((now - p.lastProgressAt) / 1000)} s ` +
                `(${p.inGroup ? `in group, partitions ${p.assigned.join(' ') || 'none'}` : 'not in its group'}${blocked})`,
            ];
          });
          if (stuck.length > 0) throw new Error(stuck.join('; '));
        },
      };
    },
    async stop() {
      stopping.abort(new Error('consumer shutting down'));
      for (const timer of restartTimers) clearTimeout(timer);
      // Stop handing out messages, let the ones in hand finish, commit them while still a group member, then leave.
      await Promise.all(
        [...running].map(async ([pipeline, { consumer, committer, inFlight }]) => {
          try {
            consumer.pause([{ topic: pipeline.topic }]);
          } catch {
            // Not running (e.g. between restarts): nothing is in hand.
          }
          await inFlight.idle();
          await committer.flush();
          await consumer.disconnect().catch(() => {});
        }),
      );
      await deadLetters.close();
      for (const unregister of unregisterLag) unregister();
      await lagAdmin.disconnect().catch(() => {});
    },
  };
}
