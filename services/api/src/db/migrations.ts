import { fileURLToPath } from 'node:url';
import { partitionMaintenanceRuns, withSpan } from '@payment-manager/shared/observability';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { parsePgUrl } from './pool.ts';

/** SQL migrations live at the repository root (`migrations/`), next to `services/`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'pgmigrations';
/**
 * Login roles the deployment creates and the migrations grant to (migration 20261208120000, docs/data-tier.md#roles);
 * the schema owner is whichever role runs the migrations. cdk8s/src/database.ts names the same roles.
 */
export const SERVICE_ROLES = { app: 'payments_app', read: 'payments_read' } as const;

export interface RunMigrationsOptions {
  databaseUrl: string;
  direction?: 'up' | 'down';
  /** Number of migrations to apply; default: all pending (up) or the last one (down). */
  count?: number;
  log?: (message: string) => void;
}

/**
 * Applies the SQL migrations of `migrations/` with node-pg-migrate, all pending ones in one transaction.
 * Replicas starting together queue on node-pg-migrate's advisory lock instead of failing, and the later ones
 * find nothing left to do. WARNINGs raised by the SQL (e.g. pg_partman missing) reach `log`.
 */
export async function runMigrations({
  databaseUrl,
  direction = 'up',
  count,
  log = () => {},
}: RunMigrationsOptions): Promise<void> {
  const client = new pg.Client({
    ...parsePgUrl(databaseUrl),
    application_name: 'payment-manager-migrations',
    options: '-c TimeZone=UTC',
  });
  client.on('notice', (notice) => {
    if (notice.severity === 'WARNING') log(`WARNING: ${notice.message}`);
  });
  // A dropped connection must surface as a failed query, not as an unhandled 'error' event.
  client.on('error', () => {});
  await client.connect();
  try {
    await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      // Only the .sql files are migrations (the folder also holds its README).
      ignorePattern: '(?!.*\\.sql$).*',
      migrationsTable: MIGRATIONS_TABLE,
      schema: 'public',
      direction,
      ...(count === undefined ? {} : { count }),
      singleTransaction: true,
      checkOrder: true,
      advisoryLockMode: 'wait',
      logger: { debug: () => {}, info: log, warn: log, error: log },
    });
    if (direction === 'up') await grantServiceRoles(client);
  } finally {
    await client.end();
  }
}

/**
 * Repeats the service roles' grants (migration 20261208120000, docs/data-tier.md#roles) on every run, so a role the
 * deployment creates after that migration gets its privileges from the next run. A no-op before that migration.
 */
async function grantServiceRoles(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regprocedure('public.grant_service_roles()') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return;
  // Concurrent GRANTs on one object fail ("tuple concurrently updated"): replicas starting together take turns.
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('payment-manager grant_service_roles'))`);
    await client.query('SELECT public.grant_service_roles()');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Receives progress and failures; `level` lets a structured logger file them (plain `(message) => …` works too). */
export type MaintenanceLog = (message: string, level?: 'debug' | 'info' | 'error') => void;

export interface PartitionMaintenanceOptions {
  /**
   * pg_partman retention for dispute_events children, e.g. "90 days": older children are dropped.
   * null keeps every child; undefined leaves the stored setting as it is.
   */
  retention?: string | null;
  log?: MaintenanceLog;
}

/**
 * Pre-creates upcoming daily partitions of dispute_events and applies retention (docs/data-tier.md#migrations-and-partitions: nothing else runs
 * pg_partman maintenance). Rows that reached the default partition because maintenance had stopped for longer
 * than the premade week move into their own daily children first — otherwise creating those children fails.
 * Without pg_partman it does nothing. Replicas running it at the same moment: one works, the others skip.
 *
 * The work is `public.dispute_events_maintenance()`, a SECURITY DEFINER function of the migrating role: creating and
 * dropping partitions is DDL, which the API's own role may not do (docs/data-tier.md#roles).
 */
export async function runPartitionMaintenance(pool: pg.Pool, opts: PartitionMaintenanceOptions = {}): Promise<void> {
  const { retention, log = () => {} } = opts;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows: lock } = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtext('payment-manager dispute_events maintenance')) AS locked`,
    );
    if (!lock[0]?.locked) {
      await client.query('ROLLBACK');
      log('partition maintenance skipped: another instance is running it', 'debug');
      return;
    }
    const { rows } = await client.query<{ outcome: string; moved: string }>(
      'SELECT outcome, moved FROM public.dispute_events_maintenance($1, $2)',
      [retention ?? null, retention !== undefined],
    );
    await client.query('COMMIT');
    const { outcome, moved } = rows[0] ?? { outcome: 'done', moved: '0' };
    if (outcome === 'not-installed') log('partition maintenance skipped: pg_partman is not installed', 'debug');
    else if (outcome === 'not-managed')
      log('partition maintenance skipped: pg_partman does not manage public.dispute_events', 'debug');
    else {
      if (Number(moved) > 0)
        log(`partition maintenance moved ${moved} dispute events out of the default partition`, 'info');
      log('partition maintenance done', 'debug');
    }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export interface PartitionMaintenanceSchedule {
  intervalMs: number;
  retention?: string | null;
  log?: MaintenanceLog;
}

/**
 * Runs partition maintenance now and then every `intervalMs`. Failures are logged and retried on the next
 * tick; the timer never keeps the process alive. `stop()` resolves once a run in progress has finished, so the
 * pool can be closed right after it.
 */
export function startPartitionMaintenance(
  pool: pg.Pool,
  { intervalMs, retention, log = () => {} }: PartitionMaintenanceSchedule,
): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const tick = () => {
    // A root span of its own, so the maintenance SQL is traced even though no request started it.
    running ??= withSpan('partition.maintenance', { retention }, () =>
      runPartitionMaintenance(pool, { retention, log }),
    )
      .then(() => partitionMaintenanceRuns.inc({ outcome: 'success' }))
      .catch((err: Error) => {
        partitionMaintenanceRuns.inc({ outcome: 'failure' });
        log(`partition maintenance failed: ${err.message}`, 'error');
      })
      .finally(() => {
        running = null;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
