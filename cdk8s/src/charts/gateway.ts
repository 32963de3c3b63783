import { Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';
import { appLabels } from '../constructs/labels.ts';
import {
  BackendTrafficPolicy,
  ClientTrafficPolicy,
  ENVOY_GATEWAY_API_VERSION,
  ENVOY_GATEWAY_CONTROLLER,
  EnvoyProxy,
  Gateway,
  GatewayClass,
  HTTPRoute,
  type PolicyTargetRef,
} from '../crds/gateway.ts';

/** Namespace of the Envoy Gateway controller, where it also runs the Envoy proxies of every Gateway. */
export const GATEWAY_NAMESPACE = 'envoy-gateway-system';
export const GATEWAY_CLASS = 'payment-manager';
export const GATEWAY_NAME = 'webhooks';
export const WEBHOOKS_ROUTE = 'webhooks';

export interface GatewayChartProps extends ChartProps {
  /** Host name the webhook route answers on; empty = any host. */
  host: string;
  /** Service (name, port) that receives /webhooks/*. */
  backend: { name: string; port: number };
  /** Largest request body Envoy passes on (bytes); larger ones get 413 at the edge. */
  bodyLimitBytes: number;
  /**
   * Fixed node port of the Envoy Service (kind maps it to localhost:80, deploy/kind/cluster.yaml);
   * null = a LoadBalancer Service, as on a cloud cluster.
   */
  nodePort: number | null;
}

/**
 * The cluster-scoped GatewayClass that hands our Gateway to Envoy Gateway. It lives in the chart of cluster-scoped
 * objects (cdk8s gives every object of a namespaced chart that namespace).
 */
export function webhookGatewayClass(scope: Construct): void {
  new GatewayClass(scope, 'gateway-class', {
    metadata: { name: GATEWAY_CLASS, labels: appLabels(GATEWAY_NAME, 'gateway') },
    spec: { controllerName: ENVOY_GATEWAY_CONTROLLER, description: 'Payment Manager webhook edge (Envoy Gateway)' },
  });
}

/**
 * Provider webhooks enter through the Gateway API (Envoy Gateway): one HTTP Gateway, an HTTPRoute
 * sending /webhooks/* to ingest, and Envoy Gateway policies for what the Gateway API does not express: the body
 * size limit (BackendTrafficPolicy) and client-side timeouts against slow senders (ClientTrafficPolicy). The
 * route's own timeouts bound the whole request and the wait for ingest.
 */
export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, props: GatewayChartProps) {
    super(scope, id, props);
    const labels = appLabels(GATEWAY_NAME, 'gateway');

    new EnvoyProxy(this, 'proxy', {
      metadata: { name: GATEWAY_NAME, labels },
      spec: {
        provider: {
          type: 'Kubernetes',
          kubernetes: {
            envoyService:
              props.nodePort === null
                ? { type: 'LoadBalancer' }
                : {
                    type: 'NodePort',
                    // Strategic merge on the listener's Service port (merge key `port`) pins its node port.
                    patch: {
                      type: 'StrategicMerge',
                      value: { spec: { ports: [{ port: 80, nodePort: props.nodePort }] } },
                    },
                  },
          },
        },
      },
    });

    new Gateway(this, 'gateway', {
      metadata: { name: GATEWAY_NAME, labels },
      spec: {
        gatewayClassName: GATEWAY_CLASS,
        infrastructure: {
          parametersRef: {
            group: ENVOY_GATEWAY_API_VERSION.split('/')[0] as string,
            kind: 'EnvoyProxy',
            name: GATEWAY_NAME,
          },
        },
        listeners: [
          {
            name: 'http',
            protocol: 'HTTP',
            port: 80,
            ...(props.host ? { hostname: props.host } : {}),
            allowedRoutes: { namespaces: { from: 'Same' } },
          },
        ],
      },
    });

    new HTTPRoute(this, 'route', {
      metadata: { name: WEBHOOKS_ROUTE, labels },
      spec: {
        parentRefs: [{ name: GATEWAY_NAME, sectionName: 'http' }],
        ...(props.host ? { hostnames: [props.host] } : {}),
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/webhooks' } }],
            backendRefs: [props.backend],
            // Ingest answers once the broker acknowledged; a provider retries on timeout, so fail fast.
            timeouts: { request: '15s', backendRequest: '10s' },
          },
        ],
      },
    });

    const gatewayRef: PolicyTargetRef = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY_NAME };
    const routeRef: PolicyTargetRef = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: WEBHOOKS_ROUTE };
    new ClientTrafficPolicy(this, 'client-policy', {
      metadata: { name: GATEWAY_NAME, labels },
      spec: {
        targetRefs: [gatewayRef],
        timeout: { http: { requestHeadersReceivedTimeout: '5s', requestReceivedTimeout: '10s', idleTimeout: '60s' } },
      },
    });
    new BackendTrafficPolicy(this, 'backend-policy', {
      metadata: { name: WEBHOOKS_ROUTE, labels },
      spec: { targetRefs: [routeRef], requestBuffer: { limit: String(props.bodyLimitBytes) } },
    });
  }
}
