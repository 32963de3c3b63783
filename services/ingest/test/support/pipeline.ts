/**
 * Real processes-in-one for pipeline tests: the API (buildApp on a real port, optional Kafka consumers), ingest
 * (buildIngestApp on a real port, kafka or http mode) and Kafka helpers against the run's broker. Nothing of ours
 * is mocked; every test brings its own topics, groups and database.
 */

import { spawnSync } from 'node:child_process';
import { buildApp } from '@payment-manager/api/app';
import {
  type ConsumerGroupTimeouts,
  startWebhookConsumers,
  type WebhookConsumers,
} from '@payment-manager/api/kafka/consumers';
import { createSilvergateClient } from '@payment-manager/api/provider/silvergate';
import { createKafkaClient, type KafkaLogSink } from '@payment-manager/shared/kafka-client';
import { createSignatureVerifier, parseWebhookSecrets } from '@payment-manager/shared/signatures';
import { TEST_API_KEYS, testApiKeys } from '@payment-manager/testkit/auth';
import { idempotentProducerSupported, kafkaBrokers, type TopicNames } from '@payment-manager/testkit/kafka';
import type { FastifyInstance } from 'fastify';
import type { Kafka, KafkaConfig, KafkaMessage } from 'kafkajs';
import type pg from 'pg';
import { buildIngestApp } from '../../src/app.ts';
import { createApiForwarder } from '../../src/http/api-forwarder.ts';
import { createKafkaPublisher, type WebhookPublisher } from '../../src/kafka/publisher.ts';

/** Test runs keep kafkajs quiet; failures show up as assertion messages instead. */
export const silentLog: KafkaLogSink = { debug() {}, info() {}, warn() {}, error() {} };

export function testKafka(brokers: string[], overrides: Partial<KafkaConfig> = {}): Kafka {
  return createKafkaClient({ clientId: 'pipeline-test', brokers, logger: silentLog, overrides });
}

export interface RunningIngest {
  url: string;
  app: FastifyInstance;
  publisher?: WebhookPublisher;
  close(): Promise<void>;
}

const INGEST_DEFAULTS = { bodyLimitBytes: 1_048_576, logLevel: 'error' as const };

export async function startKafkaIngest(opts: {
  kafka: Kafka;
  topics: Pick<TopicNames, 'orders' | 'disputes'>;
  webhookSecret?: string;
  publishTimeoutMs?: number;
  bodyLimitBytes?: number;
}): Promise<RunningIngest> {
  // The production default (idempotent) wherever the broker has it; only librdkafka's mock lacks InitProducerId.
  const publisher = createKafkaPublisher(opts.kafka, {
    idempotent: idempotentProducerSupported(),
    publishTimeoutMs: opts.publishTimeoutMs,
  });
  const secrets = parseWebhookSecrets(opts.webhookSecret);
  const app = await buildIngestApp({
    config: {
      ...INGEST_DEFAULTS,
      bodyLimitBytes: opts.bodyLimitBytes ?? INGEST_DEFAULTS.bodyLimitBytes,
      webhookMode: 'kafka',
      kafka: { ordersTopic: opts.topics.orders, disputesTopic: opts.topics.disputes },
    },
    publisher,
    signatureVerifier: secrets.length > 0 ? createSignatureVerifier(secrets) : null,
    logger: false,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    app,
    publisher,
    async close() {
      await app.close();
      await publisher.close();
    },
  };
}

export async function startHttpIngest(opts: {
  apiBaseUrl: string;
  timeoutMs?: number;
  retryAttempts?: number;
  retryBaseDelayMs?: number;
}): Promise<RunningIngest> {
  const app = await buildIngestApp({
    config: { ...INGEST_DEFAULTS, webhookMode: 'http', kafka: { ordersTopic: 'unused', disputesTopic: 'unused' } },
    forwarder: createApiForwarder({
      baseUrl: opts.apiBaseUrl,
      apiKey: TEST_API_KEYS.ingest,
      timeoutMs: opts.timeoutMs ?? 10_000,
      retryAttempts: opts.retryAttempts ?? 3,
      retryBaseDelayMs: opts.retryBaseDelayMs ?? 100,
      retryMaxDelayMs: 5000,
    }),
    signatureVerifier: null,
    logger: false,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, close: () => app.close() };
}

export interface RunningApi {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** The API on a real port; the provider points at WireMock when given, otherwise at a closed port. */
export async function startTestApi(opts: {
  pool: pg.Pool;
  mode: 'http' | 'kafka' | 'sync';
  wiremockUrl?: string;
}): Promise<RunningApi> {
  const app = await buildApp({
    config: { webhookMode: opts.mode, bodyLimitBytes: 1_048_576, logLevel: 'error', apiKeys: testApiKeys() },
    pool: opts.pool,
    provider: createSilvergateClient({
      baseUrl: opts.wiremockUrl ?? 'http://127.0.0.1:9',
      capturePath: '/api/v1/capture',
      submitRepresentmentPath: '/api/v1/dispute-representments/create',
      timeoutMs: 5000,
    }),
    logger: false,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, close: () => app.close() };
}

/** Group timeouts that follow Kafka's rules around a short session. */
export function fastGroupTimeouts(sessionTimeoutMs: number) {
  return {
    sessionTimeoutMs,
    rebalanceTimeoutMs: sessionTimeoutMs,
    heartbeatIntervalMs: Math.floor(sessionTimeoutMs / 3),
  };
}

export function consumersFor(opts: {
  pool: pg.Pool;
  kafka: Kafka;
  topics: TopicNames;
  groups: { orders: string; disputes: string };
  sessionTimeoutMs?: number;
  /** Instead of fast ones around sessionTimeoutMs, e.g. the production CONSUMER_GROUP_TIMEOUTS. */
  groupTimeouts?: ConsumerGroupTimeouts;
  logger?: KafkaLogSink;
  maxWebhooksPerTransaction?: number;
}): WebhookConsumers {
  return startWebhookConsumers({
    pool: opts.pool,
    kafka: opts.kafka,
    logger: opts.logger ?? silentLog,
    maxWebhooksPerTransaction: opts.maxWebhooksPerTransaction,
    // Short group timeouts keep rebalances in tests quick; the crash tests use the production ones.
    groupTimeouts: opts.groupTimeouts ?? fastGroupTimeouts(opts.sessionTimeoutMs ?? 6000),
    config: {
      kafka: {
        brokers: [],
        ordersTopic: opts.topics.orders,
        disputesTopic: opts.topics.disputes,
        ordersDlqTopic: opts.topics.ordersDlq,
        disputesDlqTopic: opts.topics.disputesDlq,
        ordersConsumerGroup: opts.groups.orders,
        disputesConsumerGroup: opts.groups.disputes,
      },
    },
  });
}

export interface HttpAnswer {
  status: number;
  /** Parsed response body; tests read into it freely and let the assertion fail on a wrong shape. */
  // biome-ignore lint/suspicious/noExplicitAny: test helper over arbitrary JSON answers
  json: any;
  headers: Headers;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}

export async function get(url: string): Promise<HttpAnswer> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

function decodeHeaders(message: KafkaMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)]),
  );
}

/**
 * Every record of a topic from offset 0 to its end at call time. kcat (present wherever the mock broker runs)
 * reads by partition assignment, without the ~3 s group join; a throw-away kafkajs group is the fallback.
 */
export async function readAll(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  if (hasKcat()) return readWithKcat(kafkaBrokers(), topic);
  return readWithGroup(kafka, topic);
}

let kcatFound: boolean | undefined;
function hasKcat(): boolean {
  kcatFound ??= spawnSync('kcat', ['-V']).status === 0;
  return kcatFound;
}

function readWithKcat(brokers: string[], topic: string): ReadMessage[] {
  const result = spawnSync('kcat', ['-b', brokers.join(','), '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (result.status !== 0) throw new Error(`kcat failed: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const record = JSON.parse(line) as {
        partition: number;
        offset: number;
        key: string | null;
        payload: string | null;
        headers?: string[];
      };
      const headers: Record<string, string> = {};
      for (let i = 0; i + 1 < (record.headers?.length ?? 0); i += 2)
        headers[record.headers?.[i] as string] = record.headers?.[i + 1] as string;
      return {
        partition: record.partition,
        offset: String(record.offset),
        key: record.key,
        value: record.payload,
        headers,
      };
    });
}

async function readWithGroup(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Array<{ partition: number; high: string }>;
  try {
    ends = (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, high }));
  } finally {
    await admin.disconnect();
  }
  const remaining = new Map(ends.filter((e) => e.high !== '0').map((e) => [e.partition, BigInt(e.high)]));
  const messages: ReadMessage[] = [];
  if (remaining.size === 0) return messages;
  const consumer = kafka.consumer({
    groupId: `read-${topic}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    // A reader that is done must not come back to life after disconnect.
    retry: { retries: 2, restartOnFailure: async () => false },
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} did not reach the high-water marks`)), 20_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const end = remaining.get(partition);
            if (end === undefined || BigInt(message.offset) >= end) return;
            messages.push({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              headers: decodeHeaders(message),
            });
            if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
