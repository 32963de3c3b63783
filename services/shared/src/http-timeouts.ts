/**
 * Timeouts at the HTTP edge of both services, so a slow or idle client cannot hold a connection (and its memory)
 * for ever: the whole request (headers and body) must arrive within HTTP_REQUEST_TIMEOUT, the headers within
 * HTTP_HEADERS_TIMEOUT, an idle keep-alive connection closes after HTTP_KEEP_ALIVE_TIMEOUT and any socket without
 * traffic (including while a handler waits on the provider) after HTTP_IDLE_TIMEOUT.
 */
import { ConfigError, envReader } from './env.ts';

export interface EdgeTimeouts {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
}

export function readEdgeTimeouts(read: ReturnType<typeof envReader>): EdgeTimeouts {
  const timeouts = {
    requestTimeoutMs: read.duration('HTTP_REQUEST_TIMEOUT', '10s'),
    headersTimeoutMs: read.duration('HTTP_HEADERS_TIMEOUT', '5s'),
    // Longer than an ingress' upstream keep-alive (nginx: 60 s), so the proxy, not us, closes idle connections.
    keepAliveTimeoutMs: read.duration('HTTP_KEEP_ALIVE_TIMEOUT', '65s'),
    // Above the provider timeout (20 s) and ingest's forwarding retries, so a slow answer is not cut.
    idleTimeoutMs: read.duration('HTTP_IDLE_TIMEOUT', '75s'),
  };
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT must not exceed HTTP_REQUEST_TIMEOUT');
  }
  if (timeouts.keepAliveTimeoutMs > timeouts.idleTimeoutMs) {
    throw new ConfigError('HTTP_KEEP_ALIVE_TIMEOUT must not exceed HTTP_IDLE_TIMEOUT');
  }
  return timeouts;
}

/** The defaults above, from an empty environment. */
export const DEFAULT_EDGE_TIMEOUTS: EdgeTimeouts = readEdgeTimeouts(envReader({}));

/** fastify server options for the timeouts (Node's http server enforces them). */
export function fastifyTimeoutOptions(timeouts: EdgeTimeouts = DEFAULT_EDGE_TIMEOUTS) {
  return {
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionTimeout: timeouts.idleTimeoutMs,
    http: {
      headersTimeout: timeouts.headersTimeoutMs,
      // How often Node looks for requests past their deadline (default 30 s would let a slow body live that long more).
      connectionsCheckingInterval: Math.min(1000, timeouts.headersTimeoutMs),
    },
  };
}
