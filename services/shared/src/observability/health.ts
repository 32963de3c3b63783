import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { connectOnce, withTimeout } from '../resilience.ts';

export interface HealthCheck {
  name: string;
  /** Resolves when the dependency is usable; rejects with a message saying what is wrong. */
  check: () => Promise<void>;
}

export interface HealthCheckResult {
  name: string;
  status: 'up' | 'down';
  message?: string;
}

export interface ReadinessReport {
  status: 'up' | 'down';
  checks: HealthCheckResult[];
}

export interface HealthPluginOptions {
  service: string;
  checks: HealthCheck[];
  /** Budget for all checks together (docs/observability.md: 5 s). */
  timeoutMs?: number;
}

const DEFAULT_BUDGET_MS = 5_000;

async function runCheck(check: HealthCheck, budgetMs: number): Promise<HealthCheckResult> {
  try {
    await withTimeout(check.check(), budgetMs, check.name);
    return { name: check.name, status: 'up' };
  } catch (error) {
    return { name: check.name, status: 'down', message: error instanceof Error ? error.message : String(error) };
  }
}

/** Runs every check in parallel within `budgetMs`; the report is `up` only if all are. */
export async function runReadinessChecks(
  checks: HealthCheck[],
  budgetMs = DEFAULT_BUDGET_MS,
): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map((check) => runCheck(check, budgetMs)));
  return { status: results.every((result) => result.status === 'up') ? 'up' : 'down', checks: results };
}

const checkResultSchema = {
  type: 'object',
  required: ['name', 'status'],
  properties: {
    name: { type: 'string' },
    status: { type: 'string', enum: ['up', 'down'] },
  },
} as const;

const readinessSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: { status: { type: 'string', enum: ['up', 'down'] }, checks: { type: 'array', items: checkResultSchema } },
} as const;

/**
 * GET /health/live: the process serves HTTP (always 200 {"status":"up"}).
 * GET /health/ready: 200 or 503 with {"status","checks":[{name,status}]} (docs/observability.md); why a check is
 * down goes to the log.
 * The contract's GET /health stays with the services.
 */
export const healthPlugin = fastifyPlugin(
  async (app: FastifyInstance, options: HealthPluginOptions) => {
    const budgetMs = options.timeoutMs ?? DEFAULT_BUDGET_MS;
    app.get(
      '/health/live',
      {
        // Probes arrive every few seconds; their request logs would drown the real traffic.
        logLevel: 'warn',
        schema: {
          tags: ['health'],
          summary: `Liveness of ${options.service}`,
          response: {
            200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['up'] } } },
          },
        },
      },
      async () => ({ status: 'up' as const }),
    );
    app.get(
      '/health/ready',
      {
        logLevel: 'warn',
        schema: {
          tags: ['health'],
          summary: `Readiness of ${options.service}: its dependencies answer`,
          response: { 200: readinessSchema, 503: readinessSchema },
        },
      },
      async (request, reply) => {
        const report = await runReadinessChecks(options.checks, budgetMs);
        // States only: a check's message names hosts, ports and driver errors, which go to the log, not to callers.
        const down = report.checks.filter((check) => check.status === 'down');
        if (down.length > 0) request.log.warn({ checks: down }, 'not ready');
        const checks = report.checks.map(({ name, status }) => ({ name, status }));
        return reply.code(report.status === 'up' ? 200 : 503).send({ status: report.status, checks });
      },
    );
  },
  { name: 'payment-manager-health', fastify: '5.x' },
);

/** The part of a pg.Pool / pg.Client the checks use. */
export interface SqlProbeTarget {
  query(text: string): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** Postgres answers a trivial query. */
export function postgresCheck(db: SqlProbeTarget, name = 'postgres'): HealthCheck {
  return {
    name,
    check: async () => {
      await db.query('SELECT 1');
    },
  };
}

/** Names node-pg-migrate records for the migration files in `migrationsDir` (file name without extension). */
export async function migrationNames(migrationsDir: string): Promise<string[]> {
  const files = await readdir(migrationsDir);
  return files
    .filter((file) => /\.(sql|js|cjs|mjs|ts)$/.test(file) && !file.startsWith('.'))
    .map((file) => path.basename(file, path.extname(file)))
    .sort();
}

/**
 * The latest migration shipped with this build is recorded in node-pg-migrate's table, i.e. the schema is
 * at least as new as the code. `expected` is the sorted list of migration names (see migrationNames).
 */
export function migrationsCheck(
  db: SqlProbeTarget,
  expected: string[] | (() => Promise<string[]>),
  table = 'pgmigrations',
): HealthCheck {
  if (!/^[a-z_][a-z0-9_.]*$/i.test(table)) throw new Error(`invalid migrations table name: ${table}`);
  return {
    name: 'migrations',
    check: async () => {
      const names = typeof expected === 'function' ? await expected() : expected;
      const latest = names.at(-1);
      if (latest === undefined) return;
      const { rows } = await db.query(`SELECT name FROM ${table}`);
      const applied = new Set(rows.map((row) => String(row.name)));
      if (!applied.has(latest)) {
        const pending = names.filter((name) => !applied.has(name));
        throw new Error(`${pending.length} migration(s) not applied, latest missing: ${latest}`);
      }
    },
  };
}

/**
 * The Kafka cluster answers a metadata request (kafkajs `Admin`, connected lazily and reused). A connection that
 * failed or does not answer within `timeoutMs` is dropped, and the next check connects afresh: kafkajs can leave a
 * connection attempt pending for good when a request timed out while the brokers were starting (an ingest pod that
 * started before Kafka on the real cluster stayed unready that way).
 */
export function kafkaCheck(
  admin: { connect(): Promise<void>; describeCluster(): Promise<unknown>; disconnect(): Promise<void> },
  name = 'kafka',
  timeoutMs = DEFAULT_BUDGET_MS - 1_000,
): HealthCheck {
  let connecting = connectOnce(() => admin.connect());
  return {
    name,
    check: async () => {
      try {
        await withTimeout(
          connecting().then(() => admin.describeCluster()),
          timeoutMs,
          'Kafka metadata',
        );
      } catch (error) {
        connecting = connectOnce(() => admin.connect());
        await admin.disconnect().catch(() => {});
        throw error;
      }
    },
  };
}
