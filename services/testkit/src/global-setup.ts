import { randomBytes } from 'node:crypto';
import { runMigrations, SERVICE_ROLES } from '@payment-manager/api/db/migrations';
import type { TestProject } from 'vitest/node';
import { citusWorkerAdminUrls, initCitusDatabase } from './citus.ts';
import {
  type Discovery,
  discover,
  discoverCitus,
  isKafkaMockCluster,
  kafkaClusterBrokers,
  redact,
  secureKafkaSettings,
} from './discovery.ts';
import {
  createTemplateDatabase,
  dropDatabasesWithPrefix,
  dropStaleRunDatabases,
  ensureServiceRoles,
  runDatabasePrefix,
} from './pg-admin.ts';
import type { ServiceName, TestServices } from './services.ts';

const log = (message: string) => console.log(`[testkit] ${message}`);

/**
 * Runs once per `vitest run` and project: finds or starts Postgres, WireMock and Kafka, builds the migrated template
 * database, hands everything to the test workers (provide/inject) and removes what it created at the end. In the
 * project named `citus` "postgres" is a Citus coordinator with workers (PM_TEST_CITUS_URL).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const flavour = project.name === 'citus' ? 'citus' : 'postgres';
  const stops: Array<() => Promise<void>> = [];
  const discovered = {} as Record<ServiceName, Discovery>;
  const services = ['postgres', 'wiremock', 'kafka', 'kafkaCluster', 'kafkaSecure'] as const;
  const results = await Promise.allSettled(
    services.map((service) => (service === 'postgres' && flavour === 'citus' ? discoverCitus() : discover(service))),
  );
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log(`stopping a container failed: ${err}`));
  };
  for (const [index, result] of results.entries()) {
    if (result.status === 'fulfilled') {
      discovered[services[index] as ServiceName] = result.value;
      if ('found' in result.value && result.value.found.stop) stops.push(result.value.found.stop);
    }
  }
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) {
    await stopAll();
    throw failure.reason;
  }

  const provided: TestServices = {
    postgres: null,
    wiremockUrl: null,
    kafkaBrokers: null,
    kafkaIsMockCluster: false,
    kafkaCluster: null,
    kafkaSecure: null,
    missing: {},
    flavour,
    plainPostgresAdminUrl: null,
  };
  for (const service of services) {
    const outcome = discovered[service];
    if ('missing' in outcome) {
      provided.missing[service] = outcome.missing;
      log(`${service}: MISSING — suites that need it are skipped: ${outcome.missing}`);
    } else {
      log(
        `${service}${service === 'postgres' ? ` (${flavour})` : ''}: ${redact(outcome.found.value)} (${outcome.found.source})`,
      );
    }
  }
  const wiremock = discovered.wiremock;
  if ('found' in wiremock) provided.wiremockUrl = wiremock.found.value.replace(/\/+$/, '');
  const kafka = discovered.kafka;
  if ('found' in kafka) {
    provided.kafkaBrokers = kafka.found.value.split(',').map((broker) => broker.trim());
    provided.kafkaIsMockCluster = await isKafkaMockCluster(kafka.found.value);
    if (provided.kafkaIsMockCluster) log('kafka: librdkafka mock cluster (no idempotent producer, no CreateTopics)');
  }

  const cluster = discovered.kafkaCluster;
  if ('found' in cluster) {
    const dir = cluster.found.value;
    provided.kafkaCluster = { dir, brokers: (kafkaClusterBrokers(dir) ?? '').split(',') };
  }

  const secure = discovered.kafkaSecure;
  if ('found' in secure) {
    const settings = secureKafkaSettings(secure.found.value);
    if (typeof settings !== 'string') provided.kafkaSecure = settings;
  }

  let cleanupDatabases = async () => {};
  const postgres = discovered.postgres;
  if ('found' in postgres) {
    const adminUrl = postgres.found.value;
    const workerAdminUrls = flavour === 'citus' ? await citusWorkerAdminUrls(adminUrl) : [];
    const nodes = [adminUrl, ...workerAdminUrls];
    // Unique per run so parallel runs on one server (two checkouts, CI and a developer) never collide.
    const databasePrefix = runDatabasePrefix(randomBytes(3).toString('hex'));
    let stale = 0;
    for (const node of nodes) stale += await dropStaleRunDatabases(node);
    if (stale > 0) log(`dropped ${stale} database(s) left behind by interrupted runs`);
    const templateDatabase = `${databasePrefix}template`;
    cleanupDatabases = async () => {
      for (const node of nodes) await dropDatabasesWithPrefix(node, databasePrefix);
    };
    try {
      const started = Date.now();
      // The API's and the readers' roles exist before the template is migrated, so its grants include them. On
      // Citus the roles are not made (role propagation to the workers is not what these suites test).
      if (flavour === 'postgres') await ensureServiceRoles(adminUrl, Object.values(SERVICE_ROLES));
      await createTemplateDatabase(
        adminUrl,
        templateDatabase,
        async (databaseUrl) => {
          if (flavour === 'citus') await initCitusDatabase(adminUrl, workerAdminUrls, templateDatabase);
          await runMigrations({ databaseUrl });
        },
        workerAdminUrls,
      );
      log(`template database ${templateDatabase} migrated in ${Date.now() - started} ms (${nodes.length} node(s))`);
    } catch (err) {
      await cleanupDatabases().catch(() => {});
      await stopAll();
      throw err;
    }
    provided.postgres = { adminUrl, templateDatabase, databasePrefix, workerAdminUrls };
    if (flavour === 'citus') {
      const plain = await discover('postgres');
      if ('found' in plain) provided.plainPostgresAdminUrl = plain.found.value;
    }
  }

  project.provide('pmTestServices', provided);
  return async () => {
    await cleanupDatabases().catch((err) => log(`dropping this run's databases failed: ${err}`));
    await stopAll();
  };
}
