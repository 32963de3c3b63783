import { describe, expect, it } from 'vitest';
import { API, INGEST } from '../src/charts/app.ts';
import { PG_SERVICE_ROLES } from '../src/database.ts';
import { CREDENTIALS } from '../src/secrets.ts';
import { crossReferenceProblems, policyViolations } from './support/checks.ts';
import { type K8sObject, parseYamlStream, synthPlatform } from './support/manifests.ts';
import { crdSchemas, crdValidator, validateCore } from './support/schema.ts';

/** The offline checks are only worth something if they fail on broken manifests: break one thing at a time. */
function mutated(mutate: (objects: K8sObject[]) => void): K8sObject[] {
  const objects = structuredClone(synthPlatform({}, { deployed: true }).objects);
  mutate(objects);
  return objects;
}

function deployment(objects: K8sObject[], name: string): K8sObject {
  return objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as K8sObject;
}

describe('the offline checks detect broken manifests', () => {
  it('the Kubernetes schema rejects a wrong type and a missing required field', async () => {
    const [d] = mutated(() => {}).filter((o) => o.kind === 'Deployment');
    expect(await validateCore({ ...(d as K8sObject), spec: { ...d?.spec, replicas: 'two' } })).toMatch(/replicas/);
    const noSelector = structuredClone(d as K8sObject);
    delete noSelector.spec.selector;
    expect(await validateCore(noSelector)).toMatch(/selector/);
  });

  it('policy: missing limits, root user, writable root FS, latest tag, missing probe, missing PDB', () => {
    const objects = mutated((o) => {
      const c = deployment(o, API).spec.template.spec.containers[0];
      delete c.resources.limits;
      c.securityContext.readOnlyRootFilesystem = false;
      c.securityContext.runAsUser = 0;
      c.image = 'payment-manager/api:latest';
      c.command = ['node', 'services/api/src/no-such-main.ts'];
      c.args = ['services/api/src/no-such-main.ts'];
      delete c.readinessProbe;
      const i = o.findIndex((x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === INGEST);
      o.splice(i, 1);
    });
    const problems = policyViolations(objects).join('\n');
    for (const expected of [
      'no resources.limits.cpu',
      'no resources.limits.memory',
      'readOnlyRootFilesystem is not true',
      'runs as UID 0',
      'uses the latest tag',
      'overrides the ENTRYPOINT of payment-manager/api:latest (use args)',
      'runs services/api/src/no-such-main.ts, which is not in the repository',
      'no readinessProbe',
      `Deployment/payment-manager/${INGEST}: no PodDisruptionBudget`,
    ])
      expect(problems).toContain(expected);
  });

  it('cross-references: selector, targetPort, probe port, Secret key, ConfigMap, route backend and parent, ServiceAccount', () => {
    const objects = mutated((o) => {
      const svc = o.find((x) => x.kind === 'Service' && x.metadata.name === INGEST) as K8sObject;
      svc.spec.selector = { 'app.kubernetes.io/name': 'nobody' };
      const apiSvc = o.find((x) => x.kind === 'Service' && x.metadata.name === API) as K8sObject;
      apiSvc.spec.ports[0].targetPort = 3999;
      const c = deployment(o, API).spec.template.spec.containers[0];
      c.livenessProbe.httpGet.port = 4000;
      c.env.find((e: { name: string }) => e.name === 'DB_PASSWORD').valueFrom.secretKeyRef.key = 'pass';
      c.envFrom[0].configMapRef.name = 'no-such-config';
      const route = o.find((x) => x.kind === 'HTTPRoute') as K8sObject;
      route.spec.rules[0].backendRefs[0].port = 80;
      route.spec.parentRefs[0].sectionName = 'smtp';
      deployment(o, API).spec.template.spec.serviceAccountName = 'ghost';
    });
    const problems = crossReferenceProblems(objects).join('\n');
    for (const expected of [
      `Service/payment-manager/${INGEST}: selector`,
      'targetPort 3999 is not a container port',
      'livenessProbe port 4000 is not a declared container port',
      `references missing key ${CREDENTIALS[PG_SERVICE_ROLES.app.credential].defaultName}/pass`,
      'envFrom ConfigMap no-such-config is missing',
      'backend port 80 is not a port of Service/payment-manager/ingest',
      'has no listener smtp',
      'ServiceAccount ghost is missing',
    ])
      expect(problems).toContain(expected);
  });
});

describe('the CRD validator (exercised on a small CRD, since the operators’ CRDs may be absent)', () => {
  const crd = parseYamlStream(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: kafkatopics.kafka.strimzi.io }
spec:
  group: kafka.strimzi.io
  names: { kind: KafkaTopic, plural: kafkatopics }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: { type: string }
            kind: { type: string }
            metadata: { type: object }
            spec:
              type: object
              properties:
                topicName: { type: string }
                partitions: { type: integer, minimum: 1 }
                replicas: { type: integer, minimum: 1, maximum: 32767 }
                config: { type: object, x-kubernetes-preserve-unknown-fields: true }
`);
  const validate = crdValidator(crdSchemas(crd));
  const topic = synthPlatform().objects.find((o) => o.kind === 'KafkaTopic') as K8sObject;

  it('accepts our KafkaTopic and ignores resources of other CRDs', () => {
    expect(validate(topic)).toBeNull();
    expect(validate({ ...topic, kind: 'Kafka' })).toBeUndefined();
  });

  it('rejects a wrong type and, like kubectl strict validation, an unknown field', () => {
    expect(validate({ ...topic, spec: { ...topic.spec, partitions: 'three' } })).toMatch(/partitions/);
    expect(validate({ ...topic, spec: { ...topic.spec, partition: 3 } })).toMatch(/additional properties/);
    expect(validate({ ...topic, spec: { ...topic.spec, config: { 'retention.ms': 1000 } } })).toBeNull();
  });
});
