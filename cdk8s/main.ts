/**
 * cdk8s entry point: `npm run synth` (or `cdk8s synth` with cdk8s.yaml) writes one YAML file per chart to
 * cdk8s/dist/ (or $CDK8S_OUTDIR, which the cdk8s CLI sets). Settings come from PM_* environment variables
 * (see src/config.ts, README.md, "Running on Kubernetes").
 */
import { fileURLToPath } from 'node:url';
import { loadPlatformConfig } from './src/config.ts';
import { buildPlatform } from './src/platform.ts';

const outdir = process.env.CDK8S_OUTDIR || fileURLToPath(new URL('./dist', import.meta.url));
buildPlatform(loadPlatformConfig(process.env), { outdir }).synth();
console.log(`synthesized to ${outdir}`);
