/**
 * The scenario catalogue (scenarios/catalogue.ts) through ingest: `kafka` mode (ingest → broker → API consumers → Postgres) and `http` mode
 * (ingest → API internal endpoints), polling the API until each effect shows.
 */
import { createTopics, kafkaBrokers, uniqueGroupId, uniqueTopicNames } from '@payment-manager/testkit/kafka';
import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith } from '@payment-manager/testkit/services';
import { afterAll, beforeAll, it } from 'vitest';
import {
  consumersFor,
  type RunningIngest,
  startHttpIngest,
  startKafkaIngest,
  testKafka,
} from '../../ingest/test/support/pipeline.ts';
import type { App } from '../src/app.ts';
import type { WebhookConsumers } from '../src/kafka/consumers.ts';
import { scenarios } from './scenarios/catalogue.ts';
import { createFetchDriver } from './scenarios/fetch-driver.ts';
import { createTestApp } from './support/app.ts';

describeWith(
  ['postgres', 'wiremock', 'kafka'],
  'catalogue scenarios in kafka mode (ingest → Kafka → API consumers)',
  () => {
    const db = useTestDatabase({ poolMax: 10 });
    const topics = uniqueTopicNames('scenarios');
    let api: App;
    let apiUrl = '';
    let ingest: RunningIngest;
    let consumers: WebhookConsumers;

    beforeAll(async () => {
      await createTopics(topics);
      api = await createTestApp(db.pool, { webhookMode: 'kafka' });
      apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });
      consumers = consumersFor({
        pool: db.pool,
        kafka: testKafka(kafkaBrokers()),
        topics,
        groups: { orders: uniqueGroupId('scn-orders'), disputes: uniqueGroupId('scn-disputes') },
      });
      ingest = await startKafkaIngest({ kafka: testKafka(kafkaBrokers()), topics });
    });
    afterAll(async () => {
      await ingest?.close();
      await consumers?.stop();
      await api?.close();
    });

    for (const scenario of scenarios) {
      it(
        `${scenario.id}. ${scenario.name}`,
        () =>
          scenario.run(
            createFetchDriver({
              webhooksBaseUrl: ingest.url,
              apiBaseUrl: apiUrl,
              database: db.pool,
              settleTimeoutMs: 20_000,
            }),
          ),
        60_000,
      );
    }
  },
);

describeWith(['postgres', 'wiremock'], 'catalogue scenarios in http mode (ingest → API internal endpoints)', () => {
  const db = useTestDatabase({ poolMax: 10 });
  let api: App;
  let apiUrl = '';
  let ingest: RunningIngest;

  beforeAll(async () => {
    api = await createTestApp(db.pool, { webhookMode: 'http' });
    apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });
    ingest = await startHttpIngest({ apiBaseUrl: apiUrl });
  });
  afterAll(async () => {
    await ingest?.close();
    await api?.close();
  });

  for (const scenario of scenarios) {
    it(`${scenario.id}. ${scenario.name}`, () =>
      scenario.run(createFetchDriver({ webhooksBaseUrl: ingest.url, apiBaseUrl: apiUrl, database: db.pool })));
  }
});
