/**
 * What only a real replicated cluster can answer, on the 3-node Apache Kafka cluster of scripts/kafka.sh
 * (replication factor 3, min.insync.replicas 2, acks=all, idempotent producer): brokers stopped, killed and
 * restarted under load, and a consumer SIGKILLed and restarted inside its session timeout with the production
 * consumer settings. Every test ends with the same check: each acknowledged webhook applied exactly once.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTopics, uniqueGroupId, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { eventually } from '@payment-manager/testkit/poll';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith, requireKafkaCluster } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import type { Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  consumersFor,
  post,
  type RunningIngest,
  startKafkaIngest,
  testKafka,
} from '../../ingest/test/support/pipeline.ts';
import type { WebhookConsumers } from '../src/kafka/consumers.ts';
import { orderEventCounts } from './support/order-events.ts';
import { spawnConsumerProcess } from './support/spawn-consumer.ts';

const db = useTestDatabase({ poolMax: 8 });
const KAFKA_SCRIPT = fileURLToPath(new URL('../../../scripts/kafka.sh', import.meta.url));
const run = promisify(execFile);

/** Fault injection on one node of the cluster; asynchronous, so the load in this process keeps flowing. */
async function node(action: 'stop' | 'kill' | 'start', id: number): Promise<void> {
  await run('bash', [KAFKA_SCRIPT, 'node', action, String(id), '--dir', requireKafkaCluster().dir], {
    timeout: 150_000,
  });
}

function clusterKafka(): Kafka {
  return testKafka(requireKafkaCluster().brokers, { retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 3000 } });
}

/** Waits until every partition of the topics has all three replicas in sync again. */
async function fullyReplicated(topics: string[]): Promise<void> {
  const admin = clusterKafka().admin();
  await admin.connect();
  try {
    await eventually(
      async () => {
        const { topics: found } = await admin.fetchTopicMetadata({ topics });
        const lagging = found.flatMap((t) =>
          t.partitions.filter((p) => p.isr.length < 3).map((p) => `${t.name}[${p.partitionId}]`),
        );
        expect(lagging).toEqual([]);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  } finally {
    await admin.disconnect();
  }
}

const eventCounts = (orderIds: string[]) => orderEventCounts(db.pool, orderIds);

/** Every acknowledged order has exactly one event: nothing lost, nothing applied twice. */
async function expectEachAppliedOnce(
  accepted: string[],
  timeoutMs = 90_000,
  phaseOf: Map<string, string> = new Map(),
): Promise<void> {
  await eventually(
    async () => {
      const counts = await eventCounts(accepted);
      const wrong = accepted
        .filter((id) => counts.get(id) !== 1)
        .map((id) => `${id}: ${counts.get(id) ?? 0} (acknowledged during: ${phaseOf.get(id) ?? '-'})`);
      expect(wrong).toEqual([]);
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Concurrent senders that post fresh orders to ingest until stopped, recording every answer. */
function startLoad(ingestUrl: string, senders = 8) {
  const accepted: string[] = [];
  const acceptedIn = new Map<string, string>();
  const refused: Array<{ status: number; phase: string }> = [];
  let phase = 'start';
  let running = true;
  const loops = Array.from({ length: senders }, async () => {
    while (running) {
      const body = orderWebhook();
      const answer = await post(`${ingestUrl}/webhooks/payments/orders`, body).catch(() => ({ status: 0 }));
      if (answer.status === 202) {
        accepted.push(body.order_id);
        acceptedIn.set(body.order_id, phase);
      } else refused.push({ status: answer.status, phase });
    }
  });
  return {
    accepted,
    acceptedIn,
    refused,
    setPhase(name: string) {
      phase = name;
    },
    /** Resolves once `count` more webhooks were acknowledged. */
    async acknowledged(count: number): Promise<void> {
      const target = accepted.length + count;
      await eventually(async () => expect(accepted.length).toBeGreaterThanOrEqual(target), {
        timeoutMs: 60_000,
        intervalMs: 100,
      });
    },
    async stop(): Promise<void> {
      running = false;
      await Promise.all(loops);
    },
  };
}

describeWith(['postgres', 'kafkaCluster'], 'kafka cluster (3 brokers, RF 3, min.insync.replicas 2)', () => {
  const topics = uniqueTopicNames('cluster');
  const groups = { orders: uniqueGroupId('cluster-o'), disputes: uniqueGroupId('cluster-d') };
  let ingest: RunningIngest;
  let consumers: WebhookConsumers;

  beforeAll(async () => {
    await createTopics(topics, { replicationFactor: 3, brokers: requireKafkaCluster().brokers });
    ingest = await startKafkaIngest({ kafka: clusterKafka(), topics, publishTimeoutMs: 5000 });
    consumers = consumersFor({ pool: db.pool, kafka: clusterKafka(), topics, groups });
  }, 120_000);
  afterAll(async () => {
    await ingest?.close();
    await consumers?.stop();
  });
  afterEach(async () => {
    // Whatever a test did to the cluster, the next one starts with all three nodes serving.
    await Promise.all([1, 2, 3].map((id) => node('start', id)));
  }, 150_000);

  it('keeps acknowledging with one broker down, answers 503 only below two in-sync replicas, loses nothing', async () => {
    const load = startLoad(ingest.url);
    try {
      await load.acknowledged(50);

      load.setPhase('one broker down');
      await node('stop', 3);
      await load.acknowledged(100);
      load.setPhase('broker restarting');
      await node('start', 3);
      await fullyReplicated([topics.orders]);
      await load.acknowledged(50);
      // Two replicas of three stay in sync while one broker is away: acks=all still succeeds every time.
      expect(load.refused.filter((r) => r.phase === 'one broker down')).toEqual([]);

      load.setPhase('one replica left');
      await Promise.all([node('stop', 2), node('stop', 3)]);
      await eventually(
        async () => expect(load.refused.filter((r) => r.phase === 'one replica left').length).toBeGreaterThan(0),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      expect(new Set(load.refused.filter((r) => r.phase === 'one replica left').map((r) => r.status))).toEqual(
        new Set([503]),
      );

      load.setPhase('recovering');
      await Promise.all([node('start', 2), node('start', 3)]);
      await fullyReplicated([topics.orders]);
      load.setPhase('recovered');
      await load.acknowledged(50);
    } finally {
      await load.stop();
    }
    await expectEachAppliedOnce(load.accepted, 90_000, load.acceptedIn);
  }, 400_000);

  it('survives a rolling restart of all three brokers under load: nothing lost, nothing applied twice', async () => {
    const load = startLoad(ingest.url);
    try {
      await load.acknowledged(50);
      for (const id of [1, 2, 3]) {
        load.setPhase(`restarting broker ${id}`);
        await node('stop', id);
        await node('start', id);
        await fullyReplicated([topics.orders]);
        await load.acknowledged(30);
      }
    } finally {
      await load.stop();
    }
    expect(load.accepted.length).toBeGreaterThan(100);
    await expectEachAppliedOnce(load.accepted);
  }, 400_000);

  it('applies everything exactly once after a broker is SIGKILLed under load', async () => {
    const load = startLoad(ingest.url);
    try {
      await load.acknowledged(50);
      load.setPhase('broker killed');
      await node('kill', 1);
      await load.acknowledged(50);
      await node('start', 1);
      await fullyReplicated([topics.orders]);
      await load.acknowledged(30);
    } finally {
      await load.stop();
    }
    // A killed leader's partitions move after its session expires; requests in that window may get 503, and
    // none of those may have been applied as if acknowledged twice.
    expect(load.refused.every((r) => r.status === 503)).toBe(true);
    await expectEachAppliedOnce(load.accepted);
  }, 400_000);
});

describeWith(['postgres', 'kafkaCluster'], 'kafka cluster: consumer SIGKILLed and restarted', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  /** The API's consumers as their own process, with the production consumer settings (session timeout 30 s). */
  function consumerProcess(topics: ReturnType<typeof uniqueTopicNames>, groups: { orders: string; disputes: string }) {
    const { brokers } = requireKafkaCluster();
    const child = spawnConsumerProcess({ databaseUrl: db.databaseUrl, brokers, topics, groups });
    children.push(child);
    return child;
  }

  it('resumes consuming when restarted within the session timeout', async () => {
    const topics = uniqueTopicNames('sigkill');
    const groups = { orders: uniqueGroupId('sigkill-o'), disputes: uniqueGroupId('sigkill-d') };
    await createTopics(topics, { replicationFactor: 3, brokers: requireKafkaCluster().brokers });
    const ingest = await startKafkaIngest({ kafka: clusterKafka(), topics });
    const accepted: string[] = [];
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const body = orderWebhook();
        expect((await post(`${ingest.url}/webhooks/payments/orders`, body)).status).toBe(202);
        accepted.push(body.order_id);
      }
    };
    try {
      await send(200);
      const first = consumerProcess(topics, groups);
      await eventually(async () => expect((await eventCounts(accepted)).size).toBeGreaterThanOrEqual(20), {
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      first.kill('SIGKILL');
      // Back well inside the 30 s session timeout, while the coordinator still counts the dead member.
      consumerProcess(topics, groups);
      await send(100);
      await expectEachAppliedOnce(accepted, 120_000);
    } finally {
      await ingest.close();
    }
  }, 240_000);
});
