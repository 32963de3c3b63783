import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Body validation never coerces types: `"amount": "10"` must be a 400 (spec §3), whatever Content-Type said.
 * Shared by fastify's validator compiler and by non-HTTP entry points (Kafka consumer, ingest).
 */
export const strictAjv = addFormats(
  new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false }),
);

/** Query strings arrive as text, so numbers/booleans there are coerced. */
export const queryAjv = addFormats(
  new Ajv({ allErrors: false, coerceTypes: 'array', useDefaults: true, removeAdditional: false, strict: false }),
);

export function describeErrors(errors: ErrorObject[] | null | undefined, prefix = 'body'): string {
  if (!errors || errors.length === 0) return `${prefix} is invalid`;
  return errors
    .map((e) => {
      const where = `${prefix}${e.instancePath.replaceAll('/', '.')}`;
      if (e.keyword === 'required') return `${where} must have required property '${String(e.params.missingProperty)}'`;
      if (e.keyword === 'enum' || e.keyword === 'const' || e.keyword === 'anyOf')
        return `${where} has an unsupported value`;
      return `${where} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

export function compileStrict<T>(schema: object): (input: unknown) => ValidationResult<T> {
  const { $id: _ignored, ...withoutId } = schema as { $id?: string };
  const validate = strictAjv.compile(withoutId);
  return (input) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return { ok: false, message: 'body must be a JSON object' };
    }
    if (validate(input)) return { ok: true, value: input as T };
    return { ok: false, message: describeErrors(validate.errors) };
  };
}
