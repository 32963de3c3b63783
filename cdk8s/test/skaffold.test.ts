import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KIND_GATEWAY_HTTPS_NODE_PORT, KIND_GATEWAY_NODE_PORT } from '../src/config.ts';
import { type K8sObject, REPO_ROOT, synthPlatform } from './support/manifests.ts';
import { type SkaffoldDoc, skaffoldDocs } from './support/skaffold.ts';
import { SKAFFOLD_V4BETA11_SUBSET_SCHEMA } from './support/skaffold-schema.ts';

function byName(docs: SkaffoldDoc[], name: string): SkaffoldDoc {
  const doc = docs.find((d) => d.metadata?.name === name);
  if (!doc) throw new Error(`skaffold config ${name} missing`);
  return doc;
}

/** Applies a profile's JSON patches the way skaffold does (replace/add on existing paths only). */
function applyPatches(doc: SkaffoldDoc, patches: { op?: string; path: string; value?: unknown }[]): SkaffoldDoc {
  const copy = structuredClone(doc);
  for (const p of patches) {
    const parts = p.path.split('/').slice(1);
    const last = parts.pop() as string;
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
    let node: any = copy;
    for (const part of parts) {
      node = node?.[part];
      if (node === undefined) throw new Error(`patch path ${p.path} does not exist`);
    }
    if ((p.op ?? 'replace') === 'replace' && node[last] === undefined)
      throw new Error(`patch path ${p.path} does not exist`);
    node[last] = p.value;
  }
  return copy;
}

describe('skaffold.yaml', () => {
  let docs: SkaffoldDoc[];
  let objects: K8sObject[];
  beforeAll(() => {
    docs = skaffoldDocs();
    objects = synthPlatform().objects;
  });

  it('every document validates against the v4beta11 schema subset (unknown fields rejected)', () => {
    const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(
      SKAFFOLD_V4BETA11_SUBSET_SCHEMA,
    );
    expect(docs.map((d) => d.metadata?.name)).toEqual(['operators', 'payment-manager']);
    for (const doc of docs) expect(validate(doc) ? null : validate.errors).toBeNull();
    expect(validate({ ...docs[1], manifests: { rawYAML: ['x'] } })).toBe(false);
  });

  it('the app module requires the operators module, which pins every chart version', () => {
    const app = byName(docs, 'payment-manager');
    expect(app.requires).toEqual([{ configs: ['operators'] }]);
    const releases = byName(docs, 'operators').deploy.helm.releases;
    const pins = Object.fromEntries(
      releases.map((r: { remoteChart: string; version: string }) => [r.remoteChart, r.version]),
    );
    // docs/kubernetes.md, "Pinned versions", says where each was checked.
    expect(pins).toEqual({
      'oci://quay.io/strimzi-helm/strimzi-kafka-operator': '1.2.0',
      'cloudnative-pg': '0.29.0',
      'oci://quay.io/jetstack/charts/cert-manager': 'v1.21.2',
      'oci://docker.io/envoyproxy/gateway-helm': 'v1.9.0',
    });
    for (const r of releases) {
      expect(r.version).toMatch(/^v?\d+\.\d+\.\d+$/);
      if (r.remoteChart.startsWith('oci://')) expect(r.repo).toBeUndefined();
      for (const file of r.valuesFiles ?? []) expect(existsSync(join(REPO_ROOT, file)), file).toBe(true);
    }
  });

  it('builds api and ingest locally from the Dockerfiles without pushing', () => {
    const build = byName(docs, 'payment-manager').build;
    expect(build.local.push).toBe(false);
    const artifacts = Object.fromEntries(build.artifacts.map((a: { image: string }) => [a.image, a]));
    expect(artifacts['payment-manager/api'].docker.dockerfile).toBe('deploy/api.Dockerfile');
    expect(artifacts['payment-manager/ingest'].docker.dockerfile).toBe('deploy/ingest.Dockerfile');
    for (const a of build.artifacts) {
      const dockerfile = join(REPO_ROOT, a.context ?? '.', a.docker.dockerfile);
      expect(existsSync(dockerfile), dockerfile).toBe(true);
    }
  });

  it('renders the cdk8s output: the hook runs synth, the glob matches its files, image tags are substituted', () => {
    const manifests = byName(docs, 'payment-manager').manifests;
    expect(manifests.hooks.before[0].host.command).toEqual(['node', 'cdk8s/main.ts']);
    expect(existsSync(join(REPO_ROOT, 'cdk8s/main.ts'))).toBe(true);
    // cdk8s FILE_PER_CHART output names, in dependency order.
    const files = [
      '0000-namespace',
      '0001-postgres',
      '0002-kafka',
      '0003-observability',
      '0004-app',
      '0005-gateway',
    ].map((f) => `cdk8s/dist/${f}.k8s.yaml`);
    const glob = new RegExp(`^${manifests.rawYaml[0].replace(/\./g, '\\.').replace('*', '[^/]+')}$`);
    for (const f of files) expect(f).toMatch(glob);
    // skaffold substitutes images of the artifacts in pod specs by repository name; the CNPG Cluster's image
    // lives in a custom field that resourceSelector allows.
    const allow = byName(docs, 'payment-manager').resourceSelector.allow[0];
    const cluster = objects.find((o) => o.kind === 'Cluster') as K8sObject;
    expect(allow.groupKind).toBe(`${cluster.kind}.${cluster.apiVersion.split('/')[0]}`);
    expect(allow.image).toEqual(['.spec.imageName']);
    expect(cluster.spec.imageName).toMatch(/^payment-manager\/postgres-cnpg:/);
  });

  it('runs no migrations hook: the API migrates at start-up', () => {
    expect(byName(docs, 'payment-manager').deploy.kubectl.hooks).toBeUndefined();
  });

  it('port-forwards the API on 3000 and Grafana, both to Services that exist with that port', () => {
    const forwards = byName(docs, 'payment-manager').portForward;
    const names = forwards.map((f: { resourceName: string }) => f.resourceName);
    expect(names).toEqual(['api', 'grafana']);
    expect(forwards[0].localPort).toBe(3000);
    for (const f of forwards) {
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === f.resourceName) as K8sObject;
      expect(svc.metadata.namespace).toBe(f.namespace);
      expect(svc.spec.ports.map((p: { port: number }) => p.port)).toContain(f.port);
    }
  });

  it('profiles: kind targets the kind context with the dev Secrets; dev patches the synth hook to PM_PROFILE=dev', () => {
    for (const doc of docs) {
      const kind = doc.profiles.find((p: { name: string }) => p.name === 'kind');
      expect(kind.activation[0].kubeContext).toBe('kind-payment-manager');
    }
    const app = byName(docs, 'payment-manager');
    const kind = app.profiles.find((p: { name: string }) => p.name === 'kind');
    const onKind = applyPatches(app, kind.patches);
    expect(onKind.manifests.hooks.before[0].host.command).toEqual(['env', 'PM_SECRETS=dev', 'node', 'cdk8s/main.ts']);
    const dev = app.profiles.find((p: { name: string }) => p.name === 'dev');
    const patched = applyPatches(app, dev.patches);
    expect(patched.manifests.hooks.before[0].host.command).toEqual(['env', 'PM_PROFILE=dev', 'node', 'cdk8s/main.ts']);
    // `-p kind,dev`: dev's patch applies last and keeps the dev Secrets (PM_PROFILE=dev implies PM_SECRETS=dev).
    const both = applyPatches(onKind, dev.patches);
    expect(both.manifests.hooks.before[0].host.command).toEqual(['env', 'PM_PROFILE=dev', 'node', 'cdk8s/main.ts']);
    const devObjects = synthPlatform({ PM_PROFILE: 'dev' }).objects;
    expect(devObjects.find((o) => o.kind === 'HorizontalPodAutoscaler')?.spec.minReplicas).toBe(1);
    // Every credential in the dev profile; without it no in-cluster backup store, so one fewer.
    for (const [env, count] of [
      [{ PM_PROFILE: 'dev' }, 7],
      [{ PM_SECRETS: 'dev' }, 6],
    ] as Array<[Record<string, string>, number]>)
      expect(synthPlatform(env).objects.filter((o) => o.kind === 'Secret').length, JSON.stringify(env)).toBe(count);
  });

  it('the kind cluster runs Kubernetes 1.36 and maps the Gateway node ports to localhost:80 and :443', () => {
    const cluster = parse(readFileSync(join(REPO_ROOT, 'deploy/kind/cluster.yaml'), 'utf8'));
    const kindContext = byName(docs, 'operators').profiles[0].activation[0].kubeContext;
    expect(kindContext).toBe(`kind-${cluster.name}`);
    const mappings = cluster.nodes.flatMap((n: { extraPortMappings?: unknown[] }) => n.extraPortMappings ?? []);
    expect(mappings).toEqual([
      { containerPort: KIND_GATEWAY_NODE_PORT, hostPort: 80, listenAddress: '127.0.0.1', protocol: 'TCP' },
      { containerPort: KIND_GATEWAY_HTTPS_NODE_PORT, hostPort: 443, listenAddress: '127.0.0.1', protocol: 'TCP' },
    ]);
    for (const n of cluster.nodes) expect(n.image).toMatch(/^kindest\/node:v1\.36\.\d+@sha256:[0-9a-f]{64}$/);
    // The test kube-apiserver and the local cluster are built at the node's version.
    const script = readFileSync(join(REPO_ROOT, 'scripts/kube-build.sh'), 'utf8');
    const nodeVersion = /kindest\/node:v([\d.]+)@/.exec(cluster.nodes[0].image)?.[1];
    expect(script).toContain(`KUBE_VERSION=${nodeVersion}\n`);
  });
});

describe('npm run cluster:up / cluster:down', () => {
  const scripts = ['deploy/kind/cluster-up.sh', 'deploy/kind/cluster-down.sh'];

  it('are wired in package.json (kind or the local cluster) and parse as bash', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts['cluster:up']).toBe('bash scripts/cluster.sh up');
    expect(pkg.scripts['cluster:down']).toBe('bash scripts/cluster.sh down');
    const dispatcher = readFileSync(join(REPO_ROOT, 'scripts/cluster.sh'), 'utf8');
    for (const script of scripts) expect(dispatcher).toContain(`bash ${script}`);
    execFileSync('bash', ['-n', join(REPO_ROOT, 'scripts/cluster.sh')]);
    // After the Node >= 24 preflight (scripts/require-node.mjs).
    expect(pkg.scripts.synth).toMatch(/(^|&& )node cdk8s\/main\.ts$/);
    for (const script of scripts) execFileSync('bash', ['-n', join(REPO_ROOT, script)]);
  });

  it('use the kind config, cluster name and skaffold module that exist', () => {
    const up = readFileSync(join(REPO_ROOT, scripts[0] as string), 'utf8');
    const cluster = parse(readFileSync(join(REPO_ROOT, 'deploy/kind/cluster.yaml'), 'utf8'));
    expect(up).toContain('--config deploy/kind/cluster.yaml');
    expect(up).toContain(`CLUSTER=${cluster.name}`);
    expect(up).toContain('skaffold deploy --module operators');
    expect(skaffoldDocs().map((d) => d.metadata.name)).toContain('operators');
    expect(readFileSync(join(REPO_ROOT, scripts[1] as string), 'utf8')).toContain(
      `kind delete cluster --name ${cluster.name}`,
    );
  });

  it('pass shellcheck when it is installed', (ctx) => {
    try {
      execFileSync('shellcheck', ['--version'], { stdio: 'pipe' });
    } catch {
      ctx.skip('shellcheck is not installed (apt-get install shellcheck)');
    }
    for (const script of scripts)
      expect(() => execFileSync('shellcheck', [join(REPO_ROOT, script)], { stdio: 'pipe' })).not.toThrow();
  });
});
