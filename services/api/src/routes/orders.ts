/** Order reads and manual operations (docs/api.md#limit-and-offset–docs/domain.md#capture). */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalidRequest, notFound } from '@payment-manager/shared/errors';
import { ERROR_BODY } from '@payment-manager/shared/http-errors';
import type { FastifyPluginAsync } from 'fastify';
import type pg from 'pg';
import { Type } from 'typebox';
import type { Queryable } from '../db/pool.ts';
import { parseEventPageRequest } from '../domain/event-page.ts';
import {
  DEFAULT_LIST_LIMIT,
  decodeListCursor,
  LIST_PAGING,
  listPage,
  MAX_LIST_LIMIT,
  refuseOffsetWithCursor,
} from '../domain/list-page.ts';
import { HOLD_REASONS, ORDER_STATUSES } from '../domain/orders.ts';
import { withoutNullFields } from '../http/present.ts';
import { statusFilter } from '../http/query.ts';
import {
  CaptureInput,
  CaptureResult,
  eventPage,
  eventPageQuery,
  HoldInput,
  HoldResult,
  Order,
  OrderListQuery,
} from '../http/schemas.ts';
import { captureOrder, changeHold } from '../operations/orders.ts';
import type { SilvergateClient } from '../provider/silvergate.ts';
import { readEventPage } from '../store/events.ts';
import { findOrder, listOrders } from '../store/orders.ts';

const OrderIdParams = Type.Object({ order_id: Type.String({ minLength: 1, maxLength: 255 }) });

export const orderRoutes: FastifyPluginAsync<{
  pool: pg.Pool;
  readPool: Queryable;
  provider: SilvergateClient;
}> = async (base, { pool, readPool, provider }) => {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/orders',
    {
      schema: {
        tags: ['orders'],
        summary: `List orders, ${DEFAULT_LIST_LIMIT} per page by default, at most ${MAX_LIST_LIMIT}`,
        description: LIST_PAGING,
        querystring: OrderListQuery,
        response: { 200: Type.Array(Order) },
      },
    },
    async (request, reply) => {
      const statuses = statusFilter(request.query.status, ORDER_STATUSES);
      refuseOffsetWithCursor(request.query);
      const sortBy = request.query.sort_by ?? 'created_at';
      const sortOrder = request.query.sort_order ?? 'desc';
      const order = `${sortBy} ${sortOrder}`;
      const cursor = request.query.cursor ? decodeListCursor(request.query.cursor, order) : null;
      const limit = request.query.limit ?? DEFAULT_LIST_LIMIT;
      const rows = await listOrders(readPool, {
        statuses,
        userId: request.query.user_id?.toLowerCase() ?? null,
        limit: limit + 1,
        offset: request.query.offset ?? 0,
        sortBy,
        sortOrder,
        after: cursor ? { value: cursor.after, id: cursor.id } : null,
      });
      const page = listPage(rows, limit, request.url, (row) => ({ after: row[sortBy], id: row.order_id }), order);
      if (page.link) reply.header('link', page.link);
      return page.rows.map(withoutNullFields);
    },
  );

  app.get(
    '/orders/events',
    {
      schema: {
        tags: ['orders'],
        summary: 'Order event log, keyset-paginated',
        querystring: eventPageQuery('order_ids'),
        response: { 200: eventPage('order_id') },
      },
    },
    async (request) =>
      readEventPage(
        readPool,
        { table: 'order_events', aggregateColumn: 'order_id' },
        parseEventPageRequest(request.query, 'order_ids'),
      ),
  );

  app.get(
    '/orders/:order_id',
    {
      schema: {
        tags: ['orders'],
        summary: 'One order',
        params: OrderIdParams,
        response: { 200: Order, 404: ERROR_BODY },
      },
    },
    async (request) => {
      const order = await findOrder(readPool, request.params.order_id);
      if (!order) throw notFound('order not found');
      return withoutNullFields(order);
    },
  );

  app.post(
    '/orders/:order_id/hold',
    {
      schema: {
        tags: ['orders'],
        summary: 'Set or clear a manual hold',
        params: OrderIdParams,
        body: HoldInput,
        response: { 200: HoldResult, 404: ERROR_BODY },
      },
    },
    async (request) => {
      const { action, reason } = request.body;
      if (action === 'set') {
        if (reason === undefined) {
          throw invalidRequest([
            { in: 'body', field: 'reason', message: 'is required when action is set', allowed: [...HOLD_REASONS] },
          ]);
        }
        return changeHold(pool, request.params.order_id, { action, reason });
      }
      return changeHold(pool, request.params.order_id, { action, ...(reason !== undefined ? { reason } : {}) });
    },
  );

  app.post(
    '/orders/:order_id/capture',
    {
      schema: {
        tags: ['orders'],
        summary: 'Capture money at the provider',
        params: OrderIdParams,
        body: CaptureInput,
        response: { 200: CaptureResult, 404: ERROR_BODY, 409: ERROR_BODY, 502: ERROR_BODY },
      },
    },
    async (request) =>
      captureOrder(pool, provider, { order_id: request.params.order_id, ...pickCapture(request.body) }),
  );
};

function pickCapture(body: { amount: number; currency: string; idempotency_key: string }) {
  return { amount: body.amount, currency: body.currency, idempotency_key: body.idempotency_key };
}
