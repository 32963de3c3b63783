/**
 * What the API consumers do with one fetched batch of one partition (docs/kafka-batch.md):
 * 1. decode every message against the envelope schema (an invalid one is a dead letter, nothing else);
 * 2. apply the valid webhooks in ONE transaction (webhooks/apply-batch.ts), retrying the whole transaction while a
 *    fault is transient — it rolls back, so a retry never applies anything twice;
 * 3. if the batch fails for any other reason, apply its webhooks one at a time with the per-webhook path, so the one
 *    poison message goes to the DLQ after a few tries and the rest of the partition flows on;
 * 4. send the permanent failures (not found, invalid transition) to the DLQ one by one, in offset order;
 * 5. only then mark the offsets for commit: everything before them is durable.
 */
import { type Context, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NormalisedChargebackWebhook, NormalisedOrderWebhook } from '@payment-manager/shared';
import type { KafkaLogSink } from '@payment-manager/shared/kafka-client';
import {
  dlqPublishes,
  kafkaMessageProcessingDuration,
  kafkaMessagesProcessed,
  webhookOutcomes,
  withExtractedContext,
} from '@payment-manager/shared/observability';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type pg from 'pg';
import { applyChargebackBatch, applyOrderWebhookBatch } from '../webhooks/apply-batch.ts';
import { processChargebackWebhook, processOrderWebhook, type WebhookOutcome } from '../webhooks/process.ts';
import type { DeadLetters } from './dead-letters.ts';
import { type DecodedWebhook, decodeEnvelope } from './envelope.ts';
import type { OffsetCommitter } from './offset-committer.ts';
import { isTransientError, type RetryPolicy, withRetry } from './retry.ts';

export interface Pipeline {
  name: 'orders' | 'disputes';
  topic: string;
  groupId: string;
  dlqTopic: string;
  type: 'order.webhook' | 'dispute.webhook';
}

/** `batch`: one transaction per fetched batch; `message`: one per webhook (the path of sync and http mode). */
export type ApplyMode = 'batch' | 'message';

/** Transactions stay this size at most; a larger fetch is applied in several. */
export const MAX_WEBHOOKS_PER_TRANSACTION = 1000;

/** What readiness knows about one consumer (consumers.ts); the handler updates the progress fields. */
export interface Progress {
  inGroup: boolean;
  /** Has been in its group at least once since it started: until then the API is not ready (docs/kafka.md). */
  joinedOnce: boolean;
  assigned: string[];
  /** Last fetch (even an empty one) or finished batch. */
  lastProgressAt: number;
  /** Set while a batch or message is being retried. */
  blockedSince: number | null;
}

export interface BatchHandlerDeps {
  pool: pg.Pool;
  logger: KafkaLogSink;
  policy: RetryPolicy;
  deadLetters: DeadLetters;
  /** Aborted at shutdown: retries stop and nothing more is marked. */
  stopping: AbortSignal;
  applyMode: ApplyMode;
  maxWebhooksPerTransaction?: number;
}

/** Why a message went to the DLQ, as the `reason` label of dpm_kafka_dlq_messages_total. */
type DeadReason = 'invalid' | 'permanent' | 'retries_exhausted';
type Step =
  | { kind: 'done'; outcome: WebhookOutcome }
  | { kind: 'dead'; error: string; reason: DeadReason; outcome?: WebhookOutcome };

/** Outcomes that will not change on redelivery (docs/kafka.md#consuming table); they go to the DLQ without retries. */
const PERMANENT_FAILURES: Partial<Record<WebhookOutcome, string>> = {
  order_not_found: 'order not found',
  dispute_not_found: 'dispute not found',
  invalid_transition: 'invalid status transition',
};

const tracer = trace.getTracer('payment-manager-api-consumer');

/** One message of the batch with its trace: a CONSUMER span continuing the producer's trace from the headers. */
interface Item {
  message: KafkaMessage;
  decoded: DecodedWebhook;
  span: Span;
  context: Context;
}

type AnyWebhook = NormalisedOrderWebhook | NormalisedChargebackWebhook;

/** The webhook of an item that passed decodeEnvelope. */
function webhookOf(item: Item): AnyWebhook {
  return (item.decoded as { webhook: AnyWebhook }).webhook;
}

function stepOf(outcome: WebhookOutcome): Step {
  const permanent = PERMANENT_FAILURES[outcome];
  return permanent ? { kind: 'dead', error: permanent, reason: 'permanent', outcome } : { kind: 'done', outcome };
}

/** A rebalance or shutdown interrupted the work: nothing more of this batch may be marked. */
class Interrupted extends Error {}

export function createBatchHandler(
  pipeline: Pipeline,
  committer: OffsetCommitter,
  progress: Progress,
  deps: BatchHandlerDeps,
) {
  const { pool, logger, policy, stopping } = deps;
  const perTransaction =
    deps.applyMode === 'message' ? 1 : (deps.maxWebhooksPerTransaction ?? MAX_WEBHOOKS_PER_TRANSACTION);
  const kind = pipeline.name === 'orders' ? 'order' : 'chargeback';
  const domainSpanName = pipeline.type === 'order.webhook' ? 'order.webhook.apply' : 'chargeback.webhook.apply';
  // Chosen once: decodeEnvelope accepts only the pipeline's own envelope type, so every valid item is of that kind.
  const applyMany =
    pipeline.type === 'order.webhook'
      ? (webhooks: AnyWebhook[]) => applyOrderWebhookBatch(pool, webhooks as NormalisedOrderWebhook[])
      : (webhooks: AnyWebhook[]) => applyChargebackBatch(pool, webhooks as NormalisedChargebackWebhook[]);
  const applyOne =
    pipeline.type === 'order.webhook'
      ? (webhook: AnyWebhook) => processOrderWebhook(pool, webhook as NormalisedOrderWebhook)
      : (webhook: AnyWebhook) => processChargebackWebhook(pool, webhook as NormalisedChargebackWebhook);

  function startItem(payload: EachBatchPayload, message: KafkaMessage): Item {
    const decoded = decodeEnvelope(pipeline.type, message.value);
    return withExtractedContext(message.headers ?? {}, () => {
      const span = tracer.startSpan(`process ${pipeline.topic}`, {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.destination.name': payload.batch.topic,
          'messaging.destination.partition.id': String(payload.batch.partition),
          'messaging.kafka.offset': message.offset,
          ...(message.key ? { 'messaging.kafka.message.key': message.key.toString() } : {}),
        },
      });
      return { message, decoded, span, context: trace.setSpan(context.active(), span) };
    });
  }

  /** Retries `work` while its failures are transient; keeps the group membership alive meanwhile. */
  function retrying<T>(payload: EachBatchPayload, where: object, work: () => Promise<T>, attempts: number) {
    let rebalancing = false;
    return withRetry(work, { ...policy, attempts }, stopping, {
      // The partition waits (nothing after it is applied or committed) for as long as the fault lasts.
      isTransient: isTransientError,
      onRetry: (err, attempt, transient) => {
        progress.blockedSince ??= Date.now();
        logger.warn({ ...where, err, attempt: attempt + 1, transient }, 'webhook processing failed; retrying');
      },
      // Stay in the group while waiting; a rebalance ends the wait and the batch goes to the partition's next owner.
      beforeRetry: async () => {
        try {
          await payload.heartbeat();
        } catch (err) {
          rebalancing = true;
          throw err;
        }
      },
    }).catch((err: unknown) => {
      if (stopping.aborted || rebalancing) throw new Interrupted('interrupted', { cause: err });
      throw err;
    });
  }

  /**
   * The batch path: one transaction. Each webhook gets its domain span in its own trace; the shared SQL is recorded
   * under the first one's, and the others link to it.
   */
  async function applyTogether(payload: EachBatchPayload, items: Item[], where: object): Promise<WebhookOutcome[]> {
    let carrier: Span | undefined;
    const domainSpans = items.map((item) => {
      const webhook = webhookOf(item);
      const span = tracer.startSpan(
        domainSpanName,
        {
          ...(carrier
            ? { links: [{ context: carrier.spanContext(), attributes: { 'webhook.batch.sql': true } }] }
            : {}),
          attributes: {
            order_id: webhook.order_id,
            ...(webhook.user_id ? { user_id: webhook.user_id } : {}),
            provider_event_id: webhook.provider_event_id,
            status: webhook.status,
            'webhook.batch.size': items.length,
          },
        },
        item.context,
      );
      carrier ??= span;
      return span;
    });
    const first = trace.setSpan(items[0]?.context ?? context.active(), domainSpans[0] as Span);
    try {
      const outcomes = await context.with(first, () =>
        retrying(
          payload,
          where,
          () => applyMany(items.map(webhookOf)),
          // A failure that is not transient is not retried as a batch: the one-at-a-time path finds its message.
          1,
        ),
      );
      for (const [i, span] of domainSpans.entries()) span.setAttribute('outcome', outcomes[i] as string);
      return outcomes;
    } catch (err) {
      for (const span of domainSpans) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      throw err;
    } finally {
      for (const span of domainSpans) span.end();
    }
  }

  /** The per-webhook path, for a batch that failed as a whole: isolates the message that cannot be applied. */
  async function applyOneByOne(payload: EachBatchPayload, items: Item[]): Promise<Step[]> {
    const steps: Step[] = [];
    for (const item of items) {
      const where = { topic: pipeline.topic, partition: payload.batch.partition, offset: item.message.offset };
      try {
        const { outcome } = await context.with(item.context, () =>
          retrying(payload, where, () => applyOne(webhookOf(item)), policy.attempts),
        );
        steps.push(stepOf(outcome));
      } catch (err) {
        if (err instanceof Interrupted || isTransientError(err)) throw err;
        steps.push({
          kind: 'dead',
          error: `max retries exceeded: ${(err as Error).message}`,
          reason: 'retries_exhausted',
        });
      }
    }
    return steps;
  }

  async function decide(payload: EachBatchPayload, items: Item[], where: object): Promise<Step[]> {
    const valid = items.filter((item) => item.decoded.ok);
    let validSteps: Step[];
    if (valid.length === 0) validSteps = [];
    else if (perTransaction === 1) validSteps = await applyOneByOne(payload, valid);
    else {
      try {
        validSteps = (await applyTogether(payload, valid, where)).map(stepOf);
      } catch (err) {
        if (err instanceof Interrupted) throw err;
        logger.warn({ ...where, err }, 'webhook batch failed; applying its webhooks one at a time');
        validSteps = await applyOneByOne(payload, valid);
      }
    }
    const next = validSteps.values();
    return items.map((item) =>
      item.decoded.ok
        ? (next.next().value as Step)
        : { kind: 'dead', error: (item.decoded as { message: string }).message, reason: 'invalid' },
    );
  }

  /** Decides, dead-letters and marks one slice of the batch; throws (leaving it unmarked) if it cannot finish. */
  async function handleSlice(payload: EachBatchPayload, messages: KafkaMessage[]): Promise<void> {
    const { topic, partition } = payload.batch;
    const where = {
      topic,
      partition,
      firstOffset: messages[0]?.offset,
      lastOffset: messages.at(-1)?.offset,
      messages: messages.length,
    };
    const endTimer = kafkaMessageProcessingDuration.startTimer({ topic });
    const items = messages.map((message) => startItem(payload, message));
    let failure: unknown;
    try {
      const steps = await decide(payload, items, where).finally(() => {
        progress.blockedSince = null;
      });
      for (const [i, item] of items.entries()) {
        const step = steps[i] as Step;
        const at = { topic, partition, offset: item.message.offset };
        if (step.outcome) webhookOutcomes.inc({ source: 'kafka', kind, outcome: step.outcome });
        if (step.kind === 'dead') {
          try {
            await context.with(item.context, () => deps.deadLetters.send(pipeline.dlqTopic, item.message, step.error));
          } catch (err) {
            // Not marking keeps the record in the partition; kafkajs redelivers it after a retry/restart. Whatever
            // of the batch was applied comes back as duplicates.
            logger.error(
              { ...at, err, failure: step.error, value: item.message.value?.toString('utf8') },
              'DLQ publish failed; offset not committed',
            );
            throw err;
          }
          dlqPublishes.inc({ topic: pipeline.dlqTopic, reason: step.reason });
          logger.warn({ ...at, dlqTopic: pipeline.dlqTopic, failure: step.error }, 'webhook sent to DLQ');
        } else if (step.outcome !== 'processed') {
          logger.info({ ...at, outcome: step.outcome }, 'webhook skipped');
        }
        // Marked only now: the transaction (or the dead letter) is durable, so committing past it loses nothing.
        payload.resolveOffset(item.message.offset);
        committer.mark(topic, partition, (BigInt(item.message.offset) + 1n).toString());
        kafkaMessagesProcessed.inc({ topic, outcome: step.kind === 'dead' ? 'dlq' : step.outcome });
        item.span.end();
      }
      progress.lastProgressAt = Date.now();
      endTimer();
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      for (const item of items) {
        if (!item.span.isRecording()) continue;
        if (failure !== undefined) {
          item.span.recordException(failure as Error);
          item.span.setStatus({ code: SpanStatusCode.ERROR });
        }
        item.span.end();
      }
    }
  }

  return async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { messages } = payload.batch;
    for (let start = 0; start < messages.length; start += perTransaction) {
      // A rebalance took the partition (isStale) or the consumer is stopping: the next owner takes over from here.
      if (!payload.isRunning() || payload.isStale() || stopping.aborted) return;
      await handleSlice(payload, messages.slice(start, start + perTransaction));
      await payload.heartbeat();
    }
  };
}
