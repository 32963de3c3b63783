/**
 * http mode (spec §7.3): forwards the validated webhook to the API's internal endpoint with bounded retries
 * and maps the API's answer to what the provider sees ([R-11]).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { IngestConfig } from '../config.ts';

export type WebhookRoute = 'orders' | 'disputes';

export interface ProviderAnswer {
  status: number;
  body?: { message: string };
}

export interface ApiForwarder {
  forward(route: WebhookRoute, rawBody: string, signal: AbortSignal): Promise<ProviderAnswer>;
}

const PASSED_THROUGH = new Set([400, 404, 409, 422]);

/** Delay before retry n (0-based): base × 2^n with ±25 % jitter, capped. */
export function retryDelayMs(n: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.min(baseMs * 2 ** n * (0.75 + random() * 0.5), maxMs);
}

function apiMessage(text: string, status: number): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Fall through: a non-JSON error page still deserves a readable message.
  }
  return `api answered ${status}`;
}

function describe(err: unknown, timeoutMs: number): string {
  const error = err as Error & { cause?: Error };
  if (error.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  return error.cause?.message ?? error.message;
}

export function createApiForwarder(api: IngestConfig['api']): ApiForwarder {
  return {
    async forward(route, rawBody, signal) {
      const url = `${api.baseUrl}/internal/updates/${route}`;
      let lastFailure = 'no attempt made';
      for (let attempt = 0; attempt < api.retryAttempts; attempt++) {
        signal.throwIfAborted();
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(api.apiKey ? { authorization: `Bearer ${api.apiKey}` } : {}),
            },
            body: rawBody,
            signal: AbortSignal.any([signal, AbortSignal.timeout(api.timeoutMs)]),
          });
          const text = await response.text();
          if (response.status >= 500) {
            lastFailure = `api answered ${response.status}`;
          } else if (response.status >= 200 && response.status < 300) {
            if (response.status === 200 && isDuplicate(text))
              return { status: 200, body: { message: 'Duplicate webhook received' } };
            return { status: 202 };
          } else if (PASSED_THROUGH.has(response.status)) {
            return { status: response.status, body: { message: apiMessage(text, response.status) } };
          } else {
            return { status: 502, body: { message: `api service answered unexpected status ${response.status}` } };
          }
        } catch (err) {
          // The provider hung up: nobody is waiting for the answer, so stop retrying at once.
          signal.throwIfAborted();
          lastFailure = describe(err, api.timeoutMs);
        }
        if (attempt < api.retryAttempts - 1) {
          await sleep(retryDelayMs(attempt, api.retryBaseDelayMs, api.retryMaxDelayMs), undefined, { signal });
        }
      }
      return { status: 502, body: { message: `api service unavailable: ${lastFailure}` } };
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
