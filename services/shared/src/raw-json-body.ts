/**
 * JSON body parser that ignores Content-Type (docs/api.md#conventions: providers are not trusted to send it) and keeps the exact
 * request text in `request.rawBody`, which signature verification and http-mode forwarding need.
 */
import type { FastifyInstance } from 'fastify';

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
      done(null, JSON.parse(text));
    } catch (err) {
      const error = new BadJsonError(`body is not valid JSON: ${(err as Error).message}`);
      if (!request.routeOptions.config.deferBodyErrors) return done(error, undefined);
      request.deferredBodyError = error;
      done(null, undefined);
    }
  });
}
