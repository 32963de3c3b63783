/**
 * The API's dead-letter producer (docs/kafka-batch.md): one producer for the consumers' whole lifetime, connected on
 * first use; a dead letter keeps the original key, value and headers and says why and when in two more headers.
 */
import { keyHashPartitioner } from '@payment-manager/shared/kafka-client';
import { withProducerSpan } from '@payment-manager/shared/observability';
import { connectOnce, withTimeout } from '@payment-manager/shared/resilience';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';

const DLQ_PUBLISH_TIMEOUT_MS = 5000;

/** RFC 3339 UTC with seconds precision, as the DLQ header of docs/kafka.md#retries. */
export function failedAtHeader(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface DeadLetters {
  /** Resolves once the dead letter is stored (acks=all); rejects after DLQ_PUBLISH_TIMEOUT_MS at the latest. */
  send(dlqTopic: string, message: KafkaMessage, error: string): Promise<void>;
  close(): Promise<void>;
}

export function createDeadLetters(kafka: Kafka): DeadLetters {
  // Kept open for the consumers' whole lifetime (docs/kafka.md#dead-letters); a dead letter is a redelivery away from being lost.
  const producer = kafka.producer({
    createPartitioner: keyHashPartitioner,
    allowAutoTopicCreation: true,
    retry: { retries: 3, initialRetryTime: 100 },
  });
  const connect = connectOnce(() => producer.connect());
  return {
    async send(dlqTopic, message, error) {
      const publish = withProducerSpan(dlqTopic, {}, async (traceHeaders) => {
        // Same key and value bytes; the original headers (the webhook's trace context) win over this send's,
        // the failure is described in two more.
        const headers: IHeaders = { ...traceHeaders, ...message.headers, error, failed_at: failedAtHeader() };
        await connect();
        await producer.send({
          topic: dlqTopic,
          acks: -1,
          timeout: DLQ_PUBLISH_TIMEOUT_MS,
          messages: [{ key: message.key, value: message.value, headers }],
        });
      });
      await withTimeout(publish, DLQ_PUBLISH_TIMEOUT_MS, 'DLQ publish');
    },
    close: () => producer.disconnect().catch(() => {}),
  };
}
