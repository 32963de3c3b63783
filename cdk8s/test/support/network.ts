import { type K8sObject, podTemplates } from './manifests.ts';

/**
 * A NetworkPolicy evaluator for the tests: which pod (or address) may open a connection to which, on which port,
 * under the policies of the manifests, with the semantics of the Kubernetes API (a pod selected by no policy of a
 * direction is open in that direction; policies add up; ingress needs both the source's egress and the
 * destination's ingress to allow it). The local cluster cannot enforce NetworkPolicies (its CNI has no policy
 * engine), so the graph is proven here, on the objects.
 */

export interface Node {
  /** Name in the graph: a workload's name, or a stand-in for pods and addresses outside our manifests. */
  name: string;
  /** Pods: namespace and labels. Addresses outside the cluster's pods: ip. */
  namespace?: string;
  labels?: Record<string, string>;
  ip?: string;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key] as string;
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function ipInCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (bits === 0) return true;
  const toInt = (a: string) => a.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const block = 2 ** (32 - bits);
  return Math.floor(toInt(ip) / block) === Math.floor(toInt(base as string) / block);
}

// biome-ignore lint/suspicious/noExplicitAny: policy peers as plain JSON
function peerMatches(peer: any, policyNamespace: string, node: Node): boolean {
  if (peer.ipBlock) {
    // Pod addresses in an ipBlock are left to the CNI: never count on them.
    if (!node.ip) return false;
    const except: string[] = peer.ipBlock.except ?? [];
    return ipInCidr(node.ip, peer.ipBlock.cidr) && !except.some((c) => ipInCidr(node.ip as string, c));
  }
  if (!node.labels || !node.namespace) return false;
  const inNamespace = peer.namespaceSelector
    ? selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': node.namespace })
    : node.namespace === policyNamespace;
  return inNamespace && selects(peer.podSelector, node.labels);
}

// biome-ignore lint/suspicious/noExplicitAny: policy ports as plain JSON
function portMatches(ports: any[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(
    (p) =>
      (p.protocol ?? 'TCP') === protocol &&
      (p.port === undefined || p.port === port || (p.endPort !== undefined && port >= p.port && port <= p.endPort)),
  );
}

function allowedBy(
  policies: K8sObject[],
  direction: 'Ingress' | 'Egress',
  self: Node,
  other: Node,
  port: number,
  protocol: string,
): boolean {
  if (!self.labels || !self.namespace) return true;
  const selecting = policies.filter(
    (p) =>
      p.metadata.namespace === self.namespace &&
      (p.spec.policyTypes ?? ['Ingress']).includes(direction) &&
      selects(p.spec.podSelector, self.labels as Record<string, string>),
  );
  if (selecting.length === 0) return true;
  return selecting.some(
    (p) =>
      ((direction === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some(
        // biome-ignore lint/suspicious/noExplicitAny: rule as plain JSON
        (rule: any) => {
          const peers = direction === 'Ingress' ? rule.from : rule.to;
          const peerOk =
            !peers ||
            peers.length === 0 ||
            peers.some((peer: unknown) => peerMatches(peer, p.metadata.namespace as string, other));
          return peerOk && portMatches(rule.ports, port, protocol);
        },
      ) ?? false,
  );
}

/** Whether `from` may connect to `to` on port/protocol. */
export function allowed(policies: K8sObject[], from: Node, to: Node, port: number, protocol = 'TCP'): boolean {
  return (
    allowedBy(policies, 'Egress', from, to, port, protocol) && allowedBy(policies, 'Ingress', to, from, port, protocol)
  );
}

/**
 * The policies Strimzi generates for the brokers (what the Kafka resource asks of it): each listener admits its
 * networkPolicyPeers on its port; the replication and control-plane ports admit Strimzi's own pods.
 */
export function strimziGeneratedPolicies(objects: K8sObject[]): K8sObject[] {
  return objects
    .filter((o) => o.kind === 'Kafka' && o.apiVersion.startsWith('kafka.strimzi.io/'))
    .map((kafka) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `${kafka.metadata.name}-network-policy-kafka`, namespace: kafka.metadata.namespace },
      spec: {
        podSelector: {
          matchLabels: {
            'strimzi.io/cluster': kafka.metadata.name,
            'strimzi.io/kind': 'Kafka',
            'strimzi.io/broker-role': 'true',
          },
        },
        policyTypes: ['Ingress'],
        ingress: [
          ...kafka.spec.kafka.listeners.map((l: { port: number; networkPolicyPeers?: unknown[] }) => ({
            from: l.networkPolicyPeers,
            ports: [{ port: l.port, protocol: 'TCP' }],
          })),
          {
            from: [{ podSelector: { matchLabels: { 'strimzi.io/cluster': kafka.metadata.name } } }],
            ports: [9090, 9091].map((port) => ({ port, protocol: 'TCP' })),
          },
        ],
      },
    }));
}

/**
 * The pods of the manifests (one per workload) and stand-ins for the rest: the operators' pods (CloudNativePG
 * instances, Strimzi brokers and entity operator), the Envoy proxies, the operators' controllers, cluster DNS, the
 * API server and a host on the internet.
 */
export function graphNodes(objects: K8sObject[], namespace: string): Node[] {
  const nodes: Node[] = podTemplates(objects).map((p) => ({
    name: p.owner.metadata.name,
    namespace,
    labels: p.labels,
  }));
  if (objects.some((o) => o.kind === 'Cluster' && o.apiVersion.startsWith('postgresql.cnpg.io/')))
    nodes.push({
      name: 'cloudnative-pg',
      namespace,
      labels: { 'cnpg.io/cluster': 'payments', 'cnpg.io/instanceRole': 'primary' },
    });
  if (objects.some((o) => o.kind === 'Kafka')) {
    const strimzi = { 'strimzi.io/cluster': 'payments', 'strimzi.io/kind': 'Kafka' };
    nodes.push({
      name: 'strimzi-broker',
      namespace,
      labels: { ...strimzi, 'strimzi.io/broker-role': 'true', 'strimzi.io/controller-role': 'true' },
    });
    nodes.push({
      name: 'strimzi-entity-operator',
      namespace,
      labels: { ...strimzi, 'strimzi.io/name': 'payments-entity-operator' },
    });
  }
  nodes.push(
    { name: 'envoy-proxy', namespace: 'envoy-gateway-system', labels: { 'app.kubernetes.io/name': 'envoy' } },
    { name: 'cnpg-operator', namespace: 'cnpg-system', labels: { 'app.kubernetes.io/name': 'cloudnative-pg' } },
    { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
    { name: 'other-namespace-pod', namespace: 'default', labels: { app: 'anything' } },
    { name: 'kube-apiserver', ip: '192.0.2.2' },
    { name: 'internet', ip: '203.0.113.10' },
  );
  return nodes;
}

/** Every allowed connection between the nodes, as `from → to:port[/UDP]`, over the ports the manifests mention. */
export function allowedEdges(
  objects: K8sObject[],
  nodes: Node[],
): Array<{ from: string; to: string; port: number; protocol: string }> {
  const policies = [...objects.filter((o) => o.kind === 'NetworkPolicy'), ...strimziGeneratedPolicies(objects)];
  const ports = new Set<number>([53, 443, 6443, 8000, 8089, 9090, 9091, 9092, 9093]);
  for (const p of podTemplates(objects))
    for (const c of [...(p.spec.containers ?? []), ...(p.spec.initContainers ?? [])])
      for (const port of c.ports ?? []) ports.add(port.containerPort);
  for (const policy of policies)
    for (const rule of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])])
      for (const port of rule.ports ?? []) if (typeof port.port === 'number') ports.add(port.port);
  const edges: Array<{ from: string; to: string; port: number; protocol: string }> = [];
  for (const from of nodes)
    for (const to of nodes) {
      if (!to.labels && !from.labels) continue;
      for (const [port, protocol] of [...[...ports].map((p) => [p, 'TCP'] as const), [53, 'UDP'] as const])
        if (allowed(policies, from, to, port, protocol)) edges.push({ from: from.name, to: to.name, port, protocol });
    }
  return edges;
}
