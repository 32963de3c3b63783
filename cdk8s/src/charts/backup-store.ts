import { k8s } from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { lockedDownContainer, lockedDownPod, resources } from '../constructs/hardening.ts';
import { appLabels, selectorLabels } from '../constructs/labels.ts';
import { PlatformSecret, type SecretsConfig } from '../secrets.ts';

export const BACKUP_STORE = 'backup-store';
export const BACKUP_BUCKET = 'payments-backups';
const S3_PORT = 8333;
/** UID of the seaweed user in the SeaweedFS image. */
const SEAWEED_UID = 1000;

export interface BackupStoreProps {
  image: string;
  /** The store's credentials (keys ACCESS_KEY_ID, ACCESS_SECRET_KEY and SeaweedFS's s3.json; src/secrets.ts). */
  secrets: SecretsConfig;
  storage: string;
  /** Pods (label selector) allowed to reach the S3 port: the PostgreSQL instances. */
  clientSelector: Record<string, string>;
}

/**
 * An S3-compatible object store inside the cluster (SeaweedFS, one pod, data on a PersistentVolumeClaim) for
 * CloudNativePG's base backups and WAL archive: works on kind without a cloud account or CSI snapshot support.
 * On a real cluster point the backup at a managed object store instead (docs/kubernetes.md).
 */
export class BackupStore extends Construct {
  /** In-cluster endpoint for barman-cloud. */
  readonly endpointUrl = `http://${BACKUP_STORE}:${S3_PORT}`;
  /** The Secret barman-cloud reads the access key from. */
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: BackupStoreProps) {
    super(scope, id);
    const labels = appLabels(BACKUP_STORE, 'backup');
    const selector = selectorLabels(BACKUP_STORE);
    const secret = new PlatformSecret(this, 'credentials', {
      secrets: props.secrets,
      credential: 'backupStore',
      labels,
    });
    this.secretName = secret.name;
    new k8s.KubePersistentVolumeClaim(this, 'data', {
      metadata: { name: `${BACKUP_STORE}-data`, labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: k8s.Quantity.fromString(props.storage) } },
      },
    });
    const tcpProbe: k8s.Probe = {
      tcpSocket: { port: k8s.IntOrString.fromNumber(S3_PORT) },
      periodSeconds: 10,
      failureThreshold: 3,
      timeoutSeconds: 2,
    };
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: BACKUP_STORE, labels },
      spec: {
        replicas: 1,
        // One writer per volume: the old pod must be gone before the new one mounts the claim.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            securityContext: lockedDownPod(SEAWEED_UID),
            automountServiceAccountToken: false,
            containers: [
              {
                name: BACKUP_STORE,
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                // weed directly (the image's entrypoint only fixes /data ownership as root, which fsGroup does).
                command: ['/usr/bin/weed'],
                args: [
                  '-logtostderr=true',
                  'server',
                  '-dir=/data',
                  '-volume.max=0',
                  '-master.volumeSizeLimitMB=256',
                  '-filer',
                  '-s3',
                  `-s3.port=${S3_PORT}`,
                  '-s3.config=/etc/seaweedfs/s3/s3.json',
                ],
                ports: [{ name: 's3', containerPort: S3_PORT }],
                resources: resources('50m', '128Mi', '500m', '512Mi'),
                readinessProbe: tcpProbe,
                livenessProbe: { ...tcpProbe, initialDelaySeconds: 20 },
                securityContext: lockedDownContainer(SEAWEED_UID),
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 's3-config', mountPath: '/etc/seaweedfs/s3', readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: `${BACKUP_STORE}-data` } },
              {
                name: 's3-config',
                secret: { secretName: this.secretName, items: [{ key: 's3.json', path: 's3.json' }] },
              },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    });
    new k8s.KubeService(this, 'service', {
      metadata: { name: BACKUP_STORE, labels },
      spec: {
        selector,
        ports: [{ name: 's3', port: S3_PORT, targetPort: k8s.IntOrString.fromString('s3') }],
      },
    });
    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: { name: BACKUP_STORE, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
    new k8s.KubeNetworkPolicy(this, 'netpol', {
      metadata: { name: BACKUP_STORE, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: props.clientSelector } }],
            ports: [{ port: k8s.IntOrString.fromNumber(S3_PORT), protocol: 'TCP' }],
          },
        ],
      },
    });
  }
}
