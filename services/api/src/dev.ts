/**
 * `npm run dev`: the API in sync webhook mode with zero setup. Without PG_URL it starts an embedded real
 * PostgreSQL (data kept in .data/, or PM_DEV_DATA_DIR), without SILVERGATE_BASE_URL a local provider stub;
 * everything else comes from the environment exactly as in production (README.md#configuration).
 */
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE, parseCli } from '@payment-manager/shared/cli';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadApiConfig } from './config.ts';
import { provideDevApiKeys, provideDevSignatures, provideLocalDependencies } from './dev/local-dependencies.ts';
import { startApiServer } from './server.ts';

parseCli({
  command: 'npm run dev --',
  summary:
    'The API in sync webhook mode on http://127.0.0.1:3000. Whatever the environment does not set is provided locally: ' +
    'an embedded PostgreSQL, a provider stub and the development API keys of deploy/env/api.env.',
  options: {},
  environment: {
    PORT: 'listen port (default 3000)',
    HOST: 'listen address (default 127.0.0.1 with the development keys)',
    PG_URL: 'use this PostgreSQL instead of the embedded one',
    SILVERGATE_BASE_URL:
      'use this provider instead of the stub (with SILVERGATE_CAPTURE_PATH, SILVERGATE_SUBMIT_REPRESENTMENT_PATH)',
    API_KEYS: 'role:sha256hex entries instead of the development keys',
    WEBHOOK_SECRET: 'verify webhook signatures; unset = unsigned (WEBHOOK_SIGNATURES_DISABLED=true, logged)',
    PM_DEV_DATA_DIR: 'where the embedded PostgreSQL keeps its data (default .data/)',
  },
  examples: ['npm run dev', 'PORT=3100 npm run dev'],
});

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
  provideDevSignatures(env, say);
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
    process.exit(EXIT_USAGE);
  }
  throw err;
}

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) console.error('[dev] shutting down after an error', err);
  else say(`${signal ?? 'exit'}: shutting down`);
  await stopAll();
  say('stopped');
});
