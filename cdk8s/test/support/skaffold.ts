import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './manifests.ts';

// biome-ignore lint/suspicious/noExplicitAny: skaffold documents as plain JSON
export type SkaffoldDoc = any;

export function skaffoldDocs(): SkaffoldDoc[] {
  return parseAllDocuments(readFileSync(join(REPO_ROOT, 'skaffold.yaml'), 'utf8')).map((d) => d.toJSON());
}

/** Image names of every build artifact in skaffold.yaml. */
export function skaffoldArtifacts(): string[] {
  return skaffoldDocs().flatMap((d) => (d.build?.artifacts ?? []).map((a: { image: string }) => a.image));
}

/** Repository part of an image reference (registry/name without tag or digest). */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] as string;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}
