import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ERROR_MODEL_DESCRIPTION, namedSchemaReferences } from '@payment-manager/shared/http-errors';
import type { FastifyInstance } from 'fastify';

/** OpenAPI generated from the route schemas; UI at /docs, document at /docs/json. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Payment Manager API',
        version: '0.1.0',
        description: `Orders, disputes, evidence and provider operations (docs/api.md).\n\n${ERROR_MODEL_DESCRIPTION}`,
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'API key; roles reader, operator, ingest' },
        },
      },
      tags: [
        { name: 'orders' },
        { name: 'disputes' },
        { name: 'webhooks', description: 'Public provider webhooks (sync/http mode only)' },
        { name: 'internal', description: 'Used by ingest in http mode' },
        { name: 'health' },
      ],
    },
    refResolver: namedSchemaReferences,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
