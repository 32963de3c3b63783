/**
 * JSON body parser that ignores Content-Type (docs/api.md#conventions: providers are not trusted to send it) and keeps the exact
 * request text in `request.rawBody`, which signature verification and http-mode forwarding need. Replacing fastify's
 * parser must not lose its prototype-poisoning protection, so bodies go through secure-json-parse with fastify's
 * defaults (a `__proto__` or `constructor.prototype` key is an error, a 400), not through JSON.parse.
 */
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';

declare module 'fastify' {
  interface FastifyRequest {
    /** Request body exactly as received (UTF-8); undefined for body-less requests. */
    rawBody?: string;
    /** A body error held back on routes with `deferBodyErrors` (see signatures.ts). */
    deferredBodyError?: Error;
  }
  interface FastifyContextConfig {
    /** Keep a malformed body's error until the route decides to raise it, instead of failing in the parser. */
    deferBodyErrors?: boolean;
  }
}

/** fastify's own defaults (onProtoPoisoning / onConstructorPoisoning: 'error'). */
const POISONING = { protoAction: 'error', constructorAction: 'error' } as const;

class BadJsonError extends Error {
  statusCode = 400;
  code = 'FST_ERR_CTP_INVALID_JSON';
}

export function registerRawJsonBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(text, null, POISONING));
    } catch (err) {
      const poisoned = /forbidden prototype/.test((err as Error).message);
      const error = new BadJsonError(
        poisoned
          ? 'body has a forbidden "__proto__" or "constructor.prototype" key: remove it'
          : `body is not valid JSON: ${(err as Error).message}`,
      );
      if (!request.routeOptions.config.deferBodyErrors) return done(error, undefined);
      request.deferredBodyError = error;
      done(null, undefined);
    }
  });
}
