import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import type { PlatformConfig } from '../config.ts';
import { appLabels, selectorLabels } from '../constructs/labels.ts';
import { CITUS_COORDINATOR, CITUS_WORKER, PG_CLUSTER_NAME } from '../database.ts';
import { KAFKA_TLS_PORT, kafkaAccessOf } from '../kafka-access.ts';
import { KAFKA_CLIENT_PORT, KAFKA_CLUSTER_NAME } from '../topics.ts';
import { API, INGEST } from './app.ts';
import { BACKUP_STORE } from './backup-store.ts';
import { edgePeer, GATEWAY_HTTPS_PORT, GATEWAY_LISTENER_PORT } from './gateway.ts';
import { KAFKA_NODES, KAFKA_TOPICS_JOB } from './kafka-standalone.ts';
import { PG_PRIMARY, PG_REPLICA } from './postgres-standalone.ts';
import { TRAEFIK } from './traefik.ts';

/** A port of a flow: TCP unless said otherwise; `any` = every port of the peer. */
export type FlowPort = number | { port: number; protocol: 'UDP' | 'TCP' } | 'any';

/** One end of a flow: pods of the namespace, or something outside it (a peer only, never given a policy). */
export interface Endpoint {
  /** Name in the graph (tests and documentation use it). */
  name: string;
  peer: k8s.NetworkPolicyPeer;
  /** Pods of the namespace we give policies to; undefined = outside (DNS, API server, operators, internet). */
  pods?: k8s.LabelSelector;
  /**
   * Whether this chart writes the pods' ingress policy. False for the components whose chart keeps its own next to
   * the workload (app, databases, Kafka, backup store) or whose operator generates it (Strimzi's listeners).
   */
  ingressHere?: boolean;
}

export interface Flow {
  from: Endpoint;
  to: Endpoint;
  ports: FlowPort[];
}

/**
 * Where the Kubernetes API server is, for the components that call it (Prometheus discovery, Traefik, the operators'
 * pods). A NetworkPolicy cannot select the API server, and CNIs match it after the Service's DNAT, so the rule names
 * its ports (443 for the `kubernetes` Service, 6443 for the endpoints) on this CIDR: narrow it to the control
 * plane's addresses where they are known.
 */
export const KUBE_API_CIDR = '0.0.0.0/0';
export const KUBE_API_PORTS = [443, 6443];

const internal = (name: string, selector: k8s.LabelSelector, ingressHere = false): Endpoint => ({
  name,
  peer: { podSelector: selector },
  pods: selector,
  ingressHere,
});
const ours = (name: string, ingressHere = false) => internal(name, { matchLabels: selectorLabels(name) }, ingressHere);
const namespace = (name: string): k8s.NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
});

/** Cluster DNS: CoreDNS/kube-dns pods in kube-system (the label both carry). */
export const KUBE_DNS: Endpoint = {
  name: 'kube-dns',
  peer: { ...namespace('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
};
export const KUBE_API: Endpoint = { name: 'kube-apiserver', peer: { ipBlock: { cidr: KUBE_API_CIDR } } };
/** Anything: the Gateway's clients, an external provider. */
export const ANYWHERE: Endpoint = { name: 'anywhere', peer: { ipBlock: { cidr: '0.0.0.0/0' } } };

/** The port an http(s) URL connects to. */
function urlPort(url: string): number {
  const u = new URL(url);
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/**
 * The platform's network graph: every flow between its components and to what they need outside the namespace.
 * Everything else is denied by the default-deny policy. One table, so that the graph can be read (and tested) in
 * one place; `NetworkChart` turns it into NetworkPolicies.
 */
export function networkGraph(config: PlatformConfig): { endpoints: Endpoint[]; flows: Flow[] } {
  const standalone = config.stack === 'standalone';
  const grafanaAndLoki = !standalone;
  const api = ours(API);
  const ingest = ours(INGEST);
  const edge: Endpoint = standalone ? ours(TRAEFIK, true) : { name: 'envoy-gateway', peer: edgePeer('envoy') };
  const collector = ours('otel-collector', true);
  const tempo = ours('tempo', true);
  const loki = ours('loki', true);
  const prometheus = ours('prometheus', true);
  const grafana = ours('grafana', true);
  const flows: Flow[] = [];
  const flow = (from: Endpoint, to: Endpoint, ...ports: FlowPort[]) => flows.push({ from, to, ports });

  // Webhooks: the Gateway's clients → the edge → ingest → Kafka; the API consumes and writes PostgreSQL.
  if (standalone) {
    flow(ANYWHERE, edge, GATEWAY_LISTENER_PORT, ...(config.gatewayTls.mode === 'off' ? [] : [GATEWAY_HTTPS_PORT]));
    flow(edge, KUBE_API, ...KUBE_API_PORTS);
  }
  flow(edge, ingest, 3001);
  flow(ingest, api, 3000);
  flow(edge, api, 3000);
  flow(prometheus, api, 3000);
  flow(prometheus, ingest, 3001);
  flow(prometheus, KUBE_API, ...KUBE_API_PORTS);

  // Kafka: the services, the topics Job, and the brokers among themselves; the clients' port is the TLS listener's
  // with TLS + SCRAM (kafka-access.ts), the plaintext one otherwise.
  const kafkaPort = kafkaAccessOf(config) === 'scram-tls' ? KAFKA_TLS_PORT : KAFKA_CLIENT_PORT;
  let brokers: Endpoint;
  if (standalone) {
    brokers = ours(KAFKA_NODES);
    flow(ours(KAFKA_TOPICS_JOB), brokers, kafkaPort);
    flow(brokers, brokers, 'any');
  } else {
    brokers = internal('strimzi-brokers', {
      matchLabels: { 'strimzi.io/cluster': KAFKA_CLUSTER_NAME, 'strimzi.io/broker-role': 'true' },
    });
    // Brokers, controllers and the entity operator talk among themselves and to the API server (topic operator).
    const strimzi = internal('strimzi-pods', {
      matchLabels: { 'strimzi.io/cluster': KAFKA_CLUSTER_NAME, 'strimzi.io/kind': 'Kafka' },
    });
    flow(strimzi, strimzi, 'any');
    flow(strimzi, KUBE_API, ...KUBE_API_PORTS);
  }
  flow(api, brokers, kafkaPort);
  flow(ingest, brokers, kafkaPort);

  // PostgreSQL of the chosen topology.
  if (config.postgres === 'citus') {
    const coordinator = ours(CITUS_COORDINATOR);
    const workers = ours(CITUS_WORKER);
    flow(api, coordinator, 5432);
    flow(coordinator, workers, 5432);
    flow(workers, workers, 5432);
    flow(workers, coordinator, 5432);
    // The Job registers the workers through the coordinator.
    flow(ours('citus-register'), coordinator, 5432);
  } else if (standalone) {
    const nodes = internal('postgres', {
      matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: [PG_PRIMARY, PG_REPLICA] }],
    });
    flow(api, nodes, 5432);
    flow(nodes, nodes, 5432);
  } else {
    const instances = internal('cloudnative-pg', { matchLabels: { 'cnpg.io/cluster': PG_CLUSTER_NAME } });
    flow(api, instances, 5432);
    // Streaming replication among instances; the instance manager reconciles from the API server; base backups
    // and WAL go to the object store: the dev profile's in-cluster store, or the one given by reference outside.
    flow(instances, instances, 5432);
    flow(instances, KUBE_API, ...KUBE_API_PORTS);
    const backup = config.postgresOptions.backup;
    if (backup.kind === 'dev-store') flow(instances, ours(BACKUP_STORE), 8333);
    if (backup.kind === 'object-store')
      flow(instances, ANYWHERE, backup.endpointUrl ? urlPort(backup.endpointUrl) : 443);
  }

  // Telemetry: OTLP to the collector, on to Tempo (and Loki); Tempo's span metrics to Prometheus; Grafana reads.
  flow(api, collector, 4317, 4318);
  flow(ingest, collector, 4317, 4318);
  flow(collector, tempo, 4317, 4318);
  flow(tempo, prometheus, 9090);
  if (grafanaAndLoki) {
    flow(collector, loki, 3100);
    flow(grafana, prometheus, 9090);
    flow(grafana, tempo, 3200);
    flow(grafana, loki, 3100);
  }

  // The payment provider: the in-cluster stub, or the configured URL outside the cluster.
  if (config.providerStub) flow(api, ours('silvergate-stub', true), 8080);
  else flow(api, ANYWHERE, urlPort(config.silvergateBaseUrl));

  // cert-manager's ACME HTTP-01 solver pods answer the CA from the internet (only with an external issuer).
  if (config.gatewayTls.mode === 'cert-manager' && config.gatewayTls.issuer)
    flow(
      ANYWHERE,
      internal('acme-http01-solver', { matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } }, true),
      8089,
    );

  // Every pod of the namespace resolves names through the cluster DNS (and nothing else leaves by default).
  const everyPod = internal('every-pod', {});
  flow(everyPod, KUBE_DNS, { port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' });

  const endpoints = [...new Map(flows.flatMap((f) => [f.from, f.to]).map((e) => [e.name, e])).values()];
  return { endpoints, flows };
}

function policyPorts(ports: FlowPort[]): k8s.NetworkPolicyPort[] | undefined {
  if (ports.includes('any')) return undefined;
  return ports.map((p) =>
    typeof p === 'number'
      ? { port: k8s.IntOrString.fromNumber(p), protocol: 'TCP' }
      : {
          port: k8s.IntOrString.fromNumber((p as { port: number }).port),
          protocol: (p as { protocol: string }).protocol,
        },
  );
}

/**
 * Least privilege on the network: a default-deny policy for ingress and egress of every pod in the namespace, then
 * one egress policy per component with exactly its flows of `networkGraph`, and the ingress policies of the
 * components whose own chart has none (observability, provider stub, Traefik). Enforced only where the CNI
 * implements NetworkPolicy (Calico, Cilium, ...; docs/kubernetes.md, "Security").
 */
export class NetworkChart extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps & { config: PlatformConfig }) {
    super(scope, id, props);
    const labels = appLabels('network', 'network');
    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: { name: 'default-deny', labels },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    const { endpoints, flows } = networkGraph(props.config);
    for (const e of endpoints) {
      if (!e.pods) continue;
      const out = flows.filter((f) => f.from.name === e.name);
      if (out.length > 0)
        new k8s.KubeNetworkPolicy(this, `egress-${e.name}`, {
          metadata: { name: `${e.name}-egress`, labels },
          spec: {
            podSelector: e.pods,
            policyTypes: ['Egress'],
            // To ANYWHERE: no `to` at all (ipBlock semantics for in-cluster addresses are left to the CNI).
            egress: out.map((f) => ({
              ...(f.to === ANYWHERE ? {} : { to: [f.to.peer] }),
              ports: policyPorts(f.ports),
            })),
          },
        });
      const into = flows.filter((f) => f.to.name === e.name);
      if (e.ingressHere && into.length > 0)
        new k8s.KubeNetworkPolicy(this, `ingress-${e.name}`, {
          metadata: { name: `${e.name}-ingress`, labels },
          spec: {
            podSelector: e.pods,
            policyTypes: ['Ingress'],
            ingress: into.map((f) => ({
              ...(f.from === ANYWHERE ? {} : { from: [f.from.peer] }),
              ports: policyPorts(f.ports),
            })),
          },
        });
    }
  }
}
