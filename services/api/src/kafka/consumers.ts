/**
 * API Kafka consumers (spec §11.3–§11.5, R-18): one group per topic, partitions in parallel but each partition
 * strictly in offset order, offsets committed by hand only after the webhook's transaction committed (or its
 * dead letter was stored), transient failures retried with backoff, permanent ones sent straight to the DLQ.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { createKafkaClient, type KafkaLogSink, keyHashPartitioner } from '@payment-manager/shared/kafka-client';
import {
  dlqPublishes,
  type HealthCheck,
  kafkaMessageProcessingDuration,
  kafkaMessagesProcessed,
  registerConsumerLagMetrics,
  webhookOutcomes,
} from '@payment-manager/shared/observability';
import type { Consumer, EachMessagePayload, IHeaders, Kafka, Producer } from 'kafkajs';
import type pg from 'pg';
import type { ApiConfig } from '../config.ts';
import { processChargebackWebhook, processOrderWebhook, type WebhookOutcome } from '../webhooks/process.ts';
import { decodeEnvelope } from './envelope.ts';
import { createOffsetCommitter, type OffsetCommitter } from './offset-committer.ts';
import { CONSUMER_RETRY_POLICY, isTransientError, type RetryPolicy, withRetry } from './retry.ts';

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

/** Why a message went to the DLQ, as the `reason` label of dpm_kafka_dlq_messages_total. */
type DeadReason = 'invalid' | 'permanent' | 'retries_exhausted';
type Step =
  | { kind: 'done'; outcome: WebhookOutcome }
  | { kind: 'dead'; error: string; reason: DeadReason; outcome?: WebhookOutcome };

/** Outcomes that will not change on redelivery (spec §11.3 table); they go to the DLQ without retries. */
const PERMANENT_FAILURES: Partial<Record<WebhookOutcome, string>> = {
  order_not_found: 'order not found',
  dispute_not_found: 'dispute not found',
  invalid_transition: 'invalid status transition',
};

const DLQ_PUBLISH_TIMEOUT_MS = 5000;
const COMMIT_TIMEOUT_MS = 5000;
const RESTART_BACKOFF_MS = { initial: 1000, max: 30_000 };

const tracer = trace.getTracer('payment-manager-api-consumer');

const headerGetter = {
  keys: (carrier: IHeaders) => Object.keys(carrier),
  get: (carrier: IHeaders, key: string) => {
    const value = carrier[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** RFC 3339 UTC with seconds precision, as the DLQ header of spec §11.4. */
export function failedAtHeader(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

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

/** What readiness knows about one consumer. */
interface Progress {
  inGroup: boolean;
  assigned: string[];
  /** Last fetch (even an empty one) or finished message. */
  lastProgressAt: number;
  /** Set while a message is being retried. */
  blockedSince: number | null;
}

interface Pipeline {
  name: 'orders' | 'disputes';
  topic: string;
  groupId: string;
  dlqTopic: string;
  type: 'order.webhook' | 'dispute.webhook';
}

export function startWebhookConsumers(opts: WebhookConsumersOptions): WebhookConsumers {
  const { pool, logger } = opts;
  const k = opts.config.kafka;
  const kafka = opts.kafka ?? createKafkaClient({ clientId: 'payment-manager-api', brokers: k.brokers, logger });
  const policy = opts.retryPolicy ?? CONSUMER_RETRY_POLICY;
  const stopping = new AbortController();
  // Kept open for the consumers' whole lifetime (R-18); a dead letter is a redelivery away from being lost.
  const dlqProducer: Producer = kafka.producer({
    createPartitioner: keyHashPartitioner,
    allowAutoTopicCreation: true,
    retry: { retries: 3, initialRetryTime: 100 },
  });
  let dlqConnected: Promise<void> | null = null;

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

  async function connectDlq(): Promise<void> {
    dlqConnected ??= dlqProducer.connect().catch((err: unknown) => {
      dlqConnected = null;
      throw err;
    });
    return dlqConnected;
  }

  async function decideStep(
    pipeline: Pipeline,
    payload: EachMessagePayload,
    where: object,
    progress: Progress,
  ): Promise<Step> {
    const decoded = decodeEnvelope(pipeline.type, payload.message.value);
    if (!decoded.ok) return { kind: 'dead', error: decoded.message, reason: 'invalid' };
    let rebalancing = false;
    try {
      const { outcome } = await withRetry(
        () =>
          decoded.type === 'order.webhook'
            ? processOrderWebhook(pool, decoded.webhook)
            : processChargebackWebhook(pool, decoded.webhook),
        policy,
        stopping.signal,
        {
          // The partition waits on this message (nothing after it is applied or committed) for as long as the fault
          // lasts; only errors that will not heal go to the DLQ.
          isTransient: isTransientError,
          onRetry: (err, attempt, transient) => {
            progress.blockedSince ??= Date.now();
            logger.warn({ ...where, err, attempt: attempt + 1, transient }, 'webhook processing failed; retrying');
          },
          // Stay in the group while waiting; a rebalance ends the wait and the message goes to the partition's next owner.
          beforeRetry: async () => {
            try {
              await payload.heartbeat();
            } catch (err) {
              rebalancing = true;
              throw err;
            }
          },
        },
      );
      const permanent = PERMANENT_FAILURES[outcome];
      return permanent ? { kind: 'dead', error: permanent, reason: 'permanent', outcome } : { kind: 'done', outcome };
    } catch (err) {
      // Shutdown or a rebalance interrupted the retries: leave the offset uncommitted so the next owner redelivers it.
      if (stopping.signal.aborted || rebalancing || isTransientError(err)) throw err;
      return { kind: 'dead', error: `max retries exceeded: ${(err as Error).message}`, reason: 'retries_exhausted' };
    } finally {
      progress.blockedSince = null;
    }
  }

  async function sendToDlq(pipeline: Pipeline, payload: EachMessagePayload, error: string): Promise<void> {
    const { message } = payload;
    // Same key and value bytes; original headers (trace context) kept, failure described in two more.
    const headers: IHeaders = { ...message.headers, error, failed_at: failedAtHeader() };
    await timeout(
      (async () => {
        await connectDlq();
        await dlqProducer.send({
          topic: pipeline.dlqTopic,
          acks: -1,
          timeout: DLQ_PUBLISH_TIMEOUT_MS,
          messages: [{ key: message.key, value: message.value, headers }],
        });
      })(),
      DLQ_PUBLISH_TIMEOUT_MS,
      'DLQ publish',
    );
  }

  async function handle(
    pipeline: Pipeline,
    committer: OffsetCommitter,
    payload: EachMessagePayload,
    progress: Progress,
  ): Promise<void> {
    const { topic, partition, message } = payload;
    const where = { topic, partition, offset: message.offset };
    const endTimer = kafkaMessageProcessingDuration.startTimer({ topic });
    const step = await decideStep(pipeline, payload, where, progress);
    const outcome = step.outcome;
    if (outcome)
      webhookOutcomes.inc({ source: 'kafka', kind: pipeline.name === 'orders' ? 'order' : 'chargeback', outcome });
    if (step.kind === 'dead') {
      try {
        await sendToDlq(pipeline, payload, step.error);
      } catch (err) {
        // Not committing keeps the record in the partition; kafkajs redelivers it after a retry/restart.
        logger.error(
          { ...where, err, failure: step.error, value: message.value?.toString('utf8') },
          'DLQ publish failed; offset not committed',
        );
        throw err;
      }
      dlqPublishes.inc({ topic: pipeline.dlqTopic, reason: step.reason });
      logger.warn({ ...where, dlqTopic: pipeline.dlqTopic, failure: step.error }, 'webhook sent to DLQ');
    } else if (step.outcome !== 'processed') {
      logger.info({ ...where, outcome: step.outcome }, 'webhook skipped');
    }
    // Marked only now: the transaction (or the dead letter) is durable, so committing past it loses nothing.
    committer.mark(topic, partition, (BigInt(message.offset) + 1n).toString());
    kafkaMessagesProcessed.inc({ topic, outcome: step.kind === 'dead' ? 'dlq' : step.outcome });
    progress.lastProgressAt = Date.now();
    endTimer();
  }

  function traced(pipeline: Pipeline, committer: OffsetCommitter, inFlight: InFlight, progress: Progress) {
    return (payload: EachMessagePayload) => inFlight.track(tracedHandle(pipeline, committer, payload, progress));
  }

  async function tracedHandle(
    pipeline: Pipeline,
    committer: OffsetCommitter,
    payload: EachMessagePayload,
    progress: Progress,
  ): Promise<void> {
    const parent = propagation.extract(context.active(), payload.message.headers ?? {}, headerGetter);
    // Under the OTel --import entry the kafkajs instrumentation already runs this in a consumer span
    // continuing the producer's trace; a second one would only duplicate it.
    const active = trace.getActiveSpan()?.spanContext();
    if (active && active.traceId === trace.getSpanContext(parent)?.traceId) {
      await handle(pipeline, committer, payload, progress);
      return;
    }
    await context.with(parent, () =>
      tracer.startActiveSpan(
        `${pipeline.topic} process`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.destination.name': payload.topic,
            'messaging.destination.partition.id': String(payload.partition),
            'messaging.kafka.offset': payload.message.offset,
          },
        },
        async (span) => {
          try {
            await handle(pipeline, committer, payload, progress);
          } catch (err) {
            span.recordException(err as Error);
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw err;
          } finally {
            span.end();
          }
        },
      ),
    );
  }

  const running = new Map<Pipeline, { consumer: Consumer; committer: OffsetCommitter; inFlight: InFlight }>();
  const restartTimers = new Set<NodeJS.Timeout>();

  const timeouts = checkGroupTimeouts(opts.groupTimeouts ?? CONSUMER_GROUP_TIMEOUTS);
  const progressOf = new Map<Pipeline, Progress>(
    pipelines.map((pipeline) => [
      pipeline,
      { inGroup: false, assigned: [], lastProgressAt: Date.now(), blockedSince: null },
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
      // The effect is already stored; a redelivery is absorbed as a duplicate (spec §11.3).
      onError: (err, offsets) => logger.warn({ err, offsets }, 'offset commit failed; messages may be redelivered'),
    });
    const inFlight = createInFlight();
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
    // kafkajs restarts retriable crashes itself; anything it gives up on is restarted here (R-18).
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) restart(event.payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      attempt = 0;
      progress.inGroup = true;
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
        eachMessage: traced(pipeline, committer, inFlight, progress),
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
      await dlqProducer.disconnect().catch(() => {});
      for (const unregister of unregisterLag) unregister();
      await lagAdmin.disconnect().catch(() => {});
    },
  };
}
