/**
 * A start-up check that every route is either on the service's exact list of public paths or guarded (the API: its
 * API-key hook; ingest: a signed webhook route). A route added without its guard — registered before the guard's
 * hook, or declared public without being listed — stops the process before it listens, naming the route, instead of
 * serving it open. Register it before any route, so it sees every one.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

export interface RouteGuardOptions {
  /** Exact paths (as registered, e.g. `/docs/*`) that take no credential. */
  publicPaths: readonly string[];
  /** Whether a route that is not public carries the service's guard. */
  isGuarded(route: RouteOptions): boolean;
  /** What the guard is, for the message ("the API-key check"). */
  guard: string;
}

export class UnguardedRoutesError extends Error {
  override name = 'UnguardedRoutesError';
}

export function requireGuardOnEveryRoute(app: FastifyInstance, options: RouteGuardOptions): void {
  const routes: RouteOptions[] = [];
  // The same route object reaches every onRoute hook, so at onReady it shows what the later hooks made of it.
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onReady', async () => {
    const open = routes.filter((route) => !options.publicPaths.includes(route.url) && !options.isGuarded(route));
    if (open.length === 0) return;
    const names = [...new Set(open.map((route) => `${[route.method].flat().join(',')} ${route.url}`))];
    throw new UnguardedRoutesError(
      `routes without ${options.guard}: ${names.join('; ')}. Register them after the guard, or add them to the ` +
        'public paths (and to docs/api.md) if they are meant to be open',
    );
  });
}

/** A route's hooks of one kind as an array (fastify takes a function or an array). */
export function routeHooks(hooks: unknown): unknown[] {
  if (!hooks) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}
