/**
 * Every synthesized object, server-side applied to a real kube-apiserver (scripts/kube-apiserver.sh) with the
 * operators' and Gateway API's CRDs installed: the server's own validation, defaulting, structural schemas and
 * CEL rules judge the manifests as a kind cluster would. No kubelet or controllers run, so nothing schedules.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Applier, isNotFound, loadKubeConfig } from '../cluster/kube.ts';
import { clusterPrerequisites } from '../src/cluster-prerequisites.ts';
import { installCrds, KUBE_SKIP_REASON, testKubeconfig } from './support/apiserver.ts';
import { type K8sObject, parseYamlStream, REPO_ROOT, synthPlatform } from './support/manifests.ts';
import { isCoreApi } from './support/schema.ts';

const KUBECONFIG = testKubeconfig();

/** One namespace per synth variant, so that each variant is applied whole and on its own. */
const VARIANTS: Array<[label: string, env: Record<string, string>]> = [
  ['default (CloudNativePG, 3 Kafka brokers)', { PM_NAMESPACE: 'apply-default' }],
  ['citus', { PM_NAMESPACE: 'apply-citus', PM_POSTGRES: 'citus' }],
  ['dev profile', { PM_NAMESPACE: 'apply-dev', PM_PROFILE: 'dev' }],
  ['standalone stack (no operators)', { PM_NAMESPACE: 'apply-standalone', PM_STACK: 'standalone' }],
  // The standalone stack with cert-manager (its CRDs from deploy/crds/cert-manager-v1.21.2), HTTPS on other ports.
  [
    'standalone stack, cert-manager',
    {
      PM_NAMESPACE: 'apply-standalone-cm',
      PM_STACK: 'standalone',
      PM_GATEWAY_TLS: 'cert-manager',
      PM_GATEWAY_NODE_PORT: '30082',
      PM_GATEWAY_HTTPS_NODE_PORT: '30445',
    },
  ],
  // Node ports are unique cluster-wide: the second Traefik Service needs its own.
  [
    'standalone stack, dev profile',
    {
      PM_NAMESPACE: 'apply-standalone-dev',
      PM_STACK: 'standalone',
      PM_PROFILE: 'dev',
      PM_GATEWAY_NODE_PORT: '30081',
      PM_GATEWAY_HTTPS_NODE_PORT: '30444',
    },
  ],
];

const title = `synthesized manifests on a real kube-apiserver${KUBECONFIG ? '' : ` (${KUBE_SKIP_REASON})`}`;

describe.skipIf(!KUBECONFIG)(title, () => {
  let applier: Applier;

  beforeAll(async () => {
    const kc = loadKubeConfig(KUBECONFIG);
    applier = new Applier(kc);
    await installCrds(kc, applier);
  }, 180_000);

  it.for(VARIANTS)(
    '%s: the server accepts every object (server-side apply, strict field validation)',
    { timeout: 120_000 },
    async ([, env]) => {
      const { objects } = synthPlatform(env);
      expect(objects.length).toBeGreaterThan(20);
      // A Job's pod template is immutable: one left by an earlier synthesis (the server outlives test runs) goes
      // first, as a redeploy would replace it.
      for (const job of objects.filter((o) => o.kind === 'Job'))
        await applier.client
          .delete(
            job as KubernetesObject & { metadata: { name: string } },
            undefined,
            undefined,
            0,
            undefined,
            'Background',
          )
          .catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
      const rejections = await applier.applyAll(objects as KubernetesObject[]);
      expect(rejections).toEqual([]);
      // Persisted, not just answered: every object reads back.
      const missing: string[] = [];
      for (const o of objects) {
        try {
          await applier.client.read(o as KubernetesObject & { metadata: { name: string } });
        } catch (err) {
          if (!isNotFound(err)) throw err;
          missing.push(`${o.kind}/${o.metadata.name}`);
        }
      }
      expect(missing).toEqual([]);
    },
  );

  it('the standalone stack needs no CRD but the Gateway API ones it applies first (deploy/crds/gateway-api-v1.6.1)', async () => {
    const crds = clusterPrerequisites({ stack: 'standalone', repoRoot: REPO_ROOT });
    expect(await applier.applyAll(crds as KubernetesObject[])).toEqual([]);
    const served = new Set(
      crds.map((c) => {
        const spec = c.spec as { group: string; names: { kind: string } };
        return `${spec.group}/${spec.names.kind}`;
      }),
    );
    const custom = synthPlatform({ PM_STACK: 'standalone' }).objects.filter((o) => !isCoreApi(o.apiVersion));
    expect(custom.length).toBeGreaterThan(0);
    for (const o of custom)
      expect(served, `${o.apiVersion} ${o.kind}`).toContain(`${o.apiVersion.split('/')[0]}/${o.kind}`);
  });

  it('rejects what kind would reject: schema, CEL and unknown-field errors (the check is live)', async () => {
    const { objects } = synthPlatform({ PM_NAMESPACE: 'apply-default' });
    const pick = (kind: string) => structuredClone(objects.find((o) => o.kind === kind)) as K8sObject;
    const topic = pick('KafkaTopic');
    topic.spec.partitions = 'three';
    const deployment = pick('Deployment');
    deployment.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
    const route = pick('HTTPRoute');
    route.spec.rules[0].matches[0].path.value = 'no-leading-slash';
    const misspelt = pick('Service');
    misspelt.spec.selektor = misspelt.spec.selector;
    const rejections = await applier.applyAll([topic, deployment, route, misspelt] as KubernetesObject[], {
      dryRun: true,
    });
    expect(rejections.map((r) => r.object)).toEqual([
      `KafkaTopic/apply-default/${topic.metadata.name}`,
      `Deployment/apply-default/${deployment.metadata.name}`,
      `HTTPRoute/apply-default/${route.metadata.name}`,
      `Service/apply-default/${misspelt.metadata.name}`,
    ]);
    // Server-side apply builds a typed patch from the schema: an undeclared field cannot be part of it.
    expect(rejections[3]?.message).toMatch(/\.spec\.selektor: field not declared in schema/);
    expect(rejections[0]?.message).toMatch(/spec.partitions/);
  }, 60_000);

  it('the restore manifest of docs/kubernetes.md is accepted (server-side dry run)', async () => {
    const docs = readFileSync(join(REPO_ROOT, 'docs/kubernetes.md'), 'utf8');
    const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    const restore = blocks.flatMap(parseYamlStream).find((o) => o.kind === 'Cluster');
    expect(restore?.spec.bootstrap.recovery.source).toBe('payments-backup');
    const rejections = await applier.applyAll(
      [{ ...restore, metadata: { ...restore?.metadata, namespace: 'apply-default' } }] as KubernetesObject[],
      { dryRun: true },
    );
    expect(rejections).toEqual([]);
  });
});
