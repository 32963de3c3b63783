import { readFileSync } from 'node:fs';
import { retryWithBackoff } from '@payment-manager/shared/resilience';
import pg from 'pg';
import { parse as parseConnectionUrl } from 'pg-connection-string';

const TIMESTAMP_WITHOUT_TZ_OID = 1114;
const NUMERIC_OID = 1700;

/**
 * TIMESTAMP columns hold UTC wall-clock values with microseconds (docs/domain.md#timestamps). They are read as text and
 * turned into RFC 3339 UTC strings without going through a JS Date, so the full stored precision survives
 * into responses and pagination cursors and the process time zone never matters.
 */
export function timestampToRfc3339(text: string): string {
  return `${text.replace(' ', 'T')}Z`;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP_WITHOUT_TZ_OID) return timestampToRfc3339;
    if (oid === NUMERIC_OID) return (text: string) => Number(text);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * Accepts both `postgres://…` URLs and libpq `key=value` strings (README.md#configuration). TLS as in libpq:
 * `sslmode=verify-full` checks the server's certificate against `sslrootcert` (a PEM file, e.g. CloudNativePG's
 * `<cluster>-ca` Secret mounted in the pod) and its name against the host (docs/data-tier.md#tls).
 */
export function parsePgUrl(pgUrl: string): pg.ClientConfig {
  if (/^postgres(ql)?:\/\//i.test(pgUrl)) {
    // pg-connection-string reads sslrootcert and maps verify-full / verify-ca (its require = verify-full).
    return parseConnectionUrl(pgUrl) as pg.ClientConfig;
  }
  const pairs = new Map<string, string>();
  const pattern = /(\w+)\s*=\s*(?:'((?:\\.|[^'\\])*)'|(\S+))/g;
  for (const match of pgUrl.matchAll(pattern)) {
    pairs.set(match[1] as string, (match[2] ?? match[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  if (pairs.size === 0) throw new Error('PG_URL is neither a postgres:// URL nor a key=value connection string');
  return {
    host: pairs.get('host') ?? pairs.get('hostaddr'),
    port: pairs.has('port') ? Number(pairs.get('port')) : undefined,
    user: pairs.get('user'),
    password: pairs.get('password'),
    database: pairs.get('dbname'),
    ssl: sslOptions(pairs.get('sslmode'), pairs.get('sslrootcert')),
    application_name: pairs.get('application_name'),
  };
}

function sslOptions(sslmode: string | undefined, rootCertFile: string | undefined): pg.ClientConfig['ssl'] {
  if (!sslmode || ['disable', 'allow', 'prefer'].includes(sslmode)) return undefined;
  const ca = rootCertFile ? readFileSync(rootCertFile, 'utf8') : undefined;
  if (sslmode === 'verify-full') return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  // verify-ca: the chain is checked, the name is not.
  if (sslmode === 'verify-ca')
    return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
  return { rejectUnauthorized: false };
}

export interface PoolOptions {
  pgUrl: string;
  max: number;
  applicationName?: string;
  connectionTimeoutMillis?: number;
  /**
   * Told when an idle client loses its connection (database restart, network cut); the pool replaces the client, so
   * this is worth a warning, not a crash. Default: one line on stderr.
   */
  onIdleClientError?: (error: Error) => void;
}

function warnOnStderr(error: Error): void {
  process.stderr.write(`PostgreSQL pool: an idle client lost its connection (${error.message}); it is replaced\n`);
}

export function createPool({
  pgUrl,
  max,
  applicationName = 'payment-manager-api',
  connectionTimeoutMillis = 10_000,
  onIdleClientError = warnOnStderr,
}: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    ...parsePgUrl(pgUrl),
    max,
    types,
    application_name: applicationName,
    // Every session works in UTC so now()/clock_timestamp() and timestamptz casts agree with stored values.
    options: '-c TimeZone=UTC',
    connectionTimeoutMillis,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process (an 'error' event without a listener would).
  pool.on('error', onIdleClientError);
  return pool;
}

/** What the store's SQL runs on: a pool, a client in a transaction, or the replica-aware read router. */
export interface Queryable {
  // biome-ignore lint/suspicious/noExplicitAny: the same row typing as pg's own query()
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Runs `work` in one READ COMMITTED transaction (docs/domain.md#transactions-and-locks); rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection that cannot even roll back is broken (database restarted, network cut): destroy it, never reuse it.
  let broken: Error | undefined;
  // A checked-out client reports a lost connection as an 'error' event too; unheard, it would crash the process.
  // The pending query rejects with the same failure, so noting it is enough.
  const onConnectionError = (err: Error) => {
    broken = err;
  };
  client.on('error', onConnectionError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw err;
  } finally {
    client.off('error', onConnectionError);
    client.release(broken);
  }
}

/**
 * Serialises all writers of one order (webhooks, chargebacks, holds, capture events) for the rest of the
 * transaction — the lock key of docs/domain.md#processing-an-order-webhook.
 */
export async function lockOrder(client: Queryable, orderId: string): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('order:' || $1))`, [orderId]);
}

/** Connects with retries (docs/domain.md#start-up-and-shutdown: 10 attempts, 1 s apart) so the API survives starting before Postgres. */
export async function waitForDatabase(pool: pg.Pool, attempts = 10, delayMs = 1000): Promise<void> {
  try {
    await retryWithBackoff(() => pool.query('SELECT 1'), {
      attempts,
      minDelayMs: delayMs,
      maxDelayMs: delayMs,
      factor: 1,
      jitter: false,
    });
  } catch (err) {
    throw new Error(`PostgreSQL unreachable after ${attempts} attempts: ${(err as Error).message}`);
  }
}
