import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadPlatformConfig, REPO_ROOT } from '../../src/config.ts';
import { buildPlatform } from '../../src/platform.ts';
import { CREDENTIALS } from '../../src/secrets.ts';

/** A Kubernetes object as plain JSON. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked structurally, field by field
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: idem
  [key: string]: any;
}

export { REPO_ROOT };

/**
 * Synthesizes the cdk8s app in-process (no files written) with PM_* overrides; returns objects and warnings.
 * `deployed: true` adds the Secrets the objects reference but (PM_SECRETS=existing, the default) do not create, as
 * the operator of the cluster would have created them (with the development values): what the namespace holds
 * once the platform runs, for the checks that follow references into Secrets.
 */
export function synthPlatform(
  env: Record<string, string> = {},
  opts: { deployed?: boolean } = {},
): { objects: K8sObject[]; warnings: string[] } {
  const warnings: string[] = [];
  const config = loadPlatformConfig({ ...env });
  const app = buildPlatform(config, {
    warn: (m) => warnings.push(m),
    outdir: join(REPO_ROOT, 'cdk8s/dist-test-unused'),
  });
  const objects = app.charts.flatMap((chart) => chart.toJson() as K8sObject[]);
  if (opts.deployed) {
    const dev = loadPlatformConfig({ ...env, PM_SECRETS: 'dev' }).secrets;
    for (const id of config.secrets.inUse) {
      const { name } = config.secrets.credentials[id];
      if (objects.some((o) => o.kind === 'Secret' && o.metadata.name === name)) continue;
      objects.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: config.namespace },
        type: CREDENTIALS[id].type,
        stringData: dev.credentials[id].data,
      });
    }
  }
  return { objects, warnings };
}

/**
 * Published credentials (src/secrets.ts publishedValues) found in the objects' string values: a value equal to one,
 * or holding one as a token (split at whitespace and , : @ / = quotes), e.g. a password inside a URL. Returns
 * `<kind>/<name>: <path>` per finding, never the value.
 */
export function publishedValuesIn(objects: unknown[], published: Set<string>): string[] {
  const found: string[] = [];
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      const tokens = [value, ...value.split(/[\s,:@/='"]+/)];
      if (tokens.some((t) => published.has(t) || published.has(t.replace(/^whsec_/, '')))) found.push(path);
    } else if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, `${path}[${i}]`);
    } else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
  };
  for (const o of objects as K8sObject[]) visit(o, `${o?.kind}/${o?.metadata?.name}:`);
  return found;
}

export function parseYamlStream(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** Every YAML document in every .yaml/.yml file of a directory tree. */
export function readYamlDir(dir: string): K8sObject[] {
  if (!existsSync(dir)) return [];
  const out: K8sObject[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) {
      out.push(...parseYamlStream(readFileSync(join(entry.parentPath, entry.name), 'utf8')));
    }
  }
  return out;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;

export interface PodTemplateOf {
  owner: K8sObject;
  labels: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: pod spec as plain JSON
  spec: any;
}

export function podTemplates(objects: K8sObject[]): PodTemplateOf[] {
  const out: PodTemplateOf[] = [];
  for (const o of objects) {
    if (!(WORKLOAD_KINDS as readonly string[]).includes(o.kind)) continue;
    const template = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template : o.spec?.template;
    out.push({ owner: o, labels: template?.metadata?.labels ?? {}, spec: template?.spec ?? {} });
  }
  return out;
}

/** A pod spec we define, directly (workload template) or as the part of a custom resource an operator turns into pods. */
export interface SecuredPodSpec {
  where: string;
  // biome-ignore lint/suspicious/noExplicitAny: pod spec as plain JSON
  spec: any;
}

/**
 * Every pod spec of the manifests, with the security contexts it will run with: our workloads' templates, and for
 * the operators' custom resources the contexts they pass on to their pods: a CloudNativePG Cluster's
 * podSecurityContext / securityContext (each instance's containers), Strimzi's Kafka template (brokers; node pools
 * without their own template inherit it) and entity operator template.
 */
export function securedPodSpecs(objects: K8sObject[]): SecuredPodSpec[] {
  const out: SecuredPodSpec[] = podTemplates(objects).map((p) => ({ where: id(p.owner), spec: p.spec }));
  for (const o of objects) {
    if (o.kind === 'Cluster' && o.apiVersion.startsWith('postgresql.cnpg.io/')) {
      const container = { securityContext: o.spec?.securityContext };
      out.push({
        where: id(o),
        spec: {
          securityContext: o.spec?.podSecurityContext ?? { seccompProfile: o.spec?.seccompProfile },
          initContainers: [{ name: 'bootstrap-controller', ...container }],
          containers: [{ name: 'postgres', ...container }],
        },
      });
    }
    if (o.kind === 'Kafka' && o.apiVersion.startsWith('kafka.strimzi.io/')) {
      const t = o.spec?.kafka?.template ?? {};
      out.push({
        where: `${id(o)} brokers`,
        spec: {
          securityContext: t.pod?.securityContext,
          initContainers: [{ name: 'kafka-init', securityContext: t.initContainer?.securityContext }],
          containers: [{ name: 'kafka', securityContext: t.kafkaContainer?.securityContext }],
        },
      });
      const eo = o.spec?.entityOperator;
      if (eo) {
        const e = eo.template ?? {};
        const containers = [
          ...(eo.topicOperator
            ? [{ name: 'topic-operator', securityContext: e.topicOperatorContainer?.securityContext }]
            : []),
          ...(eo.userOperator
            ? [{ name: 'user-operator', securityContext: e.userOperatorContainer?.securityContext }]
            : []),
        ];
        out.push({ where: `${id(o)} entity operator`, spec: { securityContext: e.pod?.securityContext, containers } });
      }
    }
    if (o.kind === 'KafkaNodePool' && o.spec?.template) {
      const t = o.spec.template;
      out.push({
        where: id(o),
        spec: {
          securityContext: t.pod?.securityContext,
          containers: [{ name: 'kafka', securityContext: t.kafkaContainer?.securityContext }],
        },
      });
    }
  }
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: container as plain JSON
export function containersOf(spec: any): any[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

export function id(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.namespace ?? '-'}/${o.metadata?.name}`;
}

export function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
