import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerErrorResponses } from '../src/http-errors.ts';
import { healthPlugin } from '../src/observability/health.ts';

describe('registerErrorResponses', () => {
  it('keeps the schema a route declares for an error status: readiness answers 503 with its report', async () => {
    // Registered after the error responses, as ingest does: the readiness report once failed to serialize (500).
    const app = Fastify();
    registerErrorResponses(app);
    await app.register(healthPlugin, {
      service: 'test',
      checks: [
        {
          name: 'kafka',
          check: async () => {
            throw new Error('broker unreachable');
          },
        },
      ],
    });
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      status: 'down',
      checks: [{ name: 'kafka', status: 'down' }],
    });
    await app.close();
  });
});
