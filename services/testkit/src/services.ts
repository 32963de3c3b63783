import { describe, inject } from 'vitest';

export type ServiceName = 'postgres' | 'wiremock' | 'kafka' | 'kafkaCluster' | 'kafkaSecure';

/** What the global setup found (or started) for this run; handed to test workers through vitest's provide/inject. */
export interface TestServices {
  postgres: {
    /** Admin URL (superuser, maintenance database) used to create and drop per-file databases. */
    adminUrl: string;
    /** Migrated database every test database is cloned from. */
    templateDatabase: string;
    /** Prefix of every database this run creates, so teardown can remove leftovers of crashed workers. */
    databasePrefix: string;
    /** Citus project: admin URLs of the workers (each test database exists on every node); [] on plain PostgreSQL. */
    workerAdminUrls: string[];
  } | null;
  /** Which database the suites run against: the vitest project `citus` runs them on a Citus coordinator. */
  flavour: 'postgres' | 'citus';
  /** Citus project only: a plain PostgreSQL admin URL, for suites that compare the two; null elsewhere. */
  plainPostgresAdminUrl: string | null;
  wiremockUrl: string | null;
  kafkaBrokers: string[] | null;
  /** librdkafka's mock cluster: speaks the protocol but lacks the idempotent producer and admin CreateTopics. */
  kafkaIsMockCluster: boolean;
  /**
   * The 3-node Apache Kafka cluster of scripts/kafka.sh for replication and fault tests: its directory (what
   * `scripts/kafka.sh node stop|start ID --dir` takes) and bootstrap list.
   */
  kafkaCluster: { dir: string; brokers: string[] } | null;
  /**
   * The secure node of `scripts/kafka.sh start --secure` (SASL_SSL only, SCRAM-SHA-512, ACLs; docs/kafka.md#security):
   * its bootstrap list, CA (PEM) and the passwords of its users `admin` (super user), `ingest` and `api`.
   */
  kafkaSecure: SecureKafka | null;
  /** Why a service is null: names the variable to set and what starts the service. */
  missing: Partial<Record<ServiceName, string>>;
}

export interface SecureKafka {
  brokers: string[];
  ca: string;
  passwords: { admin: string; ingest: string; api: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pmTestServices: TestServices;
  }
}

export function testServices(): TestServices {
  return inject('pmTestServices');
}

/** The reason the given services are unavailable in this run, or null when all of them are there. */
export function skipReason(...services: ServiceName[]): string | null {
  const { missing } = testServices();
  const reasons = services.map((service) => missing[service]).filter((reason): reason is string => Boolean(reason));
  return reasons.length > 0 ? reasons.join('; ') : null;
}

/**
 * `describe` for suites that need real services: when one is missing the suite is reported as skipped and its
 * name says which variable is unset and what starts the service (`.ci/run`, `scripts/test-services.sh`).
 */
export function describeWith(services: ServiceName[], name: string, suite: () => void): void {
  const reason = skipReason(...services);
  if (reason) describe.skip(`${name} [skipped: ${reason}]`, suite);
  else describe(name, suite);
}

function unavailable(service: ServiceName): Error {
  return new Error(`${service} is not available in this test run: ${skipReason(service)}`);
}

export function requirePostgres(): NonNullable<TestServices['postgres']> {
  const { postgres } = testServices();
  if (!postgres) throw unavailable('postgres');
  return postgres;
}

export function requireWiremockUrl(): string {
  const { wiremockUrl } = testServices();
  if (!wiremockUrl) throw unavailable('wiremock');
  return wiremockUrl;
}

export function requireKafkaCluster(): NonNullable<TestServices['kafkaCluster']> {
  const { kafkaCluster } = testServices();
  if (!kafkaCluster) throw unavailable('kafkaCluster');
  return kafkaCluster;
}

export function requireSecureKafka(): SecureKafka {
  const { kafkaSecure } = testServices();
  if (!kafkaSecure) throw unavailable('kafkaSecure');
  return kafkaSecure;
}

export function requireKafkaBrokers(): string[] {
  const { kafkaBrokers } = testServices();
  if (!kafkaBrokers) throw unavailable('kafka');
  return kafkaBrokers;
}
