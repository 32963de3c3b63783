/**
 * JSON body parser that ignores Content-Type (R-22: providers are not trusted to send it) and keeps the exact
 * request text in `request.rawBody`, which signature verification and http-mode forwarding need.
 */
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Request body exactly as received (UTF-8); undefined for body-less requests. */
    rawBody?: string;
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
      done(new BadJsonError(`body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
}
