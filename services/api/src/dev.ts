/**
 * `npm run dev`: the API in sync webhook mode with zero setup. Without PG_URL it starts an embedded real
 * PostgreSQL (data kept in .data/, or PM_DEV_DATA_DIR), without SILVERGATE_BASE_URL a local provider stub;
 * everything else comes from the environment exactly as in production (spec §2.1).
 */
import { fileURLToPath } from 'node:url';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadApiConfig } from './config.ts';
import { provideDevApiKeys, provideLocalDependencies } from './dev/local-dependencies.ts';
import { startApiServer } from './server.ts';

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
  await provideLocalDependencies(env, { dataDir: DATA_DIR, say, stops });
  provideDevApiKeys(env, say);
  const api = await startApiServer(loadApiConfig(env));
  stops.push(api.close);
  const local = api.url.replace('0.0.0.0', 'localhost');
  say(`API (webhook mode sync) listening on ${api.url} — docs at ${local}/docs`);
  say(`try: curl -H "Authorization: Bearer $PM_TOKEN" ${local}/orders`);
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
