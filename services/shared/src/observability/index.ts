// Everything but the `--import` entry (instrumentation.ts), which must run before the application loads.
export { startTelemetry, shutdownTelemetry, type TelemetryOptions } from './telemetry.ts';
export { registerModuleHooks } from './module-hooks.ts';
export { isUntracedPath } from './paths.ts';
export {
  withSpan,
  setActiveSpanAttributes,
  activeTraceIds,
  injectTraceContext,
  withExtractedContext,
  type SpanAttributes,
} from './spans.ts';
export { loggerOptions, redactedPaths, type LoggerOptionsInput } from './logger.ts';
export {
  metricsRegistry,
  metricsPlugin,
  httpRequestDuration,
  webhookOutcomes,
  kafkaMessagesProcessed,
  kafkaMessageProcessingDuration,
  kafkaConsumerLag,
  dlqPublishes,
  partitionMaintenanceRuns,
  pgPoolConnections,
  registerPoolMetrics,
  registerConsumerLagMetrics,
  type PoolStats,
  type ConsumerLagSource,
} from './metrics.ts';
export {
  healthPlugin,
  runReadinessChecks,
  postgresCheck,
  migrationsCheck,
  migrationNames,
  kafkaCheck,
  type HealthCheck,
  type HealthCheckResult,
  type HealthPluginOptions,
  type ReadinessReport,
} from './health.ts';
