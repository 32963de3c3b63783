/**
 * Grafana as code: the collector, Tempo, Loki, Prometheus and Grafana files parse, reference each other
 * consistently, and every dashboard query names only series the services really export.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { metricsRegistry } from '../src/observability/metrics.ts';

const deployDir = new URL('../../../deploy/', import.meta.url).pathname;
const read = (relative: string) => readFileSync(path.join(deployDir, relative), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: parsed configuration documents are checked field by field
const readYaml = (relative: string): any => parse(read(relative), { prettyErrors: true, strict: true });
const filesIn = (relative: string, extension: string) =>
  readdirSync(path.join(deployDir, relative))
    .filter((file) => file.endsWith(extension))
    .map((file) => path.join(relative, file));

interface Target {
  datasource?: { uid?: string; type?: string };
  expr?: string;
  query?: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

const dashboardFiles = filesIn('grafana/dashboards', '.json');
const dashboards = dashboardFiles.map((file) => ({
  file,
  json: JSON.parse(read(file)) as {
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: Array<{ query?: unknown }> };
  },
}));

async function exportedSeriesNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await metricsRegistry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
    if (String(metric.type) === 'summary') {
      for (const suffix of ['_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

/** Metric names in a PromQL expression: our `dpm_` series (label values and strings removed first). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:\\.|[^"\\])*"/g, '""');
  return [...withoutStrings.matchAll(/\b(dpm_[a-zA-Z0-9_:]+)/g)].map((match) => match[1] as string);
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

describe('observability configuration files', () => {
  it('are valid YAML without unescaped Grafana interpolation', () => {
    const yamlFiles = [
      'otel-collector/config.yaml',
      'tempo/tempo.yaml',
      'loki/loki.yaml',
      'prometheus/prometheus.yml',
      ...filesIn('grafana/provisioning/datasources', '.yaml'),
      ...filesIn('grafana/provisioning/dashboards', '.yaml'),
    ];
    for (const file of yamlFiles) expect(readYaml(file), file).toBeTypeOf('object');
    for (const file of filesIn('grafana/provisioning/datasources', '.yaml')) {
      // Grafana expands $VAR and ${VAR} in provisioning files; literal dollars of Grafana macros must be $$.
      expect(read(file).replace(/\$\$/g, ''), file).not.toMatch(/\$[{A-Za-z_]/);
    }
  });

  it('link Tempo, Loki and Prometheus in the Grafana datasources', () => {
    const { datasources } = readYaml('grafana/provisioning/datasources/datasources.yaml');
    const byUid = new Map(datasources.map((source: { uid: string }) => [source.uid, source]));
    expect([...byUid.keys()].sort()).toEqual(['loki', 'prometheus', 'tempo']);
    // biome-ignore lint/suspicious/noExplicitAny: provisioning document
    const tempo = byUid.get('tempo') as any;
    expect(tempo.type).toBe('tempo');
    expect(byUid.has(tempo.jsonData.tracesToLogsV2.datasourceUid)).toBe(true);
    expect(byUid.has(tempo.jsonData.tracesToMetrics.datasourceUid)).toBe(true);
    expect(byUid.has(tempo.jsonData.serviceMap.datasourceUid)).toBe(true);
    // biome-ignore lint/suspicious/noExplicitAny: provisioning document
    const loki = byUid.get('loki') as any;
    expect(loki.jsonData.derivedFields[0].datasourceUid).toBe('tempo');
    const { providers } = readYaml('grafana/provisioning/dashboards/dashboards.yaml');
    expect(providers[0].options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('route OTLP from the collector to Tempo and Loki, and scrape both services', () => {
    const collector = readYaml('otel-collector/config.yaml');
    for (const [name, pipeline] of Object.entries(collector.service.pipelines) as Array<
      [string, { receivers: string[]; processors: string[]; exporters: string[] }]
    >) {
      for (const receiver of pipeline.receivers)
        expect(collector.receivers, `${name} ${receiver}`).toHaveProperty([receiver]);
      for (const processor of pipeline.processors)
        expect(collector.processors, `${name} ${processor}`).toHaveProperty([processor]);
      for (const exporter of pipeline.exporters)
        expect(collector.exporters, `${name} ${exporter}`).toHaveProperty([exporter]);
    }
    expect(collector.service.pipelines.traces.exporters).toContain('otlp/tempo');
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    const tempo = readYaml('tempo/tempo.yaml');
    // Tempo runs with -config.expand-env=true; compose and Kubernetes get the default after `:-`.
    expect(tempo.distributor.receivers.otlp.protocols.grpc.endpoint).toMatch(
      /^\$\{TEMPO_OTLP_GRPC_LISTEN:-0\.0\.0\.0:4317\}$/,
    );
    const prometheus = readYaml('prometheus/prometheus.yml');
    const targets = prometheus.scrape_configs.flatMap((job: { static_configs: Array<{ targets: string[] }> }) =>
      job.static_configs.flatMap((config) => config.targets),
    );
    expect(targets).toEqual(expect.arrayContaining(['api:3000', 'ingest:3001']));
  });

  it('provide the two dashboards with unique uids and panel ids', () => {
    expect(dashboards.map((dashboard) => dashboard.json.title).sort()).toEqual(['Service health', 'Webhook pipeline']);
    expect(new Set(dashboards.map((dashboard) => dashboard.json.uid)).size).toBe(dashboards.length);
    for (const { file, json } of dashboards) {
      const ids = allPanels(json.panels).map((panel) => panel.id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
  });

  it('query only metrics the services register, through provisioned datasources', async () => {
    const exported = await exportedSeriesNames();
    const { datasources } = readYaml('grafana/provisioning/datasources/datasources.yaml');
    const uids = new Set(datasources.map((source: { uid: string }) => source.uid));
    let promQueries = 0;
    for (const { file, json } of dashboards) {
      for (const panel of allPanels(json.panels)) {
        if (panel.type === 'row') continue;
        expect(panel.targets?.length, `${file} "${panel.title}" has no query`).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          const uid = target.datasource?.uid ?? panel.datasource?.uid;
          expect(uids.has(uid), `${file} "${panel.title}" datasource ${uid}`).toBe(true);
          if (uid !== 'prometheus') continue;
          promQueries += 1;
          const names = metricNames(target.expr ?? '');
          expect(names.length, `${file} "${panel.title}" ${target.expr}`).toBeGreaterThan(0);
          for (const name of names)
            expect(exported.has(name), `${file} "${panel.title}" uses unknown ${name}`).toBe(true);
        }
      }
      for (const variable of json.templating.list) {
        const query = JSON.stringify(variable.query ?? '');
        for (const name of metricNames(query))
          expect(exported.has(name), `${file} variable uses unknown ${name}`).toBe(true);
      }
    }
    expect(promQueries).toBeGreaterThan(20);
  });

  it('finds unknown metric names (the check above is not vacuous)', () => {
    expect(metricNames('sum(rate(dpm_nope_total{job="dpm_in_label"}[5m])) / dpm_other')).toEqual([
      'dpm_nope_total',
      'dpm_other',
    ]);
  });
});
