import { eventually } from '@payment-manager/testkit/poll';
import type pg from 'pg';
import type { App } from '../../src/app.ts';
import { call } from '../support/http.ts';
import type { ScenarioDriver } from './catalogue.ts';

/** `sync` mode: webhooks go straight to the API's public routes through inject; effects are immediate. */
export function createSyncDriver(app: App, database: pg.Pool): ScenarioDriver {
  return {
    sendOrderWebhook: (body) => call(app, 'POST', '/webhooks/payments/orders', body),
    sendChargebackWebhook: (body) => call(app, 'POST', '/webhooks/payments/chargebacks', body),
    request: (method, url, body) => call(app, method, url, body),
    settle: (probe) => eventually(probe, { timeoutMs: 5_000, intervalMs: 50 }),
    database,
  };
}
