import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadPlatformConfig, REPO_ROOT } from '../src/config.ts';
import { CHART_DIR, renderHelmChart } from '../src/helm-chart.ts';
import { buildPlatform } from '../src/platform.ts';
import { publishedValues } from '../src/secrets.ts';
import { parseYamlStream, publishedValuesIn } from './support/manifests.ts';

function committedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(CHART_DIR, join(entry.parentPath, entry.name)))
    .sort();
}

const VALUE_REF = /\{\{ \.Values\.([A-Za-z.]+) \| quote \}\}/g;
const IF_STORE = /^\{\{- if \.Values\.secrets\.externalSecrets\.store \}\}\n|^\{\{- end \}\}\n/gm;

/** What `helm template` does with these templates: value references, the one `if`, the escaped braces. */
function renderLikeHelm(template: string, values: Record<string, unknown>): string {
  const lookup = (path: string) =>
    path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], values);
  const store = lookup('secrets.externalSecrets.store');
  if (IF_STORE.test(template) && !store) return '';
  return template
    .replace(IF_STORE, '')
    .replace(VALUE_REF, (_, path: string) => JSON.stringify(lookup(path)))
    .replaceAll('{{ "{{" }}', '{{');
}

describe('charts/payment-manager (generated from cdk8s)', () => {
  const rendered = renderHelmChart();
  const values = parse(rendered.get('values.yaml') as string) as Record<string, unknown>;
  const templates = [...rendered].filter(([path]) => path.startsWith('templates/'));

  it('is in sync with the cdk8s app (run `npm run chart` after changing cdk8s)', () => {
    expect(committedFiles(CHART_DIR)).toEqual([...rendered.keys()].sort());
    for (const [path, content] of rendered) {
      expect(readFileSync(join(CHART_DIR, path), 'utf8'), `${path} is stale: npm run chart`).toBe(content);
    }
  });

  it('holds every synthesized object, braces escaped; the only template actions read the secrets values', () => {
    expect(templates.length).toBeGreaterThan(0);
    for (const [path, content] of templates) {
      const actions = content.replaceAll('{{ "{{" }}', '').replace(VALUE_REF, '').replace(IF_STORE, '');
      expect(actions, path).not.toContain('{{');
      const documents = parseAllDocuments(renderLikeHelm(content, values));
      expect(
        documents.every((doc) => doc.errors.length === 0 && typeof doc.get('kind') === 'string'),
        path,
      ).toBe(true);
    }
  });

  it('rendered with its default values, it is exactly the default synth (npm run synth)', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'pm-chart-test-'));
    try {
      buildPlatform(loadPlatformConfig({}), { outdir }).synth();
      for (const name of readdirSync(outdir).filter((f) => f.endsWith('.k8s.yaml'))) {
        const template = rendered.get(`templates/${name.replace(/\.k8s\.yaml$/, '.yaml')}`) as string;
        expect(parseYamlStream(renderLikeHelm(template, values)), name).toEqual(
          parseYamlStream(readFileSync(join(outdir, name), 'utf8')),
        );
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
    // Without a store, no ExternalSecret.
    expect(renderLikeHelm(rendered.get('templates/external-secrets.yaml') as string, values)).toBe('');
  });

  it('the committed chart contains no secret material: no Secret object, no value published in this repository', () => {
    const published = publishedValues(REPO_ROOT);
    expect(published.size).toBeGreaterThan(5);
    const store = structuredClone(values) as { secrets: { externalSecrets: { store: string } } };
    store.secrets.externalSecrets.store = 'vault';
    const committed = committedFiles(CHART_DIR).filter((path) => path.startsWith('templates/'));
    expect(committed.length).toBe(templates.length);
    for (const path of committed) {
      const content = readFileSync(join(CHART_DIR, path), 'utf8');
      for (const rendering of [values, store]) {
        const objects = parseYamlStream(renderLikeHelm(content, rendering));
        expect(
          objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name),
          path,
        ).toEqual([]);
        expect(publishedValuesIn(objects, published), path).toEqual([]);
      }
    }
  });

  it('names the Secrets through values, and reads them from a secret store when one is named', () => {
    const custom = structuredClone(values) as { secrets: Record<string, Record<string, string>> };
    for (const [id, ref] of Object.entries(custom.secrets))
      if ('existingSecret' in ref) ref.existingSecret = `my-${id}`;
    Object.assign(custom.secrets.externalSecrets as object, { store: 'vault', storeKind: 'SecretStore' });
    const app = parseAllDocuments(renderLikeHelm(rendered.get('templates/0004-app.yaml') as string, custom)).map((d) =>
      d.toJSON(),
    );
    const ingest = app.find((o) => o.kind === 'Deployment' && o.metadata.name === 'ingest');
    const env = ingest.spec.template.spec.containers[0].env;
    expect(env.find((e: { name: string }) => e.name === 'WEBHOOK_SECRET').valueFrom.secretKeyRef.name).toBe(
      'my-webhook',
    );
    const external = parseAllDocuments(
      renderLikeHelm(rendered.get('templates/external-secrets.yaml') as string, custom),
    ).map((d) => d.toJSON());
    // The chart is the default synth: every credential in use there (no dev backup store).
    expect(external.map((o) => o.metadata.name).sort()).toEqual(
      loadPlatformConfig({})
        .secrets.inUse.map((id) => `my-${id}`)
        .sort(),
    );
    for (const o of external) {
      expect(o.spec.secretStoreRef).toEqual({ name: 'vault', kind: 'SecretStore' });
      expect(o.spec.dataFrom).toEqual([{ extract: { key: o.metadata.name } }]);
    }
  });
});
