/** Dispute reads, evidence and the submit checks that come before the provider (docs/api.md#limit-and-offset–docs/domain.md#representment). */

import { errorBody, validationBody } from '@payment-manager/testkit/errors';
import { describeWith } from '@payment-manager/testkit/services';
import { uniqueId } from '@payment-manager/testkit/webhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApi } from './support/app.ts';
import { call } from './support/http.ts';

describeWith(['postgres'], 'disputes', () => {
  const api = useTestApi();
  const get = (url: string) => call(api.app, 'GET', url);

  /** A dispute in any status straight in the database (statuses like canceled have no code path). */
  async function insertDispute(status: string, overrides: { openedAt?: string; orderId?: string; id?: string } = {}) {
    const orderId = overrides.orderId ?? uniqueId('ord');
    const disputeId = overrides.id ?? uniqueId('dsp');
    await api.pool.query(
      `INSERT INTO orders (id, user_id, status, created_at, updated_at, shard_key)
       VALUES ($1, gen_random_uuid(), 'created', now(), now(), order_shard_key($1::varchar)) ON CONFLICT DO NOTHING`,
      [orderId],
    );
    await api.pool.query(
      `INSERT INTO disputes (id, order_id, status, reason, amount, currency, opened_at, shard_key)
       VALUES ($1, $2, $3, 'fraud', 19.99, 'EUR', $4, order_shard_key($2::varchar))`,
      [disputeId, orderId, status, overrides.openedAt ?? '2025-03-05 08:00:00'],
    );
    return { disputeId, orderId };
  }

  async function disputeEventKinds(disputeId: string): Promise<string[]> {
    const { rows } = await api.pool.query<{ kind: string }>(
      'SELECT kind FROM dispute_events WHERE dispute_id = $1 ORDER BY created_at, id',
      [disputeId],
    );
    return rows.map((r) => r.kind);
  }

  describe('GET /disputes (docs/api.md#limit-and-offset) and GET /disputes/{id} (docs/api.md#endpoints)', () => {
    const p = uniqueId('dl');
    const ids = { a: `${p}-a`, b: `${p}-b`, c: `${p}-c`, d: `${p}-d` };
    const orderId = `${p}-order`;

    beforeAll(async () => {
      await insertDispute('open', { id: ids.b, orderId, openedAt: '2031-01-02 00:00:00.5' });
      await insertDispute('closed', { id: ids.a, openedAt: '2031-01-02 00:00:00.5' });
      await insertDispute('won', { id: ids.c, openedAt: '2031-01-03 00:00:00' });
      await insertDispute('under_review', { id: ids.d, openedAt: '2031-01-01 00:00:00' });
      await api.pool.query(
        `UPDATE disputes SET evidence_due_at = '2031-01-20 23:59:59', closed_at = '2031-01-04 00:00:00',
           submitting_id = 'sub-1', submitted_at = '2031-01-03 12:00:00.120' WHERE id = $1`,
        [ids.c],
      );
    });

    const mine = (list: Array<{ dispute_id: string }>) =>
      list.map((d) => d.dispute_id).filter((id) => Object.values(ids).includes(id));

    it('lists newest opened first, ties by dispute_id ascending, as a plain array', async () => {
      const answer = await get('/disputes');
      expect(answer.status).toBe(200);
      expect(mine(answer.json)).toEqual([ids.c, ids.a, ids.b, ids.d]);
    });

    it('returns amounts as numbers, timestamps ending in Z, unset optionals omitted', async () => {
      const list = (await get('/disputes')).json as Array<Record<string, unknown>>;
      const c = list.find((d) => d.dispute_id === ids.c);
      expect(c).toEqual({
        dispute_id: ids.c,
        order_id: expect.any(String),
        status: 'won',
        reason: 'fraud',
        amount: 19.99,
        currency: 'EUR',
        opened_at: '2031-01-03T00:00:00Z',
        evidence_due_at: '2031-01-20T23:59:59Z',
        submitting_id: 'sub-1',
        submitted_at: '2031-01-03T12:00:00.12Z',
        closed_at: '2031-01-04T00:00:00Z',
      });
      const b = list.find((d) => d.dispute_id === ids.b);
      expect(Object.keys(b ?? {}).sort()).toEqual(
        ['amount', 'currency', 'dispute_id', 'opened_at', 'order_id', 'reason', 'status'].sort(),
      );
      expect(b?.opened_at).toBe('2031-01-02T00:00:00.5Z');
    });

    it('filters by order_id and a status list (closed is a valid status, docs/domain.md#disputes), with limit and offset', async () => {
      expect(
        (await get(`/disputes?order_id=${orderId}`)).json.map((d: { dispute_id: string }) => d.dispute_id),
      ).toEqual([ids.b]);
      expect(mine((await get('/disputes?status=closed,won')).json)).toEqual([ids.c, ids.a]);
      expect(mine((await get('/disputes?status=under_review')).json)).toEqual([ids.d]);
      expect((await get(`/disputes?order_id=${uniqueId('none')}`)).json).toEqual([]);

      const all = (await get('/disputes')).json.map((d: { dispute_id: string }) => d.dispute_id);
      const page = await get('/disputes?limit=2&offset=1');
      expect(page.json.map((d: { dispute_id: string }) => d.dispute_id)).toEqual(all.slice(1, 3));
      expect((await get('/disputes?limit=1')).json).toHaveLength(1);
      expect((await get('/disputes?offset=100000')).json).toEqual([]);
    });

    it.each(['status=resolved', 'status=open,bogus', 'limit=0', 'limit=201', 'limit=x', 'offset=-1'])(
      '%s → 400 validation error in the one error shape',
      async (params) => {
        const answer = await get(`/disputes?${params}`);
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual(validationBody(/^invalid request: query\.(status|limit|offset) /));
      },
    );

    it('GET /disputes/{id}: 200 with the dispute, 404 {"message":"Dispute not found"} (docs/api.md#endpoints)', async () => {
      const one = await get(`/disputes/${ids.c}`);
      expect(one.status).toBe(200);
      expect(one.json.dispute_id).toBe(ids.c);
      expect(one.json.amount).toBe(19.99);
      const missing = await get(`/disputes/${uniqueId('nope')}`);
      expect(missing.status).toBe(404);
      expect(missing.json).toEqual(errorBody('not_found', 'dispute not found'));
    });

    it('/disputes/events wins over /disputes/{dispute_id}', async () => {
      const answer = await get('/disputes/events');
      expect(answer.status).toBe(200);
      expect(answer.json).toHaveProperty('items');
    });
  });

  describe('POST /disputes/{id}/evidence (docs/domain.md#evidence) and GET …/evidence (docs/domain.md#evidence)', () => {
    const put = (disputeId: string, body: unknown) => call(api.app, 'POST', `/disputes/${disputeId}/evidence`, body);
    const file = (id: string) => ({ file_id: id, name: `${id}.pdf`, content_type: 'application/pdf', size: 42 });

    it('open → under_review; the upsert replaces fields and files entirely; one event per upsert', async () => {
      const { disputeId } = await insertDispute('open');
      const first = await put(disputeId, { fields: { a: '1', b: '2' }, files: [file('f-1'), file('f-2')] });
      expect(first.status).toBe(200);
      expect(first.json).toEqual({
        dispute_id: disputeId,
        fields: { a: '1', b: '2' },
        files: [file('f-1'), file('f-2')],
        updated_at: expect.stringMatching(/Z$/),
      });
      expect((await get(`/disputes/${disputeId}`)).json.status).toBe('under_review');

      const second = await put(disputeId, { fields: { c: '3' }, files: [file('f-3')], ignored_extra: true });
      expect(second.json).toMatchObject({ fields: { c: '3' }, files: [file('f-3')] });
      const read = await get(`/disputes/${disputeId}/evidence`);
      expect(read.status).toBe(200);
      expect(read.json).toEqual(second.json);
      expect((await get(`/disputes/${disputeId}`)).json.status).toBe('under_review');

      const { rows } = await api.pool.query(
        `SELECT data FROM dispute_events WHERE dispute_id = $1 AND kind = 'evidence_added' ORDER BY created_at`,
        [disputeId],
      );
      expect(rows.map((r) => r.data)).toEqual([first.json, second.json]);
    });

    it('missing fields and files are stored as {} and [] (docs/domain.md#evidence)', async () => {
      const { disputeId } = await insertDispute('open');
      const answer = await put(disputeId, {});
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ fields: {}, files: [] });
      const { rows } = await api.pool.query('SELECT fields, files FROM evidence WHERE dispute_id = $1', [disputeId]);
      expect(rows[0]).toEqual({ fields: {}, files: [] });
    });

    it.each(['under_review', 'submitted', 'closed'])('is accepted in %s and keeps the status', async (status) => {
      const { disputeId } = await insertDispute(status);
      expect((await put(disputeId, { fields: { x: 'y' } })).status).toBe(200);
      expect((await get(`/disputes/${disputeId}`)).json.status).toBe(status);
      expect(await disputeEventKinds(disputeId)).toEqual(['evidence_added']);
    });

    it.each(['won', 'lost', 'canceled'])(
      'is refused in %s → 409 "dispute cannot be edited in status: …" (docs/domain.md#evidence)',
      async (status) => {
        const { disputeId } = await insertDispute(status);
        const answer = await put(disputeId, { fields: { x: 'y' } });
        expect(answer.status).toBe(409);
        expect(answer.json).toEqual(
          errorBody('conflict', `dispute cannot be edited in status: ${status}`, { from: status }),
        );
        expect((await get(`/disputes/${disputeId}/evidence`)).status).toBe(404);
        expect(await disputeEventKinds(disputeId)).toEqual([]);
      },
    );

    it('unknown dispute → 404 {"message":"Dispute not found"}', async () => {
      const answer = await put(uniqueId('nope'), { fields: {} });
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('not_found', 'dispute not found'));
    });

    it.each([
      ['a field value that is not a string', { fields: { amount: 10 } }],
      ['files that is not an array', { files: { file_id: 'f' } }],
      ['a file without file_id', { files: [{ name: 'a', content_type: 'b', size: 1 }] }],
      ['a negative size', { files: [{ file_id: 'f', name: 'a', content_type: 'b', size: -1 }] }],
      ['a fractional size', { files: [{ file_id: 'f', name: 'a', content_type: 'b', size: 1.5 }] }],
      ['an array body', [{ fields: {} }]],
    ])('%s → 400 {"message"} before the existence check, nothing stored', async (_name, body) => {
      const { disputeId } = await insertDispute('open');
      for (const target of [disputeId, uniqueId('nope')]) {
        const answer = await put(target, body);
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual(validationBody());
      }
      expect((await get(`/disputes/${disputeId}`)).json.status).toBe('open');
      expect(await disputeEventKinds(disputeId)).toEqual([]);
    });

    it('GET evidence without any → 404 {"message":"Evidence not found"}, also for unknown disputes', async () => {
      const { disputeId } = await insertDispute('open');
      for (const target of [disputeId, uniqueId('nope')]) {
        const answer = await get(`/disputes/${target}/evidence`);
        expect(answer.status).toBe(404);
        expect(answer.json).toEqual(errorBody('not_found', 'evidence not found'));
      }
    });
  });

  describe('POST /disputes/{id}/submit: checks before the provider (docs/domain.md#representment)', () => {
    const submit = (disputeId: string) => call(api.app, 'POST', `/disputes/${disputeId}/submit`);

    it('unknown dispute → 404 {"message":"Dispute not found"}', async () => {
      const answer = await submit(uniqueId('nope'));
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual(errorBody('not_found', 'dispute not found'));
    });

    it.each(['submitted', 'won', 'lost', 'closed', 'canceled'])(
      '%s → 409 "status … not eligible for submission" (checked before evidence)',
      async (status) => {
        const { disputeId } = await insertDispute(status);
        const answer = await submit(disputeId);
        expect(answer.status).toBe(409);
        expect(answer.json).toEqual(
          errorBody(
            'conflict',
            `status ${status} not eligible for submission: only open or under_review disputes can be submitted`,
            { from: status, to: 'submitted' },
          ),
        );
      },
    );

    it.each(['open', 'under_review'])('%s without evidence → 409 saying to add evidence first', async (status) => {
      const { disputeId } = await insertDispute(status);
      const answer = await submit(disputeId);
      expect(answer.status).toBe(409);
      expect(answer.json).toEqual(
        errorBody('conflict', 'dispute has no evidence: add evidence first (POST /disputes/{dispute_id}/evidence)', {
          from: status,
          to: 'submitted',
        }),
      );
      expect((await get(`/disputes/${disputeId}`)).json.status).toBe(status);
    });
  });
});
