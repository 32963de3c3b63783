import { join } from 'node:path';
import { REPO_ROOT } from './manifests.ts';

/**
 * Envoy Gateway's own policy CRDs (ClientTrafficPolicy, BackendTrafficPolicy), vendored in the repository
 * because ../shared/crds-next holds only the Gateway API's; see deploy/crds/README.md for source and hashes.
 */
export function gatewayCrdsDir(): string {
  return join(REPO_ROOT, 'deploy/crds');
}
