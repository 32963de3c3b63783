/**
 * Request rate limits of the services (README.md#configuration, docs/api.md#rate-limits), with @fastify/rate-limit:
 * at most RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW per client — the API key in the API, the source address in
 * ingest — then `429` in the one error body with `Retry-After`. Counters live in each process (a fixed window in an
 * LRU), so the limit holds per replica; the gateway's limit is the one across replicas. Probes and metrics are never
 * limited: a throttled readiness probe would take a healthy pod out of service.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { envReader } from './env.ts';
import { ERROR_BODY, httpError } from './http-errors.ts';

export interface RateLimitConfig {
  /** Requests per window and client; 0 turns limiting off (benches, a gateway that limits alone). */
  max: number;
  windowMs: number;
}

export const DEFAULT_RATE_LIMIT = { max: 6000, window: '1m' } as const;

/** RATE_LIMIT_MAX (0 = off) and RATE_LIMIT_WINDOW (Go duration). */
export function readRateLimit(read: ReturnType<typeof envReader>): RateLimitConfig {
  return {
    max: read.integer('RATE_LIMIT_MAX', DEFAULT_RATE_LIMIT.max, 0, 1_000_000_000),
    windowMs: read.duration('RATE_LIMIT_WINDOW', DEFAULT_RATE_LIMIT.window),
  };
}

/**
 * TRUST_PROXY: the addresses or CIDRs of the proxies in front (the gateway's pods), whose X-Forwarded-For names the
 * real client; unset, the connection's own address is the client. Behind a gateway without it, every sender shares
 * the gateway's address — and so one per-source limit. fastify's `trustProxy` option, never `true` (any client
 * could then pick its own address by sending the header).
 */
export function readTrustProxy(read: ReturnType<typeof envReader>): string[] {
  return read.list('TRUST_PROXY');
}

/** Never limited, whatever the client. */
export const RATE_LIMIT_EXEMPT_PATHS: readonly string[] = ['/health', '/health/live', '/health/ready', '/metrics'];

export interface RateLimitOptions {
  /** The client a request counts against, e.g. `key:<sha256>` or `ip:<address>`. */
  clientOf(request: FastifyRequest): string;
  /** Requests never counted besides the exempt paths (e.g. ingest's own forwarding in the API). */
  exempt?(request: FastifyRequest): boolean;
}

/**
 * Limits every route registered after this call (the plugin adds its hook in onRoute, after the hooks already
 * there: in the API after authentication, so the key is known). Nothing is registered when `config.max` is 0.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  config: RateLimitConfig | undefined,
  options: RateLimitOptions,
): Promise<void> {
  if (!config || config.max === 0) return;
  // Added before the plugin's own onRoute hook, so it runs first: exempt routes get no limiter hook at all (rather
  // than an allow-list consulted on every request), and the OpenAPI document names the 429 of every other route.
  const exempt = options.exempt;
  app.addHook('onRoute', (route) => {
    if (RATE_LIMIT_EXEMPT_PATHS.includes(route.url)) {
      route.config = { ...route.config, rateLimit: false };
      return;
    }
    if (route.schema) {
      route.schema = { ...route.schema, response: { ...(route.schema.response as object), 429: ERROR_BODY } };
    }
  });
  await app.register(rateLimit, {
    global: true,
    max: config.max,
    timeWindow: config.windowMs,
    // Enough distinct clients for a busy pod; the least recent are forgotten first (and start a fresh window).
    cache: 10_000,
    keyGenerator: options.clientOf,
    // Only a refusal carries the x-ratelimit-* headers (and Retry-After): on every other answer they would cost
    // the webhook path a few µs and bytes per request for a figure no provider reads.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    ...(exempt ? { allowList: (request: FastifyRequest) => exempt(request) } : {}),
    errorResponseBuilder: (_request, context) =>
      httpError(
        429,
        `rate limit exceeded: at most ${context.max} requests per ${formatWindow(config.windowMs)}; retry after ${context.after} (Retry-After)`,
      ),
  });
}

function formatWindow(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
