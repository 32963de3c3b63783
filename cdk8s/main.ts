/**
 * cdk8s entry point: `npm run synth` (or `cdk8s synth` with cdk8s.yaml) writes one YAML file per chart to
 * cdk8s/dist/ (or $CDK8S_OUTDIR, which the cdk8s CLI sets). Settings come from PM_* environment variables
 * (see src/config.ts, docs/kubernetes.md).
 */
import { fileURLToPath } from 'node:url';
import { loadPlatformConfig } from './src/config.ts';
import { buildPlatform, removeSynthOutput } from './src/platform.ts';

const outdir = process.env.CDK8S_OUTDIR || fileURLToPath(new URL('./dist', import.meta.url));
// skaffold applies every *.k8s.yaml in the directory: files of charts this synth no longer writes (e.g.
// 0001-postgres after switching to Citus) must not survive.
removeSynthOutput(outdir);
buildPlatform(loadPlatformConfig(process.env), { outdir }).synth();
console.log(`synthesized to ${outdir}`);
