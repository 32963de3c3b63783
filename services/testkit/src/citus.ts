/**
 * Per-database set-up on a Citus cluster (coordinator + workers), free of vitest so the global setup can use it.
 * Citus metadata lives in each database, so a test database is a database of the same name on every node: the
 * extension in each, the workers registered on the coordinator. Cloning the migrated template on every node
 * gives a consistent copy (the shards on the workers are cloned with the metadata that names them).
 */
import { withAdminClient } from './pg-admin.ts';

/** Admin URLs of the workers registered in the coordinator's maintenance database (same user and password). */
export async function citusWorkerAdminUrls(coordinatorAdminUrl: string): Promise<string[]> {
  const { rows } = await withAdminClient(coordinatorAdminUrl, (client) =>
    client.query<{ nodename: string; nodeport: number }>(
      `SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' ORDER BY nodeport`,
    ),
  );
  return rows.map(({ nodename, nodeport }) => {
    const url = new URL(coordinatorAdminUrl);
    url.hostname = nodename;
    url.port = String(nodeport);
    return url.toString();
  });
}

/** Whether the server has the citus extension in its maintenance database, i.e. is a coordinator. */
export async function isCitusCoordinator(adminUrl: string): Promise<boolean> {
  try {
    const { rows } = await withAdminClient(adminUrl, (client) =>
      client.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`),
    );
    return rows.length > 0;
  } catch {
    return false;
  }
}

function inDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * Makes the empty database `name` (already created on every node) a Citus database: the extension on every
 * node, the coordinator's own address and the workers registered as in the maintenance database.
 */
export async function initCitusDatabase(coordinatorAdminUrl: string, workerAdminUrls: string[], name: string) {
  for (const adminUrl of [coordinatorAdminUrl, ...workerAdminUrls]) {
    await withAdminClient(inDatabase(adminUrl, name), (client) => client.query('CREATE EXTENSION IF NOT EXISTS citus'));
  }
  const { rows } = await withAdminClient(coordinatorAdminUrl, (client) =>
    client.query<{ nodename: string; nodeport: number }>(
      'SELECT nodename, nodeport FROM pg_dist_node WHERE groupid = 0',
    ),
  );
  const coordinator = rows[0];
  if (!coordinator) throw new Error('the Citus coordinator has no coordinator host (citus_set_coordinator_host)');
  await withAdminClient(inDatabase(coordinatorAdminUrl, name), async (client) => {
    await client.query('SELECT citus_set_coordinator_host($1, $2)', [coordinator.nodename, coordinator.nodeport]);
    for (const worker of workerAdminUrls) {
      const url = new URL(worker);
      await client.query('SELECT citus_add_node($1, $2)', [url.hostname, Number(url.port)]);
    }
  });
}
