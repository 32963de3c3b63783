/** The start-up check of exact public paths (docs/api.md#authentication), on a bare fastify app. */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { requireGuardOnEveryRoute, UnguardedRoutesError } from '../src/route-guard.ts';

function appWithGuard() {
  const app = Fastify();
  requireGuardOnEveryRoute(app, {
    publicPaths: ['/health'],
    guard: 'the test guard',
    isGuarded: (route) => route.config?.guarded === true,
  });
  app.get('/health', async () => 'ok');
  app.post('/signed', { config: { guarded: true } }, async () => 'ok');
  return app;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    guarded?: boolean;
  }
}

describe('requireGuardOnEveryRoute', () => {
  it('starts when every route is public or guarded', async () => {
    const app = appWithGuard();
    await expect(app.ready()).resolves.toBeDefined();
    await app.close();
  });

  it('refuses to start with a route that is neither, naming it (and only it)', async () => {
    const app = appWithGuard();
    app.get('/health/extra', async () => 'open');
    app.register(async (child) => {
      child.delete('/nested/:id', async () => 'open');
    });
    const error = await app.ready().then(
      () => null,
      (err: Error) => err,
    );
    expect(error).toBeInstanceOf(UnguardedRoutesError);
    expect(error?.message).toMatch(/^routes without the test guard: GET,HEAD \/health\/extra|GET \/health\/extra/);
    expect(error?.message).toContain('DELETE /nested/:id');
    expect(error?.message).not.toMatch(/ \/health[;.]| \/signed/);
    await app.close().catch(() => {});
  });
});
