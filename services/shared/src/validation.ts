import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describeProblem, type Problem } from './errors.ts';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; message: string; problems: Problem[] };

/**
 * Every problem of a request is reported at once (allErrors), with the schema at hand (verbose) so a problem can
 * name the accepted values. Shared by fastify's validator compiler and the non-HTTP entry points (Kafka consumer).
 */
const COMMON = { allErrors: true, verbose: true, removeAdditional: false, strict: false } as const;

/** Body validation never coerces types: `"amount": "10"` must be a 400, whatever Content-Type said. */
export const strictAjv = addFormats(new Ajv({ ...COMMON, coerceTypes: false, useDefaults: false }));

/** Query strings arrive as text, so numbers/booleans there are coerced. */
export const queryAjv = addFormats(new Ajv({ ...COMMON, coerceTypes: 'array', useDefaults: true }));

/** Up to this many accepted values are listed in a problem; longer lists (ISO 4217 codes) are described instead. */
const MAX_LISTED_VALUES = 20;

const FORMAT_WORDS: Record<string, string> = {
  'date-time': 'must be an RFC 3339 timestamp, e.g. 2025-03-04T11:02:13Z',
  uuid: 'must be a UUID',
};

type SchemaNode = { description?: string; properties?: Record<string, unknown>; anyOf?: SchemaNode[] } & Record<
  string,
  unknown
>;

function acceptedValues(schema: SchemaNode | undefined): string[] | null {
  if (!schema) return null;
  if (Array.isArray(schema.enum)) return schema.enum.map(String);
  if ('const' in schema) return [String(schema.const)];
  if (Array.isArray(schema.anyOf)) {
    const values = schema.anyOf.map(acceptedValues);
    return values.every((v) => v !== null) ? values.flat() : null;
  }
  return null;
}

function oneOfValues(values: string[], schema: SchemaNode | undefined): Pick<Problem, 'message' | 'allowed'> {
  if (values.length <= MAX_LISTED_VALUES) {
    const shown = values.map((value) => (value === '' ? '"" (empty)' : value));
    return { message: `must be one of: ${shown.join(', ')}`, allowed: values };
  }
  return { message: `must be ${schema?.description ?? 'one of the accepted values'}` };
}

/** ajv's errors as problems: one per field, accepted values listed, nothing said twice. */
export function problemsFromAjv(errors: ErrorObject[] | null | undefined, part: Problem['in']): Problem[] {
  if (!errors || errors.length === 0) return [{ in: part, field: '', message: 'is invalid' }];
  const path = (e: ErrorObject, ...more: string[]) =>
    [...e.instancePath.split('/').filter(Boolean), ...more].join('.').replaceAll('~1', '/').replaceAll('~0', '~');
  // Branches of a failed anyOf report their own errors too; the anyOf error alone says it better.
  const failedAnyOf = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const problems: Problem[] = [];
  for (const e of errors) {
    if (failedAnyOf.some((prefix) => e.schemaPath.startsWith(prefix))) continue;
    const schema = e.parentSchema as SchemaNode | undefined;
    switch (e.keyword) {
      case 'if':
        // The failed `then` branch is reported by its own error.
        continue;
      case 'required':
        problems.push({ in: part, field: path(e, String(e.params.missingProperty)), message: 'is required' });
        break;
      case 'additionalProperties': {
        const known = Object.keys(schema?.properties ?? {});
        const what = part === 'query' ? 'is not a known query parameter' : 'is not a known field';
        problems.push({
          in: part,
          field: path(e, String(e.params.additionalProperty)),
          message: known.length > 0 ? `${what}; known: ${known.join(', ')}` : what,
          ...(known.length > 0 ? { allowed: known } : {}),
        });
        break;
      }
      case 'enum':
      case 'const':
      case 'anyOf': {
        const values = acceptedValues(schema);
        if (values) problems.push({ in: part, field: path(e), ...oneOfValues(values, schema) });
        else problems.push({ in: part, field: path(e), message: 'does not match any accepted form' });
        break;
      }
      case 'format':
        problems.push({
          in: part,
          field: path(e),
          message: FORMAT_WORDS[String(e.params.format)] ?? e.message ?? 'is invalid',
        });
        break;
      default:
        problems.push({ in: part, field: path(e), message: e.message ?? 'is invalid' });
    }
  }
  const unique = new Map(problems.map((problem) => [describeProblem(problem), problem]));
  return [...unique.values()];
}

export function describeProblems(problems: Problem[]): string {
  return problems.map(describeProblem).join('; ');
}

export function compileStrict<T>(schema: object): (input: unknown) => ValidationResult<T> {
  const { $id: _ignored, ...withoutId } = schema as { $id?: string };
  const validate = strictAjv.compile(withoutId);
  return (input) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return invalid([{ in: 'body', field: '', message: 'must be a JSON object' }]);
    }
    if (validate(input)) return { ok: true, value: input as T };
    return invalid(problemsFromAjv(validate.errors, 'body'));
  };
}

export function invalid(problems: Problem[]): { ok: false; message: string; problems: Problem[] } {
  return { ok: false, message: describeProblems(problems), problems };
}
