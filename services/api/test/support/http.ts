import type { Role } from '@payment-manager/api/http/auth';
import { withCredential } from '@payment-manager/testkit/auth';
import type { App } from '../../src/app.ts';

/** Response bodies are checked by assertions at run time, not by types. */
// biome-ignore lint/suspicious/noExplicitAny: JSON of any shape, narrowed by expect()
export type Json = any;

export interface HttpResult {
  status: number;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: Json;
  text: string;
  headers: Record<string, unknown>;
}

export interface InjectOptions {
  /** Raw payload sent as is (malformed JSON, empty bodies); otherwise `body` is JSON-encoded. */
  raw?: string;
  headers?: Record<string, string>;
  /** Whose API key to send; default the role the path needs, `null` none (an explicit Authorization wins). */
  as?: Role | null;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One request through fastify's inject (no socket), answering status and decoded body. */
export async function call(
  app: App,
  method: string,
  url: string,
  body?: unknown,
  options: InjectOptions = {},
): Promise<HttpResult> {
  const hasPayload = options.raw !== undefined || body !== undefined;
  const response = await app.inject({
    method: method as 'GET',
    url,
    headers: withCredential(
      url,
      { ...(hasPayload ? { 'content-type': 'application/json' } : {}), ...options.headers },
      ...(options.as !== undefined ? [options.as] : []),
    ),
    ...(hasPayload ? { payload: options.raw ?? JSON.stringify(body) } : {}),
  });
  return {
    status: response.statusCode,
    json: parseJson(response.body),
    text: response.body,
    headers: response.headers,
  };
}

/** Query string builder that keeps repeated keys (`?ids=a&ids=b`). */
export function query(params: Record<string, string | number | boolean | Array<string | number> | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
