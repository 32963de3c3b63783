import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { appLabels, selectorLabels } from './labels.ts';

/** Non-root UID/GID of our images (deploy/api.Dockerfile, deploy/ingest.Dockerfile create user 10001). */
export const APP_UID = 10001;

const APP_CONTAINER_SECURITY: kplus.ContainerSecurityContextProps = {
  ensureNonRoot: true,
  user: APP_UID,
  group: APP_UID,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  // Pod Security `restricted` (the namespace enforces it): no capability, the runtime's default seccomp filter.
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};

export interface SecretRef {
  secretName: string;
  key: string;
}

export interface ResourceBudget {
  cpuRequestMillis: number;
  cpuLimitMillis: number;
  memoryRequestMiB: number;
  memoryLimitMiB: number;
}

export interface PaymentServiceProps {
  /** Name of the Deployment, Service, PDB and HPA; also the DNS name other pods use. */
  name: string;
  component: string;
  image: string;
  port: number;
  /** Overrides the image's CMD; its ENTRYPOINT (tini) stays, so signals reach node and zombies are reaped. */
  args?: string[];
  /** Non-secret settings; every key becomes an env var through envFrom. */
  configMap: kplus.IConfigMap;
  /** Env vars read from Secrets (never from the ConfigMap). */
  secretEnv?: Record<string, SecretRef>;
  /** Env vars composed from others with Kubernetes' $(VAR) expansion; declared after secretEnv. */
  derivedEnv?: Record<string, string>;
  /** Keys of Secrets mounted read-only as files (e.g. a CA certificate), each Secret at its own path. */
  secretFiles?: Array<{ secretName: string; keys: string[]; mountPath: string }>;
  /**
   * A one-shot step of the same image that must succeed before the service starts (e.g. the migrations), with env
   * of its own — credentials the service itself must not hold — plus the ConfigMap, /tmp and the secretFiles.
   */
  initContainer?: {
    name: string;
    args: string[];
    secretEnv?: Record<string, SecretRef>;
    derivedEnv?: Record<string, string>;
  };
  minReplicas: number;
  maxReplicas: number;
  resources: ResourceBudget;
  /** Longest start-up before the kubelet restarts the container (default 60 s). */
  startupSeconds?: number;
  /** OTLP/HTTP endpoint of the collector; OTEL_SERVICE_NAME is the service name. */
  otlpEndpoint: string;
}

/**
 * "A service" of the platform: Deployment + ClusterIP Service + liveness/readiness probes on the health
 * endpoints + resources + env from ConfigMap/Secret + OTEL_* + a locked-down security context (non-root,
 * read-only root FS, writable /tmp only) + PodDisruptionBudget + CPU-based HorizontalPodAutoscaler.
 */
/** Values built from earlier variables by Kubernetes' $(VAR) expansion (e.g. PG_URL from DB_USER/DB_PASSWORD). */
function derivedEnvValues(values: Record<string, string> = {}): Record<string, kplus.EnvValue> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, kplus.EnvValue.fromValue(value)]));
}

export class PaymentService extends Construct {
  readonly deployment: kplus.Deployment;
  readonly service: kplus.Service;
  readonly podLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: PaymentServiceProps) {
    super(scope, id);
    const labels = appLabels(props.name, props.component);
    const selector = selectorLabels(props.name);
    this.podLabels = labels;

    const tmp = kplus.Volume.fromEmptyDir(this, 'tmp', 'tmp', { sizeLimit: Size.mebibytes(64) });
    const mounts: kplus.VolumeMount[] = [
      { path: '/tmp', volume: tmp },
      ...(props.secretFiles ?? []).map((file, index) => ({
        path: file.mountPath,
        readOnly: true,
        volume: kplus.Volume.fromSecret(
          this,
          `secret-file-${index}`,
          kplus.Secret.fromSecretName(this, `secret-file-ref-${index}`, file.secretName),
          { name: `secret-file-${index}`, items: Object.fromEntries(file.keys.map((key) => [key, { path: key }])) },
        ),
      })),
    ];
    const secretEnv = this.secretEnvValues('secret', props.secretEnv);
    const derivedEnv = derivedEnvValues(props.derivedEnv);
    // The init container (migrations) gets the same share of the node as the service it prepares.
    const resources: kplus.ContainerResources = {
      cpu: {
        request: kplus.Cpu.millis(props.resources.cpuRequestMillis),
        limit: kplus.Cpu.millis(props.resources.cpuLimitMillis),
      },
      memory: {
        request: Size.mebibytes(props.resources.memoryRequestMiB),
        limit: Size.mebibytes(props.resources.memoryLimitMiB),
      },
    };

    this.deployment = new kplus.Deployment(this, 'deployment', {
      metadata: { name: props.name, labels },
      podMetadata: { labels },
      select: false,
      // Our services never call the Kubernetes API.
      automountServiceAccountToken: false,
      securityContext: { ensureNonRoot: true, user: APP_UID, group: APP_UID, fsGroup: APP_UID },
      containers: [
        {
          name: props.name,
          image: props.image,
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          args: props.args,
          ports: [{ number: props.port, name: 'http' }],
          envFrom: [kplus.Env.fromConfigMap(props.configMap)],
          envVariables: {
            // Pod identity for traces and logs; set first so that later values may reference it.
            POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
            POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
            PORT: kplus.EnvValue.fromValue(String(props.port)),
            OTEL_SERVICE_NAME: kplus.EnvValue.fromValue(`payment-manager-${props.name}`),
            OTEL_EXPORTER_OTLP_ENDPOINT: kplus.EnvValue.fromValue(props.otlpEndpoint),
            OTEL_EXPORTER_OTLP_PROTOCOL: kplus.EnvValue.fromValue('http/protobuf'),
            OTEL_RESOURCE_ATTRIBUTES: kplus.EnvValue.fromValue(
              'k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),service.namespace=payment-manager',
            ),
            ...secretEnv,
            ...derivedEnv,
          },
          resources,
          startup: kplus.Probe.fromHttpGet('/health/live', {
            port: props.port,
            periodSeconds: Duration.seconds(2),
            failureThreshold: Math.ceil((props.startupSeconds ?? 60) / 2),
          }),
          liveness: kplus.Probe.fromHttpGet('/health/live', { port: props.port, periodSeconds: Duration.seconds(10) }),
          readiness: kplus.Probe.fromHttpGet('/health/ready', {
            port: props.port,
            periodSeconds: Duration.seconds(5),
            failureThreshold: 2,
          }),
          securityContext: APP_CONTAINER_SECURITY,
          volumeMounts: mounts,
        },
      ],
    });
    if (props.initContainer) {
      const init = props.initContainer;
      const env = { ...this.secretEnvValues('init-secret', init.secretEnv), ...derivedEnvValues(init.derivedEnv) };
      this.deployment.addInitContainer({
        name: init.name,
        image: props.image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        args: init.args,
        envFrom: [kplus.Env.fromConfigMap(props.configMap)],
        envVariables: env,
        resources,
        securityContext: APP_CONTAINER_SECURITY,
        volumeMounts: mounts,
      });
    }
    this.deployment.select(kplus.LabelSelector.of({ labels: selector }));

    this.service = new kplus.Service(this, 'service', {
      metadata: { name: props.name, labels },
      selector: this.deployment,
      ports: [{ name: 'http', port: props.port, targetPort: props.port }],
    });

    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name: props.name, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });

    new kplus.HorizontalPodAutoscaler(this, 'hpa', {
      metadata: { name: props.name, labels },
      target: this.deployment,
      minReplicas: props.minReplicas,
      maxReplicas: props.maxReplicas,
      metrics: [kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(70))],
    });
  }

  /** Environment values read from Secrets (`idPrefix` keeps the main and init containers' references apart). */
  private secretEnvValues(idPrefix: string, refs: Record<string, SecretRef> = {}): Record<string, kplus.EnvValue> {
    return Object.fromEntries(
      Object.entries(refs).map(([name, ref]) => [
        name,
        kplus.EnvValue.fromSecretValue({
          secret: kplus.Secret.fromSecretName(this, `${idPrefix}-${name}`, ref.secretName),
          key: ref.key,
        }),
      ]),
    );
  }
}
