/** Names shared by the Postgres charts and the app chart (which wires PG_URL / PG_REPLICA_URL). */
export const PG_CLUSTER_NAME = 'payments';
export const PG_DATABASE = 'payments';
export const PG_APP_USER = 'payments';

export interface DatabaseEndpoints {
  /** Host:port of the read-write endpoint. */
  primary: string;
  /** Host:port of the read-only replicas; undefined when the topology has no replica service. */
  replica?: string;
}

export const CNPG_ENDPOINTS: DatabaseEndpoints = {
  primary: `${PG_CLUSTER_NAME}-rw:5432`,
  replica: `${PG_CLUSTER_NAME}-ro:5432`,
};

export const CITUS_COORDINATOR = 'citus-coordinator';
export const CITUS_WORKER = 'citus-worker';
export const CITUS_ENDPOINTS: DatabaseEndpoints = { primary: `${CITUS_COORDINATOR}:5432` };

/** URL built by Kubernetes $(VAR) expansion from DB_USER / DB_PASSWORD, which must be declared earlier. */
export function pgUrlFromEnv(hostPort: string): string {
  return `postgres://$(DB_USER):$(DB_PASSWORD)@${hostPort}/${PG_DATABASE}?sslmode=disable`;
}
