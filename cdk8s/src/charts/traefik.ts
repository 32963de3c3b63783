import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { httpProbe } from '../constructs/hardening.ts';
import { appLabels } from '../constructs/labels.ts';
import { SupportService } from '../constructs/support-service.ts';
import { GATEWAY_API_VERSION } from '../crds/gateway.ts';

/** Deployment, Service and ServiceAccount of the standalone stack's Gateway API controller and proxy. */
export const TRAEFIK = 'traefik';
/** The controller name Traefik's Kubernetes Gateway provider claims GatewayClasses by. */
export const TRAEFIK_GATEWAY_CONTROLLER = 'traefik.io/gateway-controller';
/** The nonroot user of the distroless base our Traefik image uses. */
const TRAEFIK_UID = 65532;
const GATEWAY_GROUP = GATEWAY_API_VERSION.split('/')[0] as string;
const CLUSTER_ROLE = 'payment-manager-traefik';

export interface TraefikProps {
  image: string;
  /** The one namespace Traefik watches (the Gateway's and the route backends'). */
  namespace: string;
  /**
   * Port of the Gateway listener. Traefik serves a listener on the entry point whose address has the listener's
   * port, so its `web` entry point listens on that very port (below 1024: the pod lowers
   * net.ipv4.ip_unprivileged_port_start, a namespaced safe sysctl, instead of running as root or adding a capability).
   */
  listenerPort: number;
  /** Fixed node port of the Service; null = a LoadBalancer Service. */
  nodePort: number | null;
  /** The HTTPS listener's port (its own entry point) and node port; null = no HTTPS listener. */
  https: { port: number; nodePort: number | null } | null;
  /** Whole-request and keep-alive bounds against slow senders (Envoy's ClientTrafficPolicy in the operators stack). */
  readTimeout: string;
  idleTimeout: string;
}

/**
 * The cluster-scoped half of Traefik's access, for the chart of cluster-scoped objects: GatewayClasses are
 * cluster-wide, and the provider lists namespaces to resolve a listener's allowedRoutes.
 */
export function traefikClusterAccess(scope: Construct, namespace: string): void {
  const labels = appLabels(TRAEFIK, 'gateway');
  new k8s.KubeClusterRole(scope, 'traefik-cluster-role', {
    metadata: { name: CLUSTER_ROLE, labels },
    rules: [
      { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: [GATEWAY_GROUP], resources: ['gatewayclasses'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [GATEWAY_GROUP], resources: ['gatewayclasses/status'], verbs: ['update'] },
    ],
  });
  new k8s.KubeClusterRoleBinding(scope, 'traefik-cluster-role-binding', {
    metadata: { name: CLUSTER_ROLE, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CLUSTER_ROLE },
    subjects: [{ kind: 'ServiceAccount', name: TRAEFIK, namespace }],
  });
}

/**
 * Traefik v3 as the Gateway API implementation of the standalone stack: one Deployment that is both controller
 * (Kubernetes Gateway provider, watching only the platform namespace) and proxy, a Service on the fixed node port,
 * and a Role for what the provider reads in that namespace. The provider starts an informer for every kind below
 * and waits for all of them, so each needs list/watch even when no such object exists (and its CRD must be
 * installed: deploy/crds/gateway-api-v1.6.1). Status is written only for what we create: Gateway and HTTPRoute.
 * No dashboard or API; /ping on the web entry point is the probe.
 */
export class Traefik extends Construct {
  constructor(scope: Construct, id: string, props: TraefikProps) {
    super(scope, id);
    const labels = appLabels(TRAEFIK, 'gateway');
    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: TRAEFIK, labels },
      automountServiceAccountToken: false,
    });
    new k8s.KubeRole(this, 'role', {
      metadata: { name: TRAEFIK, labels },
      rules: [
        // Secrets: the provider reads the HTTPS listener's certificate from them.
        { apiGroups: [''], resources: ['services', 'secrets', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        {
          apiGroups: [GATEWAY_GROUP],
          resources: [
            'gateways',
            'httproutes',
            'grpcroutes',
            'tlsroutes',
            'referencegrants',
            'backendtlspolicies',
            'listenersets',
          ],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: [GATEWAY_GROUP], resources: ['gateways/status', 'httproutes/status'], verbs: ['update'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'role-binding', {
      metadata: { name: TRAEFIK, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: TRAEFIK },
      subjects: [{ kind: 'ServiceAccount', name: TRAEFIK, namespace: props.namespace }],
    });

    new SupportService(this, 'proxy', {
      name: TRAEFIK,
      component: 'gateway',
      image: props.image,
      uid: TRAEFIK_UID,
      args: [
        ...[
          ['web', props.listenerPort] as const,
          ...(props.https ? [['websecure', props.https.port] as const] : []),
        ].flatMap(([name, port]) => [
          `--entrypoints.${name}.address=:${port}`,
          `--entrypoints.${name}.transport.respondingtimeouts.readtimeout=${props.readTimeout}`,
          `--entrypoints.${name}.transport.respondingtimeouts.idletimeout=${props.idleTimeout}`,
        ]),
        '--providers.kubernetesgateway=true',
        `--providers.kubernetesgateway.namespaces=${props.namespace}`,
        // The Gateway's status.addresses: this Service.
        `--providers.kubernetesgateway.statusaddress.service.name=${TRAEFIK}`,
        `--providers.kubernetesgateway.statusaddress.service.namespace=${props.namespace}`,
        '--ping=true',
        '--ping.entrypoint=web',
        // Air-gapped clusters: no calls home.
        '--global.checknewversion=false',
        '--global.sendanonymoususage=false',
        '--log.level=INFO',
      ],
      ports: [
        { name: 'web', port: props.listenerPort, ...(props.nodePort === null ? {} : { nodePort: props.nodePort }) },
        ...(props.https
          ? [
              {
                name: 'websecure',
                port: props.https.port,
                ...(props.https.nodePort === null ? {} : { nodePort: props.https.nodePort }),
              },
            ]
          : []),
      ],
      probe: httpProbe('/ping', props.listenerPort),
      mounts: [],
      scratch: ['/tmp'],
      serviceAccountName: TRAEFIK,
      sysctls: [
        {
          name: 'net.ipv4.ip_unprivileged_port_start',
          value: String(Math.min(props.listenerPort, props.https?.port ?? props.listenerPort)),
        },
      ],
      exposure: props.nodePort === null ? 'LoadBalancer' : 'NodePort',
    });
  }
}
