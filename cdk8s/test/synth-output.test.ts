import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishedValues } from '../src/secrets.ts';
import { parseYamlStream, publishedValuesIn, REPO_ROOT, synthPlatform } from './support/manifests.ts';
import { skaffoldDocs } from './support/skaffold.ts';

/** What skaffold deploys is the YAML that `node cdk8s/main.ts` writes, so check those files, not only objects. */
describe('npm run synth output (the files skaffold renders)', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'pm-synth-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const synth = (env: Record<string, string> = {}) =>
    execFileSync(process.execPath, ['cdk8s/main.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      // Defaults only, as synthPlatform() uses: PM_* settings of the caller's shell must not leak in.
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PM_'))),
        CDK8S_OUTDIR: outdir,
        ...env,
      },
    });

  it('writes one file per chart, matched by the rawYaml glob, whose YAML equals the in-process synthesis', () => {
    const stdout = synth();
    expect(stdout).toContain(`synthesized to ${outdir}`);
    const files = readdirSync(outdir).sort();
    expect(files).toEqual([
      '0000-namespace.k8s.yaml',
      '0001-postgres.k8s.yaml',
      '0002-kafka.k8s.yaml',
      '0003-observability.k8s.yaml',
      '0004-app.k8s.yaml',
      '0005-gateway.k8s.yaml',
      '0006-network.k8s.yaml',
    ]);
    const glob = skaffoldDocs().find((d) => d.metadata.name === 'payment-manager').manifests.rawYaml[0] as string;
    expect(glob).toBe('cdk8s/dist/*.k8s.yaml');
    const fromFiles = files.flatMap((f) => parseYamlStream(readFileSync(join(outdir, f), 'utf8')));
    expect(fromFiles).toEqual(synthPlatform().objects);
    // The namespace comes first: kubectl applies the stream in order.
    expect(fromFiles[0]?.kind).toBe('Namespace');
    // No credential by default (docs/security.md): no Secret, no value published in this repository.
    expect(fromFiles.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(publishedValuesIn(fromFiles, publishedValues(REPO_ROOT))).toEqual([]);
  });

  it('starts from a clean directory: a Citus synth after a CloudNativePG one leaves no 0001-postgres behind', () => {
    synth();
    writeFileSync(join(outdir, 'notes.txt'), 'not ours');
    synth({ PM_POSTGRES: 'citus' });
    const files = readdirSync(outdir).sort();
    expect(files).toContain('0001-citus.k8s.yaml');
    expect(files).not.toContain('0001-postgres.k8s.yaml');
    // Only manifests are removed: anything else in a user-chosen directory stays.
    expect(files).toContain('notes.txt');
  });
});
