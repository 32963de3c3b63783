/**
 * `node --import ./services/shared/src/observability/instrumentation.ts <service main>`
 *
 * Registers the ESM loader hook first, then the SDK, so that pg, kafkajs, pino and http are patched when the
 * application imports them (fastify reports itself through diagnostics_channel). Configuration comes only
 * from the standard OTEL_* variables.
 */
import { register as registerSyncHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import * as nodeModule from 'node:module';

// Only the libraries we instrument are wrapped; every other module loads untouched.
const instrumentedModules = ['pg', 'pg-pool', 'kafkajs', 'pino', 'http', 'https', 'node:http', 'node:https'];

if (supportsSyncHooks()) {
  // In-thread hooks (Node ≥ 24.11.1): no loader thread and no acknowledgement round-trip.
  registerSyncHooks({ include: instrumentedModules });
  const { startTelemetry } = await import('./telemetry.ts');
  startTelemetry();
} else {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  nodeModule.register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const { startTelemetry } = await import('./telemetry.ts');
  startTelemetry();
  await waitForAllMessagesAcknowledged();
}
