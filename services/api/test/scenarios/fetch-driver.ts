import { withCredential } from '@payment-manager/testkit/auth';
import { eventually } from '@payment-manager/testkit/poll';
import type pg from 'pg';
import type { HttpResult } from '../support/http.ts';
import type { ScenarioDriver } from './catalogue.ts';

export interface FetchDriverOptions {
  /** Where the provider-facing webhook routes live: the API in sync/http mode, ingest in http/kafka mode. */
  webhooksBaseUrl: string;
  /** The API (reads, holds, capture, evidence, submit). */
  apiBaseUrl: string;
  database: pg.Pool;
  /** Deadline for `settle`; asynchronous modes need a few seconds (Kafka consumer, retries). */
  settleTimeoutMs?: number;
}

async function send(url: string, method: string, body?: unknown): Promise<HttpResult> {
  const response = await fetch(url, {
    method,
    headers: withCredential(new URL(url).pathname, body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: Object.fromEntries(response.headers) };
}

/** Drives the scenario catalogue over real sockets, e.g. webhooks through ingest and reads from the API. */
export function createFetchDriver(options: FetchDriverOptions): ScenarioDriver {
  const webhooks = options.webhooksBaseUrl.replace(/\/+$/, '');
  const api = options.apiBaseUrl.replace(/\/+$/, '');
  return {
    sendOrderWebhook: (body) => send(`${webhooks}/webhooks/payments/orders`, 'POST', body),
    sendChargebackWebhook: (body) => send(`${webhooks}/webhooks/payments/chargebacks`, 'POST', body),
    request: (method, url, body) => send(`${api}${url}`, method, body),
    settle: (probe) => eventually(probe, { timeoutMs: options.settleTimeoutMs ?? 15_000, intervalMs: 100 }),
    database: options.database,
  };
}
