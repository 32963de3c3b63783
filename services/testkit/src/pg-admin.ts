import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';

/** Maintenance statements on the admin connection; free of vitest so the global setup can use it too. */

export function databaseUrlFor(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export async function withAdminClient<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function postgresAnswers(adminUrl: string): Promise<boolean> {
  try {
    await withAdminClient(adminUrl, (client) => client.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates `name`, lets `migrate` bring it to the current schema, then closes it to connections: CREATE DATABASE …
 * TEMPLATE refuses a source that has sessions, and no test may connect to the template by accident. On a Citus
 * cluster the database is created on the workers too (`workerAdminUrls`) and `migrate` also sets Citus up in it;
 * sessions Citus keeps open on it (maintenance daemon, cached connections) are ended.
 */
export async function createTemplateDatabase(
  adminUrl: string,
  name: string,
  migrate: (databaseUrl: string) => Promise<void>,
  workerAdminUrls: string[] = [],
): Promise<void> {
  const nodes = [adminUrl, ...workerAdminUrls];
  for (const node of nodes) {
    await withAdminClient(node, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  }
  await migrate(databaseUrlFor(adminUrl, name));
  for (const node of nodes) {
    await withAdminClient(node, async (client) => {
      await client.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
    });
  }
}

/** Clones `template` as `name`, on every node of a Citus cluster when `workerAdminUrls` are given. */
export async function cloneDatabase(
  adminUrl: string,
  template: string,
  name: string,
  workerAdminUrls: string[] = [],
): Promise<void> {
  for (const node of [adminUrl, ...workerAdminUrls]) {
    await withAdminClient(node, (client) =>
      client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`),
    );
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    // A template cannot be dropped while flagged as one. 3D000: gone already; 55000: left invalid by an
    // interrupted DROP DATABASE, which only DROP DATABASE accepts.
    await client
      .query(`ALTER DATABASE ${pg.escapeIdentifier(name)} WITH IS_TEMPLATE false`)
      .catch((err: { code?: string }) => {
        if (err.code !== '3D000' && err.code !== '55000') throw err;
      });
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  });
}

/** Removes every database of one run, including those of test files whose worker died before its own cleanup. */
export async function dropDatabasesWithPrefix(adminUrl: string, prefix: string): Promise<void> {
  const { rows } = await withAdminClient(adminUrl, (client) =>
    client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [prefix]),
  );
  for (const { datname } of rows) await dropDatabase(adminUrl, datname);
}

const RUN_PREFIX = 'pm_test_';
/** Distinguishes machines sharing one server, so a run only ever cleans up after runs of its own host. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);

/** `pm_test_<host>_<pid>_<random>_`: unique per run, and tells which process on which host owns a database. */
export function runDatabasePrefix(random: string): string {
  return `${RUN_PREFIX}${HOST_TAG}_${process.pid}_${random}_`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Drops databases left behind by runs of this host whose process is gone (killed before its teardown), so an
 * interrupted run never accumulates clones on the developer's server. Returns how many were dropped.
 */
export async function dropStaleRunDatabases(adminUrl: string): Promise<number> {
  const { rows } = await withAdminClient(adminUrl, (client) =>
    client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [
      `${RUN_PREFIX}${HOST_TAG}_`,
    ]),
  );
  let dropped = 0;
  for (const { datname } of rows) {
    const pid = Number(datname.slice(RUN_PREFIX.length + HOST_TAG.length + 1).split('_')[0]);
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) {
      await dropDatabase(adminUrl, datname);
      dropped += 1;
    }
  }
  return dropped;
}

/**
 * The password of a test login role: derived from the admin URL (its password included), so every run against one
 * server agrees on it without storing or printing one, and it is no value published in the repository.
 */
function serviceRolePassword(adminUrl: string, role: string): string {
  return createHash('sha256').update(`${adminUrl}\0${role}`).digest('hex').slice(0, 32);
}

/**
 * Creates the deployment's login roles (the API's read/write role and the read-only role, docs/data-tier.md#roles)
 * on a test server, as CloudNativePG's managed roles do in a cluster. Runs before the template is migrated, so
 * the migrations' grants reach them. Concurrent runs sharing the server take turns (CREATE/ALTER ROLE race).
 */
export async function ensureServiceRoles(adminUrl: string, roles: readonly string[]): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('payment-manager test service roles'))`);
      for (const role of roles) {
        const password = serviceRolePassword(adminUrl, role);
        const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
        const verb = rowCount === 0 ? 'CREATE' : 'ALTER';
        await client.query(
          `${verb} ROLE ${pg.escapeIdentifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${pg.escapeLiteral(password)}`,
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

/** `databaseUrl` with the user and password of one of the roles made by ensureServiceRoles. */
export function databaseUrlAs(adminUrl: string, databaseUrl: string, role: string): string {
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = serviceRolePassword(adminUrl, role);
  return url.toString();
}
