/**
 * `node --import ./services/shared/src/observability/instrumentation.ts <service main>`
 *
 * Installs the module hooks, then the SDK, before the application is imported, so that pg, kafkajs, pino
 * and http are patched when the application loads them. Configuration comes only from the standard
 * OTEL_* variables (see telemetry.ts for the defaults applied when they are unset).
 */
import { registerModuleHooks } from './module-hooks.ts';
import { startTelemetry } from './telemetry.ts';

const hooksAcknowledged = registerModuleHooks();
startTelemetry();
await hooksAcknowledged();
