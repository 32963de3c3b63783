import { loadApiConfig } from '@payment-manager/api/config';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadIngestConfig } from '../../services/ingest/src/config.ts';
import { crossReferenceProblems, policyViolations, resolveEnv } from './support/checks.ts';
import { findHelm, helm, helmError } from './support/helm.ts';
import { containersOf, type K8sObject, parseYamlStream, podTemplates } from './support/manifests.ts';
import { coreSchemaErrors } from './support/schema.ts';
import { imageRepository, skaffoldArtifacts } from './support/skaffold.ts';

const CHART = 'charts/payment-manager';
const TEST_VALUES = `${CHART}/ci/test-values.yaml`;
const { bin, reason } = findHelm();

function render(bin: string, ...extra: string[]): K8sObject[] {
  return parseYamlStream(
    helm(bin, [
      'template',
      'pm',
      CHART,
      '--namespace',
      'payments',
      '--kube-version',
      '1.28.0',
      '-f',
      TEST_VALUES,
      ...extra,
    ]),
  );
}

function find(objects: K8sObject[], kind: string, suffix: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === `pm-payment-manager-${suffix}`);
  if (!o) throw new Error(`${kind} ${suffix} not rendered`);
  return o;
}

describe.skipIf(!bin)(`Helm chart ${CHART} (${reason})`, () => {
  const helmBin = bin as string;
  let objects: K8sObject[];
  beforeAll(() => {
    objects = render(helmBin);
  });

  it('passes helm lint --strict', () => {
    expect(helm(helmBin, ['lint', CHART, '--strict', '-f', TEST_VALUES])).toContain('0 chart(s) failed');
  });

  it('renders api, ingest, the migrations Job and the ingress', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      expect.arrayContaining([
        'Deployment/pm-payment-manager-api',
        'Deployment/pm-payment-manager-ingest',
        'Job/pm-payment-manager-migrate',
        'Ingress/pm-payment-manager-webhooks',
        'Secret/pm-payment-manager-db',
      ]),
    );
  });

  it('every object validates against the Kubernetes schema', async () => {
    expect(await coreSchemaErrors(objects)).toEqual([]);
  });

  it('passes the same workload policy and cross-reference checks as the cdk8s output', () => {
    expect(podTemplates(objects).length).toBe(3);
    expect(policyViolations(objects)).toEqual([]);
    expect(crossReferenceProblems(objects)).toEqual([]);
  });

  it('the services get every variable their config loaders require', () => {
    const api = loadApiConfig(resolveEnv(objects, find(objects, 'Deployment', 'api'), 'api'));
    expect(api.webhookMode).toBe('kafka');
    expect(api.pgUrl).toContain('payments-rw.db');
    const ingestEnv = resolveEnv(objects, find(objects, 'Deployment', 'ingest'), 'ingest');
    expect(loadIngestConfig(ingestEnv).webhookMode).toBe('kafka');
    expect(ingestEnv.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector.observability:4318');
    expect(resolveEnv(objects, find(objects, 'Job', 'migrate'), 'migrate').PG_URL).toBe(api.pgUrl);
  });

  it('the migrations Job is a pre-install/pre-upgrade hook that runs after its Secret', () => {
    const job = find(objects, 'Job', 'migrate');
    const secret = find(objects, 'Secret', 'db');
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(secret.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(Number(secret.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(
      Number(job.metadata.annotations?.['helm.sh/hook-weight']),
    );
    expect(job.metadata.annotations?.['helm.sh/hook-delete-policy']).toBe('before-hook-creation');
    expect(job.spec.template.spec.containers[0].args).toEqual(['node', 'services/api/src/migrate.ts']);
  });

  it('images are the skaffold artifacts, tagged with the appVersion', () => {
    const images = podTemplates(objects).flatMap((p) => containersOf(p.spec).map((c) => c.image as string));
    for (const image of images) {
      expect(skaffoldArtifacts()).toContain(imageRepository(image));
      expect(image).toMatch(/:0\.1\.0$/);
    }
  });

  it('routes /webhooks to ingest through the nginx class', () => {
    const ingress = find(objects, 'Ingress', 'webhooks');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.rules[0].http.paths[0].backend.service.name).toBe('pm-payment-manager-ingest');
  });

  it('with existing Secrets the chart creates none and references them', () => {
    const rendered = render(
      helmBin,
      '--set',
      'database.existingSecret=pg-from-vault',
      '--set',
      'webhook.existingSecret=wh-from-vault',
    );
    expect(rendered.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(
      crossReferenceProblems(rendered, {
        externalSecrets: { 'pg-from-vault': ['PG_URL'], 'wh-from-vault': ['WEBHOOK_SECRET'] },
      }),
    ).toEqual([]);
    expect(crossReferenceProblems(rendered)).toContain(
      'Deployment/-/pm-payment-manager-api container api: env PG_URL references missing Secret pg-from-vault',
    );
  });

  it('refuses to render without required values, with a latest tag, for Kubernetes < 1.28, or with invalid values', () => {
    expect(helmError(helmBin, ['template', 'pm', CHART])).toMatch(/database\.url is required/);
    expect(helmError(helmBin, ['template', 'pm', CHART, '-f', TEST_VALUES, '--set', 'kafka.brokers='])).toMatch(
      /kafka\.brokers is required/,
    );
    // values.schema.json refuses a latest tag; the template's own guard (pm.image) backs it up.
    expect(helmError(helmBin, ['template', 'pm', CHART, '-f', TEST_VALUES, '--set', 'image.api.tag=latest'])).toMatch(
      /image\.api\.tag/,
    );
    expect(helmError(helmBin, ['template', 'pm', CHART, '-f', TEST_VALUES, '--kube-version', '1.27.0'])).toMatch(
      /kubeVersion/,
    );
    // Typos and wrong types are refused by values.schema.json before any template runs.
    const invalid = (set: string) => helmError(helmBin, ['template', 'pm', CHART, '-f', TEST_VALUES, '--set', set]);
    expect(invalid('api.replicas=two')).toMatch(/api\.replicas/);
    expect(invalid('kafka.broker=x:9092')).toMatch(/Additional property broker is not allowed/);
    expect(invalid('logLevel=verbose')).toMatch(/logLevel/);
    expect(invalid('silvergate.timeout=20 seconds')).toMatch(/silvergate\.timeout/);
  });
});

describe('Helm availability', () => {
  it('reports how the chart is rendered', (ctx) => {
    if (!bin) ctx.skip(`Helm chart tests skipped: ${reason}`);
    expect(helm(bin as string, ['version', '--short'])).toMatch(/^v3\./);
  });
});
