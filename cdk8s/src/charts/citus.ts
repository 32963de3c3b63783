import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { execProbe, lockedDownContainer, lockedDownPod, resources } from '../constructs/hardening.ts';
import { appLabels, selectorLabels } from '../constructs/labels.ts';
import { CITUS_COORDINATOR, CITUS_WORKER, PG_CREDENTIALS_SECRET, PG_DATABASE } from '../database.ts';
import { credentialsSecret } from './postgres.ts';

export interface CitusChartProps extends ChartProps {
  image: string;
  password: string;
  workers: number;
  clientPodNames: string[];
}

/** UID of the postgres user in the Debian-based official postgres image that deploy/citus builds on. */
const POSTGRES_UID = 999;

/**
 * Citus mode (PM_POSTGRES=citus, docs/data-tier.md): one coordinator and N (≥ 2) workers as StatefulSets, all
 * running deploy/citus (PostgreSQL 17 + Citus 13.2 + pg_partman, non-root), and a Job that registers the workers
 * with the coordinator. The API and its migrations Job talk to the coordinator only (no PG_REPLICA_URL); the
 * migrations distribute the tables by shard_key once the workers are registered (the Job retries until then).
 */
export class CitusChart extends Chart {
  constructor(scope: Construct, id: string, props: CitusChartProps) {
    super(scope, id, props);
    credentialsSecret(this, props.password);
    this.addNode(CITUS_COORDINATOR, 'coordinator', 1, props, 'scram-sha-256');
    // Workers accept only the coordinator and each other (NetworkPolicy below), which is what makes trust
    // authentication between the nodes acceptable for this option.
    this.addNode(CITUS_WORKER, 'worker', props.workers, props, 'trust');

    const register = [
      `SELECT citus_set_coordinator_host('${CITUS_COORDINATOR}-0.${CITUS_COORDINATOR}', 5432);`,
      ...Array.from(
        { length: props.workers },
        (_, i) => `SELECT citus_add_node('${CITUS_WORKER}-${i}.${CITUS_WORKER}', 5432);`,
      ),
    ].join(' ');
    const labels = appLabels('citus-register', 'database');
    new k8s.KubeJob(this, 'register', {
      metadata: { name: 'citus-register-workers', labels },
      spec: {
        backoffLimit: 20,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'OnFailure',
            securityContext: lockedDownPod(POSTGRES_UID),
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'register',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                command: ['psql', '-v', 'ON_ERROR_STOP=1', '-c', register],
                env: [
                  { name: 'PGHOST', value: CITUS_COORDINATOR },
                  { name: 'PGDATABASE', value: PG_DATABASE },
                  { name: 'PGUSER', valueFrom: { secretKeyRef: { name: PG_CREDENTIALS_SECRET, key: 'username' } } },
                  { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: PG_CREDENTIALS_SECRET, key: 'password' } } },
                ],
                resources: resources('50m', '32Mi', '200m', '64Mi'),
                securityContext: lockedDownContainer(POSTGRES_UID),
              },
            ],
          },
        },
      },
    });

    new k8s.KubeNetworkPolicy(this, 'netpol-workers', {
      metadata: { name: 'citus-workers' },
      spec: {
        podSelector: { matchLabels: selectorLabels(CITUS_WORKER) },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: selectorLabels(CITUS_COORDINATOR) } },
              { podSelector: { matchLabels: selectorLabels(CITUS_WORKER) } },
            ],
            ports: [{ port: k8s.IntOrString.fromNumber(5432), protocol: 'TCP' }],
          },
        ],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'netpol-coordinator', {
      metadata: { name: 'citus-coordinator' },
      spec: {
        podSelector: { matchLabels: selectorLabels(CITUS_COORDINATOR) },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [...props.clientPodNames, 'citus-register', CITUS_WORKER].map((name) => ({
              podSelector: { matchLabels: selectorLabels(name) },
            })),
            ports: [{ port: k8s.IntOrString.fromNumber(5432), protocol: 'TCP' }],
          },
        ],
      },
    });
  }

  private addNode(
    name: string,
    role: string,
    replicas: number,
    props: CitusChartProps,
    auth: 'trust' | 'scram-sha-256',
  ): void {
    const labels = appLabels(name, 'database');
    const selector = selectorLabels(name);
    new k8s.KubeService(this, `${role}-service`, {
      metadata: { name, labels },
      spec: {
        clusterIp: 'None',
        selector,
        ports: [{ name: 'postgres', port: 5432, targetPort: k8s.IntOrString.fromNumber(5432) }],
      },
    });
    new k8s.KubePodDisruptionBudget(this, `${role}-pdb`, {
      metadata: { name, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
    const ready = execProbe(['pg_isready', '-U', 'postgres', '-h', '127.0.0.1']);
    new k8s.KubeStatefulSet(this, role, {
      metadata: { name, labels },
      spec: {
        serviceName: name,
        replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            securityContext: lockedDownPod(POSTGRES_UID),
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'postgres',
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                ports: [{ name: 'postgres', containerPort: 5432 }],
                env: [
                  { name: 'POSTGRES_DB', value: PG_DATABASE },
                  {
                    name: 'POSTGRES_USER',
                    valueFrom: { secretKeyRef: { name: PG_CREDENTIALS_SECRET, key: 'username' } },
                  },
                  {
                    name: 'POSTGRES_PASSWORD',
                    valueFrom: { secretKeyRef: { name: PG_CREDENTIALS_SECRET, key: 'password' } },
                  },
                  { name: 'POSTGRES_HOST_AUTH_METHOD', value: auth },
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                ],
                resources: resources('100m', '256Mi', '1', '512Mi'),
                readinessProbe: ready,
                livenessProbe: { ...ready, initialDelaySeconds: 30 },
                securityContext: lockedDownContainer(POSTGRES_UID),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'run', emptyDir: {} },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: k8s.Quantity.fromString('2Gi') } },
            },
          },
        ],
      },
    });
  }
}
