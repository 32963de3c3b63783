/** What the documentation promises, read from the docs/ pages so tests hold the code to them. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The backticked paths of the docs/api.md line "<service> public paths (exactly): …", sorted. */
export function documentedPublicPaths(service: 'API' | 'Ingest'): string[] {
  const docs = readFileSync(`${REPO_ROOT}docs/api.md`, 'utf8');
  const line = docs.split('\n').find((text) => text.startsWith(`${service} public paths (exactly):`));
  if (!line) throw new Error(`docs/api.md has no line "${service} public paths (exactly): …"`);
  return [...line.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string).sort();
}
