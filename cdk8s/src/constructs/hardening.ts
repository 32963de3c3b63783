import { k8s } from 'cdk8s-plus-28';

/** Container security context every workload gets: non-root, no privilege escalation, read-only root FS. */
export function lockedDownContainer(uid: number): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
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
