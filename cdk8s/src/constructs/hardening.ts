import { k8s } from 'cdk8s-plus-34';

/**
 * Container security context every workload gets: non-root, no privilege escalation, read-only root FS, no
 * capability and the runtime's default seccomp filter: what Pod Security `restricted` (enforced on the namespace)
 * demands, stated per container so that it holds whatever the pod-level context says.
 */
export function lockedDownContainer(uid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The one container of a workload built from our locked-down templates (StatefulService, OneShotJob). */
export interface WorkloadContainerProps {
  containerName: string;
  image: string;
  /** The image's non-root UID; also the pod's fsGroup, so volumes are writable without a root init step. */
  uid: number;
  /** Replaces the image's ENTRYPOINT: only for images whose entrypoint is not a process supervisor (tini). */
  command?: string[];
  args?: string[];
  env: k8s.EnvVar[];
  resources: k8s.ResourceRequirements;
}

/**
 * Name, image and process of a container whose image is loaded onto the nodes (kind, air-gapped containerd): never
 * pulled when present; command and args only when given, so the image's own ENTRYPOINT/CMD apply otherwise.
 */
export function localImageContainer(
  name: string,
  image: string,
  process: { command?: string[]; args?: string[] },
): Pick<k8s.Container, 'name' | 'image' | 'imagePullPolicy' | 'command' | 'args'> {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ...(process.command ? { command: process.command } : {}),
    ...(process.args ? { args: process.args } : {}),
  };
}

export function lockedDownPod(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function resources(
  cpuRequest: string,
  memoryRequest: string,
  cpuLimit: string,
  memoryLimit: string,
): k8s.ResourceRequirements {
  return {
    requests: { cpu: k8s.Quantity.fromString(cpuRequest), memory: k8s.Quantity.fromString(memoryRequest) },
    limits: { cpu: k8s.Quantity.fromString(cpuLimit), memory: k8s.Quantity.fromString(memoryLimit) },
  };
}

export function httpProbe(path: string, port: number, periodSeconds = 10): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromNumber(port) },
    periodSeconds,
    failureThreshold: 3,
    timeoutSeconds: 2,
  };
}

export function execProbe(command: string[], periodSeconds = 10): k8s.Probe {
  return { exec: { command }, periodSeconds, failureThreshold: 3, timeoutSeconds: 5 };
}

/**
 * Security contexts for the pods Strimzi creates (brokers, entity operator). Strimzi's images run as UID 1001; the
 * pod keeps fsGroup 0, which Strimzi's own provider sets so that the broker can write its persistent volume.
 */
export function strimziRestricted(): {
  pod: { securityContext: k8s.PodSecurityContext };
  container: { securityContext: k8s.SecurityContext };
} {
  const uid = 1001;
  return {
    pod: {
      securityContext: { runAsNonRoot: true, runAsUser: uid, fsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } },
    },
    container: { securityContext: { ...lockedDownContainer(uid), runAsGroup: 0 } },
  };
}
