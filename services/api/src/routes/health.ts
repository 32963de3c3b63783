import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness of the contract (docs/api.md#conventions)',
        response: { 200: Type.Object({ service: Type.Literal('api'), status: Type.Literal('ok') }) },
      },
    },
    async () => ({ service: 'api' as const, status: 'ok' as const }),
  );
};
