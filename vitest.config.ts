import { defineConfig } from 'vitest/config';

/**
 * Finds/starts Postgres, WireMock and Kafka and builds the migrated template database (services/testkit). Set per
 * project (a root globalSetup runs once for all projects): the `citus` project builds its template on Citus.
 */
const globalSetup = ['services/testkit/src/global-setup.ts'];

/** Suites that also run on a Citus coordinator with workers (project `citus`, see docs/data-tier.md). */
/**
 * Suites against whole deployments (the local Kubernetes cluster; the compose stack): they run last, one file at a
 * time in their own group, so that their load does not meet the timing of the suites before them.
 */
const COMPOSE_SUITES = ['scripts/test/compose-stack.test.ts'];
const CLUSTER_SUITES = ['cdk8s/test/real-cluster.test.ts'];
const DEPLOYMENT_SUITES = [...COMPOSE_SUITES, ...CLUSTER_SUITES];

const CITUS_SUITES = [
  'services/api/test/scenarios.*.test.ts',
  'services/api/test/kafka-pipeline.test.ts',
  'services/api/test/kafka-crash.test.ts',
  'services/api/test/webhook-batch.test.ts',
  'services/api/test/citus/**/*.test.ts',
];

export default defineConfig({
  test: {
    // Each file gets its own process: suites start servers, pools and Kafka clients that must not leak across files.
    pool: 'forks',
    // Two cores: two files at a time keeps the real services (and the mock broker) responsive.
    maxWorkers: 2,
    // Real services: a request can cross ingest → Kafka → consumer → Postgres before it is observable.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default', './services/testkit/src/skipped-reporter.ts'],
    // Slow-test marking, not a speed assertion: benchmarks measure speed (npm run bench:*).
    slowTestThreshold: 2_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'postgres',
          globalSetup,
          // The projects run one after the other: two Kafka pipeline suites at once overload two cores.
          sequence: { groupOrder: 0 },
          include: ['services/*/test/**/*.test.ts', 'cdk8s/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'services/api/test/citus/**', ...DEPLOYMENT_SUITES],
        },
      },
      // The same scenario and pipeline suites against Citus (PM_TEST_CITUS_URL), plus the Citus-only checks.
      { extends: true, test: { name: 'citus', globalSetup, include: CITUS_SUITES, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'compose', include: COMPOSE_SUITES, sequence: { groupOrder: 2 } } },
      { extends: true, test: { name: 'cluster', include: CLUSTER_SUITES, sequence: { groupOrder: 3 } } },
    ],
  },
});
