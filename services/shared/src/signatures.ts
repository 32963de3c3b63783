/**
 * Standard Webhooks signature verification (webhook-id / webhook-timestamp / webhook-signature, HMAC-SHA256)
 * for the public webhook routes of ingest and of the API. Verification runs over the exact bytes the provider
 * sent, so it needs `request.rawBody` (see raw-json-body.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { ConfigError, type Env, envReader } from './env.ts';
import './raw-json-body.ts';

/** Ids are logged and signed over, so bounded (the library accepts any length). */
export const MAX_WEBHOOK_ID_LENGTH = 255;
const WEBHOOK_ID = /^[\x21-\x7e]+$/;
/** Whole Unix seconds only: the library's parseInt would take "<ts>.5" or "<ts>abc". */
const WEBHOOK_TIMESTAMP = /^[0-9]{1,12}$/;

/** The library's own tolerance: a signature older or newer than this is refused, which bounds any replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export type VerificationResult = { ok: true; webhookId: string } | { ok: false; message: string };

export interface SignatureVerifier {
  verify(rawBody: string, headers: Record<string, string | string[] | undefined>): VerificationResult;
}

/** WEBHOOK_SECRET may carry several secrets (rotation), separated by spaces and/or commas. */
export function parseWebhookSecrets(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createSignatureVerifier(secrets: readonly string[]): SignatureVerifier {
  if (secrets.length === 0) throw new ConfigError('createSignatureVerifier needs at least one secret');
  const webhooks = secrets.map((secret, index) => {
    try {
      return new Webhook(secret);
    } catch (err) {
      // Never echo the secret itself. A configuration error: the process exits 2 before it listens.
      throw new ConfigError(
        `WEBHOOK_SECRET entry #${index + 1} is not a valid Standard Webhooks secret (whsec_<base64>): ${(err as Error).message}`,
      );
    }
  });

  return {
    verify(rawBody, headers) {
      const id = headerValue(headers, 'webhook-id');
      const timestamp = headerValue(headers, 'webhook-timestamp');
      if (id !== undefined && (id.length > MAX_WEBHOOK_ID_LENGTH || !WEBHOOK_ID.test(id))) {
        return {
          ok: false,
          message: `invalid webhook signature: webhook-id must be 1–${MAX_WEBHOOK_ID_LENGTH} printable ASCII characters`,
        };
      }
      if (timestamp !== undefined && !WEBHOOK_TIMESTAMP.test(timestamp)) {
        return { ok: false, message: 'invalid webhook signature: webhook-timestamp must be whole Unix seconds' };
      }
      const signed = {
        'webhook-id': id ?? '',
        'webhook-timestamp': headerValue(headers, 'webhook-timestamp') ?? '',
        'webhook-signature': headerValue(headers, 'webhook-signature') ?? '',
      };
      let lastError = 'invalid webhook signature';
      for (const webhook of webhooks) {
        try {
          webhook.verify(rawBody, signed, { jsonParse: false });
          return { ok: true, webhookId: id as string };
        } catch (err) {
          if (!(err instanceof WebhookVerificationError)) throw err;
          lastError = err.message;
          // Header and timestamp problems are the same for every secret; only a signature mismatch is worth another key.
          if (err.message !== 'No matching signature found') break;
        }
      }
      return { ok: false, message: `invalid webhook signature: ${lastError.toLowerCase()}` };
    },
  };
}

/**
 * Adds the signature check to every route of the (encapsulated) instance it is applied to: 401 for missing,
 * invalid or expired signatures, before the body is validated or any handler runs. A `null` verifier
 * (WEBHOOK_SIGNATURES_DISABLED=true) adds nothing.
 *
 * Replays need no memory of webhook ids here, so this holds for any number of replicas: a signature older than
 * SIGNATURE_TOLERANCE_SECONDS is refused, and a replay within that window is a duplicate `provider_event_id`, which
 * is stored once and answered as a duplicate (docs/domain.md). An honest retry of a delivery still in flight is
 * therefore never refused.
 */
export function applyWebhookSignatureGuard(app: FastifyInstance, verifier: SignatureVerifier | null): void {
  if (!verifier) return;

  // Authenticate first: an unsigned caller learns nothing about its body, not even that the JSON is malformed.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, deferBodyErrors: true };
  });

  app.addHook('preValidation', async (request: FastifyRequest) => {
    const result = verifier.verify(
      request.rawBody ?? '',
      request.headers as Record<string, string | string[] | undefined>,
    );
    if (!result.ok) throw Object.assign(new Error(result.message), { statusCode: 401 });
    if (request.deferredBodyError) throw request.deferredBodyError;
  });
}

/** The variable that turns signature verification off; its name says so, and production refuses it. */
export const SIGNATURES_DISABLED_VAR = 'WEBHOOK_SIGNATURES_DISABLED';

export interface WebhookSignatureSettings {
  /** Raw WEBHOOK_SECRET (several secrets during a rotation), already checked; never logged. */
  webhookSecret: string | undefined;
  /** WEBHOOK_SIGNATURES_DISABLED=true: the only way to run without a secret (never with NODE_ENV=production). */
  webhookSignaturesDisabled: boolean;
}

/**
 * Reads WEBHOOK_SECRET and WEBHOOK_SIGNATURES_DISABLED. Fails closed: without a secret the service refuses to
 * start unless verification is turned off explicitly, which NODE_ENV=production refuses. A malformed secret is a
 * ConfigError here, at start-up, not a 401 on every webhook later. `required: false` is for a process that serves
 * no public webhook route (the API in kafka mode): a secret it is given is still checked.
 */
export function readWebhookSignatureSettings(env: Env, { required }: { required: boolean }): WebhookSignatureSettings {
  const read = envReader(env);
  const disabled = read.boolean(SIGNATURES_DISABLED_VAR, false);
  const webhookSecret = read.maybe('WEBHOOK_SECRET');
  const secrets = parseWebhookSecrets(webhookSecret);
  if (disabled) {
    if (read.maybe('NODE_ENV') === 'production')
      throw new ConfigError(
        `${SIGNATURES_DISABLED_VAR}=true is refused when NODE_ENV=production: set WEBHOOK_SECRET (whsec_<base64>)`,
      );
    if (secrets.length > 0)
      throw new ConfigError(
        `${SIGNATURES_DISABLED_VAR}=true contradicts WEBHOOK_SECRET, which is set: remove one of the two`,
      );
    return { webhookSecret: undefined, webhookSignaturesDisabled: true };
  }
  if (secrets.length === 0) {
    if (!required) return { webhookSecret: undefined, webhookSignaturesDisabled: false };
    throw new ConfigError(
      'WEBHOOK_SECRET is required (Standard Webhooks "whsec_<base64>"; several, comma-separated, during a rotation). ' +
        `To run without signature verification in development set ${SIGNATURES_DISABLED_VAR}=true (refused when NODE_ENV=production)`,
    );
  }
  createSignatureVerifier(secrets);
  return { webhookSecret, webhookSignaturesDisabled: false };
}

/**
 * The verifier of a checked WEBHOOK_SECRET; null when verification is off, which is logged at warn level on every
 * start so an unsigned deployment never goes unnoticed.
 */
export function signatureVerifierFromEnv(
  value: string | undefined,
  log: { warn(message: string): void },
): SignatureVerifier | null {
  const secrets = parseWebhookSecrets(value);
  if (secrets.length === 0) {
    log.warn(
      `webhook signature verification is OFF (${SIGNATURES_DISABLED_VAR}=true, no WEBHOOK_SECRET): anyone who reaches this service can post webhooks`,
    );
    return null;
  }
  return createSignatureVerifier(secrets);
}
