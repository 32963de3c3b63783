import { ApiObject, type ApiObjectMetadata } from 'cdk8s';
import type { Construct } from 'constructs';

/*
 * Typed props for the Gateway API (gateway.networking.k8s.io/v1, standard channel v1.6.1) and Envoy Gateway's
 * policy resources (gateway.envoyproxy.io/v1alpha1, Envoy Gateway v1.9.0) we emit. They cover exactly the fields
 * we set; the tests apply the output to a real kube-apiserver with the upstream CRDs installed.
 */

export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';
export const ENVOY_GATEWAY_API_VERSION = 'gateway.envoyproxy.io/v1alpha1';
/** The controller name Envoy Gateway's controller claims GatewayClasses by. */
export const ENVOY_GATEWAY_CONTROLLER = 'gateway.envoyproxy.io/gatewayclass-controller';

export interface PolicyTargetRef {
  group: 'gateway.networking.k8s.io';
  kind: 'Gateway' | 'HTTPRoute';
  name: string;
}

export interface GatewayClassSpec {
  controllerName: string;
  description?: string;
}

export interface GatewaySpec {
  gatewayClassName: string;
  listeners: Array<{
    name: string;
    protocol: 'HTTP' | 'HTTPS';
    port: number;
    hostname?: string;
    tls?: { mode: 'Terminate'; certificateRefs: Array<{ kind: 'Secret'; name: string }> };
    allowedRoutes?: { namespaces: { from: 'Same' | 'All' } };
  }>;
  infrastructure?: { parametersRef: { group: string; kind: string; name: string } };
}

export interface HTTPRouteSpec {
  parentRefs: Array<{ name: string; sectionName?: string }>;
  hostnames?: string[];
  rules: Array<{
    matches?: Array<{ path: { type: 'PathPrefix' | 'Exact'; value: string } }>;
    backendRefs?: Array<{ name: string; port: number }>;
    filters?: Array<{
      type: 'RequestRedirect';
      requestRedirect: { scheme: 'https'; statusCode: 301 | 302; port?: number };
    }>;
    /** Gateway API durations (e.g. "15s"); backendRequest must not exceed request. */
    timeouts?: { request?: string; backendRequest?: string };
  }>;
}

export interface ClientTrafficPolicySpec {
  targetRefs: PolicyTargetRef[];
  timeout?: {
    http?: { requestReceivedTimeout?: string; requestHeadersReceivedTimeout?: string; idleTimeout?: string };
  };
}

export interface BackendTrafficPolicySpec {
  targetRefs: PolicyTargetRef[];
  /** Envoy buffers the whole request and answers 413 above `limit` before the backend sees a byte. */
  requestBuffer?: { limit: string };
  /** Envoy's local (per proxy) rate limit; `Distinct` source CIDR: one budget per client address. */
  rateLimit?: {
    local: {
      rules: Array<{
        clientSelectors: Array<{ sourceCIDR: { type: 'Distinct' | 'Exact'; value: string } }>;
        limit: { requests: number; unit: 'Second' | 'Minute' | 'Hour' };
      }>;
    };
  };
}

export interface EnvoyProxySpec {
  provider: {
    type: 'Kubernetes';
    kubernetes: {
      envoyService?: {
        type: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
        patch?: { type: 'StrategicMerge' | 'JSONMerge'; value: Record<string, unknown> };
      };
    };
  };
}

function resource<S>(apiVersion: string, kind: string) {
  return class extends ApiObject {
    constructor(scope: Construct, id: string, props: { metadata: ApiObjectMetadata; spec: S }) {
      super(scope, id, { apiVersion, kind, ...props });
    }
  };
}

export const GatewayClass = resource<GatewayClassSpec>(GATEWAY_API_VERSION, 'GatewayClass');
export const Gateway = resource<GatewaySpec>(GATEWAY_API_VERSION, 'Gateway');
export const HTTPRoute = resource<HTTPRouteSpec>(GATEWAY_API_VERSION, 'HTTPRoute');
export const ClientTrafficPolicy = resource<ClientTrafficPolicySpec>(ENVOY_GATEWAY_API_VERSION, 'ClientTrafficPolicy');
export const BackendTrafficPolicy = resource<BackendTrafficPolicySpec>(
  ENVOY_GATEWAY_API_VERSION,
  'BackendTrafficPolicy',
);
export const EnvoyProxy = resource<EnvoyProxySpec>(ENVOY_GATEWAY_API_VERSION, 'EnvoyProxy');
