import { EXIT_USAGE } from '@payment-manager/shared/cli';
import { shutdownTelemetry } from '@payment-manager/shared/observability';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadApiConfig } from './config.ts';
import { startApiServer } from './server.ts';

let config: ReturnType<typeof loadApiConfig>;
try {
  config = loadApiConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`payment-manager api: configuration error: ${err.message}`);
    process.exit(EXIT_USAGE);
  }
  throw err;
}

const api = await startApiServer(config);
closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) api.app.log.error({ err }, 'shutting down after an error');
  else api.app.log.info({ signal }, 'shutting down');
  await api.close();
  await shutdownTelemetry();
});
