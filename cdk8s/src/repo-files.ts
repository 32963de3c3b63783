import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface RepoFileOptions {
  repoRoot: string;
}

/** A ConfigMap built from a missing file would deploy a broken component: refuse to synthesize instead. */
function missing(path: string): never {
  throw new Error(`${path} is missing: the platform mounts it from the repository`);
}

/** Contents of one repo file, keyed by its base name (ConfigMap data). */
export function readRepoFile(path: string, opts: RepoFileOptions): Record<string, string> {
  const full = join(opts.repoRoot, path);
  if (!existsSync(full)) return missing(path);
  return { [path.split('/').pop() as string]: readFileSync(full, 'utf8') };
}

/** Files directly inside a repo directory whose name ends with one of `extensions`. */
export function readRepoDir(path: string, extensions: string[], opts: RepoFileOptions): Record<string, string> {
  const full = join(opts.repoRoot, path);
  if (!existsSync(full)) return missing(path);
  const data: Record<string, string> = {};
  for (const name of readdirSync(full).sort()) {
    const file = join(full, name);
    if (statSync(file).isFile() && extensions.some((ext) => name.endsWith(ext)))
      data[name] = readFileSync(file, 'utf8');
  }
  return data;
}

/** Sub-directories of a repo directory (Grafana's provisioning tree has one per kind). */
export function repoSubdirs(path: string, opts: RepoFileOptions): string[] {
  const full = join(opts.repoRoot, path);
  if (!existsSync(full)) return missing(path);
  return readdirSync(full)
    .filter((name) => statSync(join(full, name)).isDirectory())
    .sort()
    .map((name) => relative(opts.repoRoot, join(full, name)));
}
