/**
 * Error bodies differ per endpoint family (spec §3): most use {"message"}, the Go handlers that used an
 * "error" key keep it, request-body failures on hold/capture add "details", internal endpoints use
 * {"success": false}. Routes declare their style in `config.errorStyle`; handlers just throw HttpError.
 */
export type ErrorStyle = 'message' | 'error' | 'request-body' | 'internal';

declare module 'fastify' {
  interface FastifyContextConfig {
    errorStyle?: ErrorStyle;
  }
}

export class HttpError extends Error {
  readonly statusCode: number;
  /** Set for request validation failures: the machine-readable reason behind `message`. */
  readonly details: string | undefined;

  constructor(statusCode: number, message: string, details?: string) {
    super(message);
    this.statusCode = statusCode;
    this.details = details;
  }
}

export const notFound = (message: string) => new HttpError(404, message);
export const conflict = (message: string) => new HttpError(409, message);
export const badGateway = (message: string) => new HttpError(502, message);
export const invalidRequest = (details: string) => new HttpError(400, `invalid request: ${details}`, details);

export function errorBody(
  style: ErrorStyle,
  error: { statusCode: number; message: string; details?: string | undefined },
) {
  const isBadRequestBody = error.statusCode === 400 && error.details !== undefined;
  switch (style) {
    case 'internal':
      return { success: false, message: isBadRequestBody ? `invalid request body: ${error.details}` : error.message };
    case 'request-body':
      return isBadRequestBody
        ? { error: 'Invalid request body', details: error.details, message: `Invalid request body: ${error.details}` }
        : { error: error.message, message: error.message };
    case 'error':
      return { error: error.message, message: error.message };
    default:
      return { message: error.message };
  }
}
