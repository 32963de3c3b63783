import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import { parse } from 'yaml';
import { httpProbe } from '../constructs/hardening.ts';
import { appLabels } from '../constructs/labels.ts';
import { type ConfigMount, SupportService } from '../constructs/support-service.ts';
import { type RepoFileOptions, readRepoDir, readRepoFile, repoSubdirs } from '../repo-files.ts';
import { CREDENTIALS, PlatformSecret, type SecretsConfig } from '../secrets.ts';

export interface ObservabilityChartProps extends ChartProps {
  images: { otelCollector: string; tempo: string; loki: string; prometheus: string; grafana: string };
  files: RepoFileOptions;
  /**
   * Loki and Grafana too. The standalone stack leaves them out: it runs only images we build, and neither has one
   * (Grafana is AGPL and not a Go module our proxy serves; Loki goes with it).
   */
  logsAndDashboards: boolean;
  /** Where Grafana's admin login comes from (PM_SECRETS; src/secrets.ts, credential `grafanaAdmin`). */
  secrets: SecretsConfig;
}

/** Keys of the Grafana admin Secret (those of the Grafana Helm chart's `admin.existingSecret`). */
export const GRAFANA_ADMIN_KEYS = {
  user: CREDENTIALS.grafanaAdmin.keys[0] as string,
  password: CREDENTIALS.grafanaAdmin.keys[1] as string,
} as const;

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

    new SupportService(this, 'otel-collector', {
      name: 'otel-collector',
      component: 'observability',
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

    new SupportService(this, 'tempo', {
      name: 'tempo',
      component: 'observability',
      image: props.images.tempo,
      uid: 10001,
      args: ['-config.file=/etc/tempo/tempo.yaml', '-config.expand-env=true'],
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

    if (props.logsAndDashboards) this.loki(props);
    this.prometheus(props);
    if (props.logsAndDashboards) this.grafana(props);
  }

  private loki(props: ObservabilityChartProps): void {
    const files = props.files;
    new SupportService(this, 'loki', {
      name: 'loki',
      component: 'observability',
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
  }

  private prometheus(props: ObservabilityChartProps): void {
    const files = props.files;
    // Prometheus discovers the API and ingest pods through the Kubernetes API (pod role, this namespace only).
    const prometheusLabels = appLabels('prometheus', 'observability');
    new k8s.KubeServiceAccount(this, 'prometheus-sa', {
      metadata: { name: 'prometheus', labels: prometheusLabels },
      automountServiceAccountToken: false,
    });
    new k8s.KubeRole(this, 'prometheus-role', {
      metadata: { name: 'prometheus-discovery', labels: prometheusLabels },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeRoleBinding(this, 'prometheus-rolebinding', {
      metadata: { name: 'prometheus-discovery', labels: prometheusLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'prometheus-discovery' },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: props.namespace as string }],
    });
    new SupportService(this, 'prometheus', {
      name: 'prometheus',
      component: 'observability',
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
      serviceAccountName: 'prometheus',
      mounts: [
        {
          configMap: 'prometheus-config',
          // Same file name as compose's, so --config.file is the same in both environments.
          data: {
            'prometheus.yml': readRepoFile('deploy/prometheus/prometheus-kubernetes.yml', files)[
              'prometheus-kubernetes.yml'
            ] as string,
          },
          mountPath: '/etc/prometheus',
        },
      ],
      scratch: ['/prometheus', '/tmp'],
    });
  }

  private grafana(props: ObservabilityChartProps): void {
    const files = props.files;
    const adminSecret = new PlatformSecret(this, 'grafana-admin', {
      secrets: props.secrets,
      credential: 'grafanaAdmin',
    }).name;
    const provisioning: ConfigMount[] = repoSubdirs('deploy/grafana/provisioning', files).map((dir) => {
      const kind = dir.split('/').pop() as string;
      return {
        configMap: `grafana-provisioning-${kind}`,
        data: readRepoDir(dir, ['.yaml', '.yml'], files),
        mountPath: `/etc/grafana/provisioning/${kind}`,
      };
    });
    const providers = provisioning.find((m) => m.configMap === 'grafana-provisioning-dashboards')?.data ?? {};
    new SupportService(this, 'grafana', {
      name: 'grafana',
      component: 'observability',
      image: props.images.grafana,
      uid: 472,
      env: [
        // Login required: no anonymous access, no sign-up; the admin login comes from a Secret (PM_SECRETS).
        { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' },
        { name: 'GF_USERS_ALLOW_SIGN_UP', value: 'false' },
        {
          name: 'GF_SECURITY_ADMIN_USER',
          valueFrom: { secretKeyRef: { name: adminSecret, key: GRAFANA_ADMIN_KEYS.user } },
        },
        {
          name: 'GF_SECURITY_ADMIN_PASSWORD',
          valueFrom: { secretKeyRef: { name: adminSecret, key: GRAFANA_ADMIN_KEYS.password } },
        },
        { name: 'GF_SECURITY_DISABLE_GRAVATAR', value: 'true' },
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
}
