import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/*/test/**/*.test.ts', 'cdk8s/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
    // Finds/starts Postgres, WireMock and Kafka once and builds the migrated template database (services/testkit).
    globalSetup: ['services/testkit/src/global-setup.ts'],
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
  },
});
