import { Chart, type ChartProps } from 'cdk8s';
import type { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import type { GatewayTls } from '../config.ts';
import { appLabels, selectorLabels } from '../constructs/labels.ts';
import { Certificate, Issuer } from '../crds/cert-manager.ts';
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
import { TRAEFIK, TRAEFIK_GATEWAY_CONTROLLER, Traefik } from './traefik.ts';

/** Namespace of the Envoy Gateway controller, where it also runs the Envoy proxies of every Gateway. */
export const GATEWAY_NAMESPACE = 'envoy-gateway-system';
export const GATEWAY_CLASS = 'payment-manager';
/**
 * The standalone stack's class has its own name: a GatewayClass's controllerName cannot change, so switching a
 * cluster between the stacks must not mean updating one class in place.
 */
export const TRAEFIK_GATEWAY_CLASS = 'payment-manager-traefik';

/** Who implements the Gateway: Envoy Gateway (installed as an operator) or our own Traefik Deployment. */
export type GatewayEdge = { kind: 'envoy' } | { kind: 'traefik'; image: string };
export const GATEWAY_NAME = 'webhooks';
export const WEBHOOKS_ROUTE = 'webhooks';
/** Port of the Gateway's HTTP listener (and of the Service in front of the proxies). */
export const GATEWAY_LISTENER_PORT = 80;
/** Port of its HTTPS listener. */
export const GATEWAY_HTTPS_PORT = 443;
/** Webhooks per minute one client address may send through an Envoy proxy (ingest's RATE_LIMIT_MAX default). */
export const GATEWAY_RATE_LIMIT_PER_MINUTE = 6000;
/** The route that answers plain HTTP with a redirect to HTTPS (when TLS is on). */
export const REDIRECT_ROUTE = 'webhooks-https-redirect';
/** The self-signed CA of PM_GATEWAY_TLS=cert-manager without an issuer: Issuer and CA Secret names. */
export const SELF_SIGNED_CA = 'payment-manager-ca';

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
  edge: GatewayEdge;
  tls: GatewayTls;
}

/**
 * The cluster-scoped GatewayClass that hands our Gateway to Envoy Gateway. It lives in the chart of cluster-scoped
 * objects (cdk8s gives every object of a namespaced chart that namespace).
 */
export function webhookGatewayClass(scope: Construct, edge: GatewayEdge['kind'] = 'envoy'): void {
  const labels = appLabels(GATEWAY_NAME, 'gateway');
  new GatewayClass(scope, 'gateway-class', {
    metadata: { name: edge === 'envoy' ? GATEWAY_CLASS : TRAEFIK_GATEWAY_CLASS, labels },
    spec:
      edge === 'envoy'
        ? { controllerName: ENVOY_GATEWAY_CONTROLLER, description: 'Payment Manager webhook edge (Envoy Gateway)' }
        : { controllerName: TRAEFIK_GATEWAY_CONTROLLER, description: 'Payment Manager webhook edge (Traefik)' },
  });
}

/** Where the proxies that forward webhooks to ingest run, as a NetworkPolicy peer. */
export function edgePeer(edge: GatewayEdge['kind']): k8s.NetworkPolicyPeer {
  return edge === 'envoy'
    ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': GATEWAY_NAMESPACE } } }
    : { podSelector: { matchLabels: selectorLabels(TRAEFIK) } };
}

/** Client-side bounds against slow senders: whole request received, and keep-alive idle. */
const CLIENT_TIMEOUTS = { request: '10s', idle: '60s' };

/**
 * Provider webhooks enter through the Gateway API (Envoy Gateway): one HTTP Gateway, an HTTPRoute
 * sending /webhooks/* to ingest, and Envoy Gateway policies for what the Gateway API does not express: the body
 * size limit (BackendTrafficPolicy) and client-side timeouts against slow senders (ClientTrafficPolicy). The
 * route's own timeouts bound the whole request and the wait for ingest.
 *
 * With the Traefik edge (standalone stack) the Gateway and HTTPRoute are the same but for the class and Envoy's
 * infrastructure reference; the client timeouts become Traefik entry point settings, and the body limit is ingest's
 * own BODY_LIMIT_BYTES (a Traefik buffering middleware would need Traefik's CRDs).
 */
export class GatewayChart extends Chart {
  constructor(scope: Construct, id: string, props: GatewayChartProps) {
    super(scope, id, props);
    const labels = appLabels(GATEWAY_NAME, 'gateway');

    const edge = props.edge;
    const envoy = edge.kind === 'envoy';
    const tls = props.tls.mode === 'off' ? null : props.tls;
    if (edge.kind === 'envoy') this.envoyProxy(props, labels);
    else
      new Traefik(this, 'traefik', {
        image: edge.image,
        namespace: props.namespace as string,
        listenerPort: GATEWAY_LISTENER_PORT,
        nodePort: props.nodePort,
        https: tls ? { port: GATEWAY_HTTPS_PORT, nodePort: tls.httpsNodePort } : null,
        readTimeout: CLIENT_TIMEOUTS.request,
        idleTimeout: CLIENT_TIMEOUTS.idle,
      });

    new Gateway(this, 'gateway', {
      metadata: { name: GATEWAY_NAME, labels },
      spec: {
        gatewayClassName: envoy ? GATEWAY_CLASS : TRAEFIK_GATEWAY_CLASS,
        ...(envoy
          ? {
              infrastructure: {
                parametersRef: {
                  group: ENVOY_GATEWAY_API_VERSION.split('/')[0] as string,
                  kind: 'EnvoyProxy',
                  name: GATEWAY_NAME,
                },
              },
            }
          : {}),
        listeners: [
          {
            name: 'http',
            protocol: 'HTTP',
            port: GATEWAY_LISTENER_PORT,
            ...(props.host ? { hostname: props.host } : {}),
            allowedRoutes: { namespaces: { from: 'Same' } },
          },
          ...(tls
            ? [
                {
                  name: 'https',
                  protocol: 'HTTPS' as const,
                  port: GATEWAY_HTTPS_PORT,
                  ...(props.host ? { hostname: props.host } : {}),
                  tls: {
                    mode: 'Terminate' as const,
                    certificateRefs: [{ kind: 'Secret' as const, name: tls.secretName }],
                  },
                  allowedRoutes: { namespaces: { from: 'Same' as const } },
                },
              ]
            : []),
        ],
      },
    });

    new HTTPRoute(this, 'route', {
      metadata: { name: WEBHOOKS_ROUTE, labels },
      spec: {
        parentRefs: [{ name: GATEWAY_NAME, sectionName: tls ? 'https' : 'http' }],
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
    if (tls) {
      // Plain HTTP only redirects: a webhook (with its signature) never crosses the network in clear text.
      new HTTPRoute(this, 'redirect', {
        metadata: { name: REDIRECT_ROUTE, labels },
        spec: {
          parentRefs: [{ name: GATEWAY_NAME, sectionName: 'http' }],
          ...(props.host ? { hostnames: [props.host] } : {}),
          rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
        },
      });
      if (tls.mode === 'cert-manager') this.certificate(props, tls, labels);
    }

    if (envoy) this.envoyPolicies(props, labels);
  }

  /**
   * The listener's certificate from cert-manager: from the configured issuer, or from a CA made here for the
   * purpose (a self-signed Issuer signs the CA certificate, a CA Issuer signs the server certificate), which
   * senders must be told to trust: for development and tests, not for providers on the internet.
   */
  private certificate(
    props: GatewayChartProps,
    tls: Extract<GatewayTls, { mode: 'cert-manager' }>,
    labels: Record<string, string>,
  ): void {
    let issuer = tls.issuer;
    if (!issuer) {
      const bootstrap = `${SELF_SIGNED_CA}-bootstrap`;
      new Issuer(this, 'self-signed', { metadata: { name: bootstrap, labels }, spec: { selfSigned: {} } });
      new Certificate(this, 'ca', {
        metadata: { name: SELF_SIGNED_CA, labels },
        spec: {
          isCA: true,
          commonName: 'Payment Manager gateway CA',
          secretName: SELF_SIGNED_CA,
          duration: '87600h',
          privateKey: { algorithm: 'ECDSA', size: 256 },
          issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: bootstrap },
        },
      });
      new Issuer(this, 'ca-issuer', {
        metadata: { name: SELF_SIGNED_CA, labels },
        spec: { ca: { secretName: SELF_SIGNED_CA } },
      });
      issuer = { kind: 'Issuer', name: SELF_SIGNED_CA };
    }
    new Certificate(this, 'certificate', {
      metadata: { name: tls.secretName, labels },
      spec: {
        secretName: tls.secretName,
        // Without a host the Gateway answers any name; the certificate then names the in-cluster Service.
        dnsNames: [props.host || `${GATEWAY_NAME}.${props.namespace}.svc`],
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        usages: ['server auth', 'digital signature'],
        issuerRef: { group: 'cert-manager.io', ...issuer },
      },
    });
  }

  private envoyProxy(props: GatewayChartProps, labels: Record<string, string>): void {
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
                      value: {
                        spec: {
                          ports: [
                            { port: GATEWAY_LISTENER_PORT, nodePort: props.nodePort },
                            ...(props.tls.mode !== 'off' && props.tls.httpsNodePort !== null
                              ? [{ port: GATEWAY_HTTPS_PORT, nodePort: props.tls.httpsNodePort }]
                              : []),
                          ],
                        },
                      },
                    },
                  },
          },
        },
      },
    });
  }

  private envoyPolicies(props: GatewayChartProps, labels: Record<string, string>): void {
    const gatewayRef: PolicyTargetRef = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY_NAME };
    const routeRef: PolicyTargetRef = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: WEBHOOKS_ROUTE };
    new ClientTrafficPolicy(this, 'client-policy', {
      metadata: { name: GATEWAY_NAME, labels },
      spec: {
        targetRefs: [gatewayRef],
        timeout: {
          http: {
            requestHeadersReceivedTimeout: '5s',
            requestReceivedTimeout: CLIENT_TIMEOUTS.request,
            idleTimeout: CLIENT_TIMEOUTS.idle,
          },
        },
      },
    });
    new BackendTrafficPolicy(this, 'backend-policy', {
      metadata: { name: WEBHOOKS_ROUTE, labels },
      spec: {
        targetRefs: [routeRef],
        requestBuffer: { limit: String(props.bodyLimitBytes) },
        // Per client address at the edge, before ingest's own per-source limit (docs/api.md#rate-limits).
        rateLimit: {
          local: {
            rules: [
              {
                clientSelectors: [{ sourceCIDR: { type: 'Distinct', value: '0.0.0.0/0' } }],
                limit: { requests: GATEWAY_RATE_LIMIT_PER_MINUTE, unit: 'Minute' },
              },
            ],
          },
        },
      },
    });
  }
}
