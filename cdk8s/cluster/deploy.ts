/**
 * `npm run cluster:deploy`: the cdk8s app's objects for the current PM_* settings, synthesized in-process and
 * server-side applied to the current kube context — the same objects `npm run synth` writes and the Helm chart
 * carries. CRDs the objects need and that no operator installs (the Gateway API's, in the standalone stack) are
 * applied first and awaited until Established.
 *
 *   npm run cluster:deploy                      apply to the current context of $KUBECONFIG / ~/.kube/config
 *   npm run cluster:deploy -- --images          print the images the objects run, one per line, and exit
 */
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { clusterPrerequisites } from '../src/cluster-prerequisites.ts';
import { loadPlatformConfig, type PlatformConfig } from '../src/config.ts';
import { buildPlatform } from '../src/platform.ts';
import { expectedExistingSecrets } from '../src/secrets.ts';
import { Applier, isNotFound, loadKubeConfig, waitForCrdsEstablished } from './kube.ts';

/** The platform's objects, in the chart order that applies in a working order (namespace first). */
export function platformObjects(config: PlatformConfig): KubernetesObject[] {
  return buildPlatform(config, { outdir: 'unused' }).charts.flatMap((c) => c.toJson()) as KubernetesObject[];
}

/** Every container image the objects run, each once, in order of first use. */
export function imagesOf(objects: KubernetesObject[]): string[] {
  const images = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) visit(item);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if ((key === 'containers' || key === 'initContainers') && Array.isArray(inner)) {
          for (const container of inner) if (typeof container?.image === 'string') images.add(container.image);
        } else visit(inner);
      }
    }
  };
  visit(objects);
  return [...images];
}

/**
 * The Secrets the objects reference but this synth does not create (PM_SECRETS=existing) and the namespace lacks.
 * Checked before anything is applied: pods would otherwise wait in CreateContainerConfigError.
 */
export async function missingSecrets(kc: KubeConfig, config: PlatformConfig): Promise<string[]> {
  if (config.secrets.source !== 'existing') return [];
  const core = kc.makeApiClient(CoreV1Api);
  const missing: string[] = [];
  const expected = expectedExistingSecrets(config.secrets);
  for (const [name, keys] of Object.entries(expected)) {
    try {
      const secret = await core.readNamespacedSecret({ name, namespace: config.namespace });
      const lacking = keys.filter((key) => secret.data?.[key] === undefined);
      if (lacking.length) missing.push(`${name} (keys ${lacking.join(', ')})`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      missing.push(name);
    }
  }
  return missing;
}

export async function deployPlatform(
  kc: KubeConfig,
  config: PlatformConfig,
  log: (line: string) => void,
): Promise<void> {
  const missing = await missingSecrets(kc, config);
  if (missing.length)
    throw new Error(
      `namespace ${config.namespace} lacks the Secrets ${missing.join(', ')}: create them (docs/security.md), ` +
        'use PM_SECRETS=external with a secret store, or PM_SECRETS=dev on a development cluster',
    );
  const applier = new Applier(kc);
  const crds = clusterPrerequisites(config) as KubernetesObject[];
  if (crds.length) {
    const rejected = await applier.applyAll(crds);
    if (rejected.length) throw new Error(rejected.map((r) => `${r.object}: ${r.message}`).join('; '));
    await waitForCrdsEstablished(
      kc,
      crds.map((crd) => crd.metadata?.name as string),
    );
    log(`${crds.length} CRDs established`);
  }
  const objects = platformObjects(config);
  const rejected = await applier.applyAll(objects);
  if (rejected.length) throw new Error(rejected.map((r) => `${r.object}: ${r.message}`).join('; '));
  const kinds = new Map<string, number>();
  for (const o of objects) kinds.set(o.kind as string, (kinds.get(o.kind as string) ?? 0) + 1);
  log(
    `applied ${objects.length} objects to namespace ${config.namespace}: ` +
      [...kinds].map(([kind, n]) => `${n} ${kind}`).join(', '),
  );
}

async function main(): Promise<number> {
  const { values } = parseCli({
    command: 'npm run cluster:deploy --',
    summary:
      'Server-side applies the objects of the cdk8s app (and the CRDs they need that no operator installs) to the ' +
      'current kube context.',
    options: {
      images: { type: 'boolean', description: 'print the images the objects run, one per line, and exit' },
      kubeconfig: {
        type: 'string',
        valueName: '<path>',
        description: 'kubeconfig file (default: KUBECONFIG or ~/.kube/config)',
      },
    },
    environment: { 'PM_*': 'the synth settings of docs/kubernetes.md, as for npm run synth' },
  });
  const config = loadPlatformConfig(process.env);
  if (values.images) {
    for (const image of imagesOf(platformObjects(config))) console.log(image);
    return 0;
  }
  const kc = loadKubeConfig(values.kubeconfig);
  console.log(`cluster:deploy to ${kc.getCurrentCluster()?.server} (context ${kc.getCurrentContext()})`);
  await deployPlatform(kc, config, (line) => console.log(line));
  return 0;
}

if (import.meta.filename === process.argv[1]) {
  oneLineErrors('cluster:deploy');
  process.exitCode = await main();
}
