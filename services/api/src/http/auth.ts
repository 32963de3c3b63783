/**
 * Bearer API keys with roles. Keys arrive from a Kubernetes Secret as `API_KEYS` entries `role:sha256hex`, so the
 * process never holds a usable key, only its SHA-256. @fastify/bearer-auth parses the Authorization header and
 * answers 401 before the body is read; the role check then answers 403.
 *
 * - reader: every GET of orders, disputes, evidence and event logs
 * - operator: everything a reader may do, plus hold, capture, evidence and submit (money-moving operations)
 * - ingest: only /internal/updates/* (http mode), i.e. ingest's own credential
 */
import { createHash, randomBytes } from 'node:crypto';
import bearerAuth from '@fastify/bearer-auth';
import { ConfigError } from '@payment-manager/shared';
import { ERROR_BODY, httpError } from '@payment-manager/shared/http-errors';
import { requireGuardOnEveryRoute, routeHooks } from '@payment-manager/shared/route-guard';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const ROLES = ['reader', 'operator', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs: `public` routes take no credential at all. */
export type Access = 'public' | 'read' | 'operate' | 'internal';

const GRANTS: Record<Exclude<Access, 'public'>, readonly Role[]> = {
  read: ['reader', 'operator'],
  operate: ['operator'],
  internal: ['ingest'],
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Defaults: GET/HEAD need `read`, everything else `operate`; `public` only for a path of PUBLIC_PATHS. */
    access?: Access;
  }
  interface FastifyRequest {
    role?: Role;
    /** SHA-256 of the verified API key: what the rate limit counts against. */
    apiKeyHash?: string;
  }
}

/**
 * Exactly the routes that take no API key (docs/api.md#authentication): probes, metrics, the OpenAPI document and
 * its UI, and the provider webhooks (signed, not keyed). Any other route without the key check stops the start.
 */
export const PUBLIC_PATHS: readonly string[] = [
  '/health',
  '/health/live',
  '/health/ready',
  '/metrics',
  '/docs',
  '/docs/json',
  '/docs/yaml',
  '/docs/static/index.html',
  '/docs/static/swagger-initializer.js',
  '/docs/static/*',
  '/webhooks/payments/orders',
  '/webhooks/payments/chargebacks',
];

/** The authentication hooks registerApiAuth puts on routes; the start-up check looks for one on every route. */
const AUTHENTICATORS = new WeakSet<object>();

/**
 * Fails the start (app.ready / listen) when a route outside PUBLIC_PATHS lacks the API-key check. Call it before
 * registering anything, so it sees every route.
 */
export function requireAuthOnEveryRoute(app: FastifyInstance): void {
  requireGuardOnEveryRoute(app, {
    publicPaths: PUBLIC_PATHS,
    guard: 'the API-key check',
    isGuarded: (route) => routeHooks(route.onRequest).some((hook) => AUTHENTICATORS.has(hook as object)),
  });
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A fresh random key (what `npm run dev` prints); 32 random bytes, base64url. */
export function generateApiKey(): string {
  return `pm_${randomBytes(32).toString('base64url')}`;
}

/** Parses API_KEYS (`role:sha256hex`, separated by commas/whitespace) into hash → role. */
export function parseApiKeys(value: string | undefined): Map<string, Role> {
  const keys = new Map<string, Role>();
  for (const entry of (value ?? '').split(/[\s,]+/).filter(Boolean)) {
    const [role, hash, ...rest] = entry.split(':');
    if (!ROLES.includes(role as Role) || !hash || rest.length > 0 || !/^[0-9a-f]{64}$/i.test(hash)) {
      throw new ConfigError(
        `API_KEYS entries must be <role>:<sha256 hex> with role one of ${ROLES.join(', ')} (entry ${keys.size + 1} is not)`,
      );
    }
    keys.set(hash.toLowerCase(), role as Role);
  }
  return keys;
}

function routeAccess(url: string, method: string | string[], configured: Access | undefined): Access {
  if (PUBLIC_PATHS.includes(url)) return 'public';
  // A route declared public without being listed gets no check here, and requireAuthOnEveryRoute stops the start.
  if (configured) return configured;
  const methods = Array.isArray(method) ? method : [method];
  return methods.every((m) => m === 'GET' || m === 'HEAD') ? 'read' : 'operate';
}

/**
 * Adds authentication to every route registered after it. Must be called before the routes are registered.
 * An empty key set denies every protected route (secure default) rather than opening them.
 */
export async function registerApiAuth(app: FastifyInstance, apiKeys: Map<string, Role>): Promise<void> {
  if (apiKeys.size === 0) app.log.warn('API_KEYS is not set: every non-public route answers 401');
  await app.register(bearerAuth, {
    keys: [],
    addHook: false,
    verifyErrorLogLevel: 'debug',
    auth: (key: string, request: FastifyRequest) => {
      const hash = hashApiKey(key);
      const role = apiKeys.get(hash);
      if (role) {
        request.role = role;
        request.apiKeyHash = hash;
      }
      return role !== undefined;
    },
  });
  const verify = app.verifyBearerAuth as NonNullable<typeof app.verifyBearerAuth>;

  app.addHook('onRoute', (route) => {
    const access = routeAccess(route.url, route.method, route.config?.access);
    if (access === 'public') return;
    const allowed = GRANTS[access];
    const authenticate = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      reply.header('www-authenticate', 'Bearer');
      verify(request, reply, done);
    };
    AUTHENTICATORS.add(authenticate);
    const authorise = async (request: FastifyRequest) => {
      if (request.role && allowed.includes(request.role)) return;
      throw httpError(
        403,
        `role ${request.role} may not call ${route.method} ${route.url}; roles allowed: ${allowed.join(', ')}`,
      );
    };
    const existing = routeHooks(route.onRequest);
    // onRequest: an unauthenticated caller never gets its body parsed.
    route.onRequest = [authenticate, authorise, ...existing] as typeof route.onRequest;
    if (route.schema) {
      route.schema = {
        ...route.schema,
        security: [{ apiKey: [] }],
        response: { ...(route.schema.response as object), 401: ERROR_BODY, 403: ERROR_BODY },
      };
    }
  });
}
