/** Dispute reads, evidence and representment (docs/api.md#limit-and-offset–docs/domain.md#representment). */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { notFound } from '@payment-manager/shared/errors';
import { ERROR_BODY } from '@payment-manager/shared/http-errors';
import type { FastifyPluginAsync } from 'fastify';
import type pg from 'pg';
import { Type } from 'typebox';
import type { Queryable } from '../db/pool.ts';
import { DISPUTE_STATUSES } from '../domain/disputes.ts';
import { parseEventPageRequest } from '../domain/event-page.ts';
import {
  DEFAULT_LIST_LIMIT,
  decodeListCursor,
  LIST_PAGING,
  listPage,
  MAX_LIST_LIMIT,
  refuseOffsetWithCursor,
} from '../domain/list-page.ts';
import { withoutNullFields } from '../http/present.ts';
import { statusFilter } from '../http/query.ts';
import {
  Dispute,
  DisputeListQuery,
  Evidence,
  EvidenceInput,
  eventPage,
  eventPageQuery,
  MAX_EVIDENCE_BYTES,
  SubmissionAccepted,
} from '../http/schemas.ts';
import { putEvidence, submitDispute } from '../operations/disputes.ts';
import type { SilvergateClient } from '../provider/silvergate.ts';
import { findDispute, findEvidence, listDisputes } from '../store/disputes.ts';
import { readEventPage } from '../store/events.ts';

const DisputeIdParams = Type.Object({ dispute_id: Type.String({ minLength: 1, maxLength: 255 }) });

export const disputeRoutes: FastifyPluginAsync<{
  pool: pg.Pool;
  readPool: Queryable;
  provider: SilvergateClient;
  /** The server's body limit; evidence bodies get the smaller of it and MAX_EVIDENCE_BYTES. */
  bodyLimitBytes: number;
}> = async (base, { pool, readPool, provider, bodyLimitBytes }) => {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/disputes',
    {
      schema: {
        tags: ['disputes'],
        summary: `List disputes, newest opened first, ${DEFAULT_LIST_LIMIT} per page by default, at most ${MAX_LIST_LIMIT}`,
        description: LIST_PAGING,
        querystring: DisputeListQuery,
        response: { 200: Type.Array(Dispute) },
      },
    },
    async (request, reply) => {
      const statuses = statusFilter(request.query.status, DISPUTE_STATUSES);
      refuseOffsetWithCursor(request.query);
      const order = 'opened_at desc';
      const cursor = request.query.cursor ? decodeListCursor(request.query.cursor, order) : null;
      const limit = request.query.limit ?? DEFAULT_LIST_LIMIT;
      const rows = await listDisputes(readPool, {
        orderId: request.query.order_id ?? null,
        statuses,
        limit: limit + 1,
        offset: request.query.offset ?? 0,
        after: cursor ? { value: cursor.after, id: cursor.id } : null,
      });
      const page = listPage(rows, limit, request.url, (row) => ({ after: row.opened_at, id: row.dispute_id }), order);
      if (page.link) reply.header('link', page.link);
      return page.rows.map(withoutNullFields);
    },
  );

  app.get(
    '/disputes/events',
    {
      schema: {
        tags: ['disputes'],
        summary: 'Dispute event log, keyset-paginated',
        querystring: eventPageQuery('dispute_ids'),
        response: { 200: eventPage('dispute_id') },
      },
    },
    async (request) =>
      readEventPage(
        readPool,
        { table: 'dispute_events', aggregateColumn: 'dispute_id' },
        parseEventPageRequest(request.query, 'dispute_ids'),
      ),
  );

  app.get(
    '/disputes/:dispute_id',
    {
      schema: {
        tags: ['disputes'],
        summary: 'One dispute',
        params: DisputeIdParams,
        response: { 200: Dispute, 404: ERROR_BODY },
      },
    },
    async (request) => {
      const dispute = await findDispute(readPool, request.params.dispute_id);
      if (!dispute) throw notFound('dispute not found');
      return withoutNullFields(dispute.row);
    },
  );

  app.post(
    '/disputes/:dispute_id/evidence',
    {
      schema: {
        tags: ['disputes'],
        summary: 'Create or replace the evidence bundle',
        params: DisputeIdParams,
        body: EvidenceInput,
        response: { 200: Evidence, 404: ERROR_BODY, 409: ERROR_BODY, 413: ERROR_BODY },
      },
      bodyLimit: Math.min(bodyLimitBytes, MAX_EVIDENCE_BYTES),
    },
    async (request) => putEvidence(pool, request.params.dispute_id, request.body),
  );

  app.get(
    '/disputes/:dispute_id/evidence',
    {
      schema: {
        tags: ['disputes'],
        summary: 'The evidence bundle',
        params: DisputeIdParams,
        response: { 200: Evidence, 404: ERROR_BODY },
      },
    },
    async (request) => {
      const evidence = await findEvidence(readPool, request.params.dispute_id);
      if (!evidence) throw notFound('evidence not found');
      return evidence;
    },
  );

  app.post(
    '/disputes/:dispute_id/submit',
    {
      schema: {
        tags: ['disputes'],
        summary: 'Send the representment to the provider',
        params: DisputeIdParams,
        response: { 202: SubmissionAccepted, 404: ERROR_BODY, 409: ERROR_BODY, 502: ERROR_BODY },
      },
    },
    async (request, reply) => reply.status(202).send(await submitDispute(pool, provider, request.params.dispute_id)),
  );
};
