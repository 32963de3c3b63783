import { requireWiremockUrl } from './services.ts';

/**
 * Helpers over WireMock's admin API (https://wiremock.org/docs/standalone/admin-api-reference/).
 *
 * One WireMock serves every test file of a run in parallel, so journal queries and temporary stubs should be
 * scoped to something unique to the test — usually the order id in the request body (see `bodyWithOrderId`) —
 * instead of resetting or overriding shared state.
 */

export interface RequestPattern {
  method?: string;
  url?: string;
  urlPath?: string;
  urlPattern?: string;
  headers?: Record<string, Record<string, unknown>>;
  bodyPatterns?: Record<string, unknown>[];
}

export interface LoggedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  loggedDate: number;
}

export interface StubResponse {
  status: number;
  headers?: Record<string, string>;
  jsonBody?: unknown;
  body?: string;
  /** Delays the answer, to drive the client into its timeout. */
  fixedDelayMilliseconds?: number;
  fault?: 'CONNECTION_RESET_BY_PEER' | 'EMPTY_RESPONSE' | 'MALFORMED_RESPONSE_CHUNK' | 'RANDOM_DATA_THEN_CLOSE';
}

export interface StubMapping {
  /** 1 is the highest; the shipped stubs use 1, 3 and the default 5. */
  priority?: number;
  request: RequestPattern;
  response: StubResponse;
}

export function wiremockUrl(): string {
  return requireWiremockUrl();
}

async function admin<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${wiremockUrl()}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`WireMock admin ${method} ${path} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Body matcher for requests whose JSON `order_id` equals `orderId`. */
export function bodyWithOrderId(orderId: string): Record<string, unknown> {
  return { matchesJsonPath: { expression: '$.order_id', equalTo: orderId } };
}

export async function findRequests(pattern: RequestPattern): Promise<LoggedRequest[]> {
  const { requests } = await admin<{ requests: LoggedRequest[] }>('POST', '/requests/find', pattern);
  return requests;
}

export async function countRequests(pattern: RequestPattern): Promise<number> {
  const { count } = await admin<{ count: number }>('POST', '/requests/count', pattern);
  return count;
}

/** Forgets the matching requests only (other test files keep their journal). */
export async function removeRequests(pattern: RequestPattern): Promise<void> {
  await admin('POST', '/requests/remove', pattern);
}

/** Empties the whole request journal — only for suites that run alone against their WireMock. */
export async function resetRequests(): Promise<void> {
  await admin('DELETE', '/requests');
}

/** Adds a stub that lives until `removeStub` (not persisted to the mappings folder); returns its id. */
export async function addStub(mapping: StubMapping): Promise<string> {
  const { id } = await admin<{ id: string }>('POST', '/mappings', { ...mapping, persistent: false });
  return id;
}

export async function removeStub(id: string): Promise<void> {
  await admin('DELETE', `/mappings/${encodeURIComponent(id)}`);
}

/** Runs `work` with a temporary stub in place and removes the stub afterwards, also when `work` fails. */
export async function withStub<T>(mapping: StubMapping, work: () => Promise<T>): Promise<T> {
  const id = await addStub(mapping);
  try {
    return await work();
  } finally {
    await removeStub(id);
  }
}
