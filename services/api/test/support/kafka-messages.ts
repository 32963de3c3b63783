/** Records written straight into a topic, as ingest would write them (or not: raw bytes for poison tests). */
import { randomUUID } from 'node:crypto';
import { idempotentProducerSupported } from '@payment-manager/testkit/kafka';
import type { ChargebackWebhookBody, OrderWebhookBody } from '@payment-manager/testkit/webhooks';
import { type Kafka, Partitioners } from 'kafkajs';

export async function produceRaw(
  kafka: Kafka,
  topic: string,
  messages: Array<{ key: string; value: string; headers?: Record<string, string> }>,
) {
  // Idempotent where the broker allows it: a retried send must not add copies the assertions would count.
  const producer = kafka.producer({
    idempotent: idempotentProducerSupported(),
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** The envelope ingest publishes for an order webhook: the normalised webhook, absent optionals as null. */
export const envelopeOf = (payload: OrderWebhookBody) =>
  JSON.stringify({
    event_id: randomUUID(),
    key: payload.user_id,
    type: 'order.webhook',
    payload: { meta: null, ...payload },
    timestamp: new Date().toISOString(),
  });

/** The same for a chargeback webhook. */
export const chargebackEnvelopeOf = (payload: ChargebackWebhookBody) =>
  JSON.stringify({
    event_id: randomUUID(),
    key: payload.user_id ?? payload.order_id,
    type: 'dispute.webhook',
    payload: {
      user_id: null,
      reason: '',
      amount: null,
      currency: null,
      evidence_due_at: null,
      meta: null,
      ...payload,
    },
    timestamp: new Date().toISOString(),
  });
