import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { lockedDownContainer, lockedDownPod, resources } from './hardening.ts';
import { appLabels, selectorLabels } from './labels.ts';

export interface SupportPort {
  name: string;
  port: number;
  /** Fixed node port of this port (with exposure 'NodePort'). */
  nodePort?: number;
}

/** A directory of repo files mounted read-only from its own ConfigMap. */
export interface ConfigMount {
  configMap: string;
  data: Record<string, string>;
  mountPath: string;
}

export interface SupportServiceProps {
  name: string;
  component: string;
  image: string;
  /** The image's non-root UID. */
  uid: number;
  args?: string[];
  env?: k8s.EnvVar[];
  ports: SupportPort[];
  probe: k8s.Probe;
  mounts: ConfigMount[];
  /** Writable paths (emptyDir): the root file system is read-only. */
  scratch: string[];
  memoryLimit?: string;
  /** Service account whose token the pod mounts (only components that call the Kubernetes API get one). */
  serviceAccountName?: string;
  /** Namespaced "safe" sysctls of the pod, e.g. to bind a port below 1024 without the NET_BIND_SERVICE capability. */
  sysctls?: k8s.Sysctl[];
  /** Reachable from outside the cluster: on the ports' fixed node ports, or through a LoadBalancer. */
  exposure?: 'NodePort' | 'LoadBalancer';
}

/**
 * A third-party single-replica component (collector, Tempo, Loki, Prometheus, Grafana, the provider stub):
 * ConfigMaps for its configuration files, a locked-down Deployment (non-root, read-only root FS, probes,
 * resources), a Service named like the component (the host name the shared config files use) and a PDB.
 */
export class SupportService extends Construct {
  constructor(scope: Construct, id: string, props: SupportServiceProps) {
    super(scope, id);
    const labels = appLabels(props.name, props.component);
    const selector = selectorLabels(props.name);
    for (const mount of props.mounts) {
      new k8s.KubeConfigMap(this, `cm-${mount.configMap}`, {
        metadata: { name: mount.configMap, labels },
        data: mount.data,
      });
    }
    const scratch = props.scratch.map((path, i) => ({ name: `scratch-${i}`, path }));
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: props.name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { ...lockedDownPod(props.uid), ...(props.sysctls ? { sysctls: props.sysctls } : {}) },
            ...(props.serviceAccountName ? { serviceAccountName: props.serviceAccountName } : {}),
            automountServiceAccountToken: props.serviceAccountName !== undefined,
            containers: [
              {
                name: props.name,
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                args: props.args?.length ? props.args : undefined,
                env: props.env,
                ports: props.ports.map((p) => ({ name: p.name, containerPort: p.port })),
                resources: resources('50m', '128Mi', '500m', props.memoryLimit ?? '512Mi'),
                readinessProbe: props.probe,
                livenessProbe: { ...props.probe, initialDelaySeconds: 20 },
                securityContext: lockedDownContainer(props.uid),
                volumeMounts: [
                  ...props.mounts.map((m) => ({ name: m.configMap, mountPath: m.mountPath, readOnly: true })),
                  ...scratch.map((v) => ({ name: v.name, mountPath: v.path })),
                ],
              },
            ],
            volumes: [
              ...props.mounts.map((m) => ({ name: m.configMap, configMap: { name: m.configMap } })),
              ...scratch.map((v) => ({ name: v.name, emptyDir: {} })),
            ],
          },
        },
      },
    });
    const exposure = props.exposure;
    new k8s.KubeService(this, 'service', {
      metadata: { name: props.name, labels },
      spec: {
        ...(exposure === undefined ? {} : { type: exposure }),
        selector,
        ports: props.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: k8s.IntOrString.fromString(p.name),
          ...(exposure === 'NodePort' && p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
        })),
      },
    });
    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name: props.name, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
  }
}
