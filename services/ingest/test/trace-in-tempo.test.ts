/**
 * One webhook, one trace — read back from a real Tempo. Ingest and the API run as their containers run them
 * (own processes, `--import` instrumentation, the settings of deploy/env), in kafka mode on the run's broker,
 * exporting OTLP to the Collector that scripts/observability-stack.sh starts with deploy/otel-collector/config.yaml,
 * which forwards to Tempo running deploy/tempo/tempo.yaml. The test then asks Tempo what a user asks Grafana:
 * the TraceQL queries of docs/docker.md's walk-through and of the dashboards, the trace by id, the services of the search tab; and
 * it checks every dashboard metric query against the services' real /metrics.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TEST_API_KEYS_ENV, withCredential } from '@payment-manager/testkit/auth';
import { REPO_ROOT } from '@payment-manager/testkit/discovery';
import {
  createTopics,
  idempotentProducerSupported,
  kafkaBrokers,
  uniqueGroupId,
  uniqueTopicNames,
} from '@payment-manager/testkit/kafka';
import { findObservabilityStack, type ObservabilityStack } from '@payment-manager/testkit/observability-stack';
import { eventually } from '@payment-manager/testkit/poll';
import { createTestDatabase, type TestDatabase } from '@payment-manager/testkit/postgres';
import { composeEnv, type ServiceProcess, startServiceProcess } from '@payment-manager/testkit/service-process';
import { skipReason, testServices } from '@payment-manager/testkit/services';
import { pathToRoot, type StoredSpan, TempoClient } from '@payment-manager/testkit/tempo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { dashboardQueries, parseExposition, selectorsOf, whyEmpty } from './support/dashboard-queries.ts';

const found = findObservabilityStack();
const skipped = 'missing' in found ? found.missing : skipReason('postgres', 'kafka');
const describeWithStack = skipped ? describe.skip : describe;
const title = 'one webhook, one trace in Tempo (real Collector and Tempo, project configs)';

interface SentWebhook {
  order_id: string;
  provider_event_id: string;
  user_id: string;
}

/** `npm run webhook:send` as docs/docker.md runs it, signed with the compose secret; returns the ids it printed. */
function sendWebhook(ingestUrl: string, extraArgs: string[] = []): SentWebhook {
  const result = spawnSync(
    process.execPath,
    ['scripts/webhook-send.ts', '--to', ingestUrl, '--kind', 'order', ...extraArgs],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', WEBHOOK_SECRET: composeEnv('ingest').WEBHOOK_SECRET ?? '' },
      timeout: 30_000,
    },
  );
  expect(result.status, `webhook:send failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)$`, 'm').exec(result.stdout)?.[1] ?? '';
  return { order_id: field('order_id'), provider_event_id: field('provider_event_id'), user_id: field('user_id') };
}

/** The TraceQL queries of docs/docker.md's "Following a webhook in Grafana", with its sample values replaced. */
function readmeTraceQlQueries(webhook: SentWebhook): string[] {
  const guide = readFileSync(`${REPO_ROOT}docs/docker.md`, 'utf8');
  const section = (guide.split(/^## Following a webhook in Grafana\n/m)[1] ?? '').split(/^## /m)[0] ?? '';
  const queries = [...section.matchAll(/`(\{[^`]*\})`/g)].map((match) => match[1] as string);
  return queries.map((query) =>
    query.replace(/span\.(\w+) = "[^"]*"/g, (_, attribute: string) => {
      const value = (webhook as unknown as Record<string, string>)[attribute];
      if (!value)
        throw new Error(`docs/docker.md query ${query} uses span.${attribute}, which the test cannot fill in`);
      return `span.${attribute} = "${value}"`;
    }),
  );
}

function spanNamed(spans: StoredSpan[], name: string): StoredSpan {
  const span = spans.find((candidate) => candidate.name === name);
  expect(span, `no span "${name}" in ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
  return span as StoredSpan;
}

describeWithStack(skipped ? `${title} [skipped: ${skipped}]` : title, () => {
  const stack = (found as { stack: ObservabilityStack }).stack;
  const tempo = new TempoClient(stack?.tempoUrl ?? 'http://unused');
  const topics = uniqueTopicNames('tempo');
  let database: TestDatabase;
  let api: ServiceProcess;
  let ingest: ServiceProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Created as kafka-init creates them in compose: through the project's topic code.
    await createTopics(topics);
    const common = {
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_ORDERS_TOPIC: topics.orders,
      KAFKA_DISPUTES_TOPIC: topics.disputes,
      KAFKA_ORDERS_DLQ_TOPIC: topics.ordersDlq,
      KAFKA_DISPUTES_DLQ_TOPIC: topics.disputesDlq,
      OTEL_EXPORTER_OTLP_ENDPOINT: stack.otlpEndpoint,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
      LOG_LEVEL: 'warn',
    };
    api = await startServiceProcess('api', {
      ...common,
      PG_URL: database.databaseUrl,
      API_KEYS: TEST_API_KEYS_ENV,
      SILVERGATE_BASE_URL: testServices().wiremockUrl ?? 'http://127.0.0.1:9',
      KAFKA_ORDERS_CONSUMER_GROUP: uniqueGroupId('tempo-orders'),
      KAFKA_DISPUTES_CONSUMER_GROUP: uniqueGroupId('tempo-disputes'),
    });
    ingest = await startServiceProcess('ingest', {
      ...common,
      KAFKA_IDEMPOTENT_PRODUCER: String(idempotentProducerSupported()),
    });
  }, 120_000);

  afterAll(async () => {
    await ingest?.stop();
    await api?.stop();
    await database?.drop();
  });

  /** The trace the walk-through's queries find for `webhook`, once Tempo has all of it (until `complete` passes). */
  async function traceOf(webhook: SentWebhook, complete: (spans: StoredSpan[]) => void) {
    return eventually(
      async () => {
        const hits = await tempo.search(`{ span.order_id = "${webhook.order_id}" }`);
        expect(hits.map((hit) => hit.traceID)).toHaveLength(1);
        const traceId = (hits[0] as { traceID: string }).traceID;
        const spans = await tempo.trace(traceId);
        complete(spans);
        return { traceId, spans };
      },
      { timeoutMs: 60_000, intervalMs: 1_000, message: `Tempo never had the whole trace of ${webhook.order_id}` },
    );
  }

  let processed: SentWebhook;
  let processedTraceId: string;

  it('stores a signed webhook as one trace: ingest request → produce → consume → order.webhook.apply → SQL', {
    timeout: 120_000,
  }, async () => {
    processed = sendWebhook(ingest.url);
    const { traceId, spans } = await traceOf(processed, (all) => {
      expect(all.some((span) => span.name.startsWith('pg.query:COMMIT') && span.service.endsWith('api'))).toBe(true);
      expect(all.some((span) => span.kind === 'SERVER' && span.service === 'payment-manager-ingest')).toBe(true);
    });
    processedTraceId = traceId;
    expect(new Set(spans.map((span) => span.traceId))).toEqual(new Set([traceId]));
    expect(new Set(spans.map((span) => span.service))).toEqual(
      new Set(['payment-manager-ingest', 'payment-manager-api']),
    );

    const domain = spanNamed(spans, 'order.webhook.apply');
    expect(domain.service).toBe('payment-manager-api');
    expect(domain.attributes).toMatchObject({ ...processed, status: 'created', outcome: 'processed' });

    // The walk-through's tree, read from the domain span up to the root.
    const path = pathToRoot(domain, spans);
    expect(path.map((span) => `${span.service.replace('payment-manager-', '')} ${span.kind} ${span.name}`)).toEqual([
      'api INTERNAL order.webhook.apply',
      `api CONSUMER process ${topics.orders}`,
      `ingest PRODUCER send ${topics.orders}`,
      'ingest INTERNAL handler - webhookRoutes',
      'ingest INTERNAL request',
      'ingest SERVER POST /webhooks/payments/orders',
    ]);
    const [, consume, produce] = path;
    // The consumers' own span (Kafka is traced by hand only, on both sides).
    expect(consume?.scope).toBe('payment-manager-api-consumer');
    expect(consume?.attributes).toMatchObject({
      'messaging.destination.name': topics.orders,
      'messaging.destination.partition.id': expect.any(String),
      'messaging.kafka.offset': expect.any(String),
    });
    expect(produce?.attributes).toMatchObject({
      'messaging.destination.name': topics.orders,
      'messaging.kafka.message.key': processed.user_id,
    });
    const root = path.at(-1) as StoredSpan;
    expect(root.parentSpanId).toBeNull();
    expect(root.attributes['http.response.status_code']).toBe(202);

    // Every statement of the webhook's transaction, under the domain span.
    // instrumentation-pg names them `pg.query:<command> <database>`.
    const sql = spans.filter((span) => span.name.startsWith('pg.query'));
    for (const statement of sql) expect(pathToRoot(statement, spans)).toContain(domain);
    const commands = sql.map((span) => span.name.split(' ')[0]);
    expect(commands).toEqual(expect.arrayContaining(['pg.query:BEGIN', 'pg.query:INSERT', 'pg.query:COMMIT']));
    expect(spans.some((span) => span.name === 'pg-pool.connect' && pathToRoot(span, spans).includes(domain))).toBe(
      true,
    );
  });

  it('finds that trace with every TraceQL query of docs/docker.md and the dashboards, and lists both services', async () => {
    expect(processedTraceId, 'the first test stored the trace').toBeDefined();
    const readmeQueries = readmeTraceQlQueries(processed);
    expect(readmeQueries.length).toBeGreaterThan(0);
    for (const query of readmeQueries) {
      const hits = await tempo.search(query);
      expect(
        hits.map((hit) => hit.traceID),
        query,
      ).toEqual([processedTraceId]);
    }
    const dashboardTraceQueries = dashboardQueries().filter((query) => query.datasource === 'tempo');
    expect(dashboardTraceQueries.length).toBeGreaterThan(0);
    for (const { where, query, limit } of dashboardTraceQueries) {
      const hits = await tempo.search(query, limit ? { limit } : {});
      expect(
        hits.map((hit) => hit.traceID),
        `${where}: ${query}`,
      ).toContain(processedTraceId);
    }
    // The search tab's service picker, and the search it runs for the ingest service.
    expect(await tempo.tagValues('resource.service.name')).toEqual(
      expect.arrayContaining(['payment-manager-ingest', 'payment-manager-api']),
    );
    const byService = await tempo.search('{ resource.service.name = "payment-manager-ingest" }', { limit: 100 });
    expect(byService.map((hit) => hit.traceID)).toContain(processedTraceId);
  });

  it('continues the trace of a webhook that cannot be applied into the dead-letter send', {
    timeout: 120_000,
  }, async () => {
    // An update for an order nobody created: order_not_found, a permanent failure, straight to the DLQ.
    const unknown = sendWebhook(ingest.url, ['--status', 'success']);
    const { spans } = await traceOf(unknown, (all) => {
      expect(all.some((span) => span.name === `send ${topics.ordersDlq}`)).toBe(true);
      expect(all.some((span) => span.kind === 'SERVER' && span.service === 'payment-manager-ingest')).toBe(true);
    });
    const domain = spanNamed(spans, 'order.webhook.apply');
    expect(domain.attributes).toMatchObject({ order_id: unknown.order_id, outcome: 'order_not_found' });
    const dlqSend = spanNamed(spans, `send ${topics.ordersDlq}`);
    expect(dlqSend).toMatchObject({ kind: 'PRODUCER', service: 'payment-manager-api' });
    const dlqPath = pathToRoot(dlqSend, spans);
    expect(dlqPath.map((span) => span.kind)).toEqual(expect.arrayContaining(['CONSUMER', 'PRODUCER', 'SERVER']));
    expect(dlqPath.find((span) => span.kind === 'CONSUMER')?.name).toBe(`process ${topics.orders}`);
    expect(dlqPath.at(-1)).toMatchObject({ name: 'POST /webhooks/payments/orders', parentSpanId: null });
  });

  it('exports every dpm_* series a dashboard panel queries, with the labels the panel filters and groups by', async () => {
    // Prometheus adds the job of deploy/prometheus/prometheus.yml (and its static labels) to each scrape.
    const prometheus = parseYaml(readFileSync(`${REPO_ROOT}deploy/prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ labels?: Record<string, string> }> }>;
    };
    const targetLabels = (job: string) => {
      const config = prometheus.scrape_configs.find((candidate) => candidate.job_name === job);
      expect(config, `prometheus.yml scrapes ${job}`).toBeDefined();
      return { job, ...config?.static_configs[0]?.labels };
    };
    // The API's request series need a request: read the order the first webhook created, as a user would.
    const orderPath = `/orders/${processed.order_id}`;
    expect((await fetch(`${api.url}${orderPath}`, { headers: withCredential(orderPath, {}, 'reader') })).status).toBe(
      200,
    );
    const scrape = async (service: ServiceProcess, job: string) =>
      parseExposition(await (await fetch(`${service.url}/metrics`)).text(), targetLabels(job));
    const samples = [...(await scrape(api, 'api')), ...(await scrape(ingest, 'ingest'))];

    // Grafana's "Related metrics" links from a span (tracesToMetrics): `$__tags` becomes the span's service.
    const datasources = parseYaml(
      readFileSync(`${REPO_ROOT}deploy/grafana/provisioning/datasources/datasources.yaml`, 'utf8'),
    ) as { datasources: Array<{ uid: string; jsonData: { tracesToMetrics?: { queries: Array<{ query: string }> } } }> };
    const tracesToMetrics = datasources.datasources.find((source) => source.uid === 'tempo')?.jsonData.tracesToMetrics;
    const relatedMetrics = ['payment-manager-api', 'payment-manager-ingest'].flatMap((service) =>
      (tracesToMetrics?.queries ?? []).map(({ query }) => ({
        where: `datasources.yaml tracesToMetrics (${service})`,
        query: query.replaceAll('$$__tags', `service="${service}"`),
      })),
    );
    expect(relatedMetrics.length).toBeGreaterThan(0);
    const promQueries = [...dashboardQueries().filter((query) => query.datasource === 'prometheus'), ...relatedMetrics];
    const problems: string[] = [];
    let checked = 0;
    for (const { where, query } of promQueries) {
      for (const selector of selectorsOf(query).filter((s) => s.metric.startsWith('dpm_'))) {
        checked += 1;
        const why = whyEmpty(selector, samples);
        if (why) problems.push(`${where}: ${why} (${query})`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(promQueries.length);
  });

  it.runIf(stack?.collectorBinary)('runs a Collector built with exactly the components its config uses', () => {
    const binary = stack.collectorBinary as string;
    const config = parseYaml(readFileSync(`${REPO_ROOT}deploy/otel-collector/config.yaml`, 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    const built = parseYaml(spawnSync(binary, ['components'], { encoding: 'utf8' }).stdout) as Record<
      'receivers' | 'processors' | 'exporters' | 'extensions',
      Array<{ name: string }>
    > & { buildinfo: { version: string } };
    for (const kind of ['receivers', 'processors', 'exporters', 'extensions'] as const) {
      const used = new Set(Object.keys(config[kind] ?? {}).map((id) => id.split('/')[0]));
      const available = new Set(built[kind].map((component) => component.name));
      expect(available, kind).toEqual(used);
    }
    // The release the operators stack runs upstream (cdk8s PINNED_IMAGES); compose and the standalone stack run
    // this very binary in payment-manager/otel-collector.
    const upstreamImage = /otel\/opentelemetry-collector-contrib:(\S+?)'/.exec(
      readFileSync(`${REPO_ROOT}cdk8s/src/config.ts`, 'utf8'),
    )?.[1];
    expect(built.buildinfo.version).toBe(upstreamImage);
  });
});
