/**
 * When is a platform object ready? The rules `npm run cluster:check` waits on, one per kind, read from the
 * status fields the controllers and operators write (Deployment/StatefulSet/Job controllers, CloudNativePG,
 * Strimzi, Envoy Gateway or Traefik). Which objects are awaited follows from what was synthesized: the standalone
 * stack (PM_STACK=standalone) has no operator resources, and its Kafka, PostgreSQL and topics Job are StatefulSets
 * and a Job.
 */
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { apiErrorMessage, describeObject, isNotFound } from './kube.ts';

// biome-ignore lint/suspicious/noExplicitAny: status blocks of many kinds, read field by field
type Obj = KubernetesObject & { spec?: any; status?: any };

export interface Readiness {
  ready: boolean;
  /** What is missing, for the progress lines ("2/3 replicas available"). */
  detail: string;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

function conditionTrue(conditions: Condition[] | undefined, type: string, generation?: number): Readiness {
  const c = conditions?.find((x) => x.type === type);
  if (!c) return { ready: false, detail: `no ${type} condition yet` };
  if (c.status !== 'True') return { ready: false, detail: `${type}=${c.status}${c.reason ? ` (${c.reason})` : ''}` };
  if (generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < generation)
    return { ready: false, detail: `${type} reported for generation ${c.observedGeneration}, spec is ${generation}` };
  return { ready: true, detail: `${type}=True` };
}

function observed(o: Obj): boolean {
  const generation = o.metadata?.generation;
  return generation === undefined || (o.status?.observedGeneration ?? 0) >= generation;
}

function replicasReady(o: Obj, readyField: 'availableReplicas' | 'readyReplicas'): Readiness {
  const want = o.spec?.replicas ?? 1;
  const s = o.status ?? {};
  if (!observed(o)) return { ready: false, detail: 'controller has not seen the latest spec' };
  const have = Math.min(s.updatedReplicas ?? 0, s[readyField] ?? 0);
  return { ready: have >= want, detail: `${have}/${want} replicas updated and ${readyField.replace('Replicas', '')}` };
}

/** Readiness of one object by its kind; undefined for kinds that have no readiness (ConfigMaps, Services…). */
export function readiness(o: Obj): Readiness | undefined {
  const generation = o.metadata?.generation;
  switch (`${o.apiVersion?.split('/')[0]}/${o.kind}`) {
    case 'apps/Deployment':
      return replicasReady(o, 'availableReplicas');
    case 'apps/StatefulSet':
      return replicasReady(o, 'readyReplicas');
    case 'batch/Job':
      return conditionTrue(o.status?.conditions, 'Complete');
    case 'postgresql.cnpg.io/Cluster': {
      const ready = conditionTrue(o.status?.conditions, 'Ready');
      const want = o.spec?.instances ?? 1;
      const have = o.status?.readyInstances ?? 0;
      return ready.ready && have >= want
        ? { ready: true, detail: `${have}/${want} instances ready` }
        : { ready: false, detail: `${have}/${want} instances ready, ${ready.detail}` };
    }
    case 'kafka.strimzi.io/Kafka':
    case 'kafka.strimzi.io/KafkaTopic':
    // Ready once the User Operator wrote the user's Secret and ACLs: the app's pods need both.
    case 'kafka.strimzi.io/KafkaUser':
      return conditionTrue(o.status?.conditions, 'Ready', generation);
    case 'gateway.networking.k8s.io/Gateway':
      return conditionTrue(o.status?.conditions, 'Programmed', generation);
    case 'gateway.networking.k8s.io/HTTPRoute': {
      const parents = (o.status?.parents ?? []) as Array<{ conditions?: Condition[] }>;
      if (parents.length === 0) return { ready: false, detail: 'no parent Gateway has accepted it yet' };
      for (const p of parents) {
        for (const type of ['Accepted', 'ResolvedRefs']) {
          const r = conditionTrue(p.conditions, type, generation);
          if (!r.ready) return r;
        }
      }
      return { ready: true, detail: 'Accepted and ResolvedRefs' };
    }
    default:
      return undefined;
  }
}

/** The synthesized objects whose readiness cluster:check waits for. */
export function awaitedObjects<T extends Obj>(objects: T[]): T[] {
  return objects.filter((o) => readiness({ ...o, status: {} }) !== undefined);
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Progress line every this many ms listing what is still pending. */
  reportEveryMs?: number;
  log: (line: string) => void;
}

/**
 * Polls every object until all are ready or the deadline passes. Returns the objects still not ready, with why
 * (empty = all ready). An object that does not exist is not ready ("not found").
 */
export async function waitUntilReady(
  client: KubernetesObjectApi,
  objects: Obj[],
  options: WaitOptions,
): Promise<Array<{ object: string; detail: string }>> {
  const deadline = Date.now() + options.timeoutMs;
  const pending = new Map(objects.map((o) => [describeObject(o), { object: o, detail: 'not checked yet' }]));
  let nextReport = Date.now() + (options.reportEveryMs ?? 10_000);
  for (;;) {
    for (const [name, entry] of pending) {
      try {
        const live = (await client.read(entry.object as Obj & { metadata: { name: string } })) as Obj;
        const r = readiness(live) ?? { ready: true, detail: 'exists' };
        if (r.ready) {
          pending.delete(name);
          options.log(`  ready: ${name} (${r.detail})`);
        } else entry.detail = r.detail;
      } catch (err) {
        entry.detail = isNotFound(err) ? 'not found' : apiErrorMessage(err);
      }
    }
    if (pending.size === 0) return [];
    if (Date.now() >= deadline) return [...pending].map(([object, e]) => ({ object, detail: e.detail }));
    if (Date.now() >= nextReport) {
      const left = Math.round((deadline - Date.now()) / 1000);
      options.log(
        `  waiting for ${pending.size} (${left}s left): ${[...pending].map(([n, e]) => `${n}: ${e.detail}`).join('; ')}`,
      );
      nextReport = Date.now() + (options.reportEveryMs ?? 10_000);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 2_000));
  }
}
