import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { parse } from 'yaml';
import { httpProbe, lockedDownContainer, lockedDownPod, resources } from '../constructs/hardening.ts';
import { appLabels, selectorLabels } from '../constructs/labels.ts';
import { type RepoFileOptions, readRepoDir, readRepoFile, repoSubdirs } from '../repo-files.ts';

export interface ObservabilityChartProps extends ChartProps {
  images: { otelCollector: string; tempo: string; loki: string; prometheus: string; grafana: string };
  files: RepoFileOptions;
}

interface Port {
  name: string;
  port: number;
}

interface Mount {
  configMap: string;
  data: Record<string, string>;
  mountPath: string;
}

/** Where Grafana's dashboard provider looks for JSON files (read from the provisioning file when present). */
export function dashboardsPath(providerFiles: Record<string, string>): string {
  for (const text of Object.values(providerFiles)) {
    const doc = parse(text) as { providers?: Array<{ options?: { path?: string } }> } | null;
    const path = doc?.providers?.find((p) => p.options?.path)?.options?.path;
    if (path) return path;
  }
  return '/var/lib/grafana/dashboards';
}

/**
 * Observability stack: OTel Collector (OTLP in; traces to Tempo, logs to Loki), Tempo, Loki, Prometheus
 * (scrapes /metrics, receives Tempo's span metrics) and Grafana. Configuration comes from the repo files the
 * docker-compose stack uses, and the Service names equal the compose host names those files refer to, so
 * both environments run the same pipeline and dashboards.
 */
export class ObservabilityChart extends Chart {
  constructor(scope: Construct, id: string, props: ObservabilityChartProps) {
    super(scope, id, props);
    const files = props.files;

    this.component({
      name: 'otel-collector',
      image: props.images.otelCollector,
      uid: 10001,
      args: ['--config=/etc/otelcol/config.yaml'],
      ports: [
        { name: 'otlp-grpc', port: 4317 },
        { name: 'otlp-http', port: 4318 },
        { name: 'health', port: 13133 },
      ],
      probe: httpProbe('/', 13133),
      mounts: [
        {
          configMap: 'otel-collector-config',
          data: readRepoFile('deploy/otel-collector/config.yaml', files),
          mountPath: '/etc/otelcol',
        },
      ],
      scratch: ['/tmp'],
    });

    this.component({
      name: 'tempo',
      image: props.images.tempo,
      uid: 10001,
      args: ['-config.file=/etc/tempo/tempo.yaml'],
      ports: [
        { name: 'http', port: 3200 },
        { name: 'otlp-grpc', port: 4317 },
        { name: 'otlp-http', port: 4318 },
      ],
      probe: httpProbe('/ready', 3200),
      mounts: [
        { configMap: 'tempo-config', data: readRepoFile('deploy/tempo/tempo.yaml', files), mountPath: '/etc/tempo' },
      ],
      scratch: ['/var/tempo', '/tmp'],
    });

    this.component({
      name: 'loki',
      image: props.images.loki,
      uid: 10001,
      args: ['-config.file=/etc/loki/loki.yaml'],
      ports: [{ name: 'http', port: 3100 }],
      probe: httpProbe('/ready', 3100),
      mounts: [
        { configMap: 'loki-config', data: readRepoFile('deploy/loki/loki.yaml', files), mountPath: '/etc/loki' },
      ],
      scratch: ['/loki', '/tmp'],
    });

    this.component({
      name: 'prometheus',
      image: props.images.prometheus,
      uid: 65534,
      args: [
        '--config.file=/etc/prometheus/prometheus.yml',
        '--storage.tsdb.path=/prometheus',
        '--storage.tsdb.retention.time=7d',
        // Tempo's metrics generator writes span metrics here (deploy/tempo/tempo.yaml).
        '--web.enable-remote-write-receiver',
      ],
      ports: [{ name: 'http', port: 9090 }],
      probe: httpProbe('/-/ready', 9090),
      mounts: [
        {
          configMap: 'prometheus-config',
          data: readRepoFile('deploy/prometheus/prometheus.yml', files),
          mountPath: '/etc/prometheus',
        },
      ],
      scratch: ['/prometheus', '/tmp'],
    });

    const provisioning: Mount[] = repoSubdirs('deploy/grafana/provisioning', files).map((dir) => {
      const kind = dir.split('/').pop() as string;
      return {
        configMap: `grafana-provisioning-${kind}`,
        data: readRepoDir(dir, ['.yaml', '.yml'], files),
        mountPath: `/etc/grafana/provisioning/${kind}`,
      };
    });
    const providers = provisioning.find((m) => m.configMap === 'grafana-provisioning-dashboards')?.data ?? {};
    this.component({
      name: 'grafana',
      image: props.images.grafana,
      uid: 472,
      args: [],
      env: [
        // Local development stack: anonymous viewer access so a trace is one click away, no default admin login.
        { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'true' },
        { name: 'GF_AUTH_ANONYMOUS_ORG_ROLE', value: 'Admin' },
        { name: 'GF_AUTH_DISABLE_LOGIN_FORM', value: 'true' },
        { name: 'GF_PATHS_DATA', value: '/var/lib/grafana' },
        { name: 'GF_ANALYTICS_REPORTING_ENABLED', value: 'false' },
        { name: 'GF_ANALYTICS_CHECK_FOR_UPDATES', value: 'false' },
      ],
      ports: [{ name: 'http', port: 3000 }],
      probe: httpProbe('/api/health', 3000),
      mounts: [
        ...provisioning,
        {
          configMap: 'grafana-dashboards',
          data: readRepoDir('deploy/grafana/dashboards', ['.json'], files),
          mountPath: dashboardsPath(providers),
        },
      ],
      scratch: ['/var/lib/grafana', '/tmp'],
    });
  }

  private component(c: {
    name: string;
    image: string;
    uid: number;
    args: string[];
    env?: k8s.EnvVar[];
    ports: Port[];
    probe: k8s.Probe;
    mounts: Mount[];
    scratch: string[];
  }): void {
    const labels = appLabels(c.name, 'observability');
    const selector = selectorLabels(c.name);
    for (const mount of c.mounts) {
      new k8s.KubeConfigMap(this, `cm-${mount.configMap}`, {
        metadata: { name: mount.configMap, labels },
        data: mount.data,
      });
    }
    const scratchVolumes = c.scratch.map((path, i) => ({ name: `scratch-${i}`, path }));
    new k8s.KubeDeployment(this, c.name, {
      metadata: { name: c.name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            securityContext: lockedDownPod(c.uid),
            automountServiceAccountToken: false,
            containers: [
              {
                name: c.name,
                image: c.image,
                imagePullPolicy: 'IfNotPresent',
                args: c.args.length > 0 ? c.args : undefined,
                env: c.env,
                ports: c.ports.map((p) => ({ name: p.name, containerPort: p.port })),
                resources: resources('50m', '128Mi', '500m', '512Mi'),
                readinessProbe: c.probe,
                livenessProbe: { ...c.probe, initialDelaySeconds: 10 },
                securityContext: lockedDownContainer(c.uid),
                volumeMounts: [
                  ...c.mounts.map((m) => ({ name: m.configMap, mountPath: m.mountPath, readOnly: true })),
                  ...scratchVolumes.map((v) => ({ name: v.name, mountPath: v.path })),
                ],
              },
            ],
            volumes: [
              ...c.mounts.map((m) => ({ name: m.configMap, configMap: { name: m.configMap } })),
              ...scratchVolumes.map((v) => ({ name: v.name, emptyDir: {} })),
            ],
          },
        },
      },
    });
    new k8s.KubeService(this, `${c.name}-service`, {
      metadata: { name: c.name, labels },
      spec: {
        selector,
        ports: c.ports.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name) })),
      },
    });
    new k8s.KubePodDisruptionBudget(this, `${c.name}-pdb`, {
      metadata: { name: c.name, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
  }
}
