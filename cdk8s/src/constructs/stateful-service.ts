import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { localImageContainer, lockedDownContainer, lockedDownPod, type WorkloadContainerProps } from './hardening.ts';
import { appLabels, selectorLabels } from './labels.ts';
import type { SupportPort } from './support-service.ts';

/** A ConfigMap (created elsewhere) mounted read-only, e.g. a start script. */
export interface ConfigMapMount {
  configMap: string;
  mountPath: string;
  /** File mode of the projected keys (0o555 for scripts run with sh). */
  defaultMode?: number;
}

/** A Secret (created elsewhere) mounted read-only, e.g. a TLS certificate and key. */
export interface SecretMount {
  secret: string;
  mountPath: string;
  defaultMode?: number;
}

export interface StatefulServiceProps extends WorkloadContainerProps {
  /** Name of the StatefulSet, its headless Service and its PDB; pods are `<name>-<ordinal>.<name>`. */
  name: string;
  component: string;
  replicas: number;
  ports: SupportPort[];
  readinessProbe: k8s.Probe;
  /** Grace before the liveness probe (the same check as readiness) may restart a slow first start. */
  livenessDelaySeconds: number;
  /** The per-pod PersistentVolumeClaim `data`; storageClass undefined = the cluster's default class. */
  data: { mountPath: string; size: string; storageClass?: string };
  configMounts?: ConfigMapMount[];
  secretMounts?: SecretMount[];
  /** Writable emptyDirs by volume name (the root file system is read-only). */
  scratch: Record<string, string>;
  /**
   * Start every pod at once instead of one after another. Needed when a pod only becomes ready together with its
   * peers (a KRaft quorum): OrderedReady would wait forever for pod 0.
   */
  parallel?: boolean;
  /** Publish DNS records of pods before they are ready, so that peers can find each other while forming a quorum. */
  publishNotReadyAddresses?: boolean;
}

/**
 * A replicated stateful component without an operator: a locked-down StatefulSet (non-root, read-only root FS, data
 * on one PersistentVolumeClaim per pod), the headless Service that gives each pod a stable DNS name, and a PDB.
 * Citus nodes and the standalone stack's PostgreSQL and Kafka are each one of these.
 */
export class StatefulService extends Construct {
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;

  constructor(scope: Construct, id: string, props: StatefulServiceProps) {
    super(scope, id);
    const labels = appLabels(props.name, props.component);
    const selector = selectorLabels(props.name);
    this.labels = labels;
    this.selector = selector;
    const configMounts = props.configMounts ?? [];
    const secretMounts = props.secretMounts ?? [];
    const scratch = Object.entries(props.scratch);

    new k8s.KubeService(this, 'service', {
      metadata: { name: props.name, labels },
      spec: {
        clusterIp: 'None',
        ...(props.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
        selector,
        ports: props.ports.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromNumber(p.port) })),
      },
    });
    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name: props.name, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: { name: props.name, labels },
      spec: {
        serviceName: props.name,
        replicas: props.replicas,
        ...(props.parallel ? { podManagementPolicy: 'Parallel' } : {}),
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            securityContext: lockedDownPod(props.uid),
            automountServiceAccountToken: false,
            containers: [
              {
                ...localImageContainer(props.containerName, props.image, props),
                ports: props.ports.map((p) => ({ name: p.name, containerPort: p.port })),
                env: props.env,
                resources: props.resources,
                readinessProbe: props.readinessProbe,
                livenessProbe: { ...props.readinessProbe, initialDelaySeconds: props.livenessDelaySeconds },
                securityContext: lockedDownContainer(props.uid),
                volumeMounts: [
                  { name: 'data', mountPath: props.data.mountPath },
                  ...configMounts.map((m) => ({ name: m.configMap, mountPath: m.mountPath, readOnly: true })),
                  ...secretMounts.map((m) => ({ name: `secret-${m.secret}`, mountPath: m.mountPath, readOnly: true })),
                  ...scratch.map(([name, mountPath]) => ({ name, mountPath })),
                ],
              },
            ],
            volumes: [
              ...configMounts.map((m) => ({
                name: m.configMap,
                configMap: { name: m.configMap, ...(m.defaultMode ? { defaultMode: m.defaultMode } : {}) },
              })),
              ...secretMounts.map((m) => ({
                name: `secret-${m.secret}`,
                secret: { secretName: m.secret, ...(m.defaultMode ? { defaultMode: m.defaultMode } : {}) },
              })),
              ...scratch.map(([name]) => ({ name, emptyDir: {} })),
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(props.data.storageClass ? { storageClassName: props.data.storageClass } : {}),
              resources: { requests: { storage: k8s.Quantity.fromString(props.data.size) } },
            },
          },
        ],
      },
    });
  }
}
