import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { PlatformConfig } from './config.ts';

/** Gateway API v1.6.1, standard channel, vendored byte for byte (deploy/crds/README.md: source and hashes). */
export const GATEWAY_API_CRDS_DIR = 'deploy/crds/gateway-api-v1.6.1';

/** A Kubernetes object as parsed from YAML. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Every object of the YAML files directly in a repository directory, files in name order. */
function readManifests(repoRoot: string, dir: string): ManifestObject[] {
  const full = join(repoRoot, dir);
  return readdirSync(full)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .flatMap((name) => parseAllDocuments(readFileSync(join(full, name), 'utf8')).map((d) => d.toJSON()))
    .filter((o): o is ManifestObject => o !== null && typeof o === 'object');
}

/**
 * What must be on the cluster, and established, before the synthesized manifests are applied, and which the
 * platform itself must bring. The operators stack brings nothing: the operators' charts install their CRDs (Envoy
 * Gateway's includes the Gateway API's). The standalone stack has no such chart, so it brings the Gateway API CRDs —
 * all of the standard channel, because Traefik's provider waits for an informer on each of its kinds. Apply them
 * first (server-side: some exceed the client-side apply annotation limit) and wait for Established, e.g. with
 * cluster/kube.ts's Applier and waitForCrdsEstablished.
 */
export function clusterPrerequisites(config: Pick<PlatformConfig, 'stack' | 'repoRoot'>): ManifestObject[] {
  return config.stack === 'standalone' ? readManifests(config.repoRoot, GATEWAY_API_CRDS_DIR) : [];
}
