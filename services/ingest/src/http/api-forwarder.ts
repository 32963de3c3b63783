/**
 * http mode (docs/api.md#ingest-http-mode): forwards the validated webhook to the API's internal endpoint with bounded retries
 * and maps the API's answer to what the provider sees ([docs/api.md#ingest-http-mode]).
 */
import { type ErrorBody, errorBody } from '@payment-manager/shared/http-errors';
import { retryWithBackoff } from '@payment-manager/shared/resilience';
import type { IngestConfig } from '../config.ts';

export type ApiUpdateRoute = 'orders' | 'disputes';

export interface ProviderAnswer {
  status: number;
  /** Absent for 202; `{message}` for a duplicate; the shared error body for every error. */
  body?: { message: string } | ErrorBody;
}

export interface ApiForwarder {
  forward(route: ApiUpdateRoute, rawBody: string, signal: AbortSignal): Promise<ProviderAnswer>;
}

const PASSED_THROUGH = new Set([400, 404, 409, 422]);

/** An attempt that may succeed when repeated: the API answered 5xx, timed out, or could not be reached. */
class RetriableFailure extends Error {}

/** The API answers errors with the shared error body, which is passed on unchanged; anything else is wrapped. */
function apiErrorBody(text: string, status: number): ErrorBody {
  try {
    const parsed = JSON.parse(text) as Partial<ErrorBody>;
    if (typeof parsed.message === 'string' && typeof parsed.code === 'string') return parsed as ErrorBody;
    if (typeof parsed.message === 'string') return errorBody('error', parsed.message);
  } catch {
    // Fall through: a non-JSON error page still deserves a readable message.
  }
  return errorBody('error', `api answered ${status}`);
}

function describe(err: unknown, timeoutMs: number): string {
  const error = err as Error & { cause?: Error };
  if (error.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  return error.cause?.message ?? error.message;
}

export function createApiForwarder(api: IngestConfig['api']): ApiForwarder {
  async function attempt(url: string, rawBody: string, signal: AbortSignal): Promise<ProviderAnswer> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(api.apiKey ? { authorization: `Bearer ${api.apiKey}` } : {}),
        },
        body: rawBody,
        signal: AbortSignal.any([signal, AbortSignal.timeout(api.timeoutMs)]),
      });
      text = await response.text();
    } catch (err) {
      // The provider hung up: nobody is waiting for the answer, so stop retrying at once.
      signal.throwIfAborted();
      throw new RetriableFailure(describe(err, api.timeoutMs));
    }
    if (response.status >= 500) throw new RetriableFailure(`api answered ${response.status}`);
    if (response.status >= 200 && response.status < 300) {
      if (response.status === 200 && isDuplicate(text))
        return { status: 200, body: { message: 'Duplicate webhook received' } };
      return { status: 202 };
    }
    if (PASSED_THROUGH.has(response.status))
      return { status: response.status, body: apiErrorBody(text, response.status) };
    return {
      status: 502,
      body: errorBody('bad_gateway', `api service answered unexpected status ${response.status}`),
    };
  }

  return {
    async forward(route, rawBody, signal) {
      const url = `${api.baseUrl}/internal/updates/${route}`;
      try {
        return await retryWithBackoff(() => attempt(url, rawBody, signal), {
          attempts: api.retryAttempts,
          minDelayMs: api.retryBaseDelayMs,
          maxDelayMs: api.retryMaxDelayMs,
          signal,
          shouldRetry: (error) => error instanceof RetriableFailure,
        });
      } catch (err) {
        if (!(err instanceof RetriableFailure)) throw err;
        return { status: 502, body: errorBody('bad_gateway', `api service unavailable: ${err.message}`) };
      }
    },
  };
}

function isDuplicate(text: string): boolean {
  try {
    return (JSON.parse(text) as { duplicate?: unknown }).duplicate === true;
  } catch {
    return false;
  }
}
