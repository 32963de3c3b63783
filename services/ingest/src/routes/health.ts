import type { FastifyInstance } from 'fastify';

/** The contract's GET /health (the richer /health/live and /health/ready come from the shared health plugin). */
export async function healthRoute(app: FastifyInstance): Promise<void> {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Ingest answers',
        response: {
          200: {
            type: 'object',
            required: ['service', 'status'],
            properties: { service: { type: 'string', enum: ['ingest'] }, status: { type: 'string', enum: ['ok'] } },
          },
        },
      },
    },
    async () => ({ service: 'ingest' as const, status: 'ok' as const }),
  );
}
