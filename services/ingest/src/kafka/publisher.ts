/**
 * Publishes webhooks with acks=all and coalesces concurrent requests: every request's message joins the
 * next batch and its promise settles when that batch is acknowledged. While one batch is on the wire the
 * next one fills up, so throughput scales with concurrency instead of paying one broker round trip per
 * webhook, and an idle service adds no linger latency.
 */

import { keyHashPartitioner } from '@payment-manager/shared/kafka-client';
import type { ICustomPartitioner, Kafka, Message, Producer } from 'kafkajs';

export interface OutgoingMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export class PublishUnavailableError extends Error {
  override name = 'PublishUnavailableError';
}

export interface WebhookPublisher {
  publish(message: OutgoingMessage): Promise<void>;
  connect(): Promise<void>;
  /** Waits for queued and in-flight batches, then disconnects. */
  close(): Promise<void>;
}

export interface PublisherOptions {
  idempotent: boolean;
  maxBatchSize?: number;
  /** Upper bound for one request's wait for the broker before it is answered 503. */
  publishTimeoutMs?: number;
}

interface Pending {
  message: OutgoingMessage;
  resolve(): void;
  reject(error: Error): void;
}

/** Sends of one batch while the broker leaves some of its partitions unconfirmed (see sendBatch). */
const MAX_SEND_ATTEMPTS = 3;

export function createKafkaPublisher(kafka: Kafka, opts: PublisherOptions): WebhookPublisher {
  const maxBatchSize = opts.maxBatchSize ?? 1000;
  const publishTimeoutMs = opts.publishTimeoutMs ?? 10_000;
  // The idempotent producer keeps per-partition sequence numbers; concurrent batches would break them.
  const maxInFlight = opts.idempotent ? 1 : 2;
  // The partition kafkajs chose for each message of the batch on the wire, to check its answer against (below).
  const chosenPartition = new WeakMap<Message, number>();
  const recordingPartitioner: ICustomPartitioner = () => {
    const choose = keyHashPartitioner();
    return (args) => {
      const partition = choose(args);
      chosenPartition.set(args.message, partition);
      return partition;
    };
  };

  const createProducer = (): Producer => {
    const created = kafka.producer({
      idempotent: opts.idempotent,
      maxInFlightRequests: opts.idempotent ? 1 : undefined,
      allowAutoTopicCreation: true,
      createPartitioner: recordingPartitioner,
      // Bounded even for the idempotent producer: a request must get an answer; the provider's retry plus
      // provider_event_id deduplication covers a copy that still lands later.
      retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    });
    created.on(created.events.DISCONNECT, () => {
      if (producer === created) connected = false;
    });
    return created;
  };

  let connecting: Promise<void> | null = null;
  let connected = false;
  let closed = false;
  const queue: Pending[] = [];
  let inFlight = 0;
  let drainScheduled = false;
  let idle: (() => void) | null = null;
  let producer: Producer = createProducer();

  /**
   * After a failed send the broker may still have written that batch, while kafkajs has not advanced its sequence
   * numbers: the next batch would reuse them and the broker would take it for a duplicate of the failed one —
   * acknowledged, yet never written (seen on Apache Kafka 4.3 after a network cut). A fresh producer (new producer
   * id, sequences from 0) keeps every later batch distinct; the failed batch's requests were already answered 503.
   */
  function replaceProducer(): void {
    const failed = producer;
    producer = createProducer();
    connected = false;
    connecting = null;
    void failed.disconnect().catch(() => {});
  }

  function connect(): Promise<void> {
    if (connected) return Promise.resolve();
    connecting ??= producer
      .connect()
      .then(() => {
        connected = true;
      })
      .finally(() => {
        connecting = null;
      });
    return connecting;
  }

  async function sendBatch(batch: Pending[]): Promise<void> {
    try {
      await connect();
      let unconfirmed = batch.map((pending) => {
        const { key, value, headers } = pending.message;
        const message: Message = { key, value, headers };
        return { pending, topic: pending.message.topic, message };
      });
      // kafkajs 2.2.4 can resolve a send that never reached one of its partitions: when a retry moves a failed
      // partition to a leader that already answered for others, that partition is not sent again (seen on a
      // 3-broker Apache Kafka with a broker stopped under load). So a webhook is acknowledged only when the broker
      // confirmed the very partition it went to; the others were never written and are sent again.
      for (let attempt = 1; unconfirmed.length > 0 && attempt <= MAX_SEND_ATTEMPTS; attempt++) {
        const byTopic = new Map<string, Message[]>();
        for (const { topic, message } of unconfirmed) {
          const messages = byTopic.get(topic);
          if (messages) messages.push(message);
          else byTopic.set(topic, [message]);
        }
        // Each message already carries the trace context of the request that queued it (withProducerSpan).
        const results = await producer.sendBatch({
          acks: -1,
          timeout: publishTimeoutMs,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        const confirmed = new Set(
          results.filter((r) => r.errorCode === 0).map((r) => `${r.topicName}\u0000${r.partition}`),
        );
        unconfirmed = unconfirmed.filter(({ pending, topic, message }) => {
          if (!confirmed.has(`${topic}\u0000${chosenPartition.get(message)}`)) return true;
          pending.resolve();
          return false;
        });
      }
      for (const { pending, topic } of unconfirmed) {
        pending.reject(new PublishUnavailableError(`broker did not confirm the write to ${topic}`));
      }
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (opts.idempotent) replaceProducer();
      for (const p of batch) p.reject(error);
    }
  }

  function drain(): void {
    drainScheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatchSize);
      inFlight++;
      void sendBatch(batch).finally(() => {
        inFlight--;
        if (queue.length > 0) scheduleDrain();
        else if (inFlight === 0) idle?.();
      });
    }
  }

  function scheduleDrain(): void {
    if (drainScheduled) return;
    drainScheduled = true;
    // setImmediate lets every request handled in this event-loop turn join the same batch.
    setImmediate(drain);
  }

  return {
    connect,
    publish(message) {
      if (closed) return Promise.reject(new PublishUnavailableError('publisher is shutting down'));
      return new Promise<void>((resolve, reject) => {
        const pending: Pending = {
          message,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        const timer = setTimeout(() => {
          // Still waiting for a slot: drop it, so a webhook answered 503 is not published behind the provider's back.
          const index = queue.indexOf(pending);
          if (index >= 0) queue.splice(index, 1);
          reject(new PublishUnavailableError(`broker did not acknowledge within ${publishTimeoutMs} ms`));
        }, publishTimeoutMs);
        queue.push(pending);
        if (inFlight < maxInFlight) scheduleDrain();
      });
    },
    async close() {
      closed = true;
      if (queue.length > 0 || inFlight > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
          scheduleDrain();
        });
      }
      await producer.disconnect();
    },
  };
}
