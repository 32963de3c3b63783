import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Applier, loadKubeConfig, waitForCrdsEstablished } from '../../cluster/kube.ts';
import { gatewayCrdsDir } from './crds.ts';
import { type K8sObject, REPO_ROOT, readYamlDir, synthPlatform } from './manifests.ts';

/** Kubeconfig of the test kube-apiserver: $PM_TEST_KUBE_APISERVER, or the one scripts/kube-apiserver.sh wrote. */
export function testKubeconfig(): string {
  const written = join(REPO_ROOT, '.data/kube-apiserver/kubeconfig');
  return process.env.PM_TEST_KUBE_APISERVER || (existsSync(written) ? written : '');
}

export const KUBE_SKIP_REASON =
  'SKIPPED: PM_TEST_KUBE_APISERVER is unset; scripts/test-all.sh (or `eval "$(scripts/kube-apiserver.sh start)"`) provides it';

/** The operators' and Gateway API's CRDs (../shared/crds-next or $PM_CRDS_DIR) plus Envoy Gateway's (deploy/crds). */
export const CRDS_DIR = process.env.PM_CRDS_DIR ?? join(REPO_ROOT, '../shared/crds-next');

/** Installs every CRD and waits until the server serves their resources. */
export async function installCrds(kc: KubeConfig, applier: Applier): Promise<void> {
  const crds = [...readYamlDir(CRDS_DIR), ...readYamlDir(gatewayCrdsDir())].filter(
    (o) => o.kind === 'CustomResourceDefinition',
  );
  if (crds.length === 0) throw new Error(`no CustomResourceDefinitions in ${CRDS_DIR}`);
  const rejected = await applier.applyAll(crds as KubernetesObject[]);
  if (rejected.length) throw new Error(`CRDs rejected: ${JSON.stringify(rejected)}`);
  await waitForCrdsEstablished(
    kc,
    crds.map((c) => c.metadata.name),
  );
}

/** A synthesis (PM_* overrides) server-side applied to the test kube-apiserver, CRDs first; throws on any rejection. */
export async function applyPlatform(
  kubeconfig: string,
  env: Record<string, string>,
): Promise<{ kc: KubeConfig; applier: Applier; objects: K8sObject[] }> {
  const kc = loadKubeConfig(kubeconfig);
  const applier = new Applier(kc);
  await installCrds(kc, applier);
  const { objects } = synthPlatform(env);
  const rejected = await applier.applyAll(objects as KubernetesObject[]);
  if (rejected.length) throw new Error(`apply rejected: ${JSON.stringify(rejected)}`);
  return { kc, applier, objects };
}
