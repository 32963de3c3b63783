import { fileURLToPath } from 'node:url';
import { partitionMaintenanceRuns, withSpan } from '@payment-manager/shared/observability';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { parsePgUrl } from './pool.ts';

/** SQL migrations live at the repository root (`migrations/`), next to `services/`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'pgmigrations';

const DISPUTE_EVENTS = 'public.dispute_events';

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
  } finally {
    await client.end();
  }
}

/** Schema holding pg_partman, or null when the extension is not installed in this database. */
async function partmanSchema(db: pg.Pool | pg.PoolClient): Promise<string | null> {
  const { rows } = await db.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_partman'`,
  );
  return rows[0]?.schema ?? null;
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
 */
export async function runPartitionMaintenance(pool: pg.Pool, opts: PartitionMaintenanceOptions = {}): Promise<void> {
  const { retention, log = () => {} } = opts;
  const client = await pool.connect();
  try {
    const schema = await partmanSchema(client);
    if (schema === null) {
      log('partition maintenance skipped: pg_partman is not installed', 'debug');
      return;
    }
    const ident = client.escapeIdentifier(schema);
    await client.query('BEGIN');
    const { rows: lock } = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtext('payment-manager dispute_events maintenance')) AS locked`,
    );
    if (!lock[0]?.locked) {
      await client.query('ROLLBACK');
      log('partition maintenance skipped: another instance is running it', 'debug');
      return;
    }
    const { rows: managed } = await client.query(`SELECT 1 FROM ${ident}.part_config WHERE parent_table = $1`, [
      DISPUTE_EVENTS,
    ]);
    if (managed.length === 0) {
      // pg_partman was installed after the migration fell back to a default-only table.
      await client.query('ROLLBACK');
      log('partition maintenance skipped: pg_partman does not manage public.dispute_events', 'debug');
      return;
    }
    // Partition bounds are computed from timestamptz values; created_at holds UTC wall-clock time.
    await client.query(`SET LOCAL TimeZone = 'UTC'`);
    const { rows: stranded } = await client.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ONLY public.dispute_events_default) AS found`,
    );
    if (stranded[0]?.found) {
      let moved = 0;
      for (;;) {
        const { rows } = await client.query<{ rows: string }>(
          `SELECT ${ident}.partition_data_time(p_parent_table => $1, p_batch_count => 100) AS rows`,
          [DISPUTE_EVENTS],
        );
        if (Number(rows[0]?.rows ?? 0) <= 0) break;
        moved += Number(rows[0]?.rows);
      }
      if (moved > 0) log(`partition maintenance moved ${moved} dispute events out of the default partition`, 'info');
    }
    if (retention !== undefined) {
      // The cast rejects a malformed retention here rather than inside every later maintenance run.
      await client.query(
        `UPDATE ${ident}.part_config SET retention = $1::interval::text, retention_keep_table = false
         WHERE parent_table = $2`,
        [retention, DISPUTE_EVENTS],
      );
    }
    await client.query(`SELECT ${ident}.run_maintenance(p_parent_table => $1)`, [DISPUTE_EVENTS]);
    // run_maintenance only extends the set forward from its newest child; days skipped before a rescued one
    // would otherwise stay without a child for good.
    await client.query(`SELECT ${ident}.partition_gap_fill(p_parent_table => $1)`, [DISPUTE_EVENTS]);
    await client.query('COMMIT');
    log('partition maintenance done', 'debug');
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
