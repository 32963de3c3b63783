import { Chart, type ChartProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-34';
import type { Construct } from 'constructs';
import { execProbe, resources } from '../constructs/hardening.ts';
import { selectorLabels } from '../constructs/labels.ts';
import { OneShotJob } from '../constructs/one-shot-job.ts';
import { StatefulService } from '../constructs/stateful-service.ts';
import { CITUS_COORDINATOR, CITUS_WORKER, PG_DATABASE } from '../database.ts';
import type { SecretsConfig } from '../secrets.ts';
import {
  credentialsSecret,
  PGDATA_ENV,
  POSTGRES_DATA_MOUNT,
  POSTGRES_SCRATCH,
  POSTGRES_UID,
  postgresImageEnv,
} from './postgres.ts';

export interface CitusChartProps extends ChartProps {
  image: string;
  secrets: SecretsConfig;
  workers: number;
  clientPodNames: string[];
}

/**
 * Citus mode (PM_POSTGRES=citus, docs/data-tier.md): one coordinator and N (≥ 2) workers as StatefulSets, all
 * running deploy/citus (PostgreSQL 17 + Citus 13.2 + pg_partman, non-root), and a Job that registers the workers
 * with the coordinator. The API and its migrations Job talk to the coordinator only (no PG_REPLICA_URL); the
 * migrations distribute the tables by shard_key once the workers are registered (the Job retries until then).
 */
export class CitusChart extends Chart {
  constructor(scope: Construct, id: string, props: CitusChartProps) {
    super(scope, id, props);
    const dbSecret = credentialsSecret(this, props.secrets);
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
    new OneShotJob(this, 'register', {
      name: 'citus-register-workers',
      labelName: 'citus-register',
      component: 'database',
      containerName: 'register',
      image: props.image,
      uid: POSTGRES_UID,
      command: ['psql', '-v', 'ON_ERROR_STOP=1', '-c', register],
      env: [
        { name: 'PGHOST', value: CITUS_COORDINATOR },
        { name: 'PGDATABASE', value: PG_DATABASE },
        { name: 'PGUSER', valueFrom: { secretKeyRef: { name: dbSecret, key: 'username' } } },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: dbSecret, key: 'password' } } },
      ],
      resources: resources('50m', '32Mi', '200m', '64Mi'),
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
    new StatefulService(this, role, {
      name,
      component: 'database',
      replicas,
      containerName: 'postgres',
      image: props.image,
      uid: POSTGRES_UID,
      ports: [{ name: 'postgres', port: 5432 }],
      env: [
        ...postgresImageEnv(props.secrets.credentials.database.name),
        { name: 'POSTGRES_HOST_AUTH_METHOD', value: auth },
        PGDATA_ENV,
      ],
      resources: resources('100m', '256Mi', '1', '512Mi'),
      readinessProbe: execProbe(['pg_isready', '-U', 'postgres', '-h', '127.0.0.1']),
      livenessDelaySeconds: 30,
      data: { mountPath: POSTGRES_DATA_MOUNT, size: '2Gi' },
      scratch: POSTGRES_SCRATCH,
    });
  }
}
