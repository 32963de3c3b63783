/**
 * API keys for tests: one fixed key per role, the API_KEYS value that admits them, and the one helper tests use
 * to add a credential to a request.
 */
import { hashApiKey, parseApiKeys, type Role } from '@payment-manager/api/http/auth';

export const TEST_API_KEYS: Record<Role, string> = {
  reader: 'pm_test_reader_key',
  operator: 'pm_test_operator_key',
  ingest: 'pm_test_ingest_key',
};

/** API_KEYS as a deployment would set it: only hashes. */
export const TEST_API_KEYS_ENV = Object.entries(TEST_API_KEYS)
  .map(([role, key]) => `${role}:${hashApiKey(key)}`)
  .join(',');

export const testApiKeys = () => parseApiKeys(TEST_API_KEYS_ENV);

/** The credential the API expects for a path: ingest's key on /internal/*, the operator's elsewhere. */
export function roleFor(path: string): Role {
  return path.startsWith('/internal/') ? 'ingest' : 'operator';
}

/**
 * Headers with the Authorization of `role` (default: the role the path needs); `null` sends none. This is the
 * only place tests get credentials from.
 */
export function withCredential(
  path: string,
  headers: Record<string, string> = {},
  role: Role | null = roleFor(path),
): Record<string, string> {
  return role === null ? headers : { authorization: `Bearer ${TEST_API_KEYS[role]}`, ...headers };
}
