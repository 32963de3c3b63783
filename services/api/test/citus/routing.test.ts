/**
 * Citus (project `citus`): every statement of a webhook's transaction and the reads by id are router plans on one
 * shard — EXPLAIN of the very statements the API sent, recorded on the way to the coordinator.
 */

import { useTestDatabase } from '@payment-manager/testkit/postgres';
import { describeWith, testServices } from '@payment-manager/testkit/services';
import { chargebackWebhook, nextOrderWebhook, orderWebhook } from '@payment-manager/testkit/webhooks';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { createTestApp } from '../support/app.ts';
import { call } from '../support/http.ts';

interface Statement {
  text: string;
  values: unknown[];
}

/** A pool whose clients record every statement they send; transactions still run for real. */
function recordingPool(pool: pg.Pool, log: Statement[]): pg.Pool {
  const record = (text: unknown, values: unknown) => {
    if (typeof text === 'string') log.push({ text, values: Array.isArray(values) ? values : [] });
  };
  const recordingClient = (client: pg.PoolClient) =>
    new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver);
        return (text: unknown, values?: unknown) => {
          record(text, values);
          return (target.query as (text: unknown, values?: unknown) => unknown)(text, values);
        };
      },
    });
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'connect') return async () => recordingClient(await target.connect());
      if (property === 'query') {
        return (text: unknown, values?: unknown) => {
          record(text, values);
          return (target.query as (text: unknown, values?: unknown) => unknown)(text, values);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Statements that touch distributed tables (not BEGIN/COMMIT or the advisory lock on the coordinator). */
const onTables = (log: Statement[]) =>
  log.filter(({ text }) => /\b(orders|order_events|disputes|dispute_events|evidence)\b/.test(text));

/** EXPLAIN text of one recorded statement, with its parameters. */
async function explain(pool: pg.Pool, statement: Statement): Promise<string> {
  const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (COSTS OFF) ${statement.text}`,
    statement.values,
  );
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

/** One task on one worker: the plan of a router (single-shard) query. Returns the worker it names. */
function routerWorker(plan: string): string {
  expect(plan, plan).toMatch(/Custom Scan \(Citus Adaptive\)/);
  expect(plan, plan).toMatch(/Task Count: 1\n/);
  const node = /Node: (host=\S+ port=\d+)/.exec(plan)?.[1];
  expect(node, plan).toBeDefined();
  return node as string;
}

describeWith(['postgres'], 'Citus: single-shard webhook transactions and reads by id (EXPLAIN)', () => {
  const db = useTestDatabase();
  const log: Statement[] = [];
  let recorded: pg.Pool;
  let app: App;

  beforeAll(async () => {
    expect(testServices().flavour, 'this suite belongs to the vitest project "citus"').toBe('citus');
    recorded = recordingPool(db.pool, log);
    app = await createTestApp(recorded);
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => {
    log.length = 0;
  });

  /** EXPLAINs every recorded statement on distributed tables; all must be router plans on one and the same worker. */
  async function expectSingleShard(what: string): Promise<string[]> {
    const statements = onTables(log);
    expect(statements.length, `${what}: no statement recorded`).toBeGreaterThan(0);
    const plans = [];
    for (const statement of statements) plans.push(await explain(db.pool, statement));
    const workers = new Set(plans.map(routerWorker));
    expect([...workers], `${what}: statements went to more than one worker`).toHaveLength(1);
    return plans;
  }

  const orderHook = (body: unknown) => call(app, 'POST', '/webhooks/payments/orders', body);
  const chargebackHook = (body: unknown) => call(app, 'POST', '/webhooks/payments/chargebacks', body);

  it('order webhooks: created, then updated, then a duplicate — every statement one router task', async () => {
    const created = orderWebhook();
    expect((await orderHook(created)).status).toBe(202);
    const createPlans = await expectSingleShard('order created');
    expect(createPlans.some((plan) => /Insert on orders_\d+/.test(plan))).toBe(true);
    console.log(`EXPLAIN of the order webhook transaction (created):\n${createPlans.join('\n---\n')}`);
    log.length = 0;
    const updated = nextOrderWebhook(created, { status: 'updated', updated_at: '2025-03-04T10:00:00Z' });
    expect((await orderHook(updated)).status).toBe(202);
    await expectSingleShard('order updated');
    log.length = 0;
    expect((await orderHook(updated)).status).toBe(200);
    await expectSingleShard('duplicate');
  });

  it('chargeback webhooks: opened creates the dispute, closed applies — every statement one router task', async () => {
    const order = orderWebhook();
    expect((await orderHook(order)).status).toBe(202);
    log.length = 0;
    expect((await chargebackHook(chargebackWebhook(order.order_id))).status).toBe(202);
    const plans = await expectSingleShard('chargeback opened');
    expect(plans.some((plan) => /Insert on disputes_\d+/.test(plan))).toBe(true);
    expect(plans.some((plan) => /Insert on dispute_events_/.test(plan))).toBe(true);
    console.log(`EXPLAIN of the chargeback webhook transaction (opened):\n${plans.join('\n---\n')}`);
    log.length = 0;
    const closed = chargebackWebhook(order.order_id, { status: 'closed', meta: { resolution: 'won' } });
    expect((await chargebackHook(closed)).status).toBe(202);
    await expectSingleShard('chargeback closed');
  });

  it('GET /orders/{id} and GET /disputes/{id}: one router task each', async () => {
    const order = orderWebhook();
    expect((await orderHook(order)).status).toBe(202);
    expect((await chargebackHook(chargebackWebhook(order.order_id))).status).toBe(202);
    const disputes = (await call(app, 'GET', `/disputes?order_id=${encodeURIComponent(order.order_id)}`)).json;
    const disputeId = disputes[0].dispute_id as string;

    log.length = 0;
    expect((await call(app, 'GET', `/orders/${encodeURIComponent(order.order_id)}`)).status).toBe(200);
    const orderPlans = await expectSingleShard('GET /orders/{id}');
    expect(onTables(log)).toHaveLength(1);
    log.length = 0;
    expect((await call(app, 'GET', `/disputes/${disputeId}`)).status).toBe(200);
    const disputePlans = await expectSingleShard('GET /disputes/{id}');
    expect(onTables(log)).toHaveLength(1);
    // Co-located: the order and its dispute are on the same worker.
    expect(routerWorker(orderPlans[0] as string)).toBe(routerWorker(disputePlans[0] as string));
    console.log(`EXPLAIN GET /orders/{id}:\n${orderPlans[0]}\n\nEXPLAIN GET /disputes/{id}:\n${disputePlans[0]}`);
  });
});
