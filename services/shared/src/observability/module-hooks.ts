import * as nodeModule from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { register as registerSyncHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';

// Only the libraries we instrument are wrapped; every other module loads untouched. (fastify reports itself
// through diagnostics_channel and undici/fetch through its own channels, so neither needs wrapping.)
const INSTRUMENTED_MODULES = ['pg', 'pg-pool', 'pino', 'http', 'https', 'node:http', 'node:https'];

let registered: (() => Promise<void>) | undefined;

/**
 * Installs import-in-the-middle so that ES module imports of the instrumented libraries can be patched.
 * Must run before those libraries are first imported and before the SDK starts; call the returned function
 * after starting the SDK and await it before loading the application.
 */
export function registerModuleHooks(): () => Promise<void> {
  if (registered) return registered;
  if (supportsSyncHooks()) {
    // In-thread hooks (Node ≥ 24.11.1): no loader thread, nothing to acknowledge.
    registerSyncHooks({ include: INSTRUMENTED_MODULES });
    registered = async () => {};
  } else {
    const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
    nodeModule.register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
    registered = waitForAllMessagesAcknowledged;
  }
  return registered;
}
