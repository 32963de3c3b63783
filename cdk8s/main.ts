/**
 * cdk8s entry point: `npm run synth` (or `cdk8s synth` with cdk8s.yaml) writes one YAML file per chart to
 * cdk8s/dist/ (or $CDK8S_OUTDIR, which the cdk8s CLI sets). Settings come from PM_* environment variables
 * (see src/config.ts, docs/kubernetes.md).
 */
import { fileURLToPath } from 'node:url';
import { oneLineErrors, parseCli } from '@payment-manager/shared/cli';
import { loadPlatformConfig } from './src/config.ts';
import { buildPlatform, removeSynthOutput } from './src/platform.ts';

parseCli({
  command: 'npm run synth --',
  summary: 'Writes the Kubernetes manifests of the cdk8s app, one YAML file per chart (docs/kubernetes.md).',
  options: {},
  environment: {
    CDK8S_OUTDIR: 'output directory (default cdk8s/dist)',
    PM_STACK: 'operators (default) or standalone: Kafka, PostgreSQL and Traefik as plain workloads of our own images',
    PM_STORAGE_CLASS: "storage class of the standalone stack's volume claims (default: the cluster's default)",
    PM_POSTGRES: 'cnpg (default) or citus',
    PM_PROFILE: 'dev for the small profile (implies PM_SECRETS=dev)',
    PM_SECRETS:
      'existing (default: reference the Secrets, create none), external (ExternalSecrets from PM_SECRET_STORE), env (from PM_WEBHOOK_SECRET, PM_API_KEYS, PM_PG_PASSWORD, PM_BACKUP_SECRET_KEY) or dev (development values); docs/security.md',
    PM_NAMESPACE: 'namespace (default payment-manager)',
    PM_IMAGE_TAG: 'tag of our images (default: from git)',
    PM_PROVIDER_STUB: 'true (default) or false: deploy the WireMock provider stub',
    PM_GATEWAY_NODE_PORT: 'node port in 30000-32767, or none for a LoadBalancer (default 30080, kind)',
    'PM_*': 'the other settings are listed in docs/kubernetes.md',
  },
});
oneLineErrors('synth');

const outdir = process.env.CDK8S_OUTDIR || fileURLToPath(new URL('./dist', import.meta.url));
// skaffold applies every *.k8s.yaml in the directory: files of charts this synth no longer writes (e.g.
// 0001-postgres after switching to Citus) must not survive.
removeSynthOutput(outdir);
buildPlatform(loadPlatformConfig(process.env), { outdir }).synth();
console.log(`synthesized to ${outdir}`);
