// Everything but the `--import` entry (instrumentation.ts), which must run before the application loads.

export {
  type HealthCheck,
  type HealthCheckResult,
  type HealthPluginOptions,
  healthPlugin,
  kafkaCheck,
  migrationNames,
  migrationsCheck,
  postgresCheck,
  type ReadinessReport,
  runReadinessChecks,
} from './health.ts';
export {
  type LoggerOptionsInput,
  loggerOptions,
  oneLineRequestLogs,
  redactedPaths,
  wantsPrettyLogs,
} from './logger.ts';
export {
  type ConsumerLagSource,
  dlqPublishes,
  httpRequestDuration,
  kafkaConsumerLag,
  kafkaMessageProcessingDuration,
  kafkaMessagesProcessed,
  metricsPlugin,
  metricsRegistry,
  type PoolStats,
  partitionMaintenanceRuns,
  pgPoolConnections,
  recordWebhookOutcome,
  registerConsumerLagMetrics,
  registerPoolMetrics,
  webhookOutcomes,
} from './metrics.ts';
export { registerModuleHooks } from './module-hooks.ts';
export { isUntracedPath } from './paths.ts';
export {
  activeTraceIds,
  injectTraceContext,
  type SpanAttributes,
  setActiveSpanAttributes,
  withExtractedContext,
  withProducerSpan,
  withSpan,
} from './spans.ts';
export { shutdownTelemetry, startTelemetry, type TelemetryOptions } from './telemetry.ts';
