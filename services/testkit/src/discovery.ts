import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '@payment-manager/shared/net';
import { type Admin, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { isCitusCoordinator } from './citus.ts';
import { databaseUrlFor, postgresAnswers } from './pg-admin.ts';
import type { SecureKafka, ServiceName } from './services.ts';

/**
 * Finds the real services a test run uses (main vitest process only). Order per service:
 *   1. the PM_TEST_* variable — when set, the service must answer or the run fails (CI must not skip silently);
 *   2. the exports written by `scripts/test-services.sh` to `.data/test-services.env`;
 *   3. the conventional local address (Postgres on 5432, WireMock on 8089);
 *   4. a container started with testcontainers when a Docker engine answers;
 *   5. otherwise the service is missing and the suites that need it are skipped with the reason.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const STATE_FILE = `${REPO_ROOT}.data/test-services.env`;
export const WIREMOCK_ROOT = `${REPO_ROOT}deploy/wiremock`;

const VARIABLES = {
  postgres: 'PM_TEST_PG_URL',
  wiremock: 'PM_TEST_WIREMOCK_URL',
  kafka: 'PM_TEST_KAFKA_BROKERS',
  kafkaCluster: 'PM_TEST_KAFKA_CLUSTER',
  kafkaSecure: 'PM_TEST_KAFKA_SECURE_BROKERS',
} as const satisfies Record<ServiceName, string>;

const LOCAL_DEFAULTS: Partial<Record<ServiceName, string>> = {
  postgres: 'postgres://postgres@127.0.0.1:5432/postgres',
  wiremock: 'http://127.0.0.1:8089',
};

const STARTED_BY = 'scripts/test-all.sh starts it (or keep one running: eval "$(scripts/test-services.sh start)")';

/** The bootstrap list of a scripts/kafka.sh cluster directory, or null when none runs there. */
export function kafkaClusterBrokers(dir: string): string | null {
  const result = spawnSync('bash', [`${REPO_ROOT}scripts/kafka.sh`, 'brokers', '--dir', dir], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

async function kafkaClusterAnswers(dir: string): Promise<boolean> {
  const brokers = kafkaClusterBrokers(dir);
  return brokers !== null && (await kafkaAnswers(brokers));
}

export interface FoundService {
  value: string;
  /** Where the value came from, for the run's summary line. */
  source: string;
  stop?: () => Promise<void>;
}

/** Hides the password of a URL so the summary never prints a secret. */
export function redact(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}

/** The PM_TEST_* exports a start script wrote to `file` (default `.data/test-services.env`); {} without it. */
export function readStateFile(file = STATE_FILE): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*(?:export\s+)?(PM_TEST_\w+)=(['"]?)(.*)\2\s*$/.exec(line);
    if (match) values[match[1] as string] = match[3] as string;
  }
  return values;
}

async function wiremockAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url.replace(/\/+$/, '')}/__admin/health`, { signal: AbortSignal.timeout(3_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The secure node's CA and passwords (PM_TEST_KAFKA_SECURE_CA_FILE, PM_TEST_KAFKA_SECURE_{ADMIN,INGEST,API}_PASSWORD,
 * from the environment or the exports of scripts/test-services.sh), or why they are incomplete.
 */
export function secureKafkaSettings(brokers: string): SecureKafka | string {
  const caFile = testVariable('PM_TEST_KAFKA_SECURE_CA_FILE');
  const [admin, ingest, api] = ['ADMIN', 'INGEST', 'API'].map((user) =>
    testVariable(`PM_TEST_KAFKA_SECURE_${user}_PASSWORD`),
  );
  if (!caFile || !admin || !ingest || !api) {
    return 'PM_TEST_KAFKA_SECURE_CA_FILE and PM_TEST_KAFKA_SECURE_{ADMIN,INGEST,API}_PASSWORD must be set with PM_TEST_KAFKA_SECURE_BROKERS';
  }
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (err) {
    return `PM_TEST_KAFKA_SECURE_CA_FILE=${caFile} cannot be read (${(err as Error).message})`;
  }
  return { brokers: brokers.split(',').map((broker) => broker.trim()), ca, passwords: { admin, ingest, api } };
}

async function secureKafkaAnswers(brokers: string): Promise<boolean> {
  const settings = secureKafkaSettings(brokers);
  if (typeof settings === 'string') throw new Error(settings);
  return withKafkaAdmin(brokers, (admin) => admin.describeCluster(), {
    ssl: { ca: [settings.ca] },
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: settings.passwords.admin },
  }).then(
    () => true,
    () => false,
  );
}

async function withKafkaAdmin<T>(
  brokers: string,
  work: (admin: Admin) => Promise<T>,
  security: Pick<KafkaConfig, 'ssl' | 'sasl'> = {},
): Promise<T> {
  const admin = new Kafka({
    ...security,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 1 },
  }).admin();
  try {
    await admin.connect();
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function kafkaAnswers(brokers: string): Promise<boolean> {
  return withKafkaAdmin(brokers, (admin) => admin.describeCluster()).then(
    () => true,
    () => false,
  );
}

/** librdkafka's mock cluster (the CI broker) names itself "mockCluster…". */
export async function isKafkaMockCluster(brokers: string): Promise<boolean> {
  const { clusterId } = await withKafkaAdmin(brokers, (admin) => admin.describeCluster());
  return clusterId.startsWith('mockCluster');
}

const ANSWERS: Record<ServiceName, (value: string) => Promise<boolean>> = {
  postgres: postgresAnswers,
  wiremock: wiremockAnswers,
  kafka: kafkaAnswers,
  kafkaCluster: kafkaClusterAnswers,
  kafkaSecure: secureKafkaAnswers,
};

let dockerProbe: Promise<boolean> | undefined;

function dockerAvailable(): Promise<boolean> {
  dockerProbe ??= import('testcontainers')
    .then(({ getContainerRuntimeClient }) => getContainerRuntimeClient())
    .then(
      () => true,
      () => false,
    );
  return dockerProbe;
}

async function startContainer(service: ServiceName): Promise<FoundService> {
  if (service === 'postgres') {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const image = process.env.PM_TEST_PG_IMAGE ?? 'postgres:17-alpine';
    const container = await new PostgreSqlContainer(image).start();
    return {
      value: databaseUrlFor(container.getConnectionUri(), 'postgres'),
      source: `testcontainers ${image}`,
      stop: async () => void (await container.stop()),
    };
  }
  if (service === 'wiremock') {
    const { GenericContainer, Wait } = await import('testcontainers');
    const image = 'wiremock/wiremock:3.13.2';
    const container = await new GenericContainer(image)
      .withCopyDirectoriesToContainer([{ source: `${WIREMOCK_ROOT}/mappings`, target: '/home/wiremock/mappings' }])
      .withCommand(['--global-response-templating', '--disable-gzip'])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/__admin/health', 8080))
      .start();
    return {
      value: `http://${container.getHost()}:${container.getMappedPort(8080)}`,
      source: `testcontainers ${image}`,
      stop: async () => void (await container.stop()),
    };
  }
  // Apache Kafka's own image at the version everything else runs (deploy/kafka/VERSION). Its advertised listener
  // must be what clients dial, so the container listens on the same free port that is published on the host.
  const { GenericContainer, Wait } = await import('testcontainers');
  const version = readFileSync(`${REPO_ROOT}deploy/kafka/VERSION`, 'utf8').trim();
  const image = `apache/kafka:${version}`;
  const port = await freePort();
  const container = await new GenericContainer(image)
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withExposedPorts({ container: port, host: port })
    .withWaitStrategy(Wait.forLogMessage('Kafka Server started'))
    .start();
  return {
    value: `localhost:${port}`,
    source: `testcontainers ${image}`,
    stop: async () => void (await container.stop()),
  };
}

export type Discovery = { found: FoundService } | { missing: string };

/** A PM_TEST_* value from the environment, else from the exports `scripts/test-services.sh` wrote. */
export function testVariable(name: string): string | undefined {
  return process.env[name]?.trim() || readStateFile()[name];
}

const CITUS_VARIABLE = 'PM_TEST_CITUS_URL';

/**
 * The Citus coordinator for the `citus` vitest project: PM_TEST_CITUS_URL (must answer and have the citus
 * extension), else the exports of `scripts/test-services.sh`; no default address and no container.
 */
export async function discoverCitus(): Promise<Discovery> {
  const explicit = process.env[CITUS_VARIABLE]?.trim();
  if (explicit) {
    if (await isCitusCoordinator(explicit)) return { found: { value: explicit, source: CITUS_VARIABLE } };
    throw new Error(`${CITUS_VARIABLE}=${redact(explicit)} is set but no Citus coordinator answers there`);
  }
  const fromStateFile = readStateFile()[CITUS_VARIABLE];
  if (fromStateFile && (await isCitusCoordinator(fromStateFile))) {
    return { found: { value: fromStateFile, source: '.data/test-services.env' } };
  }
  return {
    missing: `${CITUS_VARIABLE} is unset (a Citus coordinator with workers); scripts/test-all.sh starts one with scripts/data-tier-services.sh (as root; or eval "$(scripts/test-services.sh start)")`,
  };
}

export async function discover(service: ServiceName): Promise<Discovery> {
  const variable = VARIABLES[service];
  const answers = ANSWERS[service];
  const explicit = process.env[variable]?.trim();
  if (explicit) {
    if (await answers(explicit)) return { found: { value: explicit, source: variable } };
    throw new Error(`${variable}=${redact(explicit)} is set but ${service} does not answer there`);
  }
  const fromStateFile = readStateFile()[variable];
  if (fromStateFile && (await answers(fromStateFile))) {
    return { found: { value: fromStateFile, source: '.data/test-services.env' } };
  }
  const localDefault = LOCAL_DEFAULTS[service];
  if (localDefault && (await answers(localDefault))) return { found: { value: localDefault, source: 'local default' } };
  // A multi-node cluster and the secure node come only from scripts/kafka.sh (see test-services.sh); no container
  // stands in for them.
  if (service !== 'kafkaCluster' && service !== 'kafkaSecure' && (await dockerAvailable()))
    return { found: await startContainer(service) };
  const tried = localDefault ? `, nothing answers at ${redact(localDefault)}` : '';
  return { missing: `${variable} is unset${tried} and no Docker engine answers for testcontainers; ${STARTED_BY}` };
}
