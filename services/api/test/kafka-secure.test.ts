/**
 * The production Kafka security on a real broker (the secure node of scripts/kafka.sh: SASL_SSL only, SCRAM-SHA-512
 * users, ACLs; docs/kafka.md#security): ingest publishes and the API's consumers apply to a real PostgreSQL, each
 * as its own user with its own ACLs, through the same client settings the services read from the environment
 * (readKafkaSecurity). A wrong password, a topic outside a user's ACLs and a plaintext client are refused.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import {
  createKafkaClient,
  type KafkaSecurity,
  kafkajsSecurity,
  readKafkaSecurity,
} from '@payment-manager/shared/kafka-client';
import { kafkaCheck } from '@payment-manager/shared/observability';
import { createTopics, type TopicNames } from '@payment-manager/testkit/kafka';
import { eventually } from '@payment-manager/testkit/poll';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith, requireSecureKafka } from '@payment-manager/testkit/services';
import { orderWebhook } from '@payment-manager/testkit/webhooks';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  consumersFor,
  post,
  type RunningIngest,
  startKafkaIngest,
  testKafka,
} from '../../ingest/test/support/pipeline.ts';
import type { WebhookConsumers } from '../src/kafka/consumers.ts';
import { produceRaw } from './support/kafka-messages.ts';

const db = useTestDatabase({ poolMax: 4 });
const CLI = fileURLToPath(new URL('../../ingest/src/cli/kafka-acls.ts', import.meta.url));

type SecureUser = 'admin' | 'ingest' | 'api';

/** A user's settings the way a pod gets them: environment variables, the CA as a file and the password as a file. */
function securityOf(user: SecureUser, password?: string): KafkaSecurity {
  const secure = requireSecureKafka();
  const dir = mkdtempSync(join(tmpdir(), 'pm-kafka-secure-'));
  writeFileSync(join(dir, 'ca.crt'), secure.ca);
  writeFileSync(join(dir, 'password'), `${password ?? secure.passwords[user]}\n`, { mode: 0o600 });
  return readKafkaSecurity({
    KAFKA_SSL_CA_FILE: join(dir, 'ca.crt'),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: user,
    KAFKA_SASL_PASSWORD_FILE: join(dir, 'password'),
  });
}

/** A client of the secure node that gives up at once: the refusals below are not retriable. */
function clientOf(security: KafkaSecurity | null): Kafka {
  return testKafka(requireSecureKafka().brokers, {
    ...(security ? kafkajsSecurity(security) : {}),
    retry: { retries: 0 },
    connectionTimeout: 3_000,
  });
}

/** Names inside the ACL prefixes of scripts/kafka.sh (`webhooks.`, `payment-app-`), fresh per run. */
function secureNames() {
  const run = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const topics: TopicNames = {
    orders: `webhooks.${run}.orders`,
    disputes: `webhooks.${run}.disputes`,
    ordersDlq: `webhooks.${run}.orders.dlq`,
    disputesDlq: `webhooks.${run}.disputes.dlq`,
  };
  return { run, topics, groups: { orders: `payment-app-${run}-orders`, disputes: `payment-app-${run}-disputes` } };
}

describeWith(['postgres', 'kafkaSecure'], 'Kafka over SASL_SSL with SCRAM-SHA-512 users and ACLs', () => {
  const { run, topics, groups } = secureNames();
  const outsideAcls = `other.${run}`;
  let ingest: RunningIngest;
  let consumers: WebhookConsumers;

  beforeAll(async () => {
    await createTopics([...Object.values(topics), outsideAcls], {
      brokers: requireSecureKafka().brokers,
      security: securityOf('admin'),
    });
    ingest = await startKafkaIngest({ kafka: clientOf(securityOf('ingest')), topics });
    consumers = consumersFor({ pool: db.pool, kafka: clientOf(securityOf('api')), topics, groups });
  });
  afterAll(async () => {
    await ingest?.close();
    await consumers?.stop();
  });

  it('carries a webhook from ingest (user ingest) to the database (user api), poison to the DLQ', async () => {
    const order = orderWebhook();
    expect((await post(`${ingest.url}/webhooks/payments/orders`, order)).status).toBe(202);
    await eventually(
      async () => {
        const { rows } = await db.pool.query('SELECT status FROM orders WHERE id = $1', [order.order_id]);
        expect(rows).toEqual([{ status: 'created' }]);
      },
      { timeoutMs: 20_000 },
    );
    // The API user writes dead letters: Write on its topics, not only Read.
    const admin = testKafka(requireSecureKafka().brokers, kafkajsSecurity(securityOf('admin')));
    await produceRaw(admin, topics.orders, [{ key: order.user_id, value: '{"not": "an envelope"' }]);
    const dlqAdmin = admin.admin();
    await dlqAdmin.connect();
    try {
      await eventually(
        async () => {
          const offsets = await dlqAdmin.fetchTopicOffsets(topics.ordersDlq);
          expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1);
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      await dlqAdmin.disconnect();
    }
    // The readiness check of both services works with their own users.
    await expect(kafkaCheck(clientOf(securityOf('ingest')).admin()).check()).resolves.toBeUndefined();
  });

  it('refuses a wrong password with an authentication error', async () => {
    const admin = clientOf(securityOf('api', 'not-the-password')).admin();
    await expect(admin.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
  });

  it('refuses a user a topic outside its ACLs', async () => {
    const producer = clientOf(securityOf('ingest')).producer();
    await producer.connect();
    try {
      await expect(producer.send({ topic: outsideAcls, messages: [{ value: 'x' }] })).rejects.toThrow(
        /Not authorized to access topics/,
      );
      // Ingest may write its topics but has no consumer group: it cannot consume them. kafkajs reports the refusal
      // only as "Failed to find group coordinator"; the broker's answer is in its debug log, which shows the cause.
      const debug: string[] = [];
      const capture = (fields: object, message: string) =>
        void debug.push(`${message} ${inspect(fields, { depth: 4 })}`);
      const consumer = createKafkaClient({
        clientId: 'no-group-acl',
        brokers: requireSecureKafka().brokers,
        security: securityOf('ingest'),
        logger: { debug: capture, info: capture, warn: capture, error: capture },
        overrides: { logLevel: logLevel.DEBUG, retry: { retries: 0 } },
      }).consumer({ groupId: groups.orders, retry: { retries: 0 } });
      const crashed = new Promise<Error>((resolve) =>
        consumer.on(consumer.events.CRASH, (e) => resolve(e.payload.error)),
      );
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topics.orders] });
        await consumer.run({ eachMessage: async () => {} });
        expect((await crashed).message).toBe('Failed to find group coordinator');
        expect(debug.join('\n')).toMatch(/GROUP_AUTHORIZATION_FAILED|Not authorized to access group/);
      } finally {
        await consumer.disconnect();
      }
    } finally {
      await producer.disconnect();
    }
  });

  it('kafka:acls grants the rules of KAFKA_ACLS as the super user (the standalone stack’s topics Job)', async () => {
    const secure = requireSecureKafka();
    const user = `acl-cli-${run}`;
    const rules = [
      {
        user,
        resource: { type: 'topic', name: `${topics.orders}`, patternType: 'literal' },
        operations: ['Read', 'Describe'],
      },
    ];
    const { stdout } = await promisify(execFile)(process.execPath, [CLI], {
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: secure.brokers.join(','),
        KAFKA_SSL_CA_PEM: secure.ca,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'admin',
        KAFKA_SASL_PASSWORD: secure.passwords.admin,
        KAFKA_ACLS: JSON.stringify(rules),
      },
      timeout: 60_000,
    });
    expect(stdout).toContain('granted 2 ACL entries for 1 user(s)');
    const admin = clientOf(securityOf('admin')).admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeAcls({
        resourceType: kafkajs.AclResourceTypes.TOPIC,
        resourceName: topics.orders,
        resourcePatternType: kafkajs.ResourcePatternTypes.LITERAL,
        principal: `User:${user}`,
        host: '*',
        operation: kafkajs.AclOperationTypes.ANY,
        permissionType: kafkajs.AclPermissionTypes.ALLOW,
      });
      expect(resources.flatMap((r) => r.acls.map((a) => a.operation)).sort()).toEqual(
        [kafkajs.AclOperationTypes.READ, kafkajs.AclOperationTypes.DESCRIBE].sort(),
      );
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('refuses a plaintext client on the TLS listener', async () => {
    const plaintext = new Kafka({
      brokers: requireSecureKafka().brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
    }).admin();
    await expect(plaintext.connect()).rejects.toThrow();
    await plaintext.disconnect();
  });
});
