import { REPO_ROOT, readStateFile } from './discovery.ts';

/**
 * The OpenTelemetry Collector and Tempo that `scripts/observability-stack.sh start` runs with the project's own
 * configs. Taken from PM_TEST_OTLP_ENDPOINT / PM_TEST_TEMPO_URL (CI sets them), else from the exports the script
 * writes to `.data/observability-stack.env`. Without either, suites that need them are skipped with this reason.
 */
export interface ObservabilityStack {
  /** OTLP/HTTP base URL of the Collector, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint: string;
  /** Tempo's HTTP API (search, traces by id, tag values), as Grafana's Tempo datasource uses it. */
  tempoUrl: string;
  /** The Collector binary built from deploy/otel-collector/builder-config.yaml, when known. */
  collectorBinary: string | null;
}

const STACK_ENV_FILE = `${REPO_ROOT}.data/observability-stack.env`;

export function findObservabilityStack(): { stack: ObservabilityStack } | { missing: string } {
  const fromFile = readStateFile(STACK_ENV_FILE);
  const value = (name: string) => process.env[name]?.trim() || fromFile[name] || null;
  const otlpEndpoint = value('PM_TEST_OTLP_ENDPOINT');
  const tempoUrl = value('PM_TEST_TEMPO_URL');
  if (!otlpEndpoint || !tempoUrl) {
    return {
      missing:
        'PM_TEST_OTLP_ENDPOINT and PM_TEST_TEMPO_URL are unset; scripts/test-all.sh starts the Collector and Tempo ' +
        '(locally: eval "$(scripts/observability-stack.sh start)")',
    };
  }
  return {
    stack: {
      otlpEndpoint: otlpEndpoint.replace(/\/+$/, ''),
      tempoUrl: tempoUrl.replace(/\/+$/, ''),
      collectorBinary: value('PM_TEST_OTELCOL_BIN'),
    },
  };
}
