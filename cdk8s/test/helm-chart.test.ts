import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, renderHelmChart } from '../src/helm-chart.ts';

function committedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(CHART_DIR, join(entry.parentPath, entry.name)))
    .sort();
}

describe('charts/payment-manager (generated from cdk8s)', () => {
  const rendered = renderHelmChart();

  it('is in sync with the cdk8s app (run `npm run chart` after changing cdk8s)', () => {
    expect(committedFiles(CHART_DIR)).toEqual([...rendered.keys()].sort());
    for (const [path, content] of rendered) {
      expect(readFileSync(join(CHART_DIR, path), 'utf8'), `${path} is stale: npm run chart`).toBe(content);
    }
  });

  it('holds every synthesized object, with Go-template braces escaped so Helm renders them verbatim', () => {
    const templates = [...rendered].filter(([path]) => path.startsWith('templates/'));
    expect(templates.length).toBeGreaterThan(0);
    for (const [path, content] of templates) {
      expect(content.replaceAll('{{ "{{" }}', ''), path).not.toContain('{{');
      const documents = parseAllDocuments(content.replaceAll('{{ "{{" }}', '{{'));
      expect(
        documents.every((doc) => doc.errors.length === 0 && typeof doc.get('kind') === 'string'),
        path,
      ).toBe(true);
    }
  });
});
